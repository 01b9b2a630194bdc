"""The IVR engine, branch by branch, on one tree decoded from the JSON an admin saves."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from kefu.ivr.engine import (
    AGENT_ENTRY,
    HungUp,
    InvalidKey,
    Routed,
    State,
    Step,
    ToVoicemail,
    key_of_dtmf,
    press,
    start,
    timeout,
)
from kefu.ivr.menu import MAX_DEPTH, MAX_MENUS, MAX_OPTIONS, PROMPT_MAX, IvrTree

SALES = uuid.UUID("01890000-0000-7000-8000-000000000001")
BILLING = uuid.UUID("01890000-0000-7000-8000-000000000002")


def p(name: str, audio: str | None = None) -> dict[str, Any]:
    prompt: dict[str, Any] = {"prompt_zh": f"{name}-中文", "prompt_en": f"{name}-en"}
    if audio:
        prompt["audio_url"] = audio
    return prompt


ACCOUNT = {
    "greeting": p("account"),
    "options": {
        "1": {"kind": "route", "group_id": str(BILLING), "entry": "billing", "prompt": p("hold")},
        "2": {"kind": "play", "answer": p("balance")},
        "3": {"kind": "play", "answer": p("bye-answer"), "then": "hangup"},
        "9": {"kind": "back"},
    },
    "timeout_s": 5,
    "timeout_action": {"kind": "route", "group_id": str(BILLING), "entry": "account-timeout"},
    "max_retries": 1,
    "on_max_retries": {"kind": "voicemail", "prompt": p("tone")},
}
ROOT = {
    "greeting": p("welcome", "https://cdn.example.com/welcome.mp3"),
    "options": {
        "1": {"kind": "route", "group_id": str(SALES), "entry": "sales"},
        "2": {"kind": "submenu", "menu": ACCOUNT},
        "0": {"kind": "agent"},
        "7": {"kind": "voicemail"},
        "*": {"kind": "repeat"},
        "#": {"kind": "hangup", "prompt": p("goodbye")},
        "9": {"kind": "back"},
    },
    "timeout_s": 8,
    "invalid_prompt": p("invalid"),
    "max_retries": 2,
    "on_max_retries": {"kind": "agent", "prompt": p("transferring")},
}
OFF_MENU = {
    "greeting": p("closed"),
    "options": {"1": {"kind": "voicemail"}, "2": {"kind": "submenu", "menu": ACCOUNT}},
}


def tree(off_hours: dict[str, Any] | None = None) -> IvrTree:
    return msgspec.convert({"menu": ROOT, "off_hours": off_hours}, IvrTree)


TREE = tree({"kind": "menu", "menu": OFF_MENU})
INVALID_EN = "Sorry, that is not a valid choice. Please try again."


def texts(step: Step) -> list[str]:
    return [s.text for s in step.prompts]


def run(keys: str, *, locale: str = "en", t: IvrTree = TREE, open_now: bool = True) -> Step:
    """Start a call and feed it keys; `.` stands for a timeout."""
    step = start(t, open_now=open_now, locale=locale)
    for key in keys:
        assert step.outcome is None, f"the call left the menu before {key!r}"
        step = timeout(t, step.state) if key == "." else press(t, step.state, key)
    return step


# keys, prompts heard after the last input, outcome, state path, retries
CASES = [
    ("start", "", ["welcome-en"], None, (), 0),
    ("digit opens a submenu", "2", ["account-en"], None, ("2",), 0),
    ("back returns to the parent menu", "29", ["welcome-en"], None, (), 0),
    ("back at the root repeats the root", "9", ["welcome-en"], None, (), 0),
    ("repeat plays the menu again", "*", ["welcome-en"], None, (), 0),
    (
        "route with entry and the path taken",
        "1",
        [],
        Routed(group_id=SALES, entry="sales", path=("1",)),
        (),
        0,
    ),
    (
        "route in a submenu carries the whole path and its prompt",
        "21",
        ["hold-en"],
        Routed(group_id=BILLING, entry="billing", path=("2", "1")),
        ("2",),
        0,
    ),
    (
        "0 for an agent goes to the default group",
        "0",
        [],
        Routed(group_id=None, entry=AGENT_ENTRY, path=("0",)),
        (),
        0,
    ),
    (
        "play an answer then hear the menu again",
        "22",
        ["balance-en", "account-en"],
        None,
        ("2",),
        0,
    ),
    ("play an answer then hang up", "23", ["bye-answer-en"], HungUp(path=("2", "3")), ("2",), 0),
    ("voicemail", "7", [], ToVoicemail(path=("7",)), (), 0),
    ("hang up with a goodbye", "#", ["goodbye-en"], HungUp(path=("#",)), (), 0),
    ("invalid key: invalid prompt then the menu", "5", ["invalid-en", "welcome-en"], None, (), 1),
    ("a valid key after an invalid one resets retries", "5*", ["welcome-en"], None, (), 0),
    ("default invalid prompt in a submenu", "25", None, None, ("2",), 1),
    (
        "max retries of wrong keys runs on_max_retries",
        "555",
        ["transferring-en"],
        Routed(group_id=None, entry=AGENT_ENTRY, path=()),
        (),
        0,
    ),
    ("timeout runs timeout_action (repeat) and counts a retry", ".", ["welcome-en"], None, (), 1),
    (
        "timeouts and wrong keys together reach max retries",
        ".5.",
        ["transferring-en"],
        Routed(group_id=None, entry=AGENT_ENTRY, path=()),
        (),
        0,
    ),
    (
        "timeout in a submenu routes by its timeout_action without a key in the path",
        "2.",
        [],
        Routed(group_id=BILLING, entry="account-timeout", path=("2",)),
        ("2",),
        1,
    ),
    (
        "max retries in a submenu goes to voicemail",
        "255",
        ["tone-en"],
        ToVoicemail(path=("2",)),
        ("2",),
        0,
    ),
]


@pytest.mark.parametrize(
    ("keys", "heard", "outcome", "path", "retries"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_branch(
    keys: str, heard: list[str] | None, outcome: object, path: tuple[str, ...], retries: int
) -> None:
    step = run(keys)
    if heard is not None:
        assert texts(step) == heard
    assert step.outcome == outcome
    assert step.state.path == path
    assert step.state.retries == retries


def test_waiting_steps_carry_the_menu_timeout_and_terminal_ones_none() -> None:
    assert run("").timeout_s == 8
    assert run("2").timeout_s == 5
    assert run("1").timeout_s is None


def test_default_invalid_prompt_is_spoken_in_the_submenu() -> None:
    assert texts(run("25")) == [INVALID_EN, "account-en"]
    assert texts(run("25", locale="zh-CN"))[0] == "抱歉，您的输入无效，请重新选择。"


def test_audio_url_travels_with_the_prompt() -> None:
    step = run("")
    assert step.prompts[0].audio_url == "https://cdn.example.com/welcome.mp3"
    assert run("2").prompts[0].audio_url is None


@pytest.mark.parametrize(
    ("locale", "greeting", "stored"),
    [
        ("zh-CN", "welcome-中文", "zh-CN"),
        ("zh", "welcome-中文", "zh-CN"),
        ("zh-TW", "welcome-中文", "zh-CN"),
        ("en", "welcome-en", "en"),
        ("en-GB", "welcome-en", "en"),
        ("fr", "welcome-en", "en"),
        (None, "welcome-en", "en"),
    ],
)
def test_prompts_follow_the_caller_locale(locale: str | None, greeting: str, stored: str) -> None:
    step = start(TREE, open_now=True, locale=locale)
    assert texts(step) == [greeting]
    assert step.state.locale == stored


def test_locale_stays_through_the_call() -> None:
    assert texts(run("22", locale="zh-CN")) == ["balance-中文", "account-中文"]
    assert texts(run("555", locale="zh-CN")) == ["transferring-中文"]


def test_off_hours_go_to_the_off_hours_menu_and_its_submenus() -> None:
    step = run("", open_now=False)
    assert texts(step) == ["closed-en"]
    assert step.state.branch == "off_hours"
    assert run("1", open_now=False).outcome == ToVoicemail(path=("1",))
    deeper = run("21", open_now=False)
    assert deeper.outcome == Routed(group_id=BILLING, entry="billing", path=("2", "1"))
    # The off-hours menu has no "0": the open menu's agent option is not reachable.
    assert texts(run("0", open_now=False))[0] == INVALID_EN


def test_off_hours_straight_to_voicemail() -> None:
    t = tree({"kind": "voicemail", "prompt": p("closed-tone")})
    step = start(t, open_now=False, locale="zh-CN")
    assert step.outcome == ToVoicemail(path=())
    assert texts(step) == ["closed-tone-中文"]
    assert start(t, open_now=True, locale="en").outcome is None


def test_no_off_hours_branch_plays_the_open_menu() -> None:
    step = start(tree(None), open_now=False, locale="en")
    assert texts(step) == ["welcome-en"]
    assert step.state.branch == "open"


def test_state_round_trips_as_json_as_the_call_row_stores_it() -> None:
    state = run("25").state
    stored = msgspec.json.encode(state)
    restored = msgspec.json.decode(stored, type=State)
    assert restored == state
    assert press(TREE, restored, "1").outcome == Routed(
        group_id=BILLING, entry="billing", path=("2", "1")
    )


def test_state_refuses_bad_stored_paths() -> None:
    with pytest.raises(msgspec.ValidationError, match="path"):
        msgspec.convert({"locale": "en", "path": ["x"]}, State)
    with pytest.raises(msgspec.ValidationError, match="path"):
        msgspec.convert({"locale": "en", "path": ["2"] * (MAX_DEPTH + 1)}, State)
    with pytest.raises(msgspec.ValidationError, match="locale"):
        msgspec.convert({"locale": "de"}, State)


def test_tree_edited_under_the_call_restarts_the_branch() -> None:
    state = run("2").state  # in the account submenu
    edited = msgspec.convert({"menu": {**ROOT, "options": {"1": ROOT["options"]["1"]}}}, IvrTree)
    step = press(edited, state, "1")
    assert step.outcome is None
    assert texts(step) == ["welcome-en"]
    assert step.state == State(locale="en")
    assert texts(timeout(edited, run("", open_now=False).state)) == ["welcome-en"]


@pytest.mark.parametrize(
    ("code", "key"),
    [(0, "0"), (1, "1"), (5, "5"), (9, "9"), (10, "*"), (11, "#")],
)
def test_dtmf_codes_map_to_keys(code: int, key: str) -> None:
    assert key_of_dtmf(code) == key


@pytest.mark.parametrize("code", [12, 15, 16, -1, True])
def test_dtmf_codes_beyond_the_telephone_keys_are_refused(code: int) -> None:
    with pytest.raises(InvalidKey):
        key_of_dtmf(code)


@pytest.mark.parametrize("key", ["A", "", "12", "＊", "x"])
def test_press_refuses_what_is_not_a_key(key: str) -> None:
    with pytest.raises(InvalidKey):
        press(TREE, run("").state, key)


def test_dtmf_to_route_end_to_end() -> None:
    step = start(TREE, open_now=True, locale="en")
    for code in (2, 1):
        step = press(TREE, step.state, key_of_dtmf(code))
    assert step.outcome == Routed(group_id=BILLING, entry="billing", path=("2", "1"))


def nest(levels: int) -> dict[str, Any]:
    menu: dict[str, Any] = {"greeting": p("leaf")}
    for _ in range(levels - 1):
        menu = {"greeting": p("level"), "options": {"1": {"kind": "submenu", "menu": menu}}}
    return menu


def with_menu(**changes: Any) -> dict[str, Any]:
    return {"menu": {**ROOT, **changes}}


REFUSALS = [
    ("too deep", {"menu": nest(MAX_DEPTH + 1)}, "nested more than"),
    (
        "too many options",
        with_menu(options={k: {"kind": "repeat"} for k in "0123456789*"[: MAX_OPTIONS + 1]}),
        "options",
    ),
    ("a digit that is not a key", with_menu(options={"A": {"kind": "repeat"}}), "options"),
    ("two-digit key", with_menu(options={"10": {"kind": "repeat"}}), "options"),
    ("prompt too long", with_menu(greeting=p("x" * PROMPT_MAX)), "prompt_zh"),
    ("empty prompt", with_menu(greeting={"prompt_zh": "", "prompt_en": "x"}), "prompt_zh"),
    ("NUL in a prompt", with_menu(greeting={"prompt_zh": "a\x00", "prompt_en": "x"}), "prompt_zh"),
    ("audio url not http", with_menu(greeting=p("x", "javascript:alert(1)")), "audio_url"),
    ("audio url too long", with_menu(greeting=p("x", "https://a/" + "a" * 2048)), "audio_url"),
    (
        "entry too long",
        with_menu(options={"1": {"kind": "route", "group_id": str(SALES), "entry": "e" * 201}}),
        "entry",
    ),
    (
        "group id not a uuid",
        with_menu(options={"1": {"kind": "route", "group_id": "sales", "entry": "s"}}),
        "group_id",
    ),
    ("unknown action", with_menu(options={"1": {"kind": "dance"}}), "kind"),
    ("timeout 0 s", with_menu(timeout_s=0), "timeout_s"),
    ("timeout too long", with_menu(timeout_s=61), "timeout_s"),
    ("retries too many", with_menu(max_retries=10), "max_retries"),
    ("negative retries", with_menu(max_retries=-1), "max_retries"),
    (
        "a timeout cannot open a submenu",
        with_menu(timeout_action={"kind": "submenu", "menu": ACCOUNT}),
        "timeout_action",
    ),
    (
        "max retries must leave the menu",
        with_menu(on_max_retries={"kind": "repeat"}),
        "on_max_retries",
    ),
    ("unknown field", with_menu(colour="red"), "colour"),
    (
        "off hours neither menu nor voicemail",
        {"menu": ROOT, "off_hours": {"kind": "hangup"}},
        "off_hours",
    ),
]


@pytest.mark.parametrize(
    ("tree_json", "field"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_tree_refusals_name_the_field(tree_json: dict[str, Any], field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.json.decode(msgspec.json.encode(tree_json), type=IvrTree)


def test_limits_are_inclusive() -> None:
    deepest = msgspec.convert({"menu": nest(MAX_DEPTH)}, IvrTree)
    step = run("1111"[: MAX_DEPTH - 1], t=deepest)
    assert texts(step) == ["leaf-en"]
    msgspec.convert(with_menu(greeting=p("x" * (PROMPT_MAX - 3))), IvrTree)
    msgspec.convert(
        with_menu(options={k: {"kind": "repeat"} for k in "0123456789*#"[:MAX_OPTIONS]}), IvrTree
    )


def test_too_many_menus_in_a_wide_tree_are_refused() -> None:
    leaf = {"greeting": p("leaf")}
    wide = {
        "greeting": p("mid"),
        "options": {k: {"kind": "submenu", "menu": leaf} for k in "0123456789"},
    }
    root = {
        "greeting": p("root"),
        "options": {k: {"kind": "submenu", "menu": wide} for k in "0123456789"},
    }
    assert MAX_MENUS < 1 + 10 * 11
    with pytest.raises(msgspec.ValidationError, match="menus"):
        msgspec.convert({"menu": root}, IvrTree)

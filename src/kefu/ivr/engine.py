"""The IVR as a pure step function: the tree, where the caller is, and one input (a key
or a timeout) give where the caller is next, what to play or show, and whether the call
leaves the menu (queued for a group, voicemail, hang-up).

No clock, no database, no LiveKit: the call service stores `State` on the call row,
arms a timer for `Step.timeout_s`, plays `Step.prompts` and acts on `Step.outcome`.

Retry rule: a wrong key and a timeout each count one retry; when the retries of the
current menu pass its `max_retries`, `on_max_retries` runs instead (so a silent line
cannot loop for ever). A valid key resets the count.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from kefu.ivr.menu import (
    KEYS,
    MAX_DEPTH,
    MAX_RETRIES,
    Action,
    Agent,
    Back,
    Hangup,
    IvrTree,
    Key,
    Menu,
    OffHoursMenu,
    Play,
    Prompt,
    Repeat,
    Route,
    Submenu,
    Voicemail,
)

Locale = Literal["zh-CN", "en"]
Branch = Literal["open", "off_hours"]


class State(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where a caller is in the tree: small, immutable, JSON-storable on the call row."""

    locale: Locale
    branch: Branch = "open"
    # Keys that opened each submenu from the branch's root menu.
    path: Annotated[tuple[Key, ...], msgspec.Meta(max_length=MAX_DEPTH)] = ()
    retries: Annotated[int, msgspec.Meta(ge=0, le=MAX_RETRIES + 1)] = 0


class Say(msgspec.Struct, frozen=True):
    """One prompt in the caller's language; `audio_url` if the admin uploaded audio."""

    text: str
    audio_url: str | None = None


class Routed(msgspec.Struct, frozen=True, tag_field="kind", tag="route"):
    """Queue the call. `group_id` None means the inbox's default group ("press 0")."""

    group_id: uuid.UUID | None
    entry: str | None
    path: tuple[str, ...]


class ToVoicemail(msgspec.Struct, frozen=True, tag_field="kind", tag="voicemail"):
    path: tuple[str, ...]


class HungUp(msgspec.Struct, frozen=True, tag_field="kind", tag="hangup"):
    path: tuple[str, ...]


Outcome = Routed | ToVoicemail | HungUp

# The entry routing rules see when the caller asked for an agent rather than a topic.
AGENT_ENTRY = "agent"


class Step(msgspec.Struct, frozen=True):
    state: State
    prompts: tuple[Say, ...] = ()
    # None: the caller is in a menu and the next input is awaited for `timeout_s`.
    outcome: Outcome | None = None
    timeout_s: int | None = None


class InvalidKey(ValueError):
    """A DTMF code or keypad key that is not one of the twelve telephone keys."""


# LiveKit `SipDTMF.code`: 0-9 are the digits, 10 is `*`, 11 is `#` (RFC 4733 events).
_DTMF_KEYS = {**{n: str(n) for n in range(10)}, 10: "*", 11: "#"}


def key_of_dtmf(code: int) -> str:
    """The key of a LiveKit `sip_dtmf` packet's code; anything else (A-D, flash) refused."""
    if isinstance(code, bool) or code not in _DTMF_KEYS:
        raise InvalidKey(f"DTMF code {code!r} is not a telephone key (0-11)")
    return _DTMF_KEYS[code]


def pick_locale(locale: str | None) -> Locale:
    return "zh-CN" if (locale or "").lower().startswith("zh") else "en"


def start(tree: IvrTree, *, open_now: bool, locale: str | None) -> Step:
    """The call enters the IVR: the opening-hours menu, or the off-hours branch."""
    lang = pick_locale(locale)
    if open_now or tree.off_hours is None:
        return _enter(tree.menu, State(locale=lang))
    state = State(locale=lang, branch="off_hours")
    if isinstance(tree.off_hours, OffHoursMenu):
        return _enter(tree.off_hours.menu, state)
    return _finish(state, tree.off_hours.prompt, ToVoicemail(path=()))


def press(tree: IvrTree, state: State, key: str) -> Step:
    """The caller pressed `key` in the menu `state` points at."""
    if key not in KEYS:
        raise InvalidKey(f"{key!r} is not a telephone key")
    resolved = _resolve(tree, state)
    if resolved is None:
        return _restart(tree, state)
    menu, parents = resolved
    action = menu.options.get(key)
    if action is None:
        return _retry(menu, parents, state, _say(menu.invalid_prompt, state.locale))
    return _act(menu, parents, state, action, key)


def timeout(tree: IvrTree, state: State) -> Step:
    """The caller pressed nothing for the menu's `timeout_s`."""
    resolved = _resolve(tree, state)
    if resolved is None:
        return _restart(tree, state)
    menu, parents = resolved
    return _retry(menu, parents, state, None)


def _root(tree: IvrTree, branch: Branch) -> Menu | None:
    if branch == "open":
        return tree.menu
    return tree.off_hours.menu if isinstance(tree.off_hours, OffHoursMenu) else None


def _resolve(tree: IvrTree, state: State) -> tuple[Menu, list[Menu]] | None:
    """The menu at `state.path` and its ancestors (root first); None if it is gone."""
    menu = _root(tree, state.branch)
    if menu is None:
        return None
    parents: list[Menu] = []
    for key in state.path:
        action = menu.options.get(key)
        if not isinstance(action, Submenu):
            return None
        parents.append(menu)
        menu = action.menu
    return menu, parents


def _restart(tree: IvrTree, state: State) -> Step:
    # The admin edited the tree during the call and the caller's menu is gone: start the
    # caller's branch over rather than fail the call.
    root = _root(tree, state.branch)
    if root is None:
        return _enter(tree.menu, State(locale=state.locale))
    return _enter(root, State(locale=state.locale, branch=state.branch))


def _retry(menu: Menu, parents: list[Menu], state: State, invalid: Say | None) -> Step:
    """A wrong key (`invalid` is its prompt) or a timeout (`invalid` None)."""
    retries = state.retries + 1
    if retries > menu.max_retries:
        return _act(menu, parents, msgspec.structs.replace(state, retries=0), menu.on_max_retries)
    state = msgspec.structs.replace(state, retries=retries)
    if invalid is None:
        return _act(menu, parents, state, menu.timeout_action, keep_retries=True)
    return _wait(menu, state, (invalid, _say(menu.greeting, state.locale)))


def _act(
    menu: Menu,
    parents: list[Menu],
    state: State,
    action: Action,
    key: str | None = None,
    *,
    keep_retries: bool = False,
) -> Step:
    """Do `action` of `menu`. `key` is the key that chose it (None for a timeout or the
    max-retries fallback); it joins the IVR path when it opens a menu or leaves the IVR."""
    path = state.path if key is None else (*state.path, key)
    if not keep_retries:
        state = msgspec.structs.replace(state, retries=0)
    match action:
        case Submenu(menu=child):
            return _enter(child, msgspec.structs.replace(state, path=path))
        case Route(group_id=group_id, entry=entry, prompt=prompt):
            return _finish(state, prompt, Routed(group_id=group_id, entry=entry, path=path))
        case Agent(prompt=prompt):
            return _finish(state, prompt, Routed(group_id=None, entry=AGENT_ENTRY, path=path))
        case Voicemail(prompt=prompt):
            return _finish(state, prompt, ToVoicemail(path=path))
        case Hangup(prompt=prompt):
            return _finish(state, prompt, HungUp(path=path))
        case Play(answer=answer, then=then):
            said = _say(answer, state.locale)
            if then == "hangup":
                return Step(state=state, prompts=(said,), outcome=HungUp(path=path))
            return _wait(menu, state, (said, _say(menu.greeting, state.locale)))
        case Repeat():
            return _enter(menu, state)
        case Back():
            if not parents:
                return _enter(menu, state)
            return _enter(parents[-1], msgspec.structs.replace(state, path=state.path[:-1]))
    raise AssertionError(f"unhandled IVR action {action!r}")  # pragma: no cover


def _enter(menu: Menu, state: State) -> Step:
    return _wait(menu, state, (_say(menu.greeting, state.locale),))


def _wait(menu: Menu, state: State, prompts: tuple[Say, ...]) -> Step:
    return Step(state=state, prompts=prompts, timeout_s=menu.timeout_s)


def _finish(state: State, prompt: Prompt | None, outcome: Outcome) -> Step:
    prompts = () if prompt is None else (_say(prompt, state.locale),)
    return Step(state=state, prompts=prompts, outcome=outcome)


def _say(prompt: Prompt, locale: Locale) -> Say:
    text = prompt.prompt_zh if locale == "zh-CN" else prompt.prompt_en
    return Say(text=text, audio_url=prompt.audio_url)

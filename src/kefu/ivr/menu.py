"""The IVR menu tree an admin edits per voice inbox, as msgspec Structs with limits.

Every string has a length bound, every number a range, a menu at most `MAX_OPTIONS`
options on the telephone keys, a tree at most `MAX_DEPTH` menus deep and `MAX_MENUS`
menus in all: the tree arrives from the console as JSON and is walked on every key a
caller presses, so an unbounded one is both a bad menu and a denial of service.
Decoding (`msgspec.json.decode(..., type=IvrTree)` or `msgspec.convert`) refuses what
breaks a limit with `msgspec.ValidationError` naming the field.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from kefu.model import NO_NUL

MAX_DEPTH = 5  # menus from the root to the deepest leaf; callers give up long before
MAX_OPTIONS = 10  # options in one menu; more than the ten digits is unusable by ear
MAX_MENUS = 100  # menus in one tree, so a wide-and-deep tree cannot be huge
MAX_RETRIES = 9
MIN_TIMEOUT_S = 1
MAX_TIMEOUT_S = 60
PROMPT_MAX = 1000  # a prompt is spoken (TTS) or shown in the widget
ENTRY_MAX = 200  # matches conversations.entry_point, which routing rules read
URL_MAX = 2048

# The telephone keys: what LiveKit's `sip_dtmf` packets and the widget keypad can send.
KEYS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
Key = Annotated[str, msgspec.Meta(pattern=r"^[0-9*#]$")]

PromptText = Annotated[str, msgspec.Meta(min_length=1, max_length=PROMPT_MAX, pattern=NO_NUL)]
# Uploaded audio is served by kefu (a path) or from object storage (http/https).
AudioUrl = Annotated[str, msgspec.Meta(max_length=URL_MAX, pattern=r"^(https?://|/)[^\x00\s]*$")]
Entry = Annotated[str, msgspec.Meta(min_length=1, max_length=ENTRY_MAX, pattern=NO_NUL)]
Seconds = Annotated[int, msgspec.Meta(ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)]
Retries = Annotated[int, msgspec.Meta(ge=0, le=MAX_RETRIES)]


class Prompt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the caller hears (the audio, or the text read by TTS) or sees in the widget."""

    prompt_zh: PromptText
    prompt_en: PromptText
    audio_url: AudioUrl | None = None


INVALID_PROMPT = Prompt(
    prompt_zh="抱歉，您的输入无效，请重新选择。",
    prompt_en="Sorry, that is not a valid choice. Please try again.",
)


class _Action(msgspec.Struct, frozen=True, tag_field="kind", forbid_unknown_fields=True):
    pass


class Route(_Action, frozen=True, tag="route"):
    """Queue the call for a skill group; `entry` is what routing rules see as the entry."""

    group_id: uuid.UUID
    entry: Entry
    prompt: Prompt | None = None  # e.g. "connecting you to sales"


class Agent(_Action, frozen=True, tag="agent"):
    """Press 0 for an agent: the inbox's default group decides who answers."""

    prompt: Prompt | None = None


class Play(_Action, frozen=True, tag="play"):
    """Play an answer, then hear this menu again or hang up."""

    answer: Prompt
    then: Literal["menu", "hangup"] = "menu"


class Voicemail(_Action, frozen=True, tag="voicemail"):
    prompt: Prompt | None = None  # e.g. "leave a message after the tone"


class Repeat(_Action, frozen=True, tag="repeat"):
    pass


class Back(_Action, frozen=True, tag="back"):
    """Up one menu; at the root it repeats the root."""


class Hangup(_Action, frozen=True, tag="hangup"):
    prompt: Prompt | None = None  # e.g. "thank you for calling"


class Submenu(_Action, frozen=True, tag="submenu"):
    menu: Menu


Action = Submenu | Route | Agent | Play | Voicemail | Repeat | Back | Hangup
# What a timeout may do: anything but open a menu (a menu is chosen by a key).
TimeoutAction = Route | Agent | Play | Voicemail | Repeat | Back | Hangup
# After the last retry the call must leave the menu, or a silent line loops forever.
FinalAction = Route | Agent | Voicemail | Hangup


class Menu(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    greeting: Prompt
    options: Annotated[dict[Key, Action], msgspec.Meta(max_length=MAX_OPTIONS)] = {}
    timeout_s: Seconds = 8
    timeout_action: TimeoutAction = Repeat()
    invalid_prompt: Prompt = INVALID_PROMPT
    # Wrong keys and timeouts in a row the caller may make before `on_max_retries`.
    max_retries: Retries = 3
    on_max_retries: FinalAction = Agent()

    def __post_init__(self) -> None:
        # Children are decoded (and checked) first, so this is bounded by MAX_DEPTH levels.
        if depth(self) > MAX_DEPTH:
            raise ValueError(f"menus are nested more than {MAX_DEPTH} deep")


class OffHoursMenu(msgspec.Struct, frozen=True, tag_field="kind", tag="menu"):
    menu: Menu


class IvrTree(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One voice inbox's IVR: the menu in opening hours, and what happens outside them
    (`None`: the same menu around the clock)."""

    menu: Menu
    off_hours: OffHoursMenu | Voicemail | None = None

    def __post_init__(self) -> None:
        count = menu_count(self.menu)
        if isinstance(self.off_hours, OffHoursMenu):
            count += menu_count(self.off_hours.menu)
        if count > MAX_MENUS:
            raise ValueError(f"the tree has {count} menus; at most {MAX_MENUS}")


def submenus(menu: Menu) -> list[Menu]:
    return [a.menu for a in menu.options.values() if isinstance(a, Submenu)]


def depth(menu: Menu) -> int:
    """Levels from this menu to its deepest descendant, this one counting 1."""
    return 1 + max((depth(child) for child in submenus(menu)), default=0)


def menu_count(menu: Menu) -> int:
    return 1 + sum(menu_count(child) for child in submenus(menu))

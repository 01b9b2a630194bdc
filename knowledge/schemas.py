"""Request and response types of the knowledge base (msgspec at the edges)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from kefu.knowledge.search.base import SearchHit
from kefu.model import Attachment, Count


class EntryKind(enum.StrEnum):
    faq = "faq"
    article = "article"


class EntryStatus(enum.StrEnum):
    draft = "draft"
    review = "review"  # written, waiting for a second pair of eyes before it is published
    published = "published"
    archived = "archived"


class Visibility(enum.StrEnum):
    internal = "internal"
    public = "public"


CHANNEL_VARIANTS = ("web", "wechat", "email")
ChannelVariant = Literal["web", "wechat", "email"]
# Per-channel answer variants, e.g. {"wechat": "short text"}; the body is the default.
Channels = dict[ChannelVariant, Annotated[str, msgspec.Meta(max_length=100_000)]]
Attachments = Annotated[list[Attachment], msgspec.Meta(max_length=20)]
CategoryPath = Annotated[str, msgspec.Meta(max_length=1000)]

Key = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"^[\w\-.]+$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Locale = Annotated[
    str, msgspec.Meta(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-\w+)*$")
]


class EntryIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One FAQ entry or article as written by a manager or read from an import file.
    `title` is a FAQ's standard question or an article's title; `body` its Markdown answer.
    `key` is the stable identity across imports (file name or `key:` in front matter)."""

    title: Title
    kind: EntryKind = EntryKind.faq
    key: Key | None = None
    similar: list[Annotated[str, msgspec.Meta(min_length=1, max_length=500)]] = msgspec.field(
        default_factory=list
    )
    body: Annotated[str, msgspec.Meta(max_length=100_000)] = ""
    channels: Channels = msgspec.field(default_factory=dict)
    attachments: Attachments = msgspec.field(default_factory=list)
    locale: Locale = "zh-CN"
    # A path such as "售后/退款"; its parts are created in the category tree on demand.
    category: CategoryPath | None = None
    tags: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = msgspec.field(
        default_factory=list
    )
    status: EntryStatus = EntryStatus.draft
    visibility: Visibility = Visibility.public


class EntryPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A partial update; fields left out keep their value (`category: null` clears it).
    `version`, when given, must be the entry's current version, so two managers editing
    at once do not silently overwrite each other (409 otherwise)."""

    title: Title | UnsetType = UNSET
    kind: EntryKind | UnsetType = UNSET
    key: Key | UnsetType = UNSET
    similar: list[Annotated[str, msgspec.Meta(min_length=1, max_length=500)]] | UnsetType = UNSET
    body: Annotated[str, msgspec.Meta(max_length=100_000)] | UnsetType = UNSET
    channels: Channels | UnsetType = UNSET
    attachments: Attachments | UnsetType = UNSET
    locale: Locale | UnsetType = UNSET
    category: CategoryPath | UnsetType | None = UNSET
    tags: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] | UnsetType = UNSET
    status: EntryStatus | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET
    version: Count | UnsetType = UNSET


class EntryView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    kind: EntryKind
    title: str
    similar: list[str]
    body: str
    channels: dict[str, str]
    attachments: list[Attachment]
    locale: str
    category: str | None
    tags: list[str]
    status: EntryStatus
    visibility: Visibility
    version: int
    insertions: int
    bot_answers: int
    helpful: int
    not_helpful: int
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None


class PublicEntryView(msgspec.Struct, kw_only=True):
    """What a visitor may read of a published, public entry: no counters, no authors."""

    id: uuid.UUID
    kind: EntryKind
    title: str
    body: str
    locale: str
    category: str | None


class EntryPage(msgspec.Struct, kw_only=True):
    items: list[EntryView]
    total: int


class VersionView(msgspec.Struct, kw_only=True):
    version: int
    entry_id: uuid.UUID
    changed_by: uuid.UUID | None
    change: str  # created | updated | restored | deleted | imported
    changed_fields: list[str]
    snapshot: EntryIn
    created_at: datetime


class SearchResults(msgspec.Struct, kw_only=True):
    query: str
    hits: list[SearchHit]
    took_ms: float


class Suggestion(msgspec.Struct, kw_only=True):
    """An answer an agent can insert: the hit plus the answer text for this channel."""

    hit: SearchHit
    answer: str


class Suggestions(msgspec.Struct, kw_only=True):
    conversation_id: uuid.UUID
    query: str
    suggestions: list[Suggestion]


class FeedbackIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    helpful: bool
    comment: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    conversation_id: uuid.UUID | None = None


class InsertionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    conversation_id: uuid.UUID | None = None


class UnansweredView(msgspec.Struct, kw_only=True):
    """Questions the bot could not answer, grouped by their normalized text."""

    question: str
    count: int
    locale: str | None
    last_asked_at: datetime
    sample_conversation_id: uuid.UUID | None
    resolved_entry_id: uuid.UUID | None


class CategoryView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    path: str
    parent_id: uuid.UUID | None


class ImportReport(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = msgspec.field(default_factory=list)


# ---------------------------------------------------------------- the studio


class EntryInsight(msgspec.Struct, kw_only=True):
    """How one entry does: how often agents inserted it and the bot answered with it, the
    feedback, and the bot's deflection (conversations it answered with this entry that
    never reached a person, of all it answered with it)."""

    id: uuid.UUID
    title: str
    kind: EntryKind
    status: EntryStatus
    locale: str
    insertions: int
    bot_answers: int
    helpful: int
    not_helpful: int
    bot_conversations: int
    deflected: int
    deflection: float | None
    last_used_at: datetime | None
    never_used: bool


class FeedbackView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    entry_id: uuid.UUID
    entry_title: str
    helpful: bool
    comment: str | None
    source: str
    conversation_id: uuid.UUID | None
    created_at: datetime


class UnansweredGroup(msgspec.Struct, kw_only=True):
    """Unanswered questions that say nearly the same thing, most asked first."""

    questions: list[UnansweredView]
    count: int
    locale: str | None
    last_asked_at: datetime


Question = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class AnswerUnanswered(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """ "Answer it": add the questions to an existing FAQ as similar questions
    (`entry_id`), or create a FAQ from them (`entry`; they join its similar questions)."""

    questions: Annotated[list[Question], msgspec.Meta(min_length=1, max_length=100)]
    entry_id: uuid.UUID | None = None
    entry: EntryIn | None = None


class TryBotView(msgspec.Struct, kw_only=True):
    """What the bot would do with a question: the ranking with scores, its decision and the
    reply it would send."""

    query: str
    locale: str
    action: str  # answer | offer | clarify | hand_over
    entry_id: str | None
    hits: list[SearchHit]
    reply: str
    answer_threshold: float
    offer_threshold: float


class ParsedImport(msgspec.Struct, kw_only=True):
    """A file read into entries, for the console to import in batches with progress;
    `keep` names the fields the file has no column for (kept as they are on update)."""

    entries: list[EntryIn]
    keep: list[str]
    errors: list[str]

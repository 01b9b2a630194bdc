"""HTTP: the knowledge base for managers and agents, agent assist for a conversation, and
self-service search for the widget. Handlers are thin: scope by workspace, call the
module that does the job (entries, categories, index, assist, unanswered, public), return
a typed value."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter

from kefu import ratelimit
from kefu.connectors.web import uploads
from kefu.connectors.web.api import cors_any_origin
from kefu.connectors.web.service import MEDIA_PREFIX
from kefu.context import Kefu
from kefu.conversations.queries import get_visible
from kefu.db.tables import Workspace
from kefu.errors import Forbidden, Invalid, TooLarge, UnsupportedType
from kefu.knowledge import assist, categories, entries, index, io, public, studio, unanswered
from kefu.knowledge.schemas import (
    AnswerUnanswered,
    CategoryView,
    EntryIn,
    EntryInsight,
    EntryKind,
    EntryPage,
    EntryPatch,
    EntryStatus,
    EntryView,
    FeedbackIn,
    FeedbackView,
    ImportReport,
    InsertionIn,
    ParsedImport,
    PublicEntryView,
    SearchResults,
    Suggestions,
    TryBotView,
    UnansweredGroup,
    UnansweredView,
    VersionView,
    Visibility,
)
from kefu.knowledge.search.base import SearchFilters
from kefu.model import INT32_MAX, Attachment, Role
from kefu.people.auth import STAFF, AuthUser, require_role

# Knowledge managers curate; admins and supervisors may too. Agents read and insert.
EDITORS = (Role.admin, Role.supervisor, Role.knowledge_manager)
READERS = (*STAFF, Role.knowledge_manager)

Query = Annotated[str, Parameter(max_length=500)]
Limit = Annotated[int, Parameter(ge=1, le=50)]


class Count(msgspec.Struct, frozen=True):
    count: int


class HelpCentre(msgspec.Struct, frozen=True):
    path: str  # where this workspace's public help centre is


class CategoryRename(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^/]+$")]


class ResolveUnanswered(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    entry_id: uuid.UUID | None = None
    ignore: bool = False


IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
IMPORT_MAX_BYTES = 20 * 1024 * 1024
Upload = Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)]


async def _read_upload(data: dict[str, UploadFile], limit: int) -> tuple[UploadFile, bytes]:
    file = data.get("file")
    if not isinstance(file, UploadFile):
        raise Invalid("send the file as the multipart field `file`")
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"files are limited to {limit // 1_048_576} MB")
    return file, content


class KnowledgeController(Controller):
    path = "/api/v1/knowledge"
    tags = ("knowledge",)
    guards = (require_role(*READERS),)

    @get("/")
    async def list_entries(
        self,
        kefu: Kefu,
        user: AuthUser,
        status: EntryStatus | None = None,
        locale: str | None = None,
        category: str | None = None,
        kind: EntryKind | None = None,
        tag: str | None = None,
        sort: Annotated[
            str, Parameter(pattern="^(updated|insertions|bot_answers|helpful|not_helpful)$")
        ] = "updated",
        offset: Annotated[int, Parameter(ge=0, le=INT32_MAX)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> EntryPage:
        if user.role == Role.agent:
            status = EntryStatus.published  # drafts are the managers' business
        return await entries.list_entries(
            kefu,
            user.workspace_id,
            status=status,
            locale=locale,
            category=category,
            kind=kind.value if kind else None,
            tag=tag,
            sort=sort,
            offset=offset,
            limit=limit,
        )

    @post("/", guards=[require_role(*EDITORS)])
    async def create_entry(self, kefu: Kefu, user: AuthUser, data: EntryIn) -> EntryView:
        return await entries.create_entry(kefu, user.workspace_id, data, user.id)

    @get("/search")
    async def search(
        self,
        kefu: Kefu,
        user: AuthUser,
        q: Query,
        locale: str | None = None,
        status: EntryStatus | None = None,
        visibility: Visibility | None = None,
        category: str | None = None,
        tag: list[str] | None = None,
        kind: EntryKind | None = None,
        limit: Limit = 10,
    ) -> SearchResults:
        if user.role == Role.agent:
            status = EntryStatus.published  # agents answer customers from published entries
        filters = SearchFilters(
            locale=locale,
            status=(status.value,) if status else None,
            visibility=visibility.value if visibility else None,
            category=categories.clean_path(category),
            tags=tuple(tag or ()),
            kind=kind.value if kind else None,
        )
        return await index.search(kefu, user.workspace_id, q, filters, limit)

    @get("/categories")
    async def categories(self, kefu: Kefu, user: AuthUser) -> list[CategoryView]:
        return await categories.list_categories(kefu, user.workspace_id)

    @patch("/categories/{category_id:uuid}", guards=[require_role(*EDITORS)])
    async def rename_category(
        self, kefu: Kefu, user: AuthUser, category_id: uuid.UUID, data: CategoryRename
    ) -> CategoryView:
        return await categories.rename_category(kefu, user.workspace_id, category_id, data.name)

    @delete("/categories/{category_id:uuid}", guards=[require_role(*EDITORS)])
    async def delete_category(self, kefu: Kefu, user: AuthUser, category_id: uuid.UUID) -> None:
        await categories.delete_category(kefu, user.workspace_id, category_id)

    @get("/unanswered", guards=[require_role(*EDITORS)])
    async def unanswered(
        self,
        kefu: Kefu,
        user: AuthUser,
        status: Annotated[str, Parameter(pattern="^(open|resolved|ignored)$")] = "open",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[UnansweredView]:
        return await unanswered.list_unanswered(kefu, user.workspace_id, status=status, limit=limit)

    @post("/unanswered/resolve", status_code=204, guards=[require_role(*EDITORS)])
    async def resolve_unanswered(self, kefu: Kefu, user: AuthUser, data: ResolveUnanswered) -> None:
        await unanswered.resolve_unanswered(
            kefu, user.workspace_id, data.question, entry_id=data.entry_id, ignore=data.ignore
        )

    @post("/import", status_code=200, guards=[require_role(*EDITORS)])
    async def import_entries(
        self,
        kefu: Kefu,
        user: AuthUser,
        data: list[EntryIn],
        keep: Annotated[list[str] | None, Parameter(max_items=20)] = None,
    ) -> ImportReport:
        """`keep`: fields existing entries keep (those the source file has no column for)."""
        unknown = set(keep or ()) - set(entries.FIELDS)
        if unknown:
            raise Invalid(f"unknown fields to keep: {sorted(unknown)}")
        return await entries.import_entries(
            kefu, user.workspace_id, data, user.id, keep=frozenset(keep or ())
        )

    @post(
        "/import/parse",
        status_code=200,
        guards=[require_role(*EDITORS)],
        request_max_body_size=IMPORT_MAX_BYTES + 65_536,
    )
    async def parse_import(self, data: Upload) -> ParsedImport:
        """Read a CSV, a Markdown file or a zip of a Markdown folder into entries; nothing is
        saved (the console then imports them in batches, showing progress)."""
        file, content = await _read_upload(data, IMPORT_MAX_BYTES)
        name = (file.filename or "").lower()
        try:
            if name.endswith(".zip") or content[:4] == b"PK\x03\x04":
                parsed, errors = await asyncio.to_thread(io.read_zip, content)
                return ParsedImport(entries=parsed, keep=[], errors=errors)
            text = content.decode("utf-8-sig")
            if name.endswith(".md"):
                stem = name.rsplit("/", 1)[-1][: -len(".md")] or "entry"
                entry = io.parse_markdown(
                    text, fallback_key=stem, default_status=EntryStatus.published
                )
                return ParsedImport(entries=[entry], keep=[], errors=[])
            return ParsedImport(
                entries=list(io.read_csv(text)),
                keep=sorted(io.csv_absent_fields(text)),
                errors=[],
            )
        except UnicodeDecodeError as exc:
            raise Invalid("the file is not UTF-8 text; save it as UTF-8 and try again") from exc
        except io.ImportError_ as exc:
            raise Invalid(str(exc)) from exc

    @post(
        "/images",
        status_code=201,
        guards=[require_role(*EDITORS)],
        request_max_body_size=16 * 1024 * 1024,
    )
    async def upload_image(self, kefu: Kefu, data: Upload) -> Attachment:
        """An image for an article or answer, served like widget uploads (by an unguessable
        key, checked by content), so the help centre and the widget can show it."""
        file, content = await _read_upload(data, kefu.settings.max_upload_bytes)
        kind = uploads.sniff(content[:4096])
        if kind not in IMAGE_TYPES:
            raise UnsupportedType("only PNG, JPEG, GIF and WebP images (checked by content)")
        key = await asyncio.to_thread(uploads.store, kefu.settings.media_dir, content, kind)
        return Attachment(
            name=uploads.clean_name(file.filename, kind),
            content_type=kind,
            size=len(content),
            url=MEDIA_PREFIX + key,
        )

    @get("/help-centre")
    async def help_centre(self, kefu: Kefu, user: AuthUser) -> HelpCentre:
        async with kefu.db.session() as session:
            workspace = await session.get(Workspace, user.workspace_id)
        slug = workspace.slug if workspace is not None else ""
        return HelpCentre(path=f"/help/{slug}")

    @get("/insights", guards=[require_role(*EDITORS)])
    async def insights(self, kefu: Kefu, user: AuthUser) -> list[EntryInsight]:
        return await studio.insights(kefu, user.workspace_id)

    @get("/feedback", guards=[require_role(*EDITORS)])
    async def list_feedback(
        self,
        kefu: Kefu,
        user: AuthUser,
        entry_id: uuid.UUID | None = None,
        helpful: bool | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[FeedbackView]:
        return await studio.list_feedback(
            kefu, user.workspace_id, entry_id=entry_id, helpful=helpful, limit=limit
        )

    @get("/unanswered/groups", guards=[require_role(*EDITORS)])
    async def unanswered_groups(
        self,
        kefu: Kefu,
        user: AuthUser,
        status: Annotated[str, Parameter(pattern="^(open|resolved|ignored)$")] = "open",
    ) -> list[UnansweredGroup]:
        return await studio.grouped_unanswered(kefu, user.workspace_id, status=status)

    @post("/unanswered/answer", status_code=200, guards=[require_role(*EDITORS)])
    async def answer_unanswered(
        self, kefu: Kefu, user: AuthUser, data: AnswerUnanswered
    ) -> EntryView:
        return await studio.answer_unanswered(kefu, user.workspace_id, data, user.id)

    @get("/try", guards=[require_role(*EDITORS)])
    async def try_bot(
        self,
        kefu: Kefu,
        user: AuthUser,
        q: Annotated[str, Parameter(min_length=1, max_length=500)],
        locale: Annotated[str | None, Parameter(max_length=16)] = None,
        channel: Annotated[str, Parameter(pattern="^(web|wechat|email|sms)$")] = "web",
        inbox_id: uuid.UUID | None = None,
        drafts: bool = False,
    ) -> TryBotView:
        return await studio.try_bot(
            kefu,
            user.workspace_id,
            q,
            locale=locale,
            channel=channel,
            inbox_id=inbox_id,
            drafts=drafts,
        )

    @get("/export", guards=[require_role(*EDITORS)])
    async def export(
        self,
        kefu: Kefu,
        user: AuthUser,
        format: Annotated[str, Parameter(pattern="^(json|csv|zip)$")] = "json",
    ) -> Response[bytes]:
        exported = await entries.export_entries(kefu, user.workspace_id)
        if format == "zip":
            return Response(
                await asyncio.to_thread(io.write_zip, exported),
                media_type="application/zip",
                headers={"Content-Disposition": 'attachment; filename="knowledge.zip"'},
            )
        if format == "csv":
            return Response(
                io.write_csv(exported).encode(),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="knowledge.csv"'},
            )
        return Response(msgspec.json.encode(exported), media_type="application/json")

    @post("/reindex", status_code=200, guards=[require_role(*EDITORS)])
    async def reindex(self, kefu: Kefu, user: AuthUser) -> Count:
        return Count(await index.reindex(kefu, user.workspace_id))

    @get("/{entry_id:uuid}")
    async def get_entry(self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID) -> EntryView:
        view = await entries.get_entry(kefu, user.workspace_id, entry_id)
        if user.role == Role.agent and view.status != EntryStatus.published:
            raise Forbidden("this entry is not published yet")
        return view

    @patch("/{entry_id:uuid}", guards=[require_role(*EDITORS)])
    async def update_entry(
        self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID, data: EntryPatch
    ) -> EntryView:
        return await entries.update_entry(kefu, user.workspace_id, entry_id, data, user.id)

    @delete("/{entry_id:uuid}", guards=[require_role(*EDITORS)])
    async def delete_entry(self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID) -> None:
        await entries.delete_entry(kefu, user.workspace_id, entry_id, user.id)

    @get("/{entry_id:uuid}/versions", guards=[require_role(*EDITORS)])
    async def versions(self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID) -> list[VersionView]:
        return await entries.list_versions(kefu, user.workspace_id, entry_id)

    @post(
        "/{entry_id:uuid}/versions/{version:int}/restore",
        status_code=200,
        guards=[require_role(*EDITORS)],
    )
    async def restore(
        self,
        kefu: Kefu,
        user: AuthUser,
        entry_id: uuid.UUID,
        version: Annotated[int, Parameter(ge=1, le=INT32_MAX)],
    ) -> EntryView:
        return await entries.restore_version(kefu, user.workspace_id, entry_id, version, user.id)

    @post("/{entry_id:uuid}/insertions", status_code=200)
    async def insertion(
        self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID, data: InsertionIn
    ) -> Count:
        """An agent inserted this answer into a reply: counted for the managers."""
        count = await assist.record_usage(
            kefu,
            user.workspace_id,
            entry_id,
            "inserted",
            user_id=user.id,
            conversation_id=data.conversation_id,
        )
        return Count(count)

    @post("/{entry_id:uuid}/feedback", status_code=204)
    async def feedback(
        self, kefu: Kefu, user: AuthUser, entry_id: uuid.UUID, data: FeedbackIn
    ) -> None:
        await assist.record_feedback(
            kefu, user.workspace_id, entry_id, data, source="agent", user_id=user.id
        )


class SuggestionsController(Controller):
    """Agent assist: the best answers for the customer's last message."""

    path = "/api/v1/conversations/{conversation_id:uuid}/suggestions"
    tags = ("knowledge", "conversations")
    guards = (require_role(*STAFF),)

    @get("/")
    async def suggestions(
        self,
        kefu: Kefu,
        user: AuthUser,
        conversation_id: uuid.UUID,
        q: Annotated[str | None, Parameter(max_length=500)] = None,
        limit: Limit = 5,
    ) -> Suggestions:
        """For the customer's last message, or for `q` when the agent types their own."""
        async with kefu.db.session() as session:
            conversation = await get_visible(session, user, conversation_id)
        return await assist.suggestions(kefu, conversation, query=q, limit=limit)


class PublicKnowledgeController(Controller):
    """Self-service for the widget, before a chat starts: published, public entries of
    the workspace that owns the widget key. No login; the key is public by design."""

    path = "/api/v1/widget/knowledge"
    tags = ("widget", "knowledge")
    middleware = (cors_any_origin,)
    guards = (ratelimit.per_ip("knowledge_search_per_ip"),)

    @get("/search")
    async def search(
        self, kefu: Kefu, key: Query, q: Query, locale: str | None = None, limit: Limit = 5
    ) -> SearchResults:
        return await public.public_search(kefu, key, q, locale, limit)

    @get("/{entry_id:uuid}")
    async def entry(self, kefu: Kefu, key: Query, entry_id: uuid.UUID) -> PublicEntryView:
        return await public.public_entry(kefu, key, entry_id)

    @post(
        "/{entry_id:uuid}/feedback",
        status_code=204,
        guards=[ratelimit.per_ip("article_feedback_per_ip")],
    )
    async def feedback(self, kefu: Kefu, key: Query, entry_id: uuid.UUID, data: FeedbackIn) -> None:
        await public.public_feedback(kefu, key, entry_id, data)


ROUTES = [KnowledgeController, SuggestionsController, PublicKnowledgeController]

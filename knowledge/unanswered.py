"""Questions the bot could not answer, grouped by their normalized text ("退款 怎么弄？"
and "退款怎么弄" are one), counted, and closed by the managers: answered by an entry or
ignored. A resolved question asked again opens again."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kefu.context import Kefu
from kefu.errors import NotFound
from kefu.knowledge.entries import load_for_update
from kefu.knowledge.schemas import UnansweredView
from kefu.knowledge.search import text as tx
from kefu.knowledge.tables import UnansweredQuestion
from kefu.model import utcnow

_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def question_key(text: str) -> str:
    """Group "退款 怎么弄？" with "退款怎么弄": normalized, punctuation and spaces removed."""
    return _PUNCT.sub("", tx.normalize(text))[:500]


async def record_unanswered(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    question: str,
    *,
    locale: str | None,
    conversation_id: uuid.UUID | None,
) -> None:
    key = question_key(question)
    if not key:
        return
    for _attempt in range(3):
        try:
            async with kefu.db.transaction() as session:
                row = await session.scalar(
                    sa.select(UnansweredQuestion)
                    .where(
                        UnansweredQuestion.workspace_id == workspace_id,
                        UnansweredQuestion.normalized == key,
                    )
                    .with_for_update()
                )
                now = utcnow()
                if row is None:
                    session.add(
                        UnansweredQuestion(
                            workspace_id=workspace_id,
                            normalized=key,
                            question=question.strip()[:2000],
                            locale=locale,
                            last_conversation_id=conversation_id,
                            first_asked_at=now,
                            last_asked_at=now,
                        )
                    )
                else:
                    row.count += 1
                    row.question = question.strip()[:2000]
                    row.last_asked_at = now
                    row.last_conversation_id = conversation_id
                    if row.status == "resolved":
                        row.status = "open"  # asked again: the answer did not cover it
            return
        except IntegrityError:
            continue  # two first askings raced on the unique key; the retry increments


async def list_unanswered(
    kefu: Kefu, workspace_id: uuid.UUID, *, status: str = "open", limit: int = 100
) -> list[UnansweredView]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(UnansweredQuestion)
            .where(
                UnansweredQuestion.workspace_id == workspace_id, UnansweredQuestion.status == status
            )
            .order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_asked_at.desc())
            .limit(limit)
        )
        return [
            UnansweredView(
                question=r.question,
                count=r.count,
                locale=r.locale,
                last_asked_at=r.last_asked_at,
                sample_conversation_id=r.last_conversation_id,
                resolved_entry_id=r.resolved_entry_id,
            )
            for r in rows
        ]


async def resolve_unanswered(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    question: str,
    *,
    entry_id: uuid.UUID | None,
    ignore: bool = False,
) -> None:
    """Close a group of unanswered questions: answered by an entry, or ignored."""
    async with kefu.db.transaction() as session:
        row = await session.scalar(
            sa.select(UnansweredQuestion).where(
                UnansweredQuestion.workspace_id == workspace_id,
                UnansweredQuestion.normalized == question_key(question),
            )
        )
        if row is None:
            raise NotFound("no such unanswered question")
        if entry_id is not None:
            await load_for_update(session, workspace_id, entry_id)
        row.status = "ignored" if ignore else "resolved"
        row.resolved_entry_id = entry_id

"""A voice connector that speaks only `kefu.calls.media`: it records what core asked of
the media server and answers like one, or refuses (`down`) like one that is away.
A whole Connector (core reads `capabilities`) and a MediaGateway; it subclasses nothing
of kefu's."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar.types import ControllerRouterHandler

from kefu.calls.media import MediaUnavailable, RecordingKind
from kefu.connectors.base import Capabilities, InboxView, NoSettings
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.model import ChannelKind, Outbound, SendResult


class FakeVoiceConfig(msgspec.Struct, frozen=True, kw_only=True):
    livekit_url: str = "wss://media.test"


class FakeVoice:
    kind = ChannelKind.voice
    label = Text("Voice (fake)", "语音（测试）")
    config_type = FakeVoiceConfig
    secrets_type = NoSettings
    capabilities = Capabilities(voice=True)

    def __init__(self) -> None:
        self.down = False
        self.rooms: list[str] = []
        self.deleted: list[str] = []
        self.removed: list[tuple[str, str]] = []
        self.recordings: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.dialled: list[tuple[str, str]] = []
        self.tokens: list[dict[str, Any]] = []
        self.listen_only: list[str] = []  # identities given tokens that cannot publish

    def _check(self) -> None:
        if self.down:
            raise MediaUnavailable("the media server is unreachable")

    def webhook_path(self, inbox_id: uuid.UUID) -> str | None:
        return None

    def routes(self) -> Sequence[ControllerRouterHandler]:
        return []

    def check(self, config: Any, secrets: Any) -> list[FieldError]:
        return []

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        return SendResult()

    def server_url(self, inbox: InboxView) -> str:
        return str(inbox.config.get("livekit_url", "wss://media.test"))

    def token(
        self,
        inbox: InboxView,
        *,
        room: str,
        identity: str,
        name: str,
        can_publish: bool = True,
        can_subscribe: bool = True,
        ttl_s: int = 600,
    ) -> str:
        self._check()
        self.tokens.append({"room": room, "identity": identity})
        if not can_publish:
            self.listen_only.append(identity)
        return f"token:{room}:{identity}"

    async def create_room(self, inbox: InboxView, room: str, *, empty_timeout_s: int) -> None:
        self._check()
        self.rooms.append(room)

    async def delete_room(self, inbox: InboxView, room: str) -> None:
        self._check()
        self.deleted.append(room)

    async def remove_participant(self, inbox: InboxView, room: str, identity: str) -> None:
        self._check()
        self.removed.append((room, identity))

    async def start_recording(
        self,
        inbox: InboxView,
        room: str,
        *,
        kind: RecordingKind,
        call_id: uuid.UUID,
        participant: str | None = None,
    ) -> str:
        self._check()
        egress = f"EG_{len(self.recordings)}"
        self.recordings.append(
            {"room": room, "kind": kind, "participant": participant, "egress": egress}
        )
        return egress

    async def stop_recording(self, inbox: InboxView, egress_id: str) -> None:
        self._check()
        self.stopped.append(egress_id)

    async def dial_out(self, inbox: InboxView, room: str, *, number: str, identity: str) -> None:
        self._check()
        self.dialled.append((room, number))

"""The few WeChat HTTP API calls kefu makes, async, behind one small class.

wechatpy's own client is synchronous and hard-codes its URLs; here the base URL is
configurable (tests point it at a local stand-in) and the access_token is the shared
one from `token.py`. Every call that WeChat answers with a token error (40001, 42001,
40014) refreshes the token at once and is retried one time.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec

from kefu.channel_state.shared import SharedState
from kefu.connectors.base import DeliveryError
from kefu.connectors.wechat.token import SharedToken
from kefu.outbound import OutboundClient

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_ERRORS = frozenset({40001, 42001, 40014})


class WeChatApiError(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class Media(msgspec.Struct, frozen=True):
    content: bytes
    content_type: str
    filename: str


class TokenReply(msgspec.Struct, frozen=True):
    access_token: str
    expires_in: int = 7200


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise DeliveryError(f"WeChat answered HTTP {response.status_code}; will retry")
    try:
        data = response.json()
    except ValueError:
        raise DeliveryError(f"WeChat answered HTTP {response.status_code} without JSON") from None
    if not isinstance(data, dict):
        raise DeliveryError("WeChat answered with unexpected JSON")
    errcode = int(data.get("errcode") or 0)
    if errcode:
        raise WeChatApiError(errcode, str(data.get("errmsg", "")))
    return data


_FILENAME = re.compile(r'filename="?([^";]+)"?')


class WeChatAPI:
    """One official account's API. `http` is the server's outbound client (checked
    addresses, timeouts, size cap), shared and owned by the caller."""

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        state: SharedState,
        http: OutboundClient,
        base_url: str = DEFAULT_BASE_URL,
        stable_token: bool = True,
    ) -> None:
        self.appid = appid
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._stable = stable_token
        self.token = SharedToken(state, f"wechat:access_token:{appid}", self._fetch_token)

    # -- access_token -------------------------------------------------------------

    async def fetch_token(self) -> tuple[str, int]:
        """A token straight from WeChat, bypassing the shared one: proves the AppID and
        AppSecret work (the inbox's "test connection"). The stable endpoint hands back
        the live token unchanged, so this costs the other processes nothing."""
        return await self._fetch_token(None)

    async def _fetch_token(self, rejected: str | None) -> tuple[str, int]:
        if self._stable:
            reply = await self._stable_token(force=False)
            if reply is not None:
                if reply.access_token == rejected:
                    # WeChat still hands out the token it just refused: force a new one
                    # (limited to 20 a day, so only in this case).
                    reply = await self._stable_token(force=True) or reply
                return reply.access_token, reply.expires_in
        response = await self._http.get(
            f"{self.base_url}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self._secret},
        )
        reply = msgspec.convert(_check(response), TokenReply)
        return reply.access_token, reply.expires_in

    async def _stable_token(self, *, force: bool) -> TokenReply | None:
        response = await self._http.post(
            f"{self.base_url}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self._secret,
                "force_refresh": force,
            },
        )
        if response.status_code in (404, 405, 501):
            return None  # an endpoint (or a stand-in) without stable tokens: use the classic one
        return msgspec.convert(_check(response), TokenReply)

    # -- calls ------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        raw: bool = False,
    ) -> Any:
        """Call `path` with the shared token; on a token error refresh and retry once.
        With `raw=True` a non-JSON answer (a media download) is returned as the response."""
        rejected: str | None = None
        for attempt in (1, 2):
            token = await self.token.get(rejected=rejected)
            response = await self._http.request(
                method,
                f"{self.base_url}{path}",
                params={**(params or {}), "access_token": token},
                json=json,
                files=files,
            )
            if raw and not response.headers.get("content-type", "").startswith(
                ("application/json", "text/plain")
            ):
                if response.status_code >= 400:
                    raise DeliveryError(f"WeChat answered HTTP {response.status_code}")
                return response
            try:
                return _check(response)
            except WeChatApiError as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    rejected = token
                    continue
                raise
        raise AssertionError("unreachable")

    async def send_custom(self, payload: dict[str, Any]) -> dict[str, Any]:
        """客服消息: POST /cgi-bin/message/custom/send."""
        result: dict[str, Any] = await self.call(
            "POST", "/cgi-bin/message/custom/send", json=payload
        )
        return result

    async def upload_media(
        self, kind: str, filename: str, content: bytes, content_type: str
    ) -> str:
        """Temporary media (kept three days by WeChat): returns its media_id."""
        result = await self.call(
            "POST",
            "/cgi-bin/media/upload",
            params={"type": kind},
            files={"media": (filename, content, content_type)},
        )
        media_id = result.get("media_id") or result.get("thumb_media_id")
        if not media_id:
            raise DeliveryError("WeChat accepted the upload but returned no media_id")
        return str(media_id)

    async def download_media(self, media_id: str) -> Media:
        """GET /cgi-bin/media/get: the bytes a user sent (WeChat keeps them three days)."""
        response = await self.call(
            "GET", "/cgi-bin/media/get", params={"media_id": media_id}, raw=True
        )
        if isinstance(response, dict):
            # Videos come back as JSON with a download URL instead of the bytes.
            url = response.get("video_url") or response.get("down_url")
            if not url:
                raise DeliveryError("WeChat returned no media for this media_id", retryable=False)
            fetched = await self._http.get(str(url))
            if fetched.status_code >= 400:
                raise DeliveryError(f"the media URL answered HTTP {fetched.status_code}")
            response = fetched
        assert isinstance(response, httpx.Response)
        disposition = response.headers.get("content-disposition", "")
        found = _FILENAME.search(disposition)
        return Media(
            content=response.content,
            content_type=response.headers.get("content-type", "application/octet-stream")
            .split(";")[0]
            .strip(),
            filename=found.group(1) if found else media_id,
        )

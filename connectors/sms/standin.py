"""A local stand-in for Twilio's Messages REST API, for tests and the demo.

It speaks the documented JSON of `POST /2010-04-01/Accounts/{sid}/Messages.json` with
HTTP basic auth (account SID : auth token): 201 with the message resource, or Twilio's
error document `{code, message, more_info, status}`: 20003 bad credentials (401),
21211 invalid `To` number (400), 21610 blocked/unsubscribed recipient (400) and 20429
too many requests (429). `callback` posts a status callback, signed as Twilio signs it,
to the StatusCallback URL the send gave.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, post

from kefu.connectors.sms.twilio import SIGNATURE_HEADER, signature


@dataclass
class TwilioStandIn:
    account_sid: str = "AC_standin"
    auth_token: str = "standin-auth-token"
    sent: list[dict[str, str]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    # How many of the next sends answer 429.
    rate_limited: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def _error(self, status: int, code: int, message: str) -> Response[dict[str, Any]]:
        return Response(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status_code=status,
        )

    def status_callback(
        self, sid: str, status: str, error_code: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """A status callback for a message sent earlier, as Twilio would post it to the
        StatusCallback URL the send gave: (url, form, headers signed with the token)."""
        message = next(m for m in self.sent if m["sid"] == sid)
        target = message["StatusCallback"]
        params = {
            "AccountSid": self.account_sid,
            "From": message["From"],
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["To"],
        }
        if error_code:
            params["ErrorCode"] = error_code
        headers = {SIGNATURE_HEADER: signature(self.auth_token, target, list(params.items()))}
        return target, params, headers


def create_standin(state: TwilioStandIn) -> Litestar:
    @post("/2010-04-01/Accounts/{sid:str}/Messages.json", status_code=201)
    async def create_message(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
        expected = (
            "Basic " + base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
        )
        if sid != state.account_sid or request.headers.get("authorization") != expected:
            return state._error(401, 20003, "Authenticate")
        form = dict(parse_qsl((await request.body()).decode()))
        to = form.get("To", "")
        if not to.startswith("+") or not to[1:].isdigit() or len(to) < 8:
            return state._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in state.blocked:
            return state._error(400, 21610, "Attempt to send to unsubscribed recipient")
        if state.rate_limited > 0:
            state.rate_limited -= 1
            return state._error(429, 20429, "Too Many Requests")
        message_sid = f"SM{next(state._ids):032x}"
        state.sent.append({**form, "sid": message_sid})
        return Response(
            {
                "sid": message_sid,
                "account_sid": sid,
                "to": to,
                "from": form.get("From"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "error_code": None,
                "error_message": None,
            },
            status_code=201,
        )

    return Litestar([create_message], debug=False)


@dataclass
class TencentStandIn:
    """Tencent Cloud's SendSms (API 3.0): checks the TC3-HMAC-SHA256 signature by
    recomputing it from the request as received, and answers the documented errors
    (AuthFailure.SignatureFailure, InvalidParameterValue.IncorrectPhoneNumber,
    FailedOperation.PhoneNumberInBlacklist, RequestLimitExceeded)."""

    secret_id: str = "AKIDstandin"
    secret_key: str = "standin-secret-key"
    sent: list[dict[str, Any]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    rate_limited: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))


def _tc3_expected(state: TencentStandIn, headers: Any, payload: bytes) -> str:
    import hashlib
    import hmac
    from datetime import UTC, datetime

    timestamp = int(headers.get("x-tc-timestamp", "0"))
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical_headers = (
        f"content-type:{headers.get('content-type', '')}\n"
        f"host:sms.tencentcloudapi.com\n"
        f"x-tc-action:{headers.get('x-tc-action', '').lower()}\n"
    )
    canonical = (
        f"POST\n/\n\n{canonical_headers}\ncontent-type;host;x-tc-action\n"
        + hashlib.sha256(payload).hexdigest()
    )
    scope = f"{date}/sms/tc3_request"
    string = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )

    def h(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(("TC3" + state.secret_key).encode(), date), "sms"), "tc3_request")
    sig = hmac.new(key, string.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={state.secret_id}/{scope}, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={sig}"
    )


def create_tencent_standin(state: TencentStandIn) -> Litestar:
    import json

    def error(code: str, message: str) -> Response[Any]:
        return Response(
            {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": "r"}}
        )

    @post("/", status_code=200)
    async def send_sms(request: Request[Any, Any, Any]) -> Response[Any]:
        payload = await request.body()
        if request.headers.get("authorization") != _tc3_expected(state, request.headers, payload):
            return error(
                "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
            )
        body = json.loads(payload)
        number = body["PhoneNumberSet"][0]
        if state.rate_limited > 0:
            state.rate_limited -= 1
            return error("RequestLimitExceeded", "Your current request times exceeds the limit.")
        if not number.startswith("+") or not number[1:].isdigit():
            code, message = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect number"
        elif number in state.blocked:
            code, message = "FailedOperation.PhoneNumberInBlacklist", "blacklisted"
        else:
            code, message = "Ok", "send success"
        serial = f"2028:{next(state._ids):020d}" if code == "Ok" else ""
        if code == "Ok":
            state.sent.append({**body, "SerialNo": serial})
        return Response(
            {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": serial,
                            "PhoneNumber": number,
                            "Fee": 1,
                            "SessionContext": body.get("SessionContext", ""),
                            "Code": code,
                            "Message": message,
                            "IsoCode": "CN",
                        }
                    ],
                    "RequestId": "r",
                }
            }
        )

    return Litestar([send_sms], debug=False)

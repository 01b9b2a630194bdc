"""Aliyun SMS push (短信上行消息推送 SmsUp, 短信发送状态 SmsReport): JSON arrays, no signature
(the per-inbox URL token protects the address), answered `{"code": 0, "msg": "接收成功"}`.
Aliyun retries until answered, so each up-link is stored once by its `sequence_id`."""

from __future__ import annotations

from typing import Annotated

import msgspec

ANSWER = {"code": 0, "msg": "接收成功"}


class Up(msgspec.Struct, frozen=True, kw_only=True):
    phone_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    content: Annotated[str, msgspec.Meta(max_length=20_000)]
    sequence_id: int | Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    send_time: Annotated[str, msgspec.Meta(max_length=32)] = ""
    sign_name: Annotated[str, msgspec.Meta(max_length=64)] = ""
    dest_code: Annotated[str, msgspec.Meta(max_length=32)] = ""


Ups = Annotated[list[Up], msgspec.Meta(min_length=1, max_length=1000)]

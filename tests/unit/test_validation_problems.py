"""Litestar's "Validation failed for POST …" becomes a sentence per field, in the
request's language, that says what to change."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

import httpx
import msgspec
import pytest
from litestar import Litestar, get, post

from kefu.i18n import Text
from kefu.problems import HANDLERS, field_error


class Line(msgspec.Struct):
    sku: Annotated[str, msgspec.Meta(max_length=8)]


class Order(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
    quantity: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1
    role: Literal["agent", "admin"] = "agent"
    group_id: uuid.UUID | None = None
    lines: Annotated[list[Line], msgspec.Meta(max_length=2)] = []
    colour: Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-f]{6}$")] = "#000000"


@post("/orders")
async def create_order(data: Order) -> None:
    return None


@get("/orders")
async def list_orders(limit: int = 10) -> list[str]:
    return []


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar([create_order, list_orders], exception_handlers=HANDLERS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize(
    ("message", "key", "field", "said"),
    [
        (
            "Object missing required field `name`",
            "data",
            "name",
            Text("This is required.", "此项必填。"),
        ),
        (
            "Object missing required field `sku`",
            "lines[0]",
            "lines[0].sku",
            Text("This is required.", "此项必填。"),
        ),
        (
            "Object contains unknown field `colour2`",
            "data",
            "colour2",
            Text("This field is not known here; leave it out.", "无法识别此字段，请去掉。"),
        ),
        (
            "Expected `str` of length <= 200",
            "name",
            "name",
            Text("At most 200 characters.", "最多 200 个字符。"),
        ),
        (
            "Expected `str` of length >= 1",
            "name",
            "name",
            Text("This cannot be empty.", "此项不能为空。"),
        ),
        (
            "Expected `str` of length >= 8",
            "password",
            "password",
            Text("At least 8 characters.", "至少 8 个字符。"),
        ),
        (
            "Expected `array` of length <= 3",
            "tags",
            "tags",
            Text("At most 3 items.", "最多 3 项。"),
        ),
        (
            "Expected `int` <= 100",
            "capacity",
            "capacity",
            Text("Must be 100 or less.", "不能大于 100。"),
        ),
        ("Expected `int` >= 0", "capacity", "capacity", Text("Must be 0 or more.", "不能小于 0。")),
        ("Expected `float` > 0.0", "weight", "weight", Text("Must be more than 0.", "须大于 0。")),
        (
            "Expected `str | null`, got `int`",
            "title",
            "title",
            Text("Expected text or nothing, got a whole number.", "应为文字或空值，收到的是整数。"),
        ),
        (
            "Invalid enum value 'owner'",
            "role",
            "role",
            Text(
                "'owner' is not one of the choices; pick one from the list.",
                "'owner' 不是可选项，请从列表中选择。",
            ),
        ),
        (
            "Invalid UUID",
            "group_id",
            "group_id",
            Text("This must be an id (UUID).", "须为 ID（UUID）。"),
        ),
        (
            "Invalid RFC3339 encoded date",
            "special_days[0].date",
            "special_days[0].date",
            Text("This must be a date, e.g. 2026-01-31.", "须为日期，如 2026-01-31。"),
        ),
    ],
)
def test_each_msgspec_failure_becomes_a_sentence_about_its_field(
    message: str, key: str, field: str, said: Text
) -> None:
    error = field_error({"message": message, "key": key, "source": "body"})
    assert error.field == field
    assert error.message == said


def test_an_unforeseen_message_still_names_the_field_and_keeps_the_original() -> None:
    error = field_error({"message": "Something new in msgspec", "key": "x"})
    assert error.field == "x"
    assert isinstance(error.message, Text)
    assert "Something new in msgspec" in error.message.en
    assert "Something new in msgspec" in error.message.zh


async def test_too_long_name_is_reported_on_its_field_in_chinese(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/orders", json={"name": "much too long"}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"] == [{"field": "name", "message": "最多 5 个字符。"}]
    assert problem["detail"] == "请修改：name: 最多 5 个字符。"
    assert "Validation failed" not in response.text


async def test_missing_field_nested_and_out_of_range_in_english(client: httpx.AsyncClient) -> None:
    missing = await client.post("/orders", json={}, headers={"Accept-Language": "en"})
    assert missing.json()["errors"] == [{"field": "name", "message": "This is required."}]
    assert missing.json()["detail"] == "Please fix: name: This is required."

    nested = await client.post("/orders", json={"name": "a", "lines": [{"sku": "x" * 9}]})
    assert nested.json()["errors"] == [
        {"field": "lines[0].sku", "message": "At most 8 characters."}
    ]

    too_many = await client.post("/orders", json={"name": "a", "quantity": 11})
    assert too_many.json()["errors"] == [{"field": "quantity", "message": "Must be 10 or less."}]


async def test_wrong_type_and_bad_choice(client: httpx.AsyncClient) -> None:
    wrong = await client.post("/orders", json={"name": 7}, headers={"Accept-Language": "zh-CN"})
    assert wrong.json()["errors"] == [{"field": "name", "message": "应为文字，收到的是整数。"}]
    choice = await client.post("/orders", json={"name": "a", "role": "owner"})
    assert choice.json()["errors"] == [
        {"field": "role", "message": "'owner' is not one of the choices; pick one from the list."}
    ]


async def test_query_parameters_are_said_the_same_way(client: httpx.AsyncClient) -> None:
    response = await client.get("/orders?limit=lots", headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "limit", "message": "应为整数，收到的是文字。"}]


async def test_a_body_that_is_not_json_says_so(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/orders",
        content=b'{"name": ',
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "请求内容不是有效的 JSON，请检查提交的数据。"

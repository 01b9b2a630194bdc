"""A connector's settings: declared once as msgspec Structs, read three ways.

Each field is `Annotated[type, describe(label, ...)]`. From that one declaration come the
console's form (`fields_of`: the `GET /api/v1/channels` shape), the limits msgspec checks,
and the messages a person reads when a value is refused (`check`), in zh-CN and en.
Public settings and secrets are two Structs, so a secret can never be echoed by mistake.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import msgspec
import msgspec.inspect as mi

from kefu.errors import FieldError
from kefu.i18n import Label, Text
from kefu.validation import BAD_TEXT, storable_value

FieldType = Literal[
    "string",
    "text",
    "integer",
    "boolean",
    "choice",
    "url",
    "color",
    "locales",
    "calendar",
    "group",
    "email_inbox",
    "voice_inbox",
    "list",
    "ivr",  # a voice inbox's IVR tree (kefu.ivr.menu.IvrTree), edited by its own editor
]
S = TypeVar("S", bound=msgspec.Struct)
Section = Literal["connection", "widget", "hours", "behaviour"]


class Setting:
    """What the form needs beyond the type: words for people and where the field sits."""

    __slots__ = (
        "choices",
        "destination",
        "generated",
        "help",
        "invalid",
        "label",
        "section",
        "type",
    )

    def __init__(
        self,
        label: Text,
        help: Text | None,
        type: FieldType | None,
        section: Section,
        generated: bool,
        choices: Mapping[str, Text] | None,
        invalid: Text | None,
        destination: bool = False,
    ) -> None:
        self.destination = destination
        self.label = label
        self.help = help
        self.type = type
        self.section = section
        self.generated = generated
        self.choices = dict(choices) if choices else None
        self.invalid = invalid


def describe(
    label: Text,
    *,
    help: Text | None = None,
    type: FieldType | None = None,
    section: Section = "connection",
    generated: bool = False,
    choices: Mapping[str, Text] | None = None,
    invalid: Text | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    ge: int | None = None,
    le: int | None = None,
    destination: bool = False,
) -> msgspec.Meta:
    """The `Annotated` metadata of one setting. `invalid` is said when the value breaks
    its pattern (say what a good value looks like); `generated` secrets are made by the
    server when left empty and shown once. `destination`: the address the channel's
    secrets are sent to (or used at); changing where it points needs the secrets entered
    again in the same request, so an admin cannot redirect stored secrets elsewhere."""
    limits: dict[str, Any] = {
        "min_length": min_length,
        "max_length": max_length,
        "pattern": pattern,
        "ge": ge,
        "le": le,
    }
    meta: msgspec.Meta = msgspec.Meta(
        **{k: v for k, v in limits.items() if v is not None},
        extra={
            "kefu": Setting(label, help, type, section, generated, choices, invalid, destination)
        },
    )
    return meta


# --------------------------------------------------------------------------- the schema


class Choice(msgspec.Struct, frozen=True):
    value: str
    label: Label


class FieldSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One form field, as `GET /api/v1/channels` lists it (see CONTRACTS.md)."""

    name: str
    type: FieldType
    secret: bool
    required: bool
    generated: bool
    label: Label
    help: Label | None
    choices: list[Choice] | None
    default: Any
    max_length: int | None
    min: int | None
    max: int | None
    section: Section
    item_fields: list[FieldSpec] | None


class _Info(msgspec.Struct, kw_only=True):
    """A field's type with its annotations peeled off."""

    setting: Setting
    inner: mi.Type
    nullable: bool


def _peel(t: mi.Type) -> tuple[mi.Type, dict[str, Any], bool]:
    extra: dict[str, Any] = {}
    nullable = False
    while True:
        if isinstance(t, mi.Metadata):
            extra.update(t.extra or {})
            t = t.type
            continue
        if isinstance(t, mi.UnionType) and any(isinstance(x, mi.NoneType) for x in t.types):
            nullable = True
            rest = tuple(x for x in t.types if not isinstance(x, mi.NoneType))
            t = rest[0] if len(rest) == 1 else mi.UnionType(rest)
            continue
        return t, extra, nullable


def _info(field: mi.Field) -> _Info:
    inner, extra, nullable = _peel(field.type)
    found = extra.get("kefu")
    if not isinstance(found, Setting):
        raise TypeError(f"config field {field.name} needs describe(...) metadata")
    return _Info(setting=found, inner=inner, nullable=nullable)


def _kind_of(info: _Info) -> FieldType:
    if info.setting.type is not None:
        return info.setting.type
    inner = info.inner
    if isinstance(inner, mi.BoolType):
        return "boolean"
    if isinstance(inner, mi.IntType):
        return "integer"
    if isinstance(inner, mi.EnumType | mi.LiteralType):
        return "choice"
    if isinstance(inner, mi.ListType):
        return "list"
    return "string"


def _choices(info: _Info) -> list[Choice] | None:
    inner = info.inner
    values: list[str] = []
    if isinstance(inner, mi.EnumType):
        values = [str(m.value) for m in inner.cls]
    elif isinstance(inner, mi.LiteralType):
        values = [str(v) for v in inner.values]
    elif isinstance(inner, mi.ListType):
        item, _, _ = _peel(inner.item_type)
        if isinstance(item, mi.LiteralType):
            values = [str(v) for v in item.values]
    labels = info.setting.choices or {}
    if not values and not labels:
        return None
    return [Choice(value=v, label=(labels.get(v) or Text(v, v)).both()) for v in values or labels]


def _default(field: mi.Field) -> Any:
    if field.default is not msgspec.NODEFAULT:
        value = field.default
    elif field.default_factory is not msgspec.NODEFAULT:
        value = field.default_factory()
    else:
        return None
    return msgspec.to_builtins(value)


def _limits(inner: mi.Type) -> tuple[int | None, int | None, int | None]:
    text = _str_member(inner)
    if text is not None:
        return text.max_length, None, None
    if isinstance(inner, mi.IntType):
        return None, inner.ge, inner.le
    return None, None, None


def fields_of(config_type: type[msgspec.Struct], *, secret: bool) -> list[FieldSpec]:
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    specs = []
    for field in info.fields:
        peeled = _info(field)
        max_length, low, high = _limits(peeled.inner)
        item_fields = None
        if isinstance(peeled.inner, mi.ListType):
            item, _, _ = _peel(peeled.inner.item_type)
            if isinstance(item, mi.StructType):
                item_fields = fields_of(item.cls, secret=False)
        specs.append(
            FieldSpec(
                name=field.encode_name,
                type=_kind_of(peeled),
                secret=secret,
                required=field.required,
                generated=peeled.setting.generated,
                label=peeled.setting.label.both(),
                help=peeled.setting.help.both() if peeled.setting.help else None,
                choices=_choices(peeled),
                default=_default(field),
                max_length=max_length,
                min=low,
                max=high,
                section=peeled.setting.section,
                item_fields=item_fields,
            )
        )
    return specs


# --------------------------------------------------------------------------- checking


def say(en: str, zh: str, **values: object) -> Text:
    """A sentence in both languages; `Text` values (a field's label) are filled in each
    language, anything else as it is."""
    return Text(
        en.format(**{k: v.en if isinstance(v, Text) else v for k, v in values.items()}),
        zh.format(**{k: v.zh if isinstance(v, Text) else v for k, v in values.items()}),
    )


def _str_member(inner: mi.Type) -> mi.StrType | None:
    """The text form of a field (a title is text, or text per language)."""
    if isinstance(inner, mi.StrType):
        return inner
    if isinstance(inner, mi.UnionType):
        for member in inner.types:
            peeled, _, _ = _peel(member)
            if isinstance(peeled, mi.StrType):
                return peeled
    return None


def _listed(choices: list[Choice]) -> Text:
    return Text(", ".join(c.label.en for c in choices), "、".join(c.label.zh_cn for c in choices))


def _why(info: _Info, value: Any) -> Text:
    """What is wrong with `value`, said from the field's declaration."""
    label = info.setting.label
    inner = info.inner
    text = _str_member(inner)
    if text is not None and isinstance(value, str):
        if text.max_length is not None and len(value) > text.max_length:
            return say(
                "“{label}” may be at most {n} characters long.",
                "“{label}”最多 {n} 个字符。",
                label=label,
                n=text.max_length,
            )
        if text.min_length is not None and len(value) < text.min_length:
            return say(
                "“{label}” must be at least {n} characters long.",
                "“{label}”至少需要 {n} 个字符。",
                label=label,
                n=text.min_length,
            )
    choices = _choices(info)
    if info.setting.invalid is not None:
        return info.setting.invalid
    if isinstance(inner, mi.IntType):
        return say(
            "“{label}” must be a whole number from {low} to {high}.",
            "“{label}”必须是 {low} 到 {high} 之间的整数。",
            label=label,
            low=inner.ge,
            high=inner.le,
        )
    if choices and isinstance(inner, mi.ListType):
        return say(
            "“{label}” may contain only: {names}.",
            "“{label}”只能包含：{names}。",
            label=label,
            names=_listed(choices),
        )
    if choices:
        return say(
            "“{label}” must be one of: {names}.",
            "“{label}”只能是：{names}。",
            label=label,
            names=_listed(choices),
        )
    if isinstance(inner, mi.BoolType):
        return say("“{label}” must be on or off.", "“{label}”只能是开或关。", label=label)
    if text is not None and isinstance(value, str):
        return say("“{label}” is not in the expected form.", "“{label}”的格式不正确。", label=label)
    return say("“{label}” has a value of the wrong kind.", "“{label}”的值类型不对。", label=label)


def _required(info: _Info) -> Text:
    return say("“{label}” is required.", "请填写“{label}”。", label=info.setting.label)


class Checked(msgspec.Struct, frozen=True):
    """Settings that passed their field checks, as stored (defaults left out)."""

    values: dict[str, Any]
    errors: list[FieldError]


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_fields(
    config_type: type[msgspec.Struct], given: Mapping[str, Any], *, prefix: str = "config."
) -> Checked:
    """Each given value against its declaration; blank values count as not given.
    Required fields that are missing are reported too. Unknown names are the caller's
    business (it knows both Structs)."""
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    annotations = {f.name: f.type for f in msgspec.structs.fields(config_type)}
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in info.fields:
        peeled = _info(field)
        value = given.get(field.encode_name)
        if _blank(value):
            if field.required:
                errors.append(FieldError(prefix + field.encode_name, _required(peeled)))
            continue
        try:
            converted = msgspec.convert(value, annotations[field.name], strict=False)
        except msgspec.ValidationError:
            errors.append(FieldError(prefix + field.encode_name, _why(peeled, value)))
            continue
        stored = msgspec.to_builtins(converted)
        # Whatever the setting's type: text PostgreSQL cannot store is the field's fault.
        if not storable_value(stored):
            errors.append(FieldError(prefix + field.encode_name, BAD_TEXT))
            continue
        values[field.encode_name] = stored
    return Checked(values, errors)


def generate(config_type: type[msgspec.Struct], have: Mapping[str, Any]) -> dict[str, str]:
    """New values for the generated secrets not in `have` (URL-safe, 256 bits)."""
    made: dict[str, str] = {}
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        if _info(field).setting.generated and _blank(have.get(field.encode_name)):
            made[field.encode_name] = random.token_urlsafe(32)
    return made


def generated_names(config_type: type[msgspec.Struct]) -> frozenset[str]:
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    return frozenset(f.encode_name for f in info.fields if _info(f).setting.generated)


def destinations(config_type: type[msgspec.Struct]) -> dict[str, Text]:
    """The settings declared `destination=True`, with their labels."""
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    found = {}
    for field in info.fields:
        setting = _info(field).setting
        if setting.destination:
            found[field.encode_name] = setting.label
    return found


def labels_of(config_type: type[msgspec.Struct]) -> dict[str, Text]:
    info = mi.type_info(config_type)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: _info(f).setting.label for f in info.fields}


def names_of(config_type: type[msgspec.Struct]) -> frozenset[str]:
    return frozenset(f.encode_name for f in msgspec.structs.fields(config_type))


def as_struct(config_type: type[S], values: Mapping[str, Any]) -> S:
    """The Struct of values `check_fields` passed (unknown keys of old rows ignored)."""
    known = names_of(config_type)
    return msgspec.convert({k: v for k, v in values.items() if k in known}, config_type)

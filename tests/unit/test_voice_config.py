"""The voice inbox's settings carry core's CallPolicy field for field, so what an admin
sets in the form is what the calls service reads."""

from __future__ import annotations

import msgspec
import pytest

from kefu.calls.media import CallPolicy
from kefu.connectors.config import check_fields, fields_of
from kefu.connectors.voice.config import VoiceConfig, VoiceSecrets, api_url_of

BASE = {"livekit_url": "wss://lk.example.com", "api_key": "APIkey"}


def test_every_call_policy_field_is_a_setting_with_the_same_default() -> None:
    policy = msgspec.structs.fields(CallPolicy)
    settings = {f.name: f for f in msgspec.structs.fields(VoiceConfig)}
    for field in policy:
        assert field.name in settings, field.name
        assert settings[field.name].default == field.default, field.name


def test_core_reads_its_policy_from_a_stored_voice_config() -> None:
    checked = check_fields(VoiceConfig, {**BASE, "ring_strategy": "all", "wrap_up_s": 0})
    assert checked.errors == []
    policy = msgspec.convert({**checked.values, "ivr": None}, CallPolicy)
    assert (policy.ring_strategy, policy.wrap_up_s, policy.ring_timeout_s) == ("all", 0, 20)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ring_timeout_s", 4),
        ("ring_timeout_s", 121),
        ("max_wait_s", 2**31),
        ("wrap_up_s", -1),
        ("voicemail_max_s", 601),
        ("on_max_wait", "hang_up"),
        ("livekit_url", "http://lk.example.com"),
        ("api_key", "key with spaces"),
        ("recording_path", "recordings"),
        ("caller_number", "010-12345678"),
        ("ivr", {"menu": {}}),
    ],
)
def test_out_of_range_settings_name_their_field(name: str, value: object) -> None:
    checked = check_fields(VoiceConfig, {**BASE, name: value})
    assert [e.field for e in checked.errors] == [f"config.{name}"]
    assert checked.errors[0].message.zh  # said in Chinese too


def test_the_secret_is_long_enough_for_hs256() -> None:
    short = check_fields(VoiceSecrets, {"api_secret": "x" * 31})
    assert [e.field for e in short.errors] == ["config.api_secret"]
    assert check_fields(VoiceSecrets, {"api_secret": "x" * 32}).errors == []
    (secret,) = fields_of(VoiceSecrets, secret=True)
    assert secret.secret and secret.required


def test_the_api_address_defaults_to_the_browsers_address_over_http() -> None:
    def of(**values: str) -> str:
        return api_url_of(msgspec.convert({**BASE, **values}, VoiceConfig))

    assert of() == "https://lk.example.com"
    assert of(livekit_url="ws://10.0.0.5:7880/") == "http://10.0.0.5:7880"
    assert of(api_url="http://livekit:7880/") == "http://livekit:7880"

"""Signatures and the AES envelope, checked against Tencent's published sample
(the official 消息加解密 sample: token "spamtest", appid "wx2c2769f8efd9abc2")."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.connectors.wechat.crypto import MessageCipher, Reason, WeChatRequestError, sign
from kefu.connectors.wechat.webhook import (
    AccountKeys,
    Mode,
    WebhookQuery,
    open_message,
    read_xml,
    seal_request,
    verify_url,
)

TOKEN = "spamtest"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx2c2769f8efd9abc2"
TIMESTAMP = "1409735669"
NONCE = "1320562132"
MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQ"
    "HFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tE"
    "DYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3y"
    "ZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl"
    "+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
# The sample's body is in compatible mode: the plaintext fields and their encrypted copy.
SAMPLE_BODY = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
    "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId>"
    f"<Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>"
).encode()
SAMPLE_NOW = datetime.fromtimestamp(int(TIMESTAMP), UTC)
OTHER_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")

SAFE = AccountKeys(appid=APPID, token=TOKEN, mode=Mode.safe, encoding_aes_key=AES_KEY)
SAMPLE_QUERY = WebhookQuery(
    signature=sign(TOKEN, TIMESTAMP, NONCE),
    timestamp=TIMESTAMP,
    nonce=NONCE,
    encrypt_type="aes",
    msg_signature=MSG_SIGNATURE,
)


def _open(keys: AccountKeys, query: WebhookQuery, body: bytes, now: datetime = SAMPLE_NOW) -> str:
    return open_message(keys, query, body, now=now, tolerance_seconds=300)


def _reason(call: object) -> Reason:
    with pytest.raises(WeChatRequestError) as caught:
        call()  # type: ignore[operator]
    return caught.value.reason


def test_msg_signature_matches_tencents_sample() -> None:
    assert sign(TOKEN, TIMESTAMP, NONCE, ENCRYPT) == MSG_SIGNATURE


def test_plain_signature_is_sha1_of_sorted_parts() -> None:
    expected = hashlib.sha1("".join(sorted([TOKEN, TIMESTAMP, NONCE])).encode()).hexdigest()
    assert sign(TOKEN, TIMESTAMP, NONCE) == expected


def test_tencents_sample_decrypts_to_its_text_message() -> None:
    plain = _open(SAFE, SAMPLE_QUERY, SAMPLE_BODY)
    fields = read_xml(plain)
    assert fields["Content"] == "abcdteT"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["MsgId"] == "6054768590064713728"


def test_previous_aes_key_is_accepted_during_rollover() -> None:
    rolling = AccountKeys(
        appid=APPID,
        token=TOKEN,
        mode=Mode.safe,
        encoding_aes_key=OTHER_KEY,
        previous_encoding_aes_key=AES_KEY,
    )
    assert read_xml(_open(rolling, SAMPLE_QUERY, SAMPLE_BODY))["Content"] == "abcdteT"


def test_retired_aes_key_is_refused() -> None:
    retired = AccountKeys(appid=APPID, token=TOKEN, mode=Mode.safe, encoding_aes_key=OTHER_KEY)
    assert _reason(lambda: _open(retired, SAMPLE_QUERY, SAMPLE_BODY)) is Reason.bad_ciphertext


def test_ciphertext_for_another_appid_is_refused() -> None:
    other_app = AccountKeys(
        appid="wx0000000000000000", token=TOKEN, mode=Mode.safe, encoding_aes_key=AES_KEY
    )
    assert _reason(lambda: _open(other_app, SAMPLE_QUERY, SAMPLE_BODY)) is Reason.bad_ciphertext


def test_forged_msg_signature_is_refused() -> None:
    forged = msgspec_replace(SAMPLE_QUERY, msg_signature="0" * 40)
    assert _reason(lambda: _open(SAFE, forged, SAMPLE_BODY)) is Reason.bad_signature


def test_stale_and_future_timestamps_are_refused_at_the_tolerance_edge() -> None:
    assert _open(SAFE, SAMPLE_QUERY, SAMPLE_BODY, SAMPLE_NOW + timedelta(seconds=300))
    late = SAMPLE_NOW + timedelta(seconds=301)
    early = SAMPLE_NOW - timedelta(seconds=301)
    assert _reason(lambda: _open(SAFE, SAMPLE_QUERY, SAMPLE_BODY, late)) is Reason.stale_timestamp
    assert _reason(lambda: _open(SAFE, SAMPLE_QUERY, SAMPLE_BODY, early)) is Reason.stale_timestamp


def test_safe_mode_refuses_a_plaintext_request() -> None:
    plain_query = WebhookQuery(
        signature=sign(TOKEN, TIMESTAMP, NONCE), timestamp=TIMESTAMP, nonce=NONCE
    )
    assert _reason(lambda: _open(SAFE, plain_query, SAMPLE_BODY)) is Reason.encryption_required


def test_encrypted_request_to_inbox_without_key_is_refused() -> None:
    plain = AccountKeys(appid=APPID, token=TOKEN)
    assert (
        _reason(lambda: _open(plain, SAMPLE_QUERY, SAMPLE_BODY)) is Reason.encryption_not_configured
    )


def test_compatible_mode_accepts_plaintext_with_plain_signature() -> None:
    compatible = AccountKeys(
        appid=APPID, token=TOKEN, mode=Mode.compatible, encoding_aes_key=AES_KEY
    )
    plain_query = WebhookQuery(
        signature=sign(TOKEN, TIMESTAMP, NONCE), timestamp=TIMESTAMP, nonce=NONCE
    )
    assert read_xml(_open(compatible, plain_query, SAMPLE_BODY))["Content"] == "abcdteT"
    assert read_xml(_open(compatible, SAMPLE_QUERY, SAMPLE_BODY))["Content"] == "abcdteT"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<html>hi</html>",
        b'<!DOCTYPE xml [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
        # A processing instruction that mentions `<xml` once hid the DTD after it.
        b'<?pi <xml?><!DOCTYPE xml [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>',
        b"<xml><Encrypt></Encrypt></xml>",
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    query = msgspec_replace(SAMPLE_QUERY, msg_signature=sign(TOKEN, TIMESTAMP, NONCE, ""))
    assert _reason(lambda: _open(SAFE, query, body)) in {Reason.bad_xml, Reason.bad_ciphertext}


def _signed_garbage(encrypt: str) -> tuple[WebhookQuery, bytes]:
    """A correctly signed request (whoever holds the token) whose ciphertext is junk:
    only the AES layer stands between it and the database."""
    query = msgspec_replace(SAMPLE_QUERY, msg_signature=sign(TOKEN, TIMESTAMP, NONCE, encrypt))
    return query, f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()


@pytest.mark.parametrize(
    "encrypt",
    [
        "abc",  # not base64
        "QUJD",  # 3 bytes: not a whole AES block
        base64.b64encode(b"\0" * 16).decode(),  # one block: padding points past the end
        base64.b64encode(b"\xff" * 64).decode(),
        ENCRYPT[:64],  # truncated
        ENCRYPT[:-8] + "AAAAAAA=",  # tampered tail
    ],
)
def test_garbage_ciphertext_is_one_error_not_a_crash(encrypt: str) -> None:
    query, body = _signed_garbage(encrypt)
    assert _reason(lambda: _open(SAFE, query, body)) is Reason.bad_ciphertext


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_any_ciphertext_bytes_end_in_wechat_request_error_or_xml(raw: bytes) -> None:
    query, body = _signed_garbage(base64.b64encode(raw).decode())
    try:
        plain = _open(SAFE, query, body)
    except WeChatRequestError as refused:
        assert refused.status in {400, 403}
    else:  # pragma: no cover - would need the key
        assert read_xml(plain)


def test_url_verification_echoes_echostr() -> None:
    query = WebhookQuery(
        signature=sign(TOKEN, TIMESTAMP, NONCE),
        timestamp=TIMESTAMP,
        nonce=NONCE,
        echostr="5837397520665436492",
    )
    assert verify_url(SAFE, query, now=SAMPLE_NOW, tolerance_seconds=300) == "5837397520665436492"
    forged = msgspec_replace(query, signature=sign("other-token", TIMESTAMP, NONCE))
    assert (
        _reason(lambda: verify_url(SAFE, forged, now=SAMPLE_NOW, tolerance_seconds=300))
        is Reason.bad_signature
    )


@pytest.mark.parametrize("mode", list(Mode))
def test_sealed_request_opens_in_every_mode(mode: Mode) -> None:
    keys = AccountKeys(appid=APPID, token=TOKEN, mode=mode, encoding_aes_key=AES_KEY)
    xml = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o_user]]>"
        "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]>"
        "</MsgType><Content><![CDATA[你好 <b>&</b>]]></Content><MsgId>1</MsgId></xml>"
    )
    raw_query, body = seal_request(keys, xml, now=SAMPLE_NOW)
    query = WebhookQuery(**raw_query)
    assert (query.encrypt_type == "aes") is (mode is not Mode.plain)
    assert read_xml(_open(keys, query, body))["Content"] == "你好 <b>&</b>"


def test_bad_encoding_aes_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="43 characters"):
        MessageCipher(TOKEN, APPID, ["too-short"])


def msgspec_replace(query: WebhookQuery, **changes: str) -> WebhookQuery:
    import msgspec

    return msgspec.structs.replace(query, **changes)


def test_plaintext_that_is_not_utf8_is_refused() -> None:
    plain = AccountKeys(appid=APPID, token=TOKEN)
    query = WebhookQuery(signature=sign(TOKEN, TIMESTAMP, NONCE), timestamp=TIMESTAMP, nonce=NONCE)
    body = b"<xml><Content>\xff\xfe</Content></xml>"
    assert _reason(lambda: _open(plain, query, body)) is Reason.bad_xml


def test_inbox_with_a_mistyped_aes_key_answers_503_not_a_crash() -> None:
    typo = AccountKeys(appid=APPID, token=TOKEN, mode=Mode.safe, encoding_aes_key=AES_KEY[:-1])
    with pytest.raises(WeChatRequestError) as refused:
        _open(typo, SAMPLE_QUERY, SAMPLE_BODY)
    assert refused.value.reason is Reason.inbox_misconfigured
    assert refused.value.status == 503


@pytest.mark.parametrize(
    "xml",
    [
        '<?pi <xml?><!DOCTYPE xml [<!ENTITY a "b">]><xml><Content>&a;</Content></xml>',
        "<xml><!DOCTYPE x><Content>a</Content></xml>",
        '<xml><Content>a</Content><!-- <!ENTITY a "b"> --></xml>',
        '<xml><Content><![CDATA[a]]></Content></xml><!ENTITY a "b">',
    ],
)
def test_any_declaration_outside_cdata_is_refused_before_parsing(xml: str) -> None:
    assert _reason(lambda: read_xml(xml)) is Reason.bad_xml


def test_declarations_inside_cdata_are_text() -> None:
    xml = "<xml><Content><![CDATA[see <!DOCTYPE html> and <!ENTITY>]]></Content></xml>"
    assert read_xml(xml)["Content"] == "see <!DOCTYPE html> and <!ENTITY>"

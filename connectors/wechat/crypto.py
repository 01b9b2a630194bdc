"""WeChat's two signatures and its AES envelope, on top of wechatpy.

wechatpy computes the SHA-1 signatures and does the AES-CBC work; this module adds what
a public webhook needs around it: comparisons in constant time, EncodingAESKey rollover
(the previous key stays valid while the admin switches keys in the WeChat console), and
one exception type for everything a forged or mangled request can make wechatpy raise
(it lets raw `struct.error`, `IndexError` and `ValueError` escape on garbage).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import struct
from collections.abc import Sequence

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.utils import WeChatSigner


class Reason(enum.StrEnum):
    """Why a webhook request was refused; each maps to one HTTP status."""

    missing_parameter = "missing_parameter"
    bad_signature = "bad_signature"
    stale_timestamp = "stale_timestamp"
    bad_ciphertext = "bad_ciphertext"
    bad_xml = "bad_xml"
    encryption_required = "encryption_required"
    encryption_not_configured = "encryption_not_configured"
    # Our side: the inbox's EncodingAESKey is not a valid key (a typo in the settings).
    inbox_misconfigured = "inbox_misconfigured"


STATUS: dict[Reason, int] = {
    Reason.missing_parameter: 400,
    Reason.bad_signature: 403,
    Reason.stale_timestamp: 403,
    Reason.bad_ciphertext: 400,
    Reason.bad_xml: 400,
    Reason.encryption_required: 400,
    Reason.encryption_not_configured: 400,
    Reason.inbox_misconfigured: 503,
}


class WeChatRequestError(Exception):
    """A webhook request kefu refuses; nothing of it is stored."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(detail or reason.value)
        self.reason = reason
        self.detail = detail or reason.value

    @property
    def status(self) -> int:
        return STATUS[self.reason]


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 over the sorted, concatenated parts (token, timestamp,
    nonce and, for `msg_signature`, the ciphertext)."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def verify_signature(given: str, *parts: str) -> None:
    # compare_digest: a plain `==` leaks through timing how many leading characters match.
    if not given or not hmac.compare_digest(sign(*parts).encode(), given.lower().encode()):
        raise WeChatRequestError(Reason.bad_signature, "signature does not match")


def check_aes_key(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey is base64 of a 32-byte AES key without its '='."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError("EncodingAESKey must be the 43 characters shown in the WeChat console")
    return key


# Everything wechatpy raises on a ciphertext that is not ours: bad base64, a length that is
# not a multiple of the block size, padding or length fields pointing past the end, bytes
# that are not UTF-8, or an appid that is not this account's.
_GARBAGE = (struct.error, IndexError, ValueError, TypeError, InvalidAppIdException)


class MessageCipher:
    """Opens and seals the AES envelope of one official account.

    `keys` lists the current EncodingAESKey first, then the previous one during a
    rollover; a ciphertext is accepted when any of them opens it for this appid.
    """

    def __init__(self, token: str, appid: str, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one EncodingAESKey is needed")
        self.token = token
        self.appid = appid
        self._keys = [check_aes_key(k) for k in keys]
        self._current = keys[0]

    def decrypt(self, encrypt: str) -> str:
        for key in self._keys:
            try:
                plain = PrpCrypto(key).decrypt(encrypt, self.appid)
            except _GARBAGE:
                continue
            return str(plain)
        raise WeChatRequestError(Reason.bad_ciphertext, "the message cannot be decrypted")

    def seal(self, xml: str, *, nonce: str, timestamp: str) -> str:
        """The encrypted envelope WeChat would post (and accepts as a passive reply)."""
        crypto = WeChatCrypto(self.token, self._current, self.appid)
        return str(crypto.encrypt_message(xml, nonce, timestamp))

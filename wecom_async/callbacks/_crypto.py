"""WeCom's callback crypto (WXBizMsgCrypt): signature, AES-256-CBC, PKCS#7 to 32, receive_id.

Everything is checked before anything is returned, and every failure is a
:class:`~wecom_async.errors.CallbackVerificationError` that names what failed, never the token,
the EncodingAESKey or the decrypted text. The signature is checked before decryption, so a
forger cannot use our padding or length checks as an oracle.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import CallbackVerificationError, Problem, ValidationError
from ._xml import MAX_BODY_BYTES, cdata, parse_fields

__all__ = ["CallbackCrypto"]

#: WXBizMsgCrypt pads with PKCS#7 to 32-byte blocks (not AES's 16).
_BLOCK = 32
_RANDOM_PREFIX = 16
_KEY_CHARS = 43
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


class CallbackCrypto:
    """Verify, decrypt and encrypt WeCom callbacks with the app's admin-console values.

    ``token`` and ``encoding_aes_key`` are the "Token" and "EncodingAESKey" of the app's
    "receive messages" settings; ``receive_id`` is the corp ID (``ww…``) for an internal app.
    The key is checked here: a :class:`~wecom_async.errors.ValidationError` names the parameter,
    never its value. ``repr()`` shows the receive_id only.
    """

    __slots__ = ("_iv", "_key", "_receive_id_bytes", "_token", "receive_id")

    def __init__(self, *, token: str, encoding_aes_key: str, receive_id: str) -> None:
        problems: list[Problem] = []
        if not isinstance(token, str) or not token:
            problems.append(Problem("token", "must be a non-empty str"))
        elif not token.isascii():
            problems.append(Problem("token", "must be ASCII (letters and digits in the console)"))
        key = b""
        if (
            not isinstance(encoding_aes_key, str)
            or len(encoding_aes_key) != _KEY_CHARS
            or not _B64_ALPHABET.issuperset(encoding_aes_key)
        ):
            problems.append(
                Problem("encoding_aes_key", f"must be {_KEY_CHARS} characters of A-Z a-z 0-9 + /")
            )
        else:
            key = base64.b64decode(encoding_aes_key + "=")
        if not isinstance(receive_id, str) or not receive_id:
            problems.append(Problem("receive_id", "must be a non-empty str (the corp ID)"))
        if problems:
            raise ValidationError(problems, model="CallbackCrypto")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self.receive_id = receive_id
        self._receive_id_bytes = receive_id.encode("utf-8")

    def __repr__(self) -> str:
        return f"CallbackCrypto(receive_id={self.receive_id!r})"

    # --- signature ------------------------------------------------------------------------

    def sign(self, *, timestamp: str, nonce: str, encrypted: str) -> str:
        """The ``msg_signature``: SHA1 (hex) of token, timestamp, nonce and text, sorted, joined."""
        parts = sorted([self._token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, text: str) -> None:
        expected = self.sign(timestamp=timestamp, nonce=nonce, encrypted=text).encode("ascii")
        given = msg_signature.encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(expected, given):
            raise CallbackVerificationError("msg_signature does not match")

    # --- AES ------------------------------------------------------------------------------

    def _open(self, encrypted: str) -> bytes:
        """The message inside ``encrypted`` (base64), every layer checked."""
        try:
            data = base64.b64decode(encrypted.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise CallbackVerificationError("encrypted text is not valid base64") from None
        if not data or len(data) % _BLOCK:
            raise CallbackVerificationError(
                f"ciphertext of {len(data)} bytes is not a whole number of {_BLOCK}-byte blocks"
            )
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackVerificationError("bad PKCS#7 padding (wrong key, or not WeCom's text)")
        content = plain[_RANDOM_PREFIX:-pad]
        if len(content) < 4:
            raise CallbackVerificationError("decrypted text too short for its length field")
        length = int.from_bytes(content[:4], "big")
        if length > len(content) - 4:
            raise CallbackVerificationError("message length field points past the end")
        message = content[4 : 4 + length]
        if not hmac.compare_digest(content[4 + length :], self._receive_id_bytes):
            raise CallbackVerificationError("receive_id does not match (another corp or app?)")
        return message

    def _seal(self, message: bytes) -> str:
        """``message`` encrypted the way WeCom does it, base64."""
        body = os.urandom(_RANDOM_PREFIX) + len(message).to_bytes(4, "big") + message
        body += self._receive_id_bytes
        pad = _BLOCK - len(body) % _BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode("ascii")

    # --- the three operations ---------------------------------------------------------------

    def verify_url(self, *, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The URL-verification GET: check the signature, return the decrypted ``echostr``.

        Answer the GET with exactly this text (HTTP 200) and WeCom accepts the URL. A space in
        ``echostr`` is read as ``+``: base64 has no spaces, so one can only be a ``+`` that a
        query-string decoder turned into a space.
        """
        echostr = echostr.replace(" ", "+")
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        message = self._open(echostr)
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackVerificationError("decrypted echostr is not UTF-8") from None

    def decrypt(self, *, msg_signature: str, timestamp: str, nonce: str, body: bytes) -> bytes:
        """The inner XML of a callback POST: ``body`` is the POSTed outer XML.

        Raises :class:`~wecom_async.errors.CallbackPayloadError` (a ``CallbackVerificationError``)
        when ``body`` is not acceptable XML or has no ``<Encrypt>``.
        """
        encrypted = [text for path, text in parse_fields(body) if path == "Encrypt"]
        if len(encrypted) != 1:
            raise CallbackVerificationError(
                f"the body has {len(encrypted)} <Encrypt> elements, not one"
            )
        self._check_signature(msg_signature, timestamp, nonce, encrypted[0])
        return self._open(encrypted[0])

    def encrypt(self, xml: bytes, *, timestamp: str, nonce: str) -> bytes:
        """``xml`` encrypted into the outer XML WeCom POSTs (and a receiver may answer with).

        The outer XML carries ``ToUserName`` (the receive_id), ``Encrypt``, ``MsgSignature``,
        ``TimeStamp`` and ``Nonce``; WeCom also sends the signature in the query string (see
        :meth:`encrypt_request`).
        """
        return self._outer(xml, timestamp=timestamp, nonce=nonce)[1]

    def encrypt_request(
        self, xml: bytes, *, timestamp: str, nonce: str
    ) -> tuple[dict[str, str], bytes]:
        """What WeCom sends for ``xml``: the query (``msg_signature``, ``timestamp``, ``nonce``)
        and the POST body. For fake servers and tests of a receiver."""
        signature, body = self._outer(xml, timestamp=timestamp, nonce=nonce)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, body

    def _outer(self, xml: bytes, *, timestamp: str, nonce: str) -> tuple[str, bytes]:
        if len(xml) > MAX_BODY_BYTES:
            raise CallbackVerificationError(
                f"message of {len(xml)} bytes is over the {MAX_BODY_BYTES}-byte limit"
            )
        encrypted = self._seal(xml)
        signature = self.sign(timestamp=timestamp, nonce=nonce, encrypted=encrypted)
        body = (
            f"<xml><ToUserName>{cdata(self.receive_id)}</ToUserName>"
            f"<Encrypt>{cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>"
            f"<TimeStamp>{cdata(timestamp)}</TimeStamp>"
            f"<Nonce>{cdata(nonce)}</Nonce></xml>"
        ).encode()
        return signature, body

    def encrypt_echostr(self, echo: str, *, timestamp: str, nonce: str) -> dict[str, str]:
        """The query of a URL-verification GET for ``echo`` (fake servers and tests)."""
        echostr = self._seal(echo.encode("utf-8"))
        signature = self.sign(timestamp=timestamp, nonce=nonce, encrypted=echostr)
        return {
            "msg_signature": signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }

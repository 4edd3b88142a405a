"""CallbackCrypto against an independent implementation (wechatpy's WeCom crypto), and every
way a callback can fail to verify: each raises CallbackVerificationError and yields nothing."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from wecom_async import CallbackPayloadError, CallbackVerificationError, ValidationError
from wecom_async.callbacks import CallbackCrypto

TOKEN = "QDG6eK"
# The example key of WeCom's own WXBizMsgCrypt samples.
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"
INNER = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    b"<FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>"
    b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[modify_schedule]]></Event>"
    b"<CalId><![CDATA[wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA]]></CalId>"
    b"<ScheduleId><![CDATA[17c7d2bd9f20d652840f72f59e796AAA]]></ScheduleId></xml>"
)


@pytest.fixture
def ours() -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id=CORP)


@pytest.fixture
def theirs() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, KEY, CORP)


def encrypt_of(body: bytes) -> str:
    element = ElementTree.fromstring(body).find("Encrypt")
    assert element is not None
    assert element.text is not None
    return element.text


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def raw_aes(plain: bytes, key: str = KEY) -> str:
    """AES-256-CBC with WeCom's key and IV over ``plain`` exactly as given (no padding added)."""
    aes_key = base64.b64decode(key + "=")
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(aes_key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def signed_body(
    encrypted: str, timestamp: str = "1700000000", nonce: str = "n1"
) -> tuple[dict[str, str], bytes]:
    body = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {
        "msg_signature": signature(TOKEN, timestamp, nonce, encrypted),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    return query, body.encode()


def layout(
    message: bytes, receive_id: bytes = CORP.encode(), *, length: int | None = None
) -> bytes:
    n = len(message) if length is None else length
    return os.urandom(16) + n.to_bytes(4, "big") + message + receive_id


def pkcs7(data: bytes, block: int = 32) -> bytes:
    pad = block - len(data) % block
    return data + bytes([pad]) * pad


# --- WeCom's published vectors (the WXBizMsgCrypt samples, with the key above) --------------

SAMPLE_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj9"
    "11L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DO"
    "dnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03"
    "v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6Bp"
    "NelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_published_vectors(ours: CallbackCrypto) -> None:
    echo = ours.verify_url(
        msg_signature="5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
        timestamp="1409659589",
        nonce="263014780",
        echostr=SAMPLE_ECHOSTR,
    )
    assert echo == "1616140317555161061"
    body = (
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
        f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    ).encode()
    inner = ours.decrypt(
        msg_signature="477715d11cdb4164915debcba66cb864d751f3e6",
        timestamp="1409659813",
        nonce="1372623149",
        body=body,
    )
    assert inner == (
        b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
        b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n"
        b"<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n"
        b"<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
    )


# --- against wechatpy ----------------------------------------------------------------------


def test_ours_encrypt_is_decrypted_by_wechatpy(ours: CallbackCrypto, theirs: WeChatCrypto) -> None:
    query, body = ours.encrypt_request(INNER, timestamp="1700000000", nonce="abc")
    text = theirs.decrypt_message(body.decode(), query["msg_signature"], "1700000000", "abc")
    assert text.encode() == INNER
    # encrypt() alone: the outer XML carries the same signature wechatpy checks.
    outer = ours.encrypt(INNER, timestamp="1700000001", nonce="xyz")
    sig = ElementTree.fromstring(outer).findtext("MsgSignature")
    assert theirs.decrypt_message(outer.decode(), sig, "1700000001", "xyz").encode() == INNER


def test_wechatpy_encrypt_is_decrypted_by_ours(ours: CallbackCrypto, theirs: WeChatCrypto) -> None:
    for message in (
        INNER,
        "<xml><Content><![CDATA[日程 ✓]]></Content></xml>".encode(),
        b"<x/>" * 300,
    ):
        outer = theirs.encrypt_message(message.decode(), "nonce-1", "1700000002")
        sig = ElementTree.fromstring(outer).findtext("MsgSignature")
        assert sig is not None
        got = ours.decrypt(
            msg_signature=sig, timestamp="1700000002", nonce="nonce-1", body=outer.encode()
        )
        assert got == message


def test_verify_url_both_ways(ours: CallbackCrypto, theirs: WeChatCrypto) -> None:
    query = ours.encrypt_echostr("5927782489442352469", timestamp="1409659589", nonce="263014780")
    echo = theirs.check_signature(
        query["msg_signature"], "1409659589", "263014780", query["echostr"]
    )
    assert echo == "5927782489442352469"
    assert ours.verify_url(**query) == "5927782489442352469"
    # wechatpy's sealed echostr (what WeCom sends) verified by ours.
    echostr = PrpCrypto(base64.b64decode(KEY + "=")).encrypt("echo-ß", CORP).decode()
    sig = signature(TOKEN, "1", "2", echostr)
    assert ours.verify_url(msg_signature=sig, timestamp="1", nonce="2", echostr=echostr) == "echo-ß"
    with pytest.raises(InvalidSignatureException):
        theirs.check_signature("0" * 40, "1409659589", "263014780", query["echostr"])


def test_padding_is_to_32_like_wecom(ours: CallbackCrypto) -> None:
    for size in range(70):
        query, body = ours.encrypt_request(b"x" * size, timestamp="1", nonce="2")
        raw = base64.b64decode(encrypt_of(body))
        assert len(raw) % 32 == 0
        assert ours.decrypt(body=body, **query) == b"x" * size


# --- failures: each raises, nothing returned ------------------------------------------------


def test_tampered_signature(ours: CallbackCrypto) -> None:
    query, body = ours.encrypt_request(INNER, timestamp="1", nonce="2")
    last = "0" if query["msg_signature"][-1] != "0" else "1"
    for bad in (
        {**query, "msg_signature": query["msg_signature"][:-1] + last},
        {**query, "timestamp": "3"},
        {**query, "nonce": "x"},
        {**query, "msg_signature": "ü" * 40},
        {**query, "msg_signature": ""},
    ):
        with pytest.raises(CallbackVerificationError, match="msg_signature"):
            ours.decrypt(body=body, **bad)
    # a tampered ciphertext no longer matches the signature either
    encrypted = encrypt_of(body)
    flipped = encrypted[:10] + ("A" if encrypted[10] != "A" else "B") + encrypted[11:]
    with pytest.raises(CallbackVerificationError, match="msg_signature"):
        ours.decrypt(body=body.replace(encrypted.encode(), flipped.encode()), **query)


def test_wrong_receive_id(ours: CallbackCrypto) -> None:
    other = CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id="ww-other-corp")
    query, body = other.encrypt_request(INNER, timestamp="1", nonce="2")
    with pytest.raises(CallbackVerificationError, match="receive_id"):
        ours.decrypt(body=body, **query)
    # a receive_id that is a prefix or an extension of ours is not ours
    for rid in (CORP[:-1], CORP + "x"):
        query, body = signed_body(raw_aes(pkcs7(layout(INNER, rid.encode()))))
        with pytest.raises(CallbackVerificationError, match="receive_id"):
            ours.decrypt(body=body, **query)


def test_wrong_key(ours: CallbackCrypto) -> None:
    other_key = base64.b64encode(os.urandom(32)).decode()[:43]
    other = CallbackCrypto(token=TOKEN, encoding_aes_key=other_key, receive_id=CORP)
    query, body = other.encrypt_request(INNER, timestamp="1", nonce="2")
    with pytest.raises(CallbackVerificationError):
        ours.decrypt(body=body, **query)


@pytest.mark.parametrize(
    ("plain", "match"),
    [
        (layout(INNER) + bytes(32 - len(layout(INNER)) % 32), "padding"),  # pad byte 0
        (pkcs7(layout(INNER))[:-2] + b"\x05\x04", "padding"),  # pad bytes not all equal
        (pkcs7(layout(INNER), block=16) if len(layout(INNER)) % 32 < 16 else b"", "whole number"),
    ],
    ids=["pad-0", "pad-inconsistent", "padded-to-16"],
)
def test_bad_padding(ours: CallbackCrypto, plain: bytes, match: str) -> None:
    if not plain:  # the layout happened to need a 16-byte pad: make the case again
        plain = pkcs7(layout(INNER + b" "), block=16)
    query, body = signed_body(raw_aes(plain))
    with pytest.raises(CallbackVerificationError, match=match):
        ours.decrypt(body=body, **query)


def test_pad_33(ours: CallbackCrypto) -> None:
    # 33 bytes of 0x21 at the end: consistent, but a pad value over 32 is out of range
    plain = layout(b"") + bytes([33]) * (64 - len(layout(b"")))
    query, body = signed_body(raw_aes(plain))
    with pytest.raises(CallbackVerificationError, match="padding"):
        ours.decrypt(body=body, **query)


def test_length_field_past_the_end(ours: CallbackCrypto) -> None:
    for length in (len(INNER) + len(CORP) + 1, 2**32 - 1):
        query, body = signed_body(raw_aes(pkcs7(layout(INNER, length=length))))
        with pytest.raises(CallbackVerificationError, match="length"):
            ours.decrypt(body=body, **query)
    # too short to hold the random prefix and the length field at all
    query, body = signed_body(raw_aes(pkcs7(os.urandom(18))))
    with pytest.raises(CallbackVerificationError, match="too short"):
        ours.decrypt(body=body, **query)


def test_truncated_or_invalid_base64(ours: CallbackCrypto) -> None:
    _, body = ours.encrypt_request(INNER, timestamp="1", nonce="2")
    encrypted = encrypt_of(body)
    for bad, match in (
        (encrypted[:-1], "base64"),  # truncated: padding wrong
        (encrypted[:-4], "whole number"),  # truncated by a whole quantum: a partial block
        # a whole 32-byte block cut off: CBC still decrypts, the padding no longer holds
        (base64.b64encode(base64.b64decode(encrypted)[:-32]).decode(), "padding|length"),
        ("%%%" + encrypted[3:], "base64"),
        ("", "whole number"),
        ("日程", "base64"),
    ):
        q, b = signed_body(bad)
        with pytest.raises(CallbackVerificationError, match=match):
            ours.decrypt(body=b, **q)
        with pytest.raises(CallbackVerificationError, match=match):
            ours.verify_url(echostr=bad, **q)


def test_outer_xml_problems(ours: CallbackCrypto) -> None:
    query, body = ours.encrypt_request(INNER, timestamp="1", nonce="2")
    with pytest.raises(CallbackPayloadError, match="well-formed"):
        ours.decrypt(body=body[:-3], **query)
    with pytest.raises(CallbackVerificationError, match="0 <Encrypt>"):
        ours.decrypt(body=b"<xml><ToUserName>x</ToUserName></xml>", **query)
    doubled = body.replace(b"</xml>", b"<Encrypt>x</Encrypt></xml>")
    with pytest.raises(CallbackVerificationError, match="2 <Encrypt>"):
        ours.decrypt(body=doubled, **query)
    dtd = b'<!DOCTYPE xml [<!ENTITY e "x">]>' + body
    with pytest.raises(CallbackPayloadError, match="DTD"):
        ours.decrypt(body=dtd, **query)


def test_verify_url_failures(ours: CallbackCrypto) -> None:
    query = ours.encrypt_echostr("12345", timestamp="1", nonce="2")
    with pytest.raises(CallbackVerificationError, match="msg_signature"):
        ours.verify_url(**{**query, "nonce": "3"})
    other = CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id="ww-other")
    with pytest.raises(CallbackVerificationError, match="receive_id"):
        ours.verify_url(**other.encrypt_echostr("12345", timestamp="1", nonce="2"))
    q, _ = signed_body(raw_aes(pkcs7(layout(b"\xff\xfe"))))
    echostr = raw_aes(pkcs7(layout(b"\xff\xfe")))
    q = {**q, "msg_signature": signature(TOKEN, q["timestamp"], q["nonce"], echostr)}
    with pytest.raises(CallbackVerificationError, match="UTF-8"):
        ours.verify_url(echostr=echostr, **q)


# --- construction and secrets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        ({"encoding_aes_key": KEY[:42]}, ("encoding_aes_key",)),
        ({"encoding_aes_key": KEY + "A"}, ("encoding_aes_key",)),
        ({"encoding_aes_key": KEY[:42] + "="}, ("encoding_aes_key",)),
        ({"encoding_aes_key": KEY[:42] + "-"}, ("encoding_aes_key",)),
        ({"token": ""}, ("token",)),
        ({"token": "令牌"}, ("token",)),
        ({"receive_id": ""}, ("receive_id",)),
        (
            {"token": "", "encoding_aes_key": 123, "receive_id": None},
            ("token", "encoding_aes_key", "receive_id"),
        ),
    ],
)
def test_construction_is_checked(kwargs: dict[str, object], paths: tuple[str, ...]) -> None:
    arguments: dict[str, object] = {
        "token": TOKEN,
        "encoding_aes_key": KEY,
        "receive_id": CORP,
        **kwargs,
    }
    with pytest.raises(ValidationError) as info:
        CallbackCrypto(**arguments)  # type: ignore[arg-type]
    assert info.value.paths == paths
    text = str(info.value)
    for secret in (KEY, KEY[:42], "令牌"):
        assert secret not in text


def test_secrets_never_shown(ours: CallbackCrypto) -> None:
    assert repr(ours) == f"CallbackCrypto(receive_id={CORP!r})"
    assert TOKEN not in repr(ours)
    assert KEY not in repr(ours)
    query, body = ours.encrypt_request(INNER, timestamp="1", nonce="2")
    failures = []
    for bad_query, bad_body in (
        ({**query, "nonce": "x"}, body),
        (query, body.replace(b"<Encrypt>", b"<E>")),
    ):
        with pytest.raises(CallbackVerificationError) as info:
            ours.decrypt(body=bad_body, **bad_query)
        failures.append(str(info.value))
    for text in failures:
        for secret in (TOKEN, KEY, "modify_schedule"):
            assert secret not in text


def test_import_is_lazy_and_the_extra_is_named() -> None:
    code = (
        "import sys, wecom_async, wecom_async.testing, wecom_async.cli\n"
        "assert 'cryptography' not in sys.modules, 'imported eagerly'\n"
        "assert 'wecom_async.callbacks' not in sys.modules\n"
        "sys.modules['cryptography'] = None  # as if the extra were not installed\n"
        "try:\n"
        "    import wecom_async.callbacks\n"
        "except wecom_async.ExtraNotInstalledError as exc:\n"
        "    assert isinstance(exc, ImportError)\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'wecom-async[callbacks]'" in out.stdout

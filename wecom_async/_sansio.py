"""The sans-I/O core: pure functions that build requests and decode answers.

Nothing here touches the network, the clock or the event loop, so it is unit-tested directly and
shared by the client and anything else that speaks the WeCom wire format.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import msgspec
from yarl import URL

from . import _converter
from .errors import HTTPStatusError, ResponseDecodeError, error_class_for

__all__ = [
    "Envelope",
    "api_url",
    "decode_json",
    "decode_response",
    "gettoken_url",
    "model_decoder",
    "raise_for_errcode",
]

API_PREFIX = "/cgi-bin/"

_TOO_DEEP = "JSON nested too deeply"


class HasErrcode(Protocol):
    @property
    def errcode(self) -> int: ...

    @property
    def errmsg(self) -> str: ...


R = TypeVar("R", bound=HasErrcode)


class Envelope(msgspec.Struct):
    """What every answer has: errcode and errmsg."""

    errcode: int = 0
    errmsg: str = ""


def api_url(base_url: str, path: str, access_token: str) -> URL:
    """The URL of an API call. It carries the token: never log it or put it in an error."""
    return URL(
        f"{base_url}{API_PREFIX}{path}?access_token={quote(access_token, safe='')}",
        encoded=True,
    )


def gettoken_url(base_url: str, corp_id: str, corp_secret: str) -> URL:
    """The gettoken URL. It carries the secret: never log it or put it in an error."""
    query = f"corpid={quote(corp_id, safe='')}&corpsecret={quote(corp_secret, safe='')}"
    return URL(f"{base_url}{API_PREFIX}gettoken?{query}", encoded=True)


def raise_for_errcode(errcode: int, errmsg: str, path: str) -> None:
    """Raise the registered :class:`~wecom_async.WeComAPIError` subclass when errcode ≠ 0."""
    if errcode != 0:
        raise error_class_for(errcode)(errcode, errmsg, path=path)


def _check_status(status: int, path: str) -> None:
    if status != 200:
        raise HTTPStatusError(status, path=path)


def decode_response(status: int, body: bytes, model: type[R], path: str) -> R:
    """HTTP status and body → the response model, or the typed error it stands for.

    A 200 answer with ``errcode != 0`` raises the registered :class:`WeComAPIError` subclass; a
    non-200 status raises :class:`HTTPStatusError`; bytes that are not the expected JSON raise
    :class:`ResponseDecodeError`.
    """
    return model_decoder(model, path)(status, body)


_model_decoders: dict[tuple[type[Any], str], Callable[[int, bytes], Any]] = {}


def model_decoder(model: type[R], path: str) -> Callable[[int, bytes], R]:
    """``decode_response`` bound to a model and a path: ``(status, body) -> model``.

    Built once per (model, path) and reused: every call of an endpoint decodes its answers with
    the same function, which does the whole of :func:`decode_response` inline.
    """
    key = (model, path)
    decode = _model_decoders.get(key)
    if decode is None:
        decode = _model_decoders[key] = _make_model_decoder(model, path)
    return decode


def _make_model_decoder(model: type[R], path: str) -> Callable[[int, bytes], R]:
    decode_body = _converter.decoder_for(model)

    def decode(status: int, body: bytes) -> R:
        if status != 200:
            raise HTTPStatusError(status, path=path)
        try:
            result: R = decode_body(body)
        except RecursionError:
            # msgspec recurses once per nesting level, even in fields it skips (orjson, for
            # decode_json, stops at depth 1024 with a ValueError).
            raise ResponseDecodeError(_TOO_DEEP, path=path, excerpt=body) from None
        except msgspec.DecodeError as exc:
            # An error answer may still be a well-formed envelope with a surprising payload.
            envelope = _decode_envelope(body, path)
            raise_for_errcode(envelope.errcode, envelope.errmsg, path)
            raise ResponseDecodeError(str(exc), path=path, excerpt=body) from None
        if result.errcode != 0:
            raise error_class_for(result.errcode)(result.errcode, result.errmsg, path=path)
        return result

    return decode


def decode_json(status: int, body: bytes, *, path: str) -> dict[str, Any]:
    """HTTP status and body → the answer as a dict (for endpoints without a model)."""
    _check_status(status, path)
    try:
        data = _converter.loads(body)
    except ValueError as exc:
        raise ResponseDecodeError(str(exc), path=path, excerpt=body) from None
    if not isinstance(data, dict):
        raise ResponseDecodeError("expected a JSON object", path=path, excerpt=body)
    errcode = data.get("errcode", 0)
    if not isinstance(errcode, int):
        raise ResponseDecodeError("errcode is not an integer", path=path, excerpt=body)
    raise_for_errcode(errcode, str(data.get("errmsg", "")), path)
    return data


_envelope_decoder = msgspec.json.Decoder(Envelope, strict=False)


def _decode_envelope(body: bytes, path: str) -> Envelope:
    try:
        return _envelope_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise ResponseDecodeError(str(exc), path=path, excerpt=body) from None
    except RecursionError:
        raise ResponseDecodeError(_TOO_DEEP, path=path, excerpt=body) from None

"""The receiver's core, without I/O: (method, query, body) -> (status, headers, body, events).

The aiohttp and ASGI adapters read the request, call :meth:`CallbackReceiver.handle` and hand
the events it returns to a :class:`~wecom_async.callbacks.CallbackDispatcher`; anything else
(another framework, a serverless function) can do the same in a few lines.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

import attrs

from .._logfields import fields
from ..errors import CallbackPayloadError, CallbackVerificationError, Problem, ValidationError
from ._crypto import CallbackCrypto
from ._events import CallbackEvent, UnknownEvent, parse_event
from ._xml import MAX_BODY_BYTES

__all__ = ["CallbackReceiver", "CallbackResponse"]

logger = logging.getLogger("wecom_async.callbacks")

_TEXT = (("Content-Type", "text/plain; charset=utf-8"),)
_QUERY = ("msg_signature", "timestamp", "nonce")


@attrs.frozen
class CallbackResponse:
    """What to answer (``status``, ``headers``, ``body``) and the ``events`` to deliver.

    ``events`` is empty unless the request was a verified, well-formed callback not seen before.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    events: tuple[CallbackEvent, ...] = ()


def _answer(status: int, text: str, *, extra: tuple[tuple[str, str], ...] = ()) -> CallbackResponse:
    return CallbackResponse(status, _TEXT + extra, text.encode("utf-8"))


class CallbackReceiver:
    """Verifies, decrypts, parses and deduplicates WeCom callbacks; does no I/O.

    Answers:

    * ``GET`` with ``msg_signature``, ``timestamp``, ``nonce``, ``echostr``: 200 with the
      decrypted echostr (the URL verification), 403 if it does not verify.
    * ``POST`` with ``msg_signature``, ``timestamp``, ``nonce`` and the encrypted XML: 200
      ``success`` with the event (none for a redelivery already seen); 400 for a missing
      parameter or XML that is not well-formed (or has a DTD), 403 for a signature, key, padding
      or receive_id that does not verify, 413 over ``max_body_bytes``. Nothing is delivered
      for any answer but 200.
    * anything else: 405.

    ``dedup_size`` message keys (16 bytes each) are remembered, least recently seen forgotten
    first: WeCom retries within seconds, so the default covers minutes at 1,000 callbacks/s.
    ``max_age`` (seconds, off by default: WeCom's docs set no freshness rule) refuses, with 403,
    callbacks whose ``timestamp`` is further than that from ``clock()``; a replay older than the
    dedup memory is otherwise delivered again, which a feed that re-fetches absorbs.

    ``parse`` turns the decrypted XML into an event: :func:`parse_event` (schedule and calendar
    events) by default, :func:`parse_suite_event` for a service provider's command callback
    (whose XML, carrying tickets and codes, is then never logged).
    """

    def __init__(
        self,
        crypto: CallbackCrypto,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        dedup_size: int = 100_000,
        max_age: float | None = None,
        clock: Callable[[], float] = time.time,
        parse: Callable[[bytes], CallbackEvent] = parse_event,
    ) -> None:
        problems = []
        if not isinstance(crypto, CallbackCrypto):
            problems.append(Problem("crypto", "must be a CallbackCrypto"))
        if type(max_body_bytes) is not int or not 1 <= max_body_bytes <= MAX_BODY_BYTES:
            problems.append(Problem("max_body_bytes", f"must be an int in 1..{MAX_BODY_BYTES}"))
        if type(dedup_size) is not int or dedup_size < 1:
            problems.append(Problem("dedup_size", "must be an int >= 1"))
        if max_age is not None and (
            not isinstance(max_age, (int, float)) or isinstance(max_age, bool) or not max_age > 0
        ):
            problems.append(Problem("max_age", "must be None or a number > 0 (seconds)"))
        if problems:
            raise ValidationError(problems, model="CallbackReceiver")
        self.crypto = crypto
        self.max_body_bytes = max_body_bytes
        self.dedup_size = dedup_size
        self.max_age = max_age
        self._clock = clock
        self._parse = parse
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def __repr__(self) -> str:
        return f"CallbackReceiver({self.crypto!r}, seen={len(self._seen)})"

    def handle(self, method: str, query: Mapping[str, str], body: bytes) -> CallbackResponse:
        """The answer to one request, and the event to deliver if there is a new one."""
        method = method.upper()
        if method not in ("GET", "POST"):
            return _answer(405, "method not allowed", extra=(("Allow", "GET, POST"),))
        names = (*_QUERY, "echostr") if method == "GET" else _QUERY
        missing = [name for name in names if not query.get(name)]
        if missing:
            return _answer(400, f"missing query parameter(s): {', '.join(missing)}")
        signature, timestamp, nonce = (query[name] for name in _QUERY)
        if self.max_age is not None and not self._fresh(timestamp):
            logger.warning(
                "callback refused: timestamp further than max_age=%s s",
                self.max_age,
                extra=fields(),
            )
            return _answer(403, "stale timestamp")
        if method == "GET":
            try:
                echo = self.crypto.verify_url(
                    msg_signature=signature,
                    timestamp=timestamp,
                    nonce=nonce,
                    echostr=query["echostr"],
                )
            except CallbackVerificationError as exc:
                logger.warning("URL verification refused: %s", exc, extra=fields())
                return _answer(403, "verification failed")
            return _answer(200, echo)
        if len(body) > self.max_body_bytes:
            return _answer(413, f"body over {self.max_body_bytes} bytes")
        try:
            xml = self.crypto.decrypt(
                msg_signature=signature, timestamp=timestamp, nonce=nonce, body=body
            )
        except CallbackPayloadError as exc:
            logger.warning("callback refused: %s", exc, extra=fields())
            return _answer(400, "bad request")
        except CallbackVerificationError as exc:
            logger.warning("callback refused: %s", exc, extra=fields())
            return _answer(403, "verification failed")
        try:
            event = self._parse(xml)
        except CallbackPayloadError as exc:
            # Signed by WeCom but unusable: say so loudly, with the text of a schedule event (not
            # a secret; a provider's messages carry tickets and codes).
            text = xml[:2000] if self._parse is parse_event else b"(not logged)"
            logger.error(
                "WeCom sent a verified callback we cannot parse (%s): %r", exc, text, extra=fields()
            )
            return _answer(400, "bad request")
        if isinstance(event, UnknownEvent):
            logger.info(
                "callback event %r has no class: delivered as UnknownEvent",
                event.event,
                extra=fields(),
            )
        key = event.dedup_key
        if key in self._seen:
            self._seen.move_to_end(key)
            return _answer(200, "success")
        self._seen[key] = None
        if len(self._seen) > self.dedup_size:
            self._seen.popitem(last=False)
        return CallbackResponse(200, _TEXT, b"success", (event,))

    def forget(self, event: CallbackEvent) -> None:
        """Forget ``event`` was seen, so WeCom's next redelivery of it is delivered.

        The adapters call this when they answer 503 instead of delivering.
        """
        self._seen.pop(event.dedup_key, None)

    def _fresh(self, timestamp: str) -> bool:
        assert self.max_age is not None
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        return abs(self._clock() - sent) <= self.max_age

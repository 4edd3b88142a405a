"""``CallbackASGIApp``: the receiver as a small ASGI app (FastAPI, Starlette, any ASGI server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from ._crypto import CallbackCrypto
from ._dispatch import CallbackDispatcher, EventHandler, respond
from ._sansio import CallbackReceiver, CallbackResponse

__all__ = ["CallbackASGIApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class CallbackASGIApp:
    """The receiver as an ASGI app: mount it (``app.mount("/wecom/callback", cb)``).

    It answers at whatever path it is mounted on. Mounted apps get no lifespan events, so call
    ``await cb.aclose()`` when the server stops (FastAPI: in the lifespan, after ``yield``) to
    let events in flight finish; run on its own, it does that on the lifespan shutdown.
    ``receiver`` and ``dispatcher`` are the :class:`CallbackReceiver` and
    :class:`CallbackDispatcher` it uses.
    """

    def __init__(
        self,
        crypto: CallbackCrypto | CallbackReceiver,
        on_event: EventHandler | CallbackDispatcher,
        *,
        drain_timeout: float | None = 30.0,
    ) -> None:
        self.receiver = crypto if isinstance(crypto, CallbackReceiver) else CallbackReceiver(crypto)
        self.dispatcher = (
            on_event if isinstance(on_event, CallbackDispatcher) else CallbackDispatcher(on_event)
        )
        self.drain_timeout = drain_timeout

    async def aclose(self) -> None:
        """Refuse new events; wait ``drain_timeout`` s for those in flight (see the dispatcher)."""
        await self.dispatcher.aclose(timeout=self.drain_timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise NotImplementedError(f"CallbackASGIApp serves HTTP, not {scope['type']!r}")
        method = str(scope["method"])
        query: dict[str, str] = {}
        raw_query = bytes(scope.get("query_string", b"")).decode("utf-8", "replace")
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(name, value)
        body = await self._read_body(receive) if method.upper() == "POST" else b""
        if body is None:
            answer = CallbackResponse(
                413,
                (("Content-Type", "text/plain; charset=utf-8"),),
                f"body over {self.receiver.max_body_bytes} bytes".encode(),
            )
        else:
            answer = respond(self.receiver, self.dispatcher, method, query, body)
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in answer.headers
        ]
        headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The request body, or None as soon as it is over ``max_body_bytes``."""
        limit = self.receiver.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

"""``callback_app``: the receiver as an aiohttp.web application."""

from __future__ import annotations

from aiohttp import web

from ._crypto import CallbackCrypto
from ._dispatch import CallbackDispatcher, EventHandler, respond
from ._sansio import CallbackReceiver

__all__ = ["CALLBACK_DISPATCHER", "CALLBACK_RECEIVER", "callback_app"]

#: ``app[CALLBACK_RECEIVER]``: the app's :class:`CallbackReceiver`.
CALLBACK_RECEIVER = web.AppKey("wecom_async_callback_receiver", CallbackReceiver)
#: ``app[CALLBACK_DISPATCHER]``: the app's :class:`CallbackDispatcher` (``failed``, ``pending``).
CALLBACK_DISPATCHER = web.AppKey("wecom_async_callback_dispatcher", CallbackDispatcher)


def callback_app(
    crypto: CallbackCrypto | CallbackReceiver,
    on_event: EventHandler | CallbackDispatcher,
    *,
    path: str = "/wecom/callback",
    drain_timeout: float | None = 30.0,
) -> web.Application:
    """An aiohttp app answering WeCom's callbacks at ``path`` (GET verification, POST events).

    ``crypto`` is a :class:`CallbackCrypto` (or a configured :class:`CallbackReceiver`);
    ``on_event`` an async function of one event (or a configured :class:`CallbackDispatcher`).
    Every POST is answered at once; events reach ``on_event`` in background tasks. On the app's
    cleanup, events in flight get ``drain_timeout`` seconds to finish, then are cancelled and
    kept in ``app[CALLBACK_DISPATCHER].failed`` (and logged).
    """
    receiver = crypto if isinstance(crypto, CallbackReceiver) else CallbackReceiver(crypto)
    dispatcher = (
        on_event if isinstance(on_event, CallbackDispatcher) else CallbackDispatcher(on_event)
    )
    # aiohttp refuses a larger body with 413 before reading it all.
    app = web.Application(client_max_size=receiver.max_body_bytes)
    app[CALLBACK_RECEIVER] = receiver
    app[CALLBACK_DISPATCHER] = dispatcher

    async def handle(request: web.Request) -> web.Response:
        body = await request.read() if request.method == "POST" else b""
        answer = respond(receiver, dispatcher, request.method, request.query, body)
        return web.Response(status=answer.status, body=answer.body, headers=dict(answer.headers))

    async def close(_app: web.Application) -> None:
        await dispatcher.aclose(timeout=drain_timeout)

    app.router.add_route("*", path, handle)
    app.on_cleanup.append(close)
    return app

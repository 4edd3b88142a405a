"""The receiver: the sans-I/O core, the dispatcher, a real aiohttp server on loopback and the
ASGI app mounted in a real FastAPI app (its TestClient)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import RecordingSleep
from wecom_async import ValidationError
from wecom_async.callbacks import (
    CALLBACK_DISPATCHER,
    CalendarDeleted,
    CallbackASGIApp,
    CallbackCrypto,
    CallbackDispatcher,
    CallbackEvent,
    CallbackReceiver,
    ScheduleDeleted,
    ScheduleModified,
    UnknownEvent,
    build_event_xml,
    callback_app,
)

TOKEN = "t0k3n"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CORP = "ww0123456789abcdef"


@pytest.fixture
def crypto() -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id=CORP)


def modified(n: int, *, create_time: int = 1_700_000_000) -> ScheduleModified:
    return ScheduleModified(
        to_user_name=CORP,
        from_user_name="sys",
        create_time=create_time,
        cal_id="cal",
        schedule_id=f"s{n}",
    )


def request_for(
    crypto: CallbackCrypto, event: CallbackEvent, nonce: str = "n"
) -> tuple[dict[str, str], bytes]:
    return crypto.encrypt_request(build_event_xml(event), timestamp="1700000000", nonce=nonce)


# --- sans-I/O core -----------------------------------------------------------------------------


def test_core_verifies_the_url(crypto: CallbackCrypto) -> None:
    receiver = CallbackReceiver(crypto)
    query = crypto.encrypt_echostr("1616140317555161061", timestamp="1", nonce="2")
    answer = receiver.handle("GET", query, b"")
    assert (answer.status, answer.body, answer.events) == (200, b"1616140317555161061", ())
    bad = receiver.handle("GET", {**query, "msg_signature": "0" * 40}, b"")
    assert (bad.status, bad.events) == (403, ())
    assert b"1616140317555161061" not in bad.body
    # a '+' of the base64 echostr that a query decoder turned into a space still verifies
    for n in range(200):
        query = crypto.encrypt_echostr(f"echo {n}", timestamp="1", nonce="2")
        if "+" in query["echostr"]:
            break
    assert "+" in query["echostr"]
    spaced = {**query, "echostr": query["echostr"].replace("+", " ")}
    assert receiver.handle("GET", spaced, b"").body == f"echo {n}".encode()
    missing = receiver.handle("GET", {k: v for k, v in query.items() if k != "echostr"}, b"")
    assert (missing.status, missing.body) == (400, b"missing query parameter(s): echostr")


def test_core_delivers_once_and_refuses_bad_ones(crypto: CallbackCrypto) -> None:
    receiver = CallbackReceiver(crypto)
    query, body = request_for(crypto, modified(1))
    first = receiver.handle("POST", query, body)
    assert (first.status, first.body, first.events) == (200, b"success", (modified(1),))
    # WeCom's redelivery (even re-encrypted with a new nonce) is answered but not delivered again
    again_query, again_body = request_for(crypto, modified(1), nonce="other")
    for q, b in ((query, body), (again_query, again_body)):
        answer = receiver.handle("post", q, b)
        assert (answer.status, answer.body, answer.events) == (200, b"success", ())
    bad_sig = receiver.handle(
        "POST", {**query, "msg_signature": "1" * 40}, request_for(crypto, modified(2))[1]
    )
    assert (bad_sig.status, bad_sig.events) == (403, ())
    other = CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id="ww-other")
    wrong_corp = receiver.handle("POST", *request_for(other, modified(3)))
    assert (wrong_corp.status, wrong_corp.events) == (403, ())
    assert receiver.handle("POST", query, body[:-4]).status == 400
    assert receiver.handle("POST", {"timestamp": "1", "nonce": "2"}, body).status == 400
    assert receiver.handle("POST", query, b"<xml>" + b" " * 70_000 + b"</xml>").status == 413
    # an encoding pyexpat cannot read, declared by anyone (before any signature check): 400
    for encoding in (b"GBK", b"no-such"):
        declared = b'<?xml version="1.0" encoding="' + encoding + b'"?>' + body
        assert receiver.handle("POST", query, declared).status == 400
    put = receiver.handle("PUT", query, body)
    assert (put.status, dict(put.headers)["Allow"]) == (405, "GET, POST")
    # none of the refused ones used a dedup slot: the next genuine event is delivered
    assert receiver.handle("POST", *request_for(crypto, modified(2))).events == (modified(2),)


def test_core_signed_but_unparsable_is_400_and_logged(
    crypto: CallbackCrypto, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = CallbackReceiver(crypto)
    query, body = crypto.encrypt_request(b"<xml><Event>oops</Even></xml>", timestamp="1", nonce="2")
    with caplog.at_level(logging.ERROR, logger="wecom_async.callbacks"):
        answer = receiver.handle("POST", query, body)
    assert (answer.status, answer.events) == (400, ())
    assert "cannot parse" in caplog.text
    assert "oops" in caplog.text
    # an unknown event is delivered, not refused
    query, body = crypto.encrypt_request(
        b"<xml><Event>brand_new</Event></xml>", timestamp="1", nonce="2"
    )
    (event,) = receiver.handle("POST", query, body).events
    assert isinstance(event, UnknownEvent)
    assert event.event == "brand_new"


def test_core_dedup_memory_is_bounded(crypto: CallbackCrypto) -> None:
    receiver = CallbackReceiver(crypto, dedup_size=2)
    requests = [request_for(crypto, modified(n)) for n in range(3)]
    for q, b in requests:
        assert len(receiver.handle("POST", q, b).events) == 1
    assert receiver.handle("POST", *requests[2]).events == ()  # remembered
    assert receiver.handle("POST", *requests[1]).events == ()  # remembered (and now most recent)
    assert len(receiver.handle("POST", *requests[0]).events) == 1  # forgotten: the oldest


def test_core_max_age(crypto: CallbackCrypto) -> None:
    now = [1_700_000_000.0]
    receiver = CallbackReceiver(crypto, max_age=300, clock=lambda: now[0])
    query, body = crypto.encrypt_request(
        build_event_xml(modified(1)), timestamp="1700000000", nonce="n"
    )
    now[0] += 301
    assert receiver.handle("POST", query, body).status == 403
    now[0] -= 2
    assert receiver.handle("POST", query, body).events == (modified(1),)
    q2, b2 = crypto.encrypt_request(build_event_xml(modified(2)), timestamp="soon", nonce="n")
    assert receiver.handle("POST", q2, b2).status == 403
    # off by default: a year-old timestamp is accepted (WeCom's docs set no freshness rule)
    assert CallbackReceiver(crypto, clock=lambda: 1e10).handle("POST", query, body).status == 200


def test_core_and_dispatcher_options_are_checked(crypto: CallbackCrypto) -> None:
    with pytest.raises(ValidationError) as info:
        CallbackReceiver(crypto, max_body_bytes=10**9, dedup_size=0, max_age=-1)
    assert info.value.paths == ("max_body_bytes", "dedup_size", "max_age")

    async def handler(event: CallbackEvent) -> None:
        pass

    with pytest.raises(ValidationError) as info:
        CallbackDispatcher(handler, retries=-1, retry_delay=float("nan"), max_pending=0)
    assert info.value.paths == ("retries", "retry_delay", "max_pending")


# --- dispatcher ----------------------------------------------------------------------------


async def test_dispatcher_retries_then_keeps_the_failed_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = RecordingSleep()
    calls: list[CallbackEvent] = []

    async def flaky(event: CallbackEvent) -> None:
        calls.append(event)
        if event == modified(1) and len(calls) < 3:
            raise RuntimeError("database down")
        if event == modified(2):
            raise RuntimeError("always down")

    dispatcher = CallbackDispatcher(flaky, retries=3, retry_delay=0.5, sleep=sleep)
    with caplog.at_level(logging.WARNING, logger="wecom_async.callbacks"):
        assert dispatcher.submit(modified(1))
        await dispatcher.drain()
        assert (calls, dispatcher.delivered, list(dispatcher.failed)) == ([modified(1)] * 3, 1, [])
        assert sleep.delays == [0.5, 1.0]
        calls.clear()
        assert dispatcher.submit(modified(2))
        await dispatcher.drain()
    assert calls == [modified(2)] * 4  # first attempt + 3 retries
    assert sleep.delays == [0.5, 1.0, 0.5, 1.0, 2.0]
    (failure,) = dispatcher.failed
    assert failure.event == modified(2)
    assert str(failure.error) == "always down"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "NOT delivered" in errors[0].getMessage()
    assert "schedule_id='s2'" in errors[0].getMessage()


async def test_dispatcher_failed_events_can_be_retried() -> None:
    down = True
    delivered: list[CallbackEvent] = []

    async def store(event: CallbackEvent) -> None:
        if down:
            raise ConnectionError("database down")
        delivered.append(event)

    dispatcher = CallbackDispatcher(store, retries=1, sleep=RecordingSleep(), max_pending=2)
    for n in range(3):
        assert dispatcher.submit(modified(n))
        await dispatcher.drain()
    assert [f.event for f in dispatcher.failed] == [modified(0), modified(1), modified(2)]
    down = False
    assert dispatcher.retry_failed() == 2  # max_pending=2: the third stays kept
    assert [f.event for f in dispatcher.failed] == [modified(2)]
    await dispatcher.drain()
    assert dispatcher.retry_failed() == 1
    await dispatcher.drain()
    assert delivered == [modified(0), modified(1), modified(2)]
    assert list(dispatcher.failed) == []


async def test_dispatcher_bounds_in_flight_and_close_keeps_the_unfinished() -> None:
    release = asyncio.Event()
    seen: list[CallbackEvent] = []

    async def blocked(event: CallbackEvent) -> None:
        seen.append(event)
        await release.wait()

    dispatcher = CallbackDispatcher(blocked, max_pending=2)
    assert dispatcher.submit(modified(1))
    assert dispatcher.submit(modified(2))
    assert not dispatcher.submit(modified(3))  # full: refused, nothing started
    await asyncio.sleep(0)
    assert seen == [modified(1), modified(2)]  # started in arrival order
    await dispatcher.aclose(timeout=0)
    assert [f.event for f in dispatcher.failed] == [modified(1), modified(2)]
    assert dispatcher.pending == 0
    assert not dispatcher.submit(modified(4))  # closed


async def test_dispatcher_keeps_an_event_whose_handler_was_cancelled() -> None:
    async def cancelled(event: CallbackEvent) -> None:
        raise asyncio.CancelledError  # e.g. a timeout inside the handler that escaped

    dispatcher = CallbackDispatcher(cancelled)
    assert dispatcher.submit(modified(1))
    await dispatcher.drain()
    assert [f.event for f in dispatcher.failed] == [modified(1)]
    assert dispatcher.delivered == 0


# --- aiohttp, on a real loopback server ----------------------------------------------------


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/wecom/callback"
    finally:
        await runner.cleanup()


Handler = Callable[[CallbackEvent], Awaitable[None]]


async def post(
    session: aiohttp.ClientSession, url: str, query: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    async with session.post(url, params=query, data=body) as response:
        return response.status, await response.read()


async def test_aiohttp_receiver_end_to_end(crypto: CallbackCrypto) -> None:
    release = asyncio.Event()
    started: list[CallbackEvent] = []
    finished: list[CallbackEvent] = []

    async def slow(event: CallbackEvent) -> None:
        started.append(event)
        await release.wait()  # a handler that would never let a synchronous receiver answer
        finished.append(event)

    app = callback_app(crypto, slow)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        verify = crypto.encrypt_echostr("echo 42", timestamp="1", nonce="2")
        async with session.get(url, params=verify) as response:
            assert (response.status, await response.text()) == (200, "echo 42")
        events = [
            modified(1),
            ScheduleDeleted(
                to_user_name=CORP,
                from_user_name="sys",
                create_time=1,
                cal_id="cal",
                schedule_id="s1",
            ),
            CalendarDeleted(to_user_name=CORP, from_user_name="sys", create_time=2, cal_id="cal"),
        ]
        for event in events:
            for attempt in range(3):  # WeCom's retries: the same event, re-encrypted
                status, body = await post(
                    session, url, *request_for(crypto, event, nonce=f"n{attempt}")
                )
                assert (status, body) == (200, b"success")  # answered while the handler is blocked
        query, body = request_for(crypto, modified(9))
        assert (await post(session, url, {**query, "nonce": "forged"}, body))[0] == 403
        assert (await post(session, url, query, b"<xml>" + b"x" * 70_000))[0] == 413
        async with session.put(url) as response:
            assert response.status == 405
        await asyncio.sleep(0)
        assert started == events  # each once, in order; the forged one never
        assert finished == []
        release.set()
    # the runner's cleanup drained the dispatcher: every started handler finished
    assert finished == events
    assert app[CALLBACK_DISPATCHER].failed == type(app[CALLBACK_DISPATCHER].failed)()


async def test_aiohttp_503_when_full_then_redelivery_accepted(crypto: CallbackCrypto) -> None:
    release = asyncio.Event()
    got: list[CallbackEvent] = []

    async def blocked(event: CallbackEvent) -> None:
        await release.wait()
        got.append(event)

    dispatcher = CallbackDispatcher(blocked, max_pending=1)
    async with serve(callback_app(crypto, dispatcher)) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, *request_for(crypto, modified(1))))[0] == 200
        status, _ = await post(session, url, *request_for(crypto, modified(2)))
        assert status == 503  # WeCom will redeliver: not marked as seen
        release.set()
        await dispatcher.drain()
        assert (await post(session, url, *request_for(crypto, modified(2))))[0] == 200
        await dispatcher.drain()
    assert got == [modified(1), modified(2)]


async def test_aiohttp_failing_handler_does_not_fail_the_answer(crypto: CallbackCrypto) -> None:
    async def broken(event: CallbackEvent) -> None:
        raise ValueError(f"cannot store {event.event}")

    dispatcher = CallbackDispatcher(broken, retries=1, sleep=RecordingSleep())
    async with serve(callback_app(crypto, dispatcher)) as url, aiohttp.ClientSession() as session:
        assert await post(session, url, *request_for(crypto, modified(1))) == (200, b"success")
        await dispatcher.drain()
    assert [f.event for f in dispatcher.failed] == [modified(1)]


# --- ASGI, mounted in a real FastAPI app -----------------------------------------------------


def test_fastapi_mount(crypto: CallbackCrypto) -> None:
    got: list[CallbackEvent] = []

    async def handler(event: CallbackEvent) -> None:
        await asyncio.sleep(0.01)
        got.append(event)

    callbacks = CallbackASGIApp(crypto, handler)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await callbacks.aclose()

    app = FastAPI(lifespan=lifespan)
    app.mount("/wecom/callback", callbacks)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True}

    with TestClient(app) as client:
        verify = crypto.encrypt_echostr("echo/+=", timestamp="1", nonce="2")
        response = client.get("/wecom/callback", params=verify)
        assert (response.status_code, response.text) == (200, "echo/+=")
        for n in range(5):
            for attempt in range(2):
                query, body = request_for(crypto, modified(n), nonce=f"x{attempt}")
                response = client.post("/wecom/callback", params=query, content=body)
                assert (response.status_code, response.content) == (200, b"success")
        query, body = request_for(crypto, modified(99))
        assert (
            client.post(
                "/wecom/callback", params={**query, "timestamp": "2"}, content=body
            ).status_code
            == 403
        )
        assert (
            client.post("/wecom/callback", params=query, content=b"x" * 70_000).status_code == 413
        )
        assert client.post("/wecom/callback", params=query, content=body[:50]).status_code == 400
        assert client.get("/health").json() == {"ok": True}
    # the lifespan's aclose() let every handler finish
    assert sorted(got, key=lambda e: str(e)) == sorted(
        (modified(n) for n in range(5)), key=lambda e: str(e)
    )
    assert list(callbacks.dispatcher.failed) == []


async def test_aiohttp_cleanup_drains_then_keeps_the_unfinished(crypto: CallbackCrypto) -> None:
    finished: list[CallbackEvent] = []

    cleaning_up = asyncio.Event()

    async def takes_a_while(event: CallbackEvent) -> None:
        # Runs until the cleanup began (however slow the machine): then it must be waited for.
        await cleaning_up.wait()
        await asyncio.sleep(0.05)
        finished.append(event)

    async def began(_app: web.Application) -> None:
        cleaning_up.set()

    app = callback_app(crypto, takes_a_while)
    app.on_cleanup.insert(0, began)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, *request_for(crypto, modified(1))))[0] == 200
        assert finished == []
    assert finished == [modified(1)]  # the cleanup waited for it
    assert app[CALLBACK_DISPATCHER].closed

    never = asyncio.Event()

    async def stuck(event: CallbackEvent) -> None:
        await never.wait()

    app = callback_app(crypto, stuck, drain_timeout=0)
    async with serve(app) as url, aiohttp.ClientSession() as session:
        assert (await post(session, url, *request_for(crypto, modified(2))))[0] == 200
    assert [f.event for f in app[CALLBACK_DISPATCHER].failed] == [modified(2)]
    assert app[CALLBACK_DISPATCHER].pending == 0


async def test_asgi_protocol_directly(crypto: CallbackCrypto) -> None:
    """Raw ASGI: the body is read no further than the limit; lifespan shutdown drains."""
    got: list[CallbackEvent] = []

    async def handler(event: CallbackEvent) -> None:
        await asyncio.sleep(0.01)
        got.append(event)

    app = CallbackASGIApp(crypto, handler)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(dict(message))

    reads = 0

    async def endless_body() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        assert reads < 1000, "kept reading past the limit"
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    query, body = request_for(crypto, modified(1))
    scope = {"type": "http", "method": "POST", "query_string": b"", "headers": []}
    await app(scope, endless_body, send)
    assert sent[0]["status"] == 413
    assert reads == 65  # 65 KiB read: one chunk past the 64 KiB limit, then it stopped

    chunks = [body[:100], body[100:]]

    async def two_chunks() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    sent.clear()
    qs = "&".join(f"{k}={v}" for k, v in query.items()).encode()
    await app({**scope, "query_string": qs}, two_chunks, send)
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"success")
    assert (b"content-length", b"7") in sent[0]["headers"]

    lifespan = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def lifespan_receive() -> dict[str, Any]:
        return lifespan.pop(0)

    sent.clear()
    await app({"type": "lifespan"}, lifespan_receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert got == [modified(1)]  # the shutdown waited for the handler
    assert app.dispatcher.closed

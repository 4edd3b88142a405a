"""Hostile or broken answers, against a server of our own on loopback (tests/_hostile.py)."""

from __future__ import annotations

import asyncio
import gc
import gzip
import tracemalloc
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from tests._hostile import (
    CORP_ID,
    CORP_SECRET,
    Hostile,
    answer_schedules,
    gzip_bomb,
    hostile_server,
    json_bytes,
    nested_body,
    requested_ids,
    schedule_json,
    threaded_hostile_server,
)
from wecom_async import (
    APIConnectionError,
    APITimeoutError,
    BulkFetchError,
    BulkProgress,
    ClientClosedError,
    RateLimits,
    RateLimitsConflictError,
    ResponseDecodeError,
    ResponseTooLargeError,
    SessionPool,
    UnexpectedError,
    WeComClient,
    WeComError,
)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    async with hostile_server() as server:
        yield server


async def no_sleep(seconds: float) -> None:
    pass


def client_for(server: Hostile, **kwargs: object) -> WeComClient:
    return WeComClient(
        corp_id=CORP_ID,
        corp_secret=CORP_SECRET,
        base_url=server.base_url,
        sleep=no_sleep,
        **kwargs,  # type: ignore[arg-type]
    )


def ids(count: int) -> list[str]:
    return [f"s{i:05d}" for i in range(count)]


# --- deeply nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2_000, 200_000])
async def test_a_deeply_nested_answer_is_a_response_decode_error(
    hostile: Hostile, depth: int
) -> None:
    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=nested_body(depth), content_type="application/json")

    hostile.handler = nested
    async with client_for(hostile) as client:
        with pytest.raises(ResponseDecodeError, match="nested too deeply"):
            await client.schedules.get(["a"])
        # the escape hatch (orjson) and a model given by the caller (msgspec) too
        with pytest.raises(ResponseDecodeError):
            await client.request("oa/schedule/get", {"schedule_id_list": ["a"]})


async def test_a_nested_error_answer_of_the_wrong_shape_is_a_response_decode_error(
    hostile: Hostile,
) -> None:
    # The schedule list has the wrong shape (so the envelope is decoded on its own), and the
    # envelope decoder then meets the nesting.
    body = b'{"errcode":0,"schedule_list":7,"x":' + b"[" * 5000 + b"]" * 5000 + b"}"

    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    hostile.handler = nested
    async with client_for(hostile) as client:
        with pytest.raises(ResponseDecodeError):
            await client.schedules.get(["a"])


async def test_get_many_collect_accounts_for_a_chunk_answered_with_deep_nesting(
    hostile: Hostile,
) -> None:
    async def poisoned(request: web.Request) -> web.Response:
        if "s00250" in await requested_ids(request):
            return web.Response(body=nested_body(100_000), content_type="application/json")
        return await answer_schedules(request)

    hostile.handler = poisoned
    wanted = ids(1000)
    async with client_for(hostile) as client:
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
    got = [s.schedule_id for s in result.schedules]
    assert sorted(got + result.missing + result.failed_ids) == wanted
    assert result.failed_ids == wanted[200:300]
    assert isinstance(result.failures[0].error, ResponseDecodeError)
    assert result.progress.failed_ids == 100


# --- every exception a chunk can raise -----------------------------------------------------------


async def test_a_chunk_failing_with_any_exception_lands_its_ids_in_failures(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(hostile) as client:
        real = client.schedules._get_chunk

        async def buggy(schedule_ids: tuple[str, ...], **kwargs: object) -> object:
            if "s00150" in schedule_ids:
                raise KeyError("a bug")
            return await real(schedule_ids, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(client.schedules, "_get_chunk", buggy)
        wanted = ids(500)
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
        got = [s.schedule_id for s in result.schedules]
        assert sorted(got + result.missing + result.failed_ids) == wanted
        assert result.failed_ids == wanted[100:200]
        error = result.failures[0].error
        assert isinstance(error, UnexpectedError)
        assert isinstance(error.__cause__, KeyError)
        assert error.error is error.__cause__
        assert "KeyError" in str(error)

        # with on_error="raise", the BulkFetchError carries it the same way
        with pytest.raises(WeComError) as caught:
            await client.schedules.get_many(wanted, chunk_size=100)
        assert caught.value.failed_ids == wanted[100:200]  # type: ignore[attr-defined]
        assert isinstance(caught.value.__cause__, UnexpectedError)


class FailingStore:
    """A custom token store whose backend is down (a Redis store, say)."""

    async def get(self, key: str) -> None:
        raise ConnectionRefusedError("token store down")

    async def set(self, key: str, token: object) -> None:
        raise AssertionError("not reached")

    async def invalidate(self, key: str, value: str) -> None:
        raise AssertionError("not reached")


async def test_a_single_call_failing_with_any_exception_raises_unexpected_error(
    hostile: Hostile,
) -> None:
    """As a bulk chunk reports it: a WeComError, the original as ``__cause__``, nothing sent."""
    async with client_for(hostile, token_store=FailingStore()) as client:
        calls: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("oa/schedule/get", lambda: client.schedules.get(["a"])),
            ("oa/schedule/add", lambda: client.schedules.add(start_time=1, end_time=2)),
            ("oa/calendar/get", lambda: client.calendars.get(["wc"])),
            ("oa/schedule/get", lambda: client.request("oa/schedule/get", {})),
        ]
        for path, call in calls:
            with pytest.raises(UnexpectedError) as caught:
                await call()
            assert caught.value.path == path
            assert isinstance(caught.value.__cause__, ConnectionRefusedError)
            assert caught.value.error is caught.value.__cause__
    assert hostile.calls == 0


async def test_a_cancelled_single_call_is_cancelled_not_wrapped(hostile: Hostile) -> None:
    arrived = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        arrived.set()
        await hostile.stopping.wait()
        return web.Response()

    hostile.handler = never
    async with client_for(hostile) as client:
        call = asyncio.ensure_future(client.schedules.get(["a"]))
        await arrived.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call


async def test_a_stray_cancelled_error_from_a_chunk_is_a_failure_not_a_cancellation(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(hostile) as client:
        real = client.schedules._get_chunk

        async def buggy(schedule_ids: tuple[str, ...], **kwargs: object) -> object:
            if "s00300" in schedule_ids:
                raise asyncio.CancelledError  # nobody cancelled the run
            return await real(schedule_ids, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(client.schedules, "_get_chunk", buggy)
        wanted = ids(500)
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
    got = [s.schedule_id for s in result.schedules]
    assert got == wanted[:300] + wanted[400:]
    assert result.failed_ids == wanted[300:400]
    error = result.failures[0].error
    assert isinstance(error, UnexpectedError)
    assert isinstance(error.__cause__, asyncio.CancelledError)


async def test_cancelling_a_bulk_fetch_still_cancels_it(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    reached = asyncio.Event()

    async def stalls(request: web.Request) -> web.StreamResponse:
        reached.set()
        await hostile.stopping.wait()
        return await answer_schedules(request)

    hostile.handler = stalls
    async with client_for(hostile) as client:
        real = client.schedules._get_chunk
        chunk_tasks: list[asyncio.Task[object]] = []

        async def noting(schedule_ids: tuple[str, ...], **kwargs: object) -> object:
            task = asyncio.current_task()
            assert task is not None
            chunk_tasks.append(task)
            return await real(schedule_ids, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(client.schedules, "_get_chunk", noting)
        fetch = asyncio.ensure_future(client.schedules.get_many(ids(500), chunk_size=100))
        await reached.wait()
        fetch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fetch
        # the chunks in flight were cancelled (not turned into failures), and gave their
        # limiter slots back
        assert chunk_tasks
        assert all(task.cancelled() for task in chunk_tasks)
        assert client._core.limiter("oa/schedule/get").in_flight == 0


async def test_a_bug_in_the_progress_callback_is_raised_as_it_is(hostile: Hostile) -> None:
    # The callback is the caller's code: its exception is theirs, not a failed chunk.
    def progress(done: BulkProgress) -> None:
        if done.chunks_done == 2:
            raise ZeroDivisionError("callback bug")

    async with client_for(hostile) as client:
        with pytest.raises(ZeroDivisionError, match="callback bug"):
            await client.schedules.get_many(
                ids(500), chunk_size=100, on_error="collect", progress=progress
            )


# --- bounded answers -----------------------------------------------------------------------------

MiB = 1 << 20


async def stream_body(request: web.Request, total: int, *, length: bool) -> web.StreamResponse:
    """``total`` bytes of JSON whitespace after an opening brace, chunked or with a length."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if length:
        response.content_length = total
    await response.prepare(request)
    await response.write(b"{" + b" " * (MiB - 1))
    block = b" " * MiB
    for _ in range(total // MiB - 1):
        await response.write(block)
    await response.write_eof()
    return response


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "chunked"])
async def test_a_100_mb_answer_fails_with_a_typed_error_by_default(
    hostile: Hostile, length: bool
) -> None:
    served: list[bool] = []

    async def huge(request: web.Request) -> web.StreamResponse:
        try:
            return await stream_body(request, 100 * MiB, length=length)
        finally:
            served.append(True)

    hostile.handler = huge
    async with client_for(hostile, max_retries=0) as client:
        with pytest.raises(ResponseTooLargeError) as caught:
            await client.schedules.get(["a"])
    assert caught.value.limit == 64 * MiB
    assert caught.value.path == "oa/schedule/get"
    assert isinstance(caught.value, ResponseDecodeError)  # as other unusable answers
    assert hostile.calls == 1  # not retried: the same request gets the same answer


async def test_a_gzip_bomb_fails_with_bounded_memory(hostile: Hostile) -> None:
    bomb = gzip_bomb(256 * MiB)  # ~250 KB on the wire

    async def bombing(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    hostile.handler = bombing
    async with client_for(hostile, max_response_bytes=8 * MiB, max_retries=0) as client:
        await client.tokens.get()
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError):
                await client.schedules.get(["a"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # the limit, plus aiohttp's read buffers and the joined copy: far below the 256 MiB inside
    assert peak < 40 * MiB, peak


async def test_answers_up_to_the_limit_are_read_compressed_chunked_or_plain(
    hostile: Hostile,
) -> None:
    schedules = [schedule_json(f"x{i}") for i in range(2000)]
    body = json_bytes({"errcode": 0, "schedule_list": schedules})
    modes = ("plain", "gzip", "chunked")
    mode = ""

    async def answer(request: web.Request) -> web.StreamResponse:
        if mode == "gzip":
            return web.Response(
                body=gzip.compress(body),
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        if mode == "chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            for start in range(0, len(body), 1000):
                await response.write(body[start : start + 1000])
            await response.write_eof()
            return response
        return web.Response(body=body, content_type="application/json")

    hostile.handler = answer
    async with client_for(hostile, max_response_bytes=len(body), max_retries=0) as client:
        for mode in modes:
            assert len(await client.schedules.get(["x0"])) == 2000, mode
    async with client_for(hostile, max_response_bytes=len(body) - 1, max_retries=0) as client:
        for mode in modes:
            with pytest.raises(ResponseTooLargeError):
                await client.schedules.get(["x0"])
            assert hostile.calls, mode


async def test_get_many_narrows_a_huge_answer_down_to_the_id_that_causes_it(
    hostile: Hostile,
) -> None:
    """Any answer with s00100 in it is over the limit: its chunk is split in halves until that
    ID alone fails; every other schedule is delivered."""

    async def one_huge(request: web.Request) -> web.StreamResponse:
        if "s00100" in await requested_ids(request):
            return await stream_body(request, 4 * MiB, length=False)
        return await answer_schedules(request)

    hostile.handler = one_huge
    wanted = ids(300)
    async with client_for(hostile, max_response_bytes=2 * MiB) as client:
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
    got = [s.schedule_id for s in result.schedules]
    assert got == wanted[:100] + wanted[101:]
    assert result.failed_ids == ["s00100"]
    assert isinstance(result.failures[0].error, ResponseTooLargeError)
    # 100 → 50 → 25 → 12 → 6 → 3 → 1: six splits, the twelve calls they take, 3 chunks.
    assert result.progress.splits == 6
    assert hostile.calls == 3 + 2 * 6


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "64"])
def test_max_response_bytes_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="max_response_bytes"):
        WeComClient(corp_id="c", corp_secret="s", max_response_bytes=bad)  # type: ignore[arg-type]


# --- garbage, cut-off and slow answers -----------------------------------------------------------


async def test_garbage_cut_off_and_slow_answers_are_typed_errors(hostile: Hostile) -> None:
    mode = ""

    async def broken(request: web.Request) -> web.StreamResponse:
        if mode == "garbage":
            return web.Response(body=b"\x00\xff<html>nope", content_type="application/json")
        if mode == "bad gzip":
            return web.Response(
                body=b"not gzip at all",
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 10_000
        await response.prepare(request)
        await response.write(b'{"errcode":0,')
        if mode == "slow":
            await hostile.stopping.wait()
        assert request.transport is not None
        request.transport.close()  # cut off
        return response

    hostile.handler = broken
    async with client_for(hostile, max_retries=0) as client:
        for mode, error in (
            ("garbage", ResponseDecodeError),
            ("bad gzip", APIConnectionError),
            ("cut off", APIConnectionError),
            ("slow", APITimeoutError),
        ):
            # A short timeout only for the answer that never ends (a loaded machine could
            # otherwise turn the others into timeouts, a subclass of APIConnectionError).
            with pytest.raises(error) as caught:
                await client.schedules.get(["a"], timeout=0.5 if mode == "slow" else None)
            assert type(caught.value) is error, mode
            assert "tok" not in repr(caught.value) + str(caught.value.__cause__), mode


# --- closing the client under a running fetch ----------------------------------------------------


@pytest.mark.parametrize("owned", [True, False], ids=["own-pool", "borrowed-pool"])
async def test_close_during_get_many_collect_keeps_what_was_fetched(
    hostile: Hostile, owned: bool
) -> None:
    stalled: list[str] = []
    reached = asyncio.Event()
    release = asyncio.Event()

    async def stalls_from_the_fourth_chunk(request: web.Request) -> web.StreamResponse:
        first = (await requested_ids(request))[0]
        if first >= "s00300":
            stalled.append(first)
            if len(stalled) == 2:  # both chunks fetched at once (concurrency=2) are waiting
                reached.set()
            await release.wait()
        return await answer_schedules(request)

    hostile.handler = stalls_from_the_fourth_chunk
    wanted = ids(1000)
    async with SessionPool() as pool:
        client = client_for(hostile) if owned else client_for(hostile, pool=pool)
        fetch = asyncio.ensure_future(
            client.schedules.get_many(wanted, chunk_size=100, concurrency=2, on_error="collect")
        )
        await reached.wait()
        await client.close()
        release.set()
        result = await fetch
        assert client.closed
        assert not pool.closed
    # Closing its own session cuts off the two calls in flight; a borrowed pool stays open,
    # so they finish (and are kept). Every chunk after them fails without being sent.
    fetched = 300 if owned else 500
    assert [s.schedule_id for s in result.schedules] == wanted[:fetched]
    assert result.failed_ids == wanted[fetched:]
    assert result.missing == []
    errors = [f.error for f in result.failures]
    assert all(isinstance(e, ClientClosedError) for e in errors), errors
    assert result.progress.failed_ids == 1000 - fetched
    assert errors[0].request_sent is owned  # type: ignore[attr-defined]
    assert stalled == ["s00300", "s00400"]
    assert hostile.calls == 5


@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip"])
@pytest.mark.parametrize("endpoint", ["schedule/get", "gettoken"])
async def test_close_ends_a_call_stalled_in_the_middle_of_its_answer(
    hostile: Hostile, framing: str, endpoint: str
) -> None:
    """aiohttp's close drops the connection of an answer being read without waking its reader,
    which then waited for the call's whole timeout (60 s here); it ends at once instead."""
    started = asyncio.Event()

    async def stalls_mid_body(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json"}
        if framing == "content-length":
            headers["Content-Length"] = "1000"
        if framing == "gzip":
            headers["Content-Encoding"] = "gzip"
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(gzip.compress(b"{" * 10_000)[:200] if framing == "gzip" else b"{")
        started.set()
        await hostile.stopping.wait()
        return response

    if endpoint == "gettoken":
        hostile.gettoken_handler = stalls_mid_body
    else:
        hostile.handler = stalls_mid_body
    client = client_for(hostile, timeout=60, max_retries=0)
    call = asyncio.ensure_future(client.schedules.get(["s1"]))
    await asyncio.wait_for(started.wait(), 30)
    await client.close()
    # Well under the call's 60 s timeout, whatever the load on the machine.
    with pytest.raises(ClientClosedError) as caught:
        await asyncio.wait_for(call, 30)
    # The schedule/get request was sent; stalled in gettoken, it was not.
    assert caught.value.request_sent is (endpoint == "schedule/get")


async def test_a_client_closed_error_in_flight_keeps_no_url_in_its_context(
    hostile: Hostile,
) -> None:
    """The session closes as a call fails with an aiohttp error that shows the request's URL
    (with the token): ``from None`` hides it from tracebacks, not from ``__context__``."""
    session: aiohttp.ClientSession | None = None

    async def fail_showing_the_url(
        _: aiohttp.ClientSession, __: object, params: aiohttp.TraceRequestEndParams
    ) -> None:
        assert session is not None
        if "access_token" in str(params.url):
            await session.close()
            raise aiohttp.InvalidURL(params.url)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(fail_showing_the_url)
    session = aiohttp.ClientSession(trace_configs=[trace])
    try:
        async with client_for(hostile, session=session) as client:
            with pytest.raises(ClientClosedError) as caught:
                await client.schedules.get(["a"])
    finally:
        await session.close()
    assert caught.value.request_sent
    error: BaseException | None = caught.value
    while error is not None:
        assert "token=tok" not in f"{error!s} {error!r}", type(error)
        error = error.__cause__ or error.__context__


async def test_calls_after_close_raise_client_closed_error(hostile: Hostile) -> None:
    client = client_for(hostile)
    await client.schedules.get(["a"])
    await client.close()
    with pytest.raises(ClientClosedError, match="closed") as caught:
        await client.schedules.get(["a"])
    assert not caught.value.request_sent
    assert isinstance(caught.value, RuntimeError)  # what it raised before it was typed
    derived = client.with_options(timeout=5)
    assert derived.closed
    with pytest.raises(ClientClosedError):
        await derived.schedules.get(["a"])
    with pytest.raises(BulkFetchError) as bulk:
        await client.schedules.get_many(ids(10))
    assert bulk.value.failed_ids == ids(10)
    assert isinstance(bulk.value.__cause__, ClientClosedError)
    assert hostile.calls == 1


async def test_a_write_in_flight_when_the_client_closes_is_not_resent(hostile: Hostile) -> None:
    reached = asyncio.Event()

    async def stalls(request: web.Request) -> web.StreamResponse:
        reached.set()
        await hostile.stopping.wait()
        return web.json_response({"errcode": 0, "schedule_id": "new"})

    hostile.handler = stalls
    client = client_for(hostile)
    add = asyncio.ensure_future(client.schedules.add(start_time=1, end_time=2, summary="s"))
    await reached.wait()
    await client.close()
    with pytest.raises(ClientClosedError) as caught:
        await add
    assert caught.value.request_sent
    assert hostile.calls == 1


async def test_a_borrowed_session_closed_by_its_owner_is_a_typed_error(hostile: Hostile) -> None:
    async with aiohttp.ClientSession() as session:
        client = client_for(hostile, session=session)
        await client.tokens.get()
    with pytest.raises(ClientClosedError, match="session is closed"):
        await client.schedules.get(["a"])


# --- one client, two event loops -----------------------------------------------------------------


def test_one_client_in_two_asyncio_runs_works_without_warnings() -> None:
    sessions: list[aiohttp.ClientSession] = []
    with threaded_hostile_server() as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = client_for(server)
        shared = client_for(server, pool=SessionPool())

        async def use() -> None:
            assert len(await client.schedules.get(["a"])) == 1
            assert len(await shared.schedules.get(["b"])) == 1
            sessions.append(client._core.session())

        asyncio.run(use())
        assert sessions[0].closed  # closed inside its loop, as asyncio.run shut it down
        asyncio.run(use())
        assert sessions[1] is not sessions[0]
        assert sessions[1].closed
        asyncio.run(client.close())
        assert client.closed
        sessions.clear()
        gc.collect()
    assert [str(w.message) for w in caught] == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_loops_closed_without_shutting_down_keep_no_session_alive() -> None:
    """A loop closed by hand without ``shutdown_asyncgens`` never closes its session: nothing of
    ours may keep that session (and its sockets) alive afterwards."""
    sessions: list[weakref.ref[aiohttp.ClientSession]] = []
    # (The sessions left unclosed are reported as ResourceWarnings: expected here.)
    with threaded_hostile_server() as server:
        clients = [client_for(server)]

        async def use() -> None:
            client = clients[0]
            assert len(await client.schedules.get(["a"])) == 1
            sessions.append(weakref.ref(client._core.session()))

        for _ in range(5):
            loop = asyncio.new_event_loop()
            loop.run_until_complete(use())
            loop.close()
        clients.clear()
        gc.collect()  # (the unclosed sessions' warnings are raised here, inside the test)
    assert [ref() for ref in sessions] == [None] * 5


def test_a_client_closed_in_one_asyncio_run_is_refused_in_the_next() -> None:
    with threaded_hostile_server() as server:
        client = client_for(server)

        async def use() -> None:
            async with client:
                await client.schedules.get(["a"])

        asyncio.run(use())
        with pytest.raises(ClientClosedError, match="closed; create a new one"):
            asyncio.run(use())


async def test_clients_of_one_corp_with_different_rate_limits_are_refused(
    hostile: Hostile,
) -> None:
    async with (
        client_for(hostile) as first,
        client_for(hostile, rate_limits=RateLimits()) as same,
        client_for(hostile, rate_limits=RateLimits(share=2)) as other,
    ):
        await first.schedules.get(["a"])
        await same.schedules.get(["a"])  # equal limits: one limiter, one quota
        with pytest.raises(RateLimitsConflictError, match="same RateLimits"):
            await other.schedules.get(["a"])
        with pytest.raises(RateLimitsConflictError):  # on every API of the corp
            await other.calendars.get(["c"])
        assert hostile.calls == 2  # refused before anything was sent
    async with WeComClient(
        corp_id="another-corp",
        corp_secret=CORP_SECRET,
        base_url=hostile.base_url,
        rate_limits=RateLimits(share=2),
    ) as another:
        await another.schedules.get(["a"])

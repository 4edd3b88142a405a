"""Bulk fetching through the public API: order, duplicates, missing IDs, failures, streaming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from wecom_async import (
    BulkFetchError,
    BulkProgress,
    NotFoundError,
    ResponseTooLargeError,
    ServerBusyError,
    ValidationError,
    WeComClient,
)
from wecom_async.testing import FakeAPIError, FakeWeCom, HandlerContext


def seed(fake: FakeWeCom, count: int) -> list[str]:
    return fake.seed_schedules(
        {"start_time": 1_700_000_000 + i, "end_time": 1_700_003_600 + i, "summary": f"s{i}"}
        for i in range(count)
    )


async def test_get_many_keeps_first_seen_order_drops_duplicates_lists_missing(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 2500)
    wanted = [*reversed(ids), "ghost-1", ids[5], "", "ghost-2", ids[7]]
    seen: list[BulkProgress] = []
    result = await client.schedules.get_many(wanted, chunk_size=1000, progress=seen.append)
    assert [s.schedule_id for s in result.schedules] == list(reversed(ids))
    assert result.missing == ["ghost-1", "", "ghost-2"]
    assert result.failures == []
    # 2503 distinct IDs in chunks of 1000; the empty one is never sent
    assert fake.calls("oa/schedule/get") == 3
    bodies = [r.body for r in fake.requests if r.path == "oa/schedule/get"]
    assert [len(b["schedule_id_list"]) for b in bodies if b] == [1000, 1000, 502]
    last = seen[-1]
    assert (last.chunks_done, last.ids_done, last.schedules, last.missing) == (3, 2503, 2500, 3)
    assert (last.duplicates, last.calls, last.retries) == (2, 3, 0)
    assert result.progress == last


async def test_iter_many_streams_from_an_async_generator(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 1200)

    async def source() -> AsyncIterator[str]:
        for schedule_id in ids:
            yield schedule_id
            if schedule_id == ids[600]:
                await asyncio.sleep(0)

    stream = client.schedules.iter_many(source(), chunk_size=100, concurrency=4)
    got = [s.schedule_id async for s in stream]
    assert got == ids
    assert stream.missing == []
    assert 1 < stream.peak_in_flight <= 4
    assert stream.progress().chunks_done == 12


async def test_unordered_stream_yields_every_schedule_once() -> None:
    others_answered = asyncio.Event()

    async def until_the_others_are_answered(seconds: float) -> None:
        # The slow call's "latency" lasts until the 8 other calls are answered, however long
        # they take on a loaded machine (a fixed delay could be outrun by them).
        await others_answered.wait()

    async with (
        FakeWeCom(sleep=until_the_others_are_answered) as fake,
        WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client,
    ):
        ids = seed(fake, 900)
        original = fake.endpoints["oa/schedule/get"]

        def counting(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
            if fake.answered(0, "oa/schedule/get") == 7:
                others_answered.set()  # this is the 8th: the slow one may go once it is out
            return original(context, body)

        fake.endpoints["oa/schedule/get"] = counting
        fake.faults.latency(1, times=1, path="oa/schedule/get")  # one chunk is slow
        stream = client.schedules.iter_many(ids, chunk_size=100, ordered=False)
        got = [s.schedule_id async for s in stream]
    assert sorted(got) == sorted(ids)
    (slow,) = [r for r in fake.requests if "latency" in r.faults]
    assert slow.body is not None
    slow_ids = slow.body["schedule_id_list"]
    # It came out after the 7 chunks answered before its answer was even computed.
    assert got.index(slow_ids[0]) >= 700, ids.index(slow_ids[0])


async def test_transient_failures_are_retried_inside_chunks(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 3000)
    fake.faults.errcode(-1, times=2, path="oa/schedule/get")
    fake.faults.http_status(502, times=1, path="oa/schedule/get")
    result = await client.schedules.get_many(ids)
    assert [s.schedule_id for s in result.schedules] == ids
    assert result.progress.retries == 3
    assert result.progress.calls == 6


async def test_a_failed_chunk_raises_with_its_ids_and_keeps_what_was_fetched(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 500)
    # Chunk 2 of 5 fails for good: 90461 is not retried.
    original = fake.endpoints["oa/schedule/get"]

    def flaky(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
        if body["schedule_id_list"][0] == ids[100]:
            raise FakeAPIError(90461, "invalid schedule_id")
        return original(context, body)

    fake.endpoints["oa/schedule/get"] = flaky
    with pytest.raises(BulkFetchError) as info:
        await client.schedules.get_many(ids, chunk_size=100, concurrency=2)
    error = info.value
    assert error.failed_ids == ids[100:200]
    assert isinstance(error.__cause__, NotFoundError)
    assert error.partial is not None
    fetched = [s.schedule_id for s in error.partial.schedules]
    # What was in flight is kept; reading stopped after the failure (5 chunks in all).
    assert fetched[:100] == ids[:100]
    assert fetched[100:] == ids[200 : 200 + len(fetched) - 100]
    assert fake.calls("oa/schedule/get") < 5
    assert error.partial.failed_ids == ids[100:200]

    # Opted in, failures are collected and the rest goes on.
    result = await client.schedules.get_many(ids, chunk_size=100, on_error="collect")
    assert result.failed_ids == ids[100:200]
    assert len(result.schedules) == 400


async def test_stream_stops_reading_after_a_failure_and_delivers_what_is_in_flight(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 1000)
    fake.faults.errcode(-1, times=None, path="oa/schedule/get")  # every call: busy
    pulled = 0

    def counting() -> Iterator[str]:
        nonlocal pulled
        for schedule_id in ids:
            pulled += 1
            yield schedule_id

    stream = client.schedules.iter_many(counting(), chunk_size=10, concurrency=3, max_retries=0)
    with pytest.raises(BulkFetchError) as info:
        async for _ in stream:
            pass
    assert isinstance(info.value.__cause__, ServerBusyError)
    # It stopped after the chunks in flight: far from reading all 1000 IDs.
    assert pulled <= 10 * 5
    failed = info.value.failed_ids
    assert failed == ids[: len(failed)]


async def test_bounded_chunks_in_flight_for_a_large_async_source(
    client: WeComClient, fake: FakeWeCom
) -> None:
    """A large async source is never read far ahead of the chunks in flight."""
    total = 1_000_000
    produced = 0
    max_ahead = 0
    stream_ref: list[object] = []

    async def ids() -> AsyncIterator[str]:
        nonlocal produced, max_ahead
        for i in range(total):
            produced += 1
            if i % 1000 == 0 and stream_ref:
                done = stream_ref[0].progress().ids_done  # type: ignore[attr-defined]
                max_ahead = max(max_ahead, produced - done)
            yield f"unknown-{i}"

    stream = client.schedules.iter_many(ids(), concurrency=4)
    stream_ref.append(stream)
    count = 0
    async for chunk in stream.chunks():
        count += len(chunk.missing)
    assert count == total
    assert stream.peak_in_flight <= 4
    # at most the chunks running, the finished ones held for their turn, and the one being read
    assert max_ahead <= (2 * 4 + 1) * 1000
    assert len(stream.missing) == total


async def test_a_slow_first_chunk_does_not_stop_the_others() -> None:
    """Ordered delivery waits for the first chunk, but fetching goes on meanwhile: up to
    ``concurrency`` chunks running, and as many finished ones held for their turn."""
    release = asyncio.Event()
    fourth_call = asyncio.Event()

    async def held(seconds: float) -> None:
        await release.wait()  # the first chunk's answer waits until the test says so

    async with FakeWeCom(sleep=held) as fake:
        ids = seed(fake, 60)
        original = fake.endpoints["oa/schedule/get"]

        def counting(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
            if fake.calls("oa/schedule/get") >= 4:
                fourth_call.set()
            return original(context, body)

        fake.endpoints["oa/schedule/get"] = counting
        fake.faults.latency(1.0, path="oa/schedule/get")  # the first call only
        pulled = 0

        def source() -> Iterator[str]:
            nonlocal pulled
            for schedule_id in ids:
                pulled += 1
                yield schedule_id

        async with WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client:
            stream = client.schedules.iter_many(source(), chunk_size=10, concurrency=2)

            async def consume() -> list[str]:
                return [s.schedule_id async for s in stream]

            consumer = asyncio.ensure_future(consume())
            # (a bound only for when fetching stalls behind chunk 1: then the test fails)
            await asyncio.wait_for(fourth_call.wait(), timeout=10)
            # Chunks 2-4 were fetched while chunk 1 waits; chunk 5 waits for a place.
            assert pulled == 40
            release.set()
            assert await consumer == ids
        assert stream.peak_in_flight == 2


async def test_a_single_string_is_refused_where_a_list_of_ids_belongs(
    client: WeComClient, fake: FakeWeCom
) -> None:
    with pytest.raises(ValidationError, match="not a single string"):
        await client.schedules.get("abc")
    with pytest.raises(ValidationError, match="schedule_ids"):
        client.schedules.iter_many("abc")
    with pytest.raises(ValidationError, match="attendees"):
        await client.schedules.add(start_time=1, end_time=2, attendees="alice")
    with pytest.raises(ValidationError, match="admins"):
        await client.schedules.add(start_time=1, end_time=2, attendees=["a"], admins="a")
    with pytest.raises(ValueError, match="on_error"):
        await client.schedules.get_many([], on_error="ignore")  # type: ignore[arg-type]
    assert fake.calls() == 0


async def test_a_failing_source_still_delivers_every_id_it_gave(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 250)

    async def source() -> AsyncIterator[str]:
        for schedule_id in ids[:230]:
            yield schedule_id
        raise OSError("the ID file went away")

    with pytest.raises(BulkFetchError) as info:
        await client.schedules.get_many(source(), chunk_size=100)
    error = info.value
    assert isinstance(error.source_error, OSError)
    assert error.__cause__ is error.source_error
    assert error.failures == []
    assert error.partial is not None
    # Every ID read before the failure was fetched, including the last, partial chunk.
    assert [s.schedule_id for s in error.partial.schedules] == ids[:230]


async def test_a_failing_plain_iterator_still_delivers_every_id_it_gave(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 250)

    def source() -> Iterator[str]:
        yield from ids[:230]
        yield ids[3]  # a duplicate in the last, partial block
        raise OSError("the ID file went away")

    with pytest.raises(BulkFetchError) as info:
        await client.schedules.get_many(source(), chunk_size=100)
    error = info.value
    assert isinstance(error.source_error, OSError)
    assert error.partial is not None
    assert [s.schedule_id for s in error.partial.schedules] == ids[:230]
    assert error.partial.progress.duplicates == 1


async def test_answers_in_another_order_are_put_back_in_request_order(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 300)
    original = fake.endpoints["oa/schedule/get"]

    def shuffled(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
        answer = original(context, body)
        answer["schedule_list"] = answer["schedule_list"][::-1]
        return answer

    fake.endpoints["oa/schedule/get"] = shuffled
    wanted = [*ids[:150], "ghost", *ids[150:], ids[0]]
    result = await client.schedules.get_many(wanted, chunk_size=100)
    assert [s.schedule_id for s in result.schedules] == ids
    assert result.missing == ["ghost"]
    assert result.progress.duplicates == 1


async def test_leaving_a_stream_early_cancels_its_calls_and_frees_the_limiter(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 1000)
    # The first call is answered, every later one hangs: after it, one slot is free, so at most
    # 4 + 1 calls are ever sent, however the machine schedules the tasks.
    fake.faults.latency(0, times=1, path="oa/schedule/get")
    fake.faults.latency(3600, times=None, path="oa/schedule/get")
    async with client.schedules.iter_many(
        ids, chunk_size=10, concurrency=4, ordered=False
    ) as stream:
        async for _ in stream:
            break
    limiter = client._core.limiter("oa/schedule/get")
    assert limiter.in_flight == 0
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in pending if "_fetch" in repr(t.get_coro())]
    assert fake.calls("oa/schedule/get") <= 5


async def test_finished_chunks_are_delivered_while_a_slow_source_waits(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = seed(fake, 300)
    gate = asyncio.Event()
    delivered: list[str] = []

    async def source() -> AsyncIterator[str]:
        for schedule_id in ids[:200]:
            yield schedule_id
        await gate.wait()
        for schedule_id in ids[200:]:
            yield schedule_id

    async def consume() -> None:
        async for schedule in client.schedules.iter_many(source(), chunk_size=100):
            delivered.append(schedule.schedule_id)

    consumer = asyncio.create_task(consume())
    for _ in range(200):
        await asyncio.sleep(0.005)
        if len(delivered) >= 100:
            break
    # The first chunk came out although the window (8 chunks) is far from full.
    assert delivered[:100] == ids[:100]
    gate.set()
    await consumer
    assert delivered == ids


def _sized_client(fake: FakeWeCom, max_response_bytes: int) -> WeComClient:
    return WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        max_response_bytes=max_response_bytes,
    )


async def test_a_chunk_whose_answer_is_too_large_is_split_and_loses_nothing(
    fake: FakeWeCom,
) -> None:
    """The same IDs would get the same too-large answer: the chunk is fetched in halves."""
    ids = fake.seed_schedules(
        {"start_time": 1_700_000_000, "end_time": 1_700_003_600, "description": "d" * 900}
        for _ in range(100)
    )
    wanted = [*ids[:50], "ghost", *ids[50:]]
    seen: list[BulkProgress] = []
    # ~1.4 KB a schedule: an answer of 26 of them fits in 37,000 bytes, 50 do not.
    async with _sized_client(fake, 37_000) as client:
        result = await client.schedules.get_many(wanted, chunk_size=101, progress=seen.append)
    assert [s.schedule_id for s in result.schedules] == ids
    assert result.missing == ["ghost"]
    assert result.failures == []
    bodies = [r.body for r in fake.requests if r.path == "oa/schedule/get"]
    asked = [len(b["schedule_id_list"]) for b in bodies if b]
    assert asked == [101, 50, 25, 25, 51, 25, 26]
    assert seen[-1].splits == 3
    assert seen[-1].calls == 7
    assert (seen[-1].schedules, seen[-1].missing, seen[-1].failed_ids) == (100, 1, 0)


@pytest.mark.parametrize("on_error", ["collect", "raise"])
async def test_one_schedule_too_large_alone_fails_only_its_id(
    fake: FakeWeCom, on_error: str
) -> None:
    small = {"start_time": 1_700_000_000, "end_time": 1_700_003_600}
    ids = fake.seed_schedules([small, small, {**small, "description": "x" * 5000}, small])
    async with _sized_client(fake, 4000) as client:
        if on_error == "collect":
            result = await client.schedules.get_many(ids, on_error="collect")
        else:
            with pytest.raises(BulkFetchError) as caught:
                await client.schedules.get_many(ids)
            assert caught.value.partial is not None
            result = caught.value.partial
    assert [s.schedule_id for s in result.schedules] == [ids[0], ids[1], ids[3]]
    assert result.missing == []
    [failure] = result.failures
    assert failure.ids == (ids[2],)
    assert isinstance(failure.error, ResponseTooLargeError)
    assert failure.too_large_alone
    assert result.failed_ids == [ids[2]]
    assert result.progress.splits == 2


async def test_a_server_answering_only_huge_answers_costs_a_few_calls_not_2000(
    fake: FakeWeCom,
) -> None:
    """When every answer is too large (a limit set too low, a proxy's huge error page), the
    first schedule too large alone stops the splitting for the stream."""
    ids = seed(fake, 500)
    # gettoken's answer (~190 bytes) fits; not even one schedule (~540) does.
    async with _sized_client(fake, 400) as client:
        result = await client.schedules.get_many(
            ids, chunk_size=100, concurrency=1, on_error="collect"
        )
    assert result.schedules == []
    assert result.failed_ids == ids
    assert all(isinstance(f.error, ResponseTooLargeError) for f in result.failures)
    assert not any(f.too_large_alone for f in result.failures)  # whole parts, not one ID
    # First chunk: 100 → 50 → 25 → 12 → 6 → 3 → 1 (too large alone), then its sibling of two
    # fails unsplit and stops the chunk: 8 calls. Every later chunk: 1 call. (Chunks already
    # splitting when that happens go on down their own path: ~8 calls per chunk in flight.)
    assert fake.calls("oa/schedule/get") == 8 + 4
    assert result.progress.splits == 6


async def test_a_huge_gettoken_answer_does_not_split_the_chunk(fake: FakeWeCom) -> None:
    """Only schedule/get's own answer is a reason to split; gettoken's fails the chunk."""
    ids = seed(fake, 64)
    async with _sized_client(fake, 100) as client:  # gettoken's ~190-byte answer is too large
        result = await client.schedules.get_many(ids, on_error="collect")
    assert result.failed_ids == ids
    [failure] = result.failures
    assert isinstance(failure.error, ResponseTooLargeError)
    assert result.progress.splits == 0
    assert fake.calls("oa/schedule/get") == 0

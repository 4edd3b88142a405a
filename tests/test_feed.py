"""ScheduleChangeFeed and reconcile against the fake server: debouncing, kinds, failures,
backpressure, closing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from wecom_async import ClientClosedError, ResponseTooLargeError, Schedule, WeComClient
from wecom_async.callbacks._events import (
    CalendarDeleted,
    CalendarModified,
    ScheduleDeleted,
    ScheduleModified,
    UnknownEvent,
)
from wecom_async.callbacks._feed import (
    CalendarChange,
    Change,
    FeedClosedError,
    ScheduleChange,
    ScheduleChangeFeed,
    reconcile,
)
from wecom_async.testing import FakeWeCom

T0 = 1_704_261_600
GET = "oa/schedule/get"


def seed(fake: FakeWeCom, count: int, *, cal_id: str | None = None, **extra: object) -> list[str]:
    return fake.seed_schedules(
        {
            "start_time": T0 + 3600 * i,
            "end_time": T0 + 3600 * i + 1800,
            "summary": f"s{i}",
            **({"cal_id": cal_id} if cal_id else {}),
            **extra,
        }
        for i in range(count)
    )


def common_fields(fake: FakeWeCom) -> dict[str, Any]:
    return {"to_user_name": fake.corp_id, "from_user_name": "sys", "create_time": T0}


def modified(fake: FakeWeCom, schedule_id: str, *, create_time: int = T0) -> ScheduleModified:
    return ScheduleModified(
        to_user_name=fake.corp_id,
        from_user_name="sys",
        create_time=create_time,
        cal_id=fake.default_cal_id(),
        schedule_id=schedule_id,
    )


async def collect_any(feed: ScheduleChangeFeed, count: int | None) -> list[Change]:
    """The next *count* changes (all of them until the end when None), within 30 s."""

    async def take() -> list[Change]:
        changes: list[Change] = []
        async for change in feed:
            changes.append(change)
            if len(changes) == count:
                break
        return changes

    return await asyncio.wait_for(take(), 30)


def only_schedules(changes: list[Change]) -> list[ScheduleChange]:
    assert all(isinstance(c, ScheduleChange) for c in changes), changes
    return [c for c in changes if isinstance(c, ScheduleChange)]


def fetched(change: ScheduleChange) -> Schedule:
    assert change.schedule is not None, change
    return change.schedule


async def collect(feed: ScheduleChangeFeed, count: int) -> list[ScheduleChange]:
    return only_schedules(await collect_any(feed, count))


async def drain(feed: ScheduleChangeFeed) -> list[ScheduleChange]:
    feed.close()
    return only_schedules(await collect_any(feed, None))


@pytest.fixture
async def feed(client: WeComClient) -> AsyncIterator[ScheduleChangeFeed]:
    # A window that never ends by itself: tests end it with flush() or close().
    async with ScheduleChangeFeed(client, debounce=3600, retry_backoff=0.01) as change_feed:
        yield change_feed


async def test_many_events_for_one_schedule_cost_one_fetch(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    ids = seed(fake, 3)
    for _ in range(50):
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
    record = fake.store.schedule_record(fake.corp_id, ids[0])
    assert record is not None
    record.data["summary"] = "latest"
    feed.flush()
    changes = await collect(feed, 3)
    assert [(c.schedule_id, c.kind) for c in changes] == [(i, "upserted") for i in ids]
    assert fetched(changes[0]).summary == "latest"
    assert fake.calls(GET) == 1
    assert feed.stats.events == 150
    assert feed.stats.folded == 147
    assert feed.stats.fetch_calls == 1
    assert feed.stats.fetched_ids == 3


async def test_window_ends_by_itself(fake: FakeWeCom, client: WeComClient) -> None:
    ids = seed(fake, 2)
    async with ScheduleChangeFeed(client, debounce=0.05) as feed:
        for schedule_id in ids * 10:
            await feed.put(modified(fake, schedule_id))
        changes = await collect(feed, 2)  # no flush: the window ends after 50 ms
    assert {c.schedule_id for c in changes} == set(ids)
    assert fake.calls(GET) == 1


async def test_event_during_the_fetch_fetches_again(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    [schedule_id] = seed(fake, 1)
    record = fake.store.schedule_record(fake.corp_id, schedule_id)
    assert record is not None
    fake.faults.latency(0.3, path=GET, after=True)
    await feed.put(modified(fake, schedule_id))
    feed.flush()
    changes = asyncio.ensure_future(collect(feed, 2))
    for _ in range(2000):
        if fake.answered(0, GET):  # read, and its answer is held back
            break
        await asyncio.sleep(0.005)
    # The state read by the call in flight predates this change: a new window opens.
    record.data["summary"] = "changed during the fetch"
    await feed.put(modified(fake, schedule_id))
    assert feed.stats.folded == 0
    feed.flush()
    first, second = await changes
    assert fetched(first).summary == "s0"
    assert fetched(second).summary == "changed during the fetch"
    assert fake.calls(GET) == 2


async def test_cancelled_and_unknown_schedules_are_deleted(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    [live] = seed(fake, 1)
    [cancelled] = seed(fake, 1, status=1)
    for schedule_id in (live, cancelled, "no-such-schedule"):
        await feed.put(modified(fake, schedule_id))
    await feed.put(
        ScheduleDeleted(
            to_user_name=fake.corp_id,
            from_user_name="sys",
            create_time=T0,
            cal_id="cal-x",
            schedule_id="gone",
        )
    )
    changes = {c.schedule_id: c for c in await drain(feed)}
    assert changes[live].kind == "upserted"
    assert changes[cancelled].kind == "deleted"
    assert fetched(changes[cancelled]).is_cancelled
    assert changes["no-such-schedule"].kind == "deleted"
    assert changes["no-such-schedule"].schedule is None
    assert changes["gone"] == ScheduleChange("gone", "cal-x", "deleted")
    assert feed.stats.upserted == 1
    assert feed.stats.deleted == 3


async def test_calendar_events_are_debounced_and_deletion_wins(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    common = {"to_user_name": fake.corp_id, "from_user_name": "sys", "create_time": T0}
    for _ in range(3):
        await feed.put(CalendarModified(cal_id="cal-a", **common))  # type: ignore[arg-type]
        await feed.put(CalendarModified(cal_id="cal-b", **common))  # type: ignore[arg-type]
    await feed.put(CalendarDeleted(cal_id="cal-a", **common))  # type: ignore[arg-type]
    await feed.put(UnknownEvent(fields=(("Event", "new_thing"),), xml=b"<xml/>", **common))  # type: ignore[arg-type]
    feed.close()
    assert await collect_any(feed, None) == [
        CalendarChange("cal-a", "deleted"),
        CalendarChange("cal-b", "modified"),
    ]
    assert feed.stats.ignored == 1
    assert feed.stats.calendar_changes == 2
    assert fake.calls(GET) == 0


async def test_failing_fetches_are_retried_until_they_succeed(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 5)
    fake.faults.errcode(-1, times=8, path=GET)  # the client retries 3 times: 2 feed attempts
    async with ScheduleChangeFeed(client, debounce=3600, retry_backoff=0.01) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        changes = await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)
    assert {c.kind for c in changes} == {"upserted"}
    assert feed.stats.retries == 2
    assert fake.calls(GET) == 9


async def test_ids_that_keep_failing_are_yielded_as_failed(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 2500)
    fake.faults.errcode(-1, times=None, path=GET)
    async with ScheduleChangeFeed(
        client, debounce=3600, max_attempts=3, retry_backoff=0.001
    ) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        changes = await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)
    assert {c.kind for c in changes} == {"failed"}
    error = changes[0].error
    assert getattr(error, "errcode", None) == -1
    assert feed.stats.failed == 2500
    assert fake.calls(GET) == 3 * 3 * 4  # 3 chunks x 3 feed attempts x (1 + 3 client retries)


async def test_a_full_feed_makes_put_wait_and_drops_nothing(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    feed.max_pending = 5
    ids = seed(fake, 12)

    async def produce(schedule_ids: Sequence[str]) -> None:
        for schedule_id in schedule_ids:
            await feed.put(modified(fake, schedule_id))

    producer = asyncio.ensure_future(produce(ids))
    await asyncio.sleep(0.05)
    assert not producer.done()
    assert feed.pending == 5
    await feed.put(modified(fake, ids[0]))  # an ID already waiting costs nothing: no wait
    changes = await collect(feed, 10)  # a full feed fetches before the window ends
    await producer
    assert feed.pending == 2  # these wait for their window
    changes += await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)


async def test_close_flushes_and_then_refuses_events(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    ids = seed(fake, 3)
    for schedule_id in ids:
        await feed.put(modified(fake, schedule_id))
    changes = await drain(feed)
    assert [c.schedule_id for c in changes] == ids
    with pytest.raises(FeedClosedError):
        await feed.put(modified(fake, ids[0]))


async def test_leaving_the_loop_mid_batch_keeps_the_rest(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 3)
    async with ScheduleChangeFeed(client, debounce=3600, chunk_size=1, concurrency=1) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        feed.flush()
        [first] = await collect(feed, 1)
        rest = await drain(feed)
    assert sorted([first.schedule_id] + [c.schedule_id for c in rest]) == sorted(ids)


async def test_reconcile_is_resumable_with_offsets(fake: FakeWeCom, client: WeComClient) -> None:
    cal_id = fake.default_cal_id()
    live = seed(fake, 3, cal_id=cal_id)
    [cancelled] = seed(fake, 1, cal_id=cal_id, status=1)
    offsets: dict[str, int] = {}
    first = [c async for c in reconcile(client, [cal_id], offsets=offsets)]
    assert [(c.schedule_id, c.kind) for c in first] == [(i, "upserted") for i in live] + [
        (cancelled, "deleted")
    ]
    assert offsets == {cal_id: 4}
    added = seed(fake, 2, cal_id=cal_id)
    async with ScheduleChangeFeed(client, debounce=3600) as feed:
        assert await feed.reconcile([cal_id], offsets=offsets) == {cal_id: 6}
        changes = await drain(feed)
    assert [c.schedule_id for c in changes] == added
    assert feed.stats.reconciled == 2


async def test_abandon_returns_everything_not_yielded(
    fake: FakeWeCom, feed: ScheduleChangeFeed
) -> None:
    ids = seed(fake, 4)
    fake.faults.latency(5, path=GET)
    for schedule_id in ids[:2]:
        await feed.put(modified(fake, schedule_id))
    feed.flush()
    consumer = asyncio.ensure_future(collect(feed, 1))
    for _ in range(2000):
        if fake.in_flight(GET):
            break
        await asyncio.sleep(0.005)
    for schedule_id in ids[2:]:
        await feed.put(modified(fake, schedule_id))  # waiting for their window
    await feed.put(CalendarDeleted(cal_id="cal-z", **common_fields(fake)))
    consumer.cancel()  # in the middle of the fetch of ids[:2]
    with pytest.raises(asyncio.CancelledError):
        await consumer
    left = await feed.abandon()
    assert CalendarChange("cal-z", "deleted") in left
    failed = only_schedules([c for c in left if isinstance(c, ScheduleChange)])
    assert sorted(c.schedule_id for c in failed) == sorted(ids)
    assert {c.kind for c in failed} == {"failed"}
    assert all(isinstance(c.error, FeedClosedError) for c in failed)
    assert feed.pending == 0
    with pytest.raises(FeedClosedError):
        await feed.put(modified(fake, ids[0]))


async def test_abandon_after_leaving_the_loop_mid_batch(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 3)
    async with ScheduleChangeFeed(client, debounce=3600, chunk_size=1, concurrency=2) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        feed.flush()
        [first] = await collect(feed, 1)  # the loop is left inside the batch
        left = only_schedules(await feed.abandon())
    assert sorted([first.schedule_id] + [c.schedule_id for c in left]) == sorted(ids)


async def test_a_timeout_around_the_iteration_does_not_end_the_feed(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 2)
    async with ScheduleChangeFeed(client, debounce=3600) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(feed), 0.01)  # waiting in the window
        changes = await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)


async def test_abandon_after_leaving_the_loop_between_calendar_changes(
    fake: FakeWeCom, client: WeComClient
) -> None:
    async with ScheduleChangeFeed(client, debounce=3600) as feed:
        for cal_id in ("cal-a", "cal-b", "cal-c"):
            await feed.put(CalendarModified(cal_id=cal_id, **common_fields(fake)))
        feed.flush()
        first = await anext(feed)
        left = await feed.abandon()
    assert [first, *left] == [CalendarChange(c, "modified") for c in ("cal-a", "cal-b", "cal-c")]


async def test_a_second_consumer_is_refused_and_the_first_goes_on(
    fake: FakeWeCom, client: WeComClient
) -> None:
    ids = seed(fake, 2)
    async with ScheduleChangeFeed(client, debounce=3600) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        first = asyncio.ensure_future(anext(feed))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError):
            await anext(feed)
        feed.close()
        changes = only_schedules([await first, *await drain(feed)])
    assert sorted(c.schedule_id for c in changes) == sorted(ids)
    assert fake.calls("oa/schedule/get") == 1


async def test_a_closed_client_fails_the_ids_at_once(fake: FakeWeCom, client: WeComClient) -> None:
    # A closed client never fetches again: retrying (after an hour here) would only delay the
    # "failed" changes.
    ids = seed(fake, 3)
    async with ScheduleChangeFeed(client, debounce=3600, retry_backoff=3600) as feed:
        for schedule_id in ids:
            await feed.put(modified(fake, schedule_id))
        await client.close()
        changes = await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)
    assert {c.kind for c in changes} == {"failed"}
    assert all(isinstance(c.error, ClientClosedError) for c in changes)
    assert feed.stats.retries == 0


async def test_a_full_feed_fetches_no_id_within_a_second_of_its_first_event(
    fake: FakeWeCom, client: WeComClient
) -> None:
    now = [0.0]
    ids = seed(fake, 3)
    async with ScheduleChangeFeed(
        client, debounce=3600, max_pending=2, clock=lambda: now[0]
    ) as feed:
        for schedule_id in ids[:2]:
            await feed.put(modified(fake, schedule_id))
        consumer = asyncio.ensure_future(collect(feed, 2))
        producer = asyncio.ensure_future(feed.put(modified(fake, ids[2])))  # full: waits
        await asyncio.sleep(0.1)
        assert not producer.done()
        # A second change of ids[0] in the same second sends an event equal to the first (same
        # CreateTime): the receiver drops it as a redelivery. The fetch must come after it.
        record = fake.store.schedule_record(fake.corp_id, ids[0])
        assert record is not None
        record.data["summary"] = "second change in the same second"
        now[0] = 1.0
        changes = await consumer
        await producer
        assert fetched(changes[0]).summary == "second change in the same second"
        changes += await drain(feed)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)


async def test_a_schedule_too_large_alone_fails_at_once_and_the_others_arrive(
    fake: FakeWeCom,
) -> None:
    """Its answer will never fit: retrying it (after an hour here) would only delay "failed"."""
    small = seed(fake, 3)
    big = seed(fake, 1, description="x" * 5000)[0]
    client = WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        max_response_bytes=4000,
    )
    async with client, ScheduleChangeFeed(client, debounce=3600, retry_backoff=3600) as feed:
        for schedule_id in [*small, big]:
            await feed.put(modified(fake, schedule_id))
        changes = await drain(feed)
    kinds = {c.schedule_id: c.kind for c in changes}
    assert kinds == {**dict.fromkeys(small, "upserted"), big: "failed"}
    [failed] = [c for c in changes if c.kind == "failed"]
    assert isinstance(failed.error, ResponseTooLargeError)
    assert feed.stats.retries == 0

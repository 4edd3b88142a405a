"""End to end: the fake's API changes → its encrypted callbacks → a real aiohttp receiver →
the change feed → fetched changes, checked against the fake's store (the oracle).

2,000 schedules added, updated, re-attended and deleted through the API, with duplicate and
reordered deliveries; then a receiver that is down for a while; then failing fetches. Windows
are ended with ``feed.flush()`` once every delivery is in, so that "each final state exactly
once per window" is exact, not a matter of timing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import pytest
from aiohttp import web

from wecom_async import WeComClient
from wecom_async.callbacks import (
    CALLBACK_DISPATCHER,
    CallbackCrypto,
    ScheduleChange,
    ScheduleChangeFeed,
    callback_app,
)
from wecom_async.testing import FakeWeCom

TOKEN = "e2e-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
T0 = 1_704_261_600
GET = "oa/schedule/get"
N = 2000


class Receiver:
    """callback_app(crypto, feed.put) served on loopback; can be stopped and restarted."""

    def __init__(self, crypto: CallbackCrypto, feed: ScheduleChangeFeed) -> None:
        self.crypto = crypto
        self.feed = feed
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = callback_app(self.crypto, self.feed.put)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.port = self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/wecom/callback"

    async def settle(self) -> None:
        """Wait until every event received was handed to the feed."""
        assert self.runner is not None
        await self.runner.app[CALLBACK_DISPATCHER].drain()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@pytest.fixture
async def setup(
    fake: FakeWeCom, client: WeComClient
) -> AsyncIterator[tuple[ScheduleChangeFeed, Receiver]]:
    crypto = CallbackCrypto(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=fake.corp_id)
    async with ScheduleChangeFeed(client, debounce=3600, retry_backoff=0.01) as feed:
        receiver = Receiver(crypto, feed)
        await receiver.start()
        yield feed, receiver
        await receiver.stop()


async def in_batches(calls: Sequence[Callable[[], Awaitable[Any]]], size: int = 50) -> list[Any]:
    results: list[Any] = []
    for start in range(0, len(calls), size):
        results += await asyncio.gather(*(call() for call in calls[start : start + size]))
    return results


async def window(feed: ScheduleChangeFeed, expected: int) -> list[ScheduleChange]:
    """End the window and take its changes: exactly ``expected`` of them."""
    feed.flush()
    changes: list[ScheduleChange] = []

    async def take() -> None:
        async for change in feed:
            assert isinstance(change, ScheduleChange)
            changes.append(change)
            if len(changes) == expected:
                return

    await asyncio.wait_for(take(), 60)
    assert feed.pending == 0
    return changes


def check_against_store(fake: FakeWeCom, changes: list[ScheduleChange]) -> None:
    """Each ID once in the window, with the state the store holds now."""
    counts = Counter(c.schedule_id for c in changes)
    assert max(counts.values()) == 1
    for change in changes:
        record = fake.store.schedule_record(fake.corp_id, change.schedule_id)
        assert record is not None
        stored = record.data
        assert change.schedule is not None
        assert change.kind == ("deleted" if stored["status"] == 1 else "upserted")
        assert change.schedule.summary == stored["summary"]
        assert change.schedule.end_time == stored["end_time"]
        assert list(change.schedule.attendee_ids) == [a["userid"] for a in stored["attendees"]]
        assert change.cal_id == stored["cal_id"]


async def test_end_to_end_2000_schedules(
    fake: FakeWeCom, client: WeComClient, setup: tuple[ScheduleChangeFeed, Receiver]
) -> None:
    feed, receiver = setup
    subscription = fake.subscribe_callbacks(
        receiver.url,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        duplicate=0.2,
        max_delay=0.05,
        seed=12,
        retry_delay=1.0,
    )
    started = time.perf_counter()

    # Round 1: 2,000 adds; 1,000 updates (twice for 500); 400 attendee changes; 300 deletions.
    def add(i: int) -> Callable[[], Awaitable[str]]:
        return lambda: client.schedules.add(
            start_time=T0 + 60 * i, end_time=T0 + 60 * i + 1800, summary=f"s{i}"
        )

    def update(schedule_id: str, summary: str) -> Callable[[], Awaitable[str]]:
        return lambda: client.schedules.update(
            schedule_id, start_time=T0, end_time=T0 + 3600, summary=summary
        )

    ids: list[str] = await in_batches([add(i) for i in range(N)])
    await in_batches([update(i, "u1") for i in ids[:1000]])
    await in_batches([update(i, "u2") for i in ids[:500]])
    await in_batches(
        [partial(client.schedules.add_attendees, i, ["ann", "bob"]) for i in ids[800:1200]]
    )
    await in_batches([partial(client.schedules.delete, i) for i in ids[1700:]])
    await fake.drain_callbacks()
    await receiver.settle()
    emitted = subscription.stats.events
    assert emitted == N + 1500 + 400 + 300
    assert fake.callbacks_failed == 0
    assert subscription.stats.duplicates > 0

    changes = await window(feed, N)
    elapsed = time.perf_counter() - started
    check_against_store(fake, changes)
    assert sorted(c.schedule_id for c in changes) == sorted(ids)
    assert Counter(c.kind for c in changes) == {"upserted": 1700, "deleted": 300}
    assert feed.stats.fetch_calls == fake.calls(GET) == 2  # 2,000 IDs in 1000-ID calls
    print(
        f"\nround 1: {emitted} events ({subscription.stats.duplicates} duplicated) → "
        f"{len(changes)} changes with {fake.calls(GET)} schedule/get calls; "
        f"{emitted / elapsed:,.0f} events/s end to end ({elapsed:.2f} s)"
    )

    # Round 2: the receiver is down; the fake's retries deliver once it is back.
    await receiver.stop()
    touched = ids[:50]
    await in_batches([update(i, "while down") for i in touched])
    for _ in range(3000):  # the first attempts failed (however slow the machine: up to 30 s)
        if subscription.stats.retries:
            break
        await asyncio.sleep(0.01)
    assert subscription.stats.retries > 0
    await receiver.start()  # same port
    await fake.drain_callbacks()
    await receiver.settle()
    assert fake.callbacks_failed == 0
    changes = await window(feed, 50)
    check_against_store(fake, changes)
    assert {c.schedule.summary for c in changes if c.schedule} == {"while down"}

    # Round 3: schedule/get keeps failing for a while: retried by the feed, no ID lost.
    fake.clear_requests()
    fake.faults.errcode(-1, times=6, path=GET)  # one feed attempt (4 calls) and then some
    touched = ids[1000:1100]
    await in_batches([update(i, "after failures") for i in touched])
    await fake.drain_callbacks()
    await receiver.settle()
    changes = await window(feed, 100)
    check_against_store(fake, changes)
    assert sorted(c.schedule_id for c in changes) == sorted(touched)
    assert feed.stats.retries == 1
    assert feed.stats.failed == 0
    print(
        f"feed: {feed.stats.events} events taken, {feed.stats.folded} folded, "
        f"{feed.stats.fetch_calls} schedule/get calls for {feed.stats.fetched_ids} IDs"
    )

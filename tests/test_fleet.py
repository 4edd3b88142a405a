"""A fleet of processes on one corp through one Redis (``WeComClient(..., redis=url)``).

Real processes (tests/_fleet_worker.py, public API only), a real ``redis-server`` and real time:
WeCom's quota window is 60 s, so these tests take about three minutes together. The fake WeCom
server runs in the test process, with the quota and concurrency limit the workers are configured
with, and its request log gives every arrival time.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from wecom_async.testing import RedisServer

from ._fleet import PATH, Worker, answered_ok, fleet

#: The longest a lease of a killed process may outlive it (the issue: leases expire ≤ 15 s).
LEASE_SECONDS = 15.0


def assert_all_succeeded(workers: list[Worker]) -> None:
    for worker in workers:
        assert worker.result["errors"] == {}, worker.stderr
        assert worker.result["cancelled"] == 0, worker.stderr
        assert worker.result["ok"] > 0, worker.stderr


# --- quota, concurrency and token shared ------------------------------------------------------

QUOTA = 120  # per minute: a 60 s window holds 120 calls, 2 calls/s for the whole fleet
FLEET = 4
CAP = 3


async def test_fleet_shares_quota_concurrency_and_token(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """4 processes, each wanting the whole quota and cap: together they stay under both, use
    ≥ 95 % of the quota, and make one gettoken call."""
    async with fleet(tmp_path, per_minute=QUOTA, max_concurrency=CAP, latency=1.0) as group:
        workers = [
            await group.spawn(redis=redis_server.url, per_minute=QUOTA, max_concurrency=CAP)
            for _ in range(FLEET)
        ]
        start, stop = await group.start(workers, 70.0)
        await asyncio.gather(*(w.report() for w in workers))
        fake = group.fake

        assert_all_succeeded(workers)
        assert fake.quota_exceeded_count == 0
        assert fake.concurrency_exceeded_count == 0
        assert fake.peak_concurrency(PATH) <= CAP
        assert fake.max_calls_in_window(PATH, seconds=60.0) <= QUOTA
        # A bucket of burst B refilled at r = (N - 1 - B)/(60 s + slack) admits B + r·T calls in
        # T seconds: with N = 120, B = 1, slack 0.5 s that is 97.5 % of the quota (≥ 95 %).
        aggregate = answered_ok(fake, start, stop) / (stop - start)
        assert aggregate / (QUOTA / 60.0) >= 0.95, aggregate
        assert sum(w.result["ok"] for w in workers) == fake.answered(0, PATH)
        assert fake.gettoken_calls == 1


async def test_fleet_without_redis_overruns_the_quota(tmp_path: Path) -> None:
    """The same fleet without ``redis=``: each process takes the whole quota and cap, WeCom
    answers 45033 and 45009 (what the test above guards against), and every process fetches
    its own token."""
    async with fleet(tmp_path, per_minute=QUOTA, max_concurrency=CAP, latency=1.0) as group:
        workers = [
            # grace=1: the calls caught by the 60 s block are not waited for.
            await group.spawn(redis=None, per_minute=QUOTA, max_concurrency=CAP, grace=1.0)
            for _ in range(FLEET)
        ]
        await group.start(workers, 40.0)
        await asyncio.gather(*(w.report() for w in workers))
        assert group.fake.quota_exceeded_count > 0
        assert group.fake.concurrency_exceeded_count > 0
        assert group.fake.max_calls_in_window(PATH, seconds=60.0) >= QUOTA
        assert group.fake.gettoken_calls == FLEET


# --- a process killed while it holds leases ---------------------------------------------------


async def test_leases_of_a_killed_process_come_back(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A process holding every concurrency lease is SIGKILLed: the others wait at most the lease
    time, then use the whole cap again; no 45033, every call succeeds, the token is reused."""
    per_minute = 6000  # the cap binds: 3 calls in flight × 2 s latency ≈ 1.5 calls/s
    async with fleet(tmp_path, per_minute=per_minute, max_concurrency=CAP, latency=2.0) as group:
        fake = group.fake
        victim = await group.spawn(
            redis=redis_server.url, per_minute=per_minute, max_concurrency=CAP
        )
        await group.start([victim], 120.0)
        deadline = time.monotonic() + 30
        while fake.in_flight(PATH) < CAP:  # the victim holds all the leases
            assert time.monotonic() < deadline, victim.stderr
            await asyncio.sleep(0.05)
        victim.process.send_signal(signal.SIGKILL)
        killed_at = time.time()
        assert await victim.process.wait() == -signal.SIGKILL

        others = [
            await group.spawn(redis=redis_server.url, per_minute=per_minute, max_concurrency=CAP)
            for _ in range(3)
        ]
        samples: list[tuple[float, int]] = []

        async def sample() -> None:
            while True:
                samples.append((time.time(), fake.in_flight(PATH)))
                await asyncio.sleep(0.1)

        sampler = asyncio.ensure_future(sample())
        try:
            _, stop = await group.start(others, killed_at + LEASE_SECONDS + 15 - time.time())
            await asyncio.gather(*(w.report() for w in others))
        finally:
            sampler.cancel()

        assert_all_succeeded(others)
        assert fake.concurrency_exceeded_count == 0
        assert fake.quota_exceeded_count == 0
        after = [r.time for r in fake.requests if r.path == PATH and r.time > killed_at]
        # Generous: the leases expire ≤ 15 s after they were taken (before the kill); a lease that
        # never expires blocks the fleet for good.
        assert after, "no call after the kill"
        assert min(after) - killed_at <= LEASE_SECONDS + 5.0
        freed = [n for t, n in samples if killed_at + LEASE_SECONDS + 3.0 <= t <= stop - 3.0]
        assert max(freed) == CAP  # every lease came back
        assert fake.gettoken_calls == 1


# --- Redis goes away and comes back -----------------------------------------------------------


@pytest.mark.parametrize(
    ("outage_at", "seconds", "full_window"),
    [
        pytest.param(12.0, 45.0, False, id="after-12s"),
        pytest.param(65.0, 95.0, True, id="after-a-full-window"),
    ],
)
async def test_redis_outage_falls_back_and_rejoins(
    redis_server: RedisServer, tmp_path: Path, outage_at: float, seconds: float, full_window: bool
) -> None:
    """Redis stops *outage_at* s into the run and comes back (empty: nothing persisted) 10 s
    later: the processes limit themselves locally at quota/share meanwhile (one WARNING each),
    no call fails, and afterwards they admit their calls through Redis again.

    Early in the run (the window before the outage far from full) and after a full minute at
    the quota alike, no window goes over the quota and WeCom never answers 45009: each process
    waits out its start delay when Redis fails, then paces itself at the quota/share, and keeps
    pacing after it rejoins (the proof is in wecom_async/_redis.py).
    """
    cap = FLEET  # while local, each process keeps max(1, cap // share): 1, so 4 in all
    async with fleet(tmp_path, per_minute=QUOTA, max_concurrency=cap, latency=0.2) as group:
        fake = group.fake
        workers = [
            await group.spawn(
                redis=redis_server.url,
                per_minute=QUOTA,
                max_concurrency=cap,
                share=FLEET,
                grace=30.0,  # the calls waiting for their paced turn at STOP
            )
            for _ in range(FLEET)
        ]
        start, stop = await group.start(workers, seconds)
        await asyncio.sleep(start + outage_at - time.time())
        await asyncio.to_thread(redis_server.stop)
        await asyncio.sleep(10.0)
        await asyncio.to_thread(redis_server.start)
        restarted_at = time.time()
        await asyncio.gather(*(w.report() for w in workers))

        assert fake.max_calls_in_window(PATH, seconds=60.0) <= QUOTA
        assert fake.quota_exceeded_count == 0
        assert fake.concurrency_exceeded_count == 0
        assert_all_succeeded(workers)
        for worker in workers:
            lines = worker.warnings()
            assert len(lines) == 1, worker.stderr
            assert "redis" in lines[0].lower()
            assert "ERROR" not in worker.stderr
        # Sharing resumed: the calls after the restart asked the restarted Redis (one EVALSHA per
        # admission; the restart reset the statistics); early in the run, those of the last 10 s
        # all went through it. (Not its keys: they expire with the windows, a moment after the
        # last call, before a loaded machine gets here.)
        assert stop - restarted_at > 15.0
        admissions = redis_server.command_calls().get("evalsha", 0)
        assert admissions > 0
        if not full_window:
            late_calls = answered_ok(fake, stop - 10.0, stop)
            assert late_calls > 0
            assert admissions >= late_calls

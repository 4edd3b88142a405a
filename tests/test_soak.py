"""Nothing lost under faults, and never over the quota: the bulk pipeline end to end."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from wecom_async import RateLimits, RetryPolicy, WeComClient
from wecom_async.testing import FakeWeCom, FaultProfile, HandlerContext, Quota

from ._virtual_time import VirtualTimeLoop
from .conftest import RecordingSleep

GET = "oa/schedule/get"


def generated_get(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
    """schedule/get answering every ``gen-N`` ID with a schedule made from N (nothing stored)."""
    schedules = []
    for schedule_id in dict.fromkeys(body["schedule_id_list"]):
        if schedule_id.startswith("gen-"):
            n = int(schedule_id[4:])
            schedules.append(
                {
                    "schedule_id": schedule_id,
                    "start_time": 1_700_000_000 + n,
                    "end_time": 1_700_003_600 + n,
                    "summary": f"日程 {n}",
                    "attendees": [{"userid": f"u{n % 97}", "response_status": n % 5}],
                }
            )
    return {"schedule_list": schedules}


async def test_soak_200k_ids_with_5_percent_faults_returns_every_id_exactly_once() -> None:
    profile = FaultProfile(
        seed=5,
        busy_rate=0.015,
        http_502_rate=0.01,
        http_503_rate=0.005,
        drop_rate=0.005,
        drop_after_rate=0.005,
        late_rate=0.01,
        slow_seconds=0.5,
        token_invalidation_rate=0.005,
    )
    sleep = RecordingSleep()
    async with FakeWeCom(fault_profile=profile, record_bodies=False) as fake:
        fake.endpoints[GET] = generated_get
        async with WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            timeout=0.4,  # shorter than the late answers (0.5 s): those become read timeouts
            retry=RetryPolicy(max_retries=6),
            sleep=sleep,
        ) as client:
            total = 200_000
            ids = [f"gen-{n}" for n in range(total)]
            ids += ids[:5000]  # duplicates must come back once
            result = await client.schedules.get_many(ids, chunk_size=500, concurrency=8)
    returned = [s.schedule_id for s in result.schedules]
    assert len(returned) == total
    assert returned == ids[:total]
    assert result.missing == []
    assert result.failures == []
    faults = sum(fake.faults.fired.values())
    calls = fake.calls(GET)
    # The run really went through faults of every kind, at about 5 % of calls.
    assert 0.03 <= faults / calls <= 0.08, (faults, calls)
    kinds = {"errcode:-1", "http:502", "http:503", "drop", "drop_after", "latency_after"}
    assert kinds | {"invalidate_tokens"} <= set(fake.faults.fired), fake.faults.fired
    assert result.progress.retries == len(sleep.delays) > 0
    assert fake.gettoken_calls >= 2  # tokens were revoked mid-run and replaced


def run_at_quota(limits: RateLimits, *, calls: int, idle_after: int) -> FakeWeCom:
    """Send ``calls`` schedule/get calls with the client limited by ``limits`` against a fake
    enforcing 100/min and 1000/h, all on virtual time, with an hour of idle in the middle."""

    async def scenario() -> FakeWeCom:
        loop = asyncio.get_running_loop()
        async with FakeWeCom(quota=Quota(per_minute=100, per_hour=1000), clock=loop.time) as fake:
            async with WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                timeout=aiohttp.ClientTimeout(total=None),  # only the limiter moves time
                rate_limits=limits,
                max_retries=0,
                clock=loop.time,
            ) as client:

                async def one() -> None:
                    try:
                        await client.schedules.get(["x"])
                    except Exception:  # the fake's 45009 answers are what we count
                        return

                await asyncio.gather(*(one() for _ in range(idle_after)))
                await asyncio.sleep(3600)
                await asyncio.gather(*(one() for _ in range(calls - idle_after)))
            return fake

    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


def test_a_run_configured_to_the_quota_never_gets_45009() -> None:
    fake = run_at_quota(
        RateLimits(per_minute=100, per_hour=1000, window_slack=0.5),
        calls=3000,
        idle_after=1500,
    )
    assert fake.calls(GET) == 3000
    assert fake.answered(45009) == 0
    assert fake.max_calls_in_window(GET, seconds=60) <= 100
    assert fake.max_calls_in_window(GET, seconds=3600) <= 1000
    # Steady rate: ≥ 98 % of the binding (hour) quota over the busy stretch.
    times = sorted(r.time for r in fake.requests if r.path == GET)
    busy = [t for t in times if t >= times[-1] - 7200]
    assert len(busy) / ((busy[-1] - busy[0]) / 3600) >= 0.98 * 1000 * 0.99


def test_without_the_limiter_the_same_run_gets_45009() -> None:
    fake = run_at_quota(RateLimits.disabled(), calls=300, idle_after=150)
    assert fake.answered(45009) > 0

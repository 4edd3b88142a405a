"""B9: what sharing limits through Redis costs per call, and how much of the quota a fleet gets.

* **Per call**: ``await client.schedules.get([id])``, sequential, with ``redis=`` (a local
  ``redis-server`` on loopback, :class:`~wecom_async.testing.RedisServer`) against the same
  client without it, on the same fake server (its own process, quotas off, limits that never
  make a call wait: only their cost is counted). Blocks alternate; figures are the medians of
  the client process's CPU time and of the wall time per call. Redis round trips per call are
  the commands the client sent (``MONITOR``, without those its scripts run inside Redis) over
  one more block, untimed (the issue: ≤ 2); the commands Redis executed per call, scripts'
  included, come from ``INFO commandstats`` before and after each timed block.
* **Fleet**: ``Sizes.fleet_processes`` processes (tests/_fleet_worker.py: public API only), one
  corp, one Redis, each configured with the whole quota (``Sizes.fleet_per_minute`` a minute)
  and calling as fast as it is let for ``Sizes.fleet_seconds``, against a fake WeCom (in this
  process) that enforces that quota. From the fake's arrival times: the fleet's aggregate rate
  ÷ the quota's rate (≥ 0.95), and the worst 60 s window ÷ the quota (≤ 1).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests._fleet import PATH, answered_ok, fleet
from wecom_async import WeComClient
from wecom_async.testing import RedisServer

from ._data import schedule_ids
from ._harness import BenchResult, Row, Sizes, ainterleave, median
from ._server import ServerInfo, ServerProcess
from .bench_limiter import max_in_window
from .bench_percall import UNBINDING_LIMITS

__all__ = ["run"]

COMMANDS_TARGET = 2.0
RATE_TARGET = 0.95
WORST_TARGET = 1.0
#: Commands the benchmark itself sends to Redis (reading the statistics): not the client's.
_OURS = frozenset({"info", "echo", "monitor"})


def _client_commands(server: RedisServer) -> int:
    return sum(n for name, n in server.command_calls().items() if name not in _OURS)


async def _per_call(
    server: ServerInfo, redis: RedisServer, calls: int, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float], float]:
    ids = list(schedule_ids(64))
    wall: dict[str, list[float]] = {"redis": [], "local": []}
    commands: list[float] = []
    options: dict[str, Any] = {
        "corp_id": server.corp_id,
        "corp_secret": server.corp_secret,
        "base_url": server.base_url,
        "rate_limits": UNBINDING_LIMITS,
    }
    async with (
        WeComClient(**options) as local,
        WeComClient(**options, redis=redis.url) as shared,
    ):

        def block(name: str, client: WeComClient) -> Callable[[], Awaitable[float]]:
            async def run_block() -> float:
                before = _client_commands(redis) if name == "redis" else 0
                start_wall, start_cpu = time.perf_counter(), time.process_time()
                for n in range(calls):
                    await client.schedules.get([ids[n % len(ids)]])
                cpu = time.process_time() - start_cpu
                wall[name].append((time.perf_counter() - start_wall) / calls)
                if name == "redis":
                    await asyncio.sleep(0.05)  # releases are sent after the call returns
                    commands.append((_client_commands(redis) - before) / calls)
                return cpu / calls

            return run_block

        for _ in range(max(10, calls // 5)):  # tokens, connections, scripts loaded
            await local.schedules.get(ids[:1])
            await shared.schedules.get(ids[:1])
        cpu = await ainterleave(
            {"redis": block("redis", shared), "local": block("local", local)}, rounds
        )
        with redis.monitor() as sent:
            for n in range(calls):
                await shared.schedules.get([ids[n % len(ids)]])
            await asyncio.sleep(0.05)
    return cpu, wall, commands, len(sent) / calls


async def _fleet(redis: RedisServer, sizes: Sizes) -> dict[str, float]:
    quota = sizes.fleet_per_minute
    with tempfile.TemporaryDirectory(prefix="wecom-b9-") as directory:
        async with fleet(
            Path(directory), per_minute=quota, max_concurrency=10, latency=0.05
        ) as group:
            workers = [
                await group.spawn(redis=redis.url, per_minute=quota, max_concurrency=10, tasks=4)
                for _ in range(sizes.fleet_processes)
            ]
            start, stop = await group.start(workers, sizes.fleet_seconds)
            await asyncio.gather(*(w.report() for w in workers))
            fake = group.fake
            times = sorted(r.time for r in fake.requests if r.path == PATH)
            return {
                "rate": answered_ok(fake, start, stop) / (stop - start) / (quota / 60.0),
                "worst": max_in_window(times, 60.0) / quota,
                "rejected": float(fake.quota_exceeded_count + fake.concurrency_exceeded_count),
                "gettoken": float(fake.gettoken_calls),
                "failed": float(sum(sum(w.result["errors"].values()) for w in workers)),
            }


def run(sizes: Sizes) -> list[BenchResult]:
    with RedisServer() as redis, ServerProcess("light") as server:
        cpu, wall, commands, trips = asyncio.run(
            _per_call(server, redis, sizes.redis_calls, sizes.rounds)
        )
        redis.reset()
        flt = asyncio.run(_fleet(redis, sizes))
    cpu_redis, cpu_local = median(cpu["redis"]), median(cpu["local"])
    wall_redis, wall_local = median(wall["redis"]), median(wall["local"])
    executed = median(commands)
    processes, seconds = sizes.fleet_processes, sizes.fleet_seconds
    rows = (
        Row(
            "client CPU per schedules.get call",
            cpu_redis * 1e6,
            cpu_local * 1e6,
            "µs",
            cpu_redis / cpu_local,
            baseline_name="no redis=",
            note=f"+{(cpu_redis - cpu_local) * 1e6:.0f} µs per call",
        ),
        Row(
            "latency per schedules.get call (sequential)",
            wall_redis * 1e6,
            wall_local * 1e6,
            "µs",
            wall_redis / wall_local,
            baseline_name="no redis=",
            note=f"+{(wall_redis - wall_local) * 1e6:.0f} µs per call",
        ),
        Row(
            "Redis round trips per call (commands sent, MONITOR)",
            trips,
            None,
            "",
            trips,
            COMMANDS_TARGET,
        ),
        Row(
            "Redis commands executed per call, scripts' included (INFO commandstats)",
            executed,
            None,
            "",
            executed,
        ),
        Row(
            f"{processes}-process fleet: aggregate rate ÷ quota rate",
            flt["rate"],
            None,
            "",
            flt["rate"],
            RATE_TARGET,
            ">=",
            note=f"{sizes.fleet_per_minute}/min quota, {seconds:.0f} s",
        ),
        Row(
            f"{processes}-process fleet: worst 60 s window ÷ quota",
            flt["worst"],
            None,
            "",
            flt["worst"],
            WORST_TARGET,
            note=f"{flt['rejected']:.0f} × 45009/45033, {flt['failed']:.0f} calls failed, "
            f"{flt['gettoken']:.0f} gettoken call(s) in all",
        ),
    )
    method = (
        f"Per call: {len(cpu['redis'])} blocks of {sizes.redis_calls} sequential calls per "
        "variant, interleaved, in one client process; the fake server in its own process, "
        "redis-server in another (its own CPU is not counted). Fleet: "
        f"{processes} worker processes × 4 tasks for {seconds:.0f} s, fake WeCom (50 ms per "
        "call, enforcing the quota and a cap of 10 in flight) in the benchmark process; the "
        "aggregate counts the calls answered 0 between the common start and stop."
    )
    return [
        BenchResult("B9", "Many processes through Redis: cost per call, fleet rate", rows, method)
    ]

"""B5: bulk fetch throughput on loopback, concurrency 8.

The server (own process) answers any ID with a generated schedule. Each round fetches
``Sizes.bulk_ids`` fresh IDs (chunks of 1000) with each variant:

* **ours**: ``async for s in client.schedules.iter_many(ids, concurrency=8)`` — chunking,
  de-duplication, ordering, rate limiter (quotas set out of reach: the client's own throughput
  is measured, not WeCom's quota), retries, decoding into the attrs models;
* **raw aiohttp + msgspec**: 8 workers posting orjson-encoded ID chunks with
  ``session.post(data=bytes)`` and decoding ``await resp.read()`` into the Struct twin.

Schedules per second of wall time, median of the rounds; every variant of a round runs in a fresh
event loop. The schedules are counted, not kept (streaming).

Then, in a fresh process, keeping every schedule (``Sizes.bulk_held_ids`` of them): ours with
``client.schedules.get_many(ids, concurrency=8)``, raw aiohttp appending each answer's Structs
to a list, with the Structs as msgspec makes them by default (tracked by the garbage collector)
and with ``gc=False`` twins (never walked, like ours). Measured: the client process's CPU time
(``time.process_time()``; the server runs in its own process) from the first request until the
fetch has returned, the garbage collector at its defaults (its passes over the growing heap are
part of the cost); freeing the kept schedules afterwards is not counted, for any of them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
import orjson

from wecom_async import RateLimits, WeComClient

from ._data import PROFILES, Profile, schedule_ids
from ._harness import BenchResult, Row, Sizes, interleave, median
from ._server import PROJECT_ROOT, ServerInfo, ServerProcess
from ._structs import GetResponseStruct, UntrackedGetResponseStruct

__all__ = ["run"]

TARGET = 0.6
#: Client CPU keeping every schedule: ours ÷ raw aiohttp + msgspec keeping the Structs.
HELD_CPU_TARGET = 1.3
CONCURRENCY = 8
CHUNK = 1000
UNBINDING_LIMITS = RateLimits(per_minute=10**9, per_hour=10**10)


async def ours(server: ServerInfo, ids: list[str]) -> float:
    async with WeComClient(
        corp_id=server.corp_id,
        corp_secret=server.corp_secret,
        base_url=server.base_url,
        rate_limits=UNBINDING_LIMITS,
    ) as client:
        await client.tokens.get()  # both variants start with a token
        start = time.perf_counter()
        count = 0
        async for _ in client.schedules.iter_many(ids, concurrency=CONCURRENCY):
            count += 1
        elapsed = time.perf_counter() - start
    if count != len(ids):
        raise AssertionError(f"B5: ours fetched {count} of {len(ids)} schedules")
    return count / elapsed


async def raw(server: ServerInfo, ids: list[str]) -> float:
    decoder = msgspec.json.Decoder(GetResponseStruct)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/cgi-bin/gettoken"
        params = {"corpid": server.corp_id, "corpsecret": server.corp_secret}
        async with session.get(url, params=params) as resp:
            token = orjson.loads(await resp.read())["access_token"]
        get_url = f"{server.base_url}/cgi-bin/oa/schedule/get?access_token={token}"
        chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
        count = 0

        async def worker() -> None:
            nonlocal count
            while chunks:
                body = orjson.dumps({"schedule_id_list": chunks.pop()})
                async with session.post(get_url, data=body, headers=headers) as resp:
                    answer = decoder.decode(await resp.read())
                count += len(answer.schedule_list)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    if count != len(ids):
        raise AssertionError(f"B5: raw fetched {count} of {len(ids)} schedules")
    return count / elapsed


async def ours_held(server: ServerInfo, ids: list[str]) -> tuple[float, list[Any]]:
    """CPU seconds of ``get_many`` (every schedule kept), and what it kept."""
    async with WeComClient(
        corp_id=server.corp_id,
        corp_secret=server.corp_secret,
        base_url=server.base_url,
        rate_limits=UNBINDING_LIMITS,
    ) as client:
        await client.tokens.get()  # both variants start with a token
        start = time.process_time()
        result = await client.schedules.get_many(ids, concurrency=CONCURRENCY)
        cpu = time.process_time() - start
    return cpu, result.schedules


async def raw_held(
    server: ServerInfo, ids: list[str], response: type[Any] = GetResponseStruct
) -> tuple[float, list[Any]]:
    """CPU seconds of hand-written aiohttp + msgspec keeping every Struct, and those."""
    decoder = msgspec.json.Decoder(response)
    headers = {"Content-Type": "application/json"}
    kept: list[Any] = []
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/cgi-bin/gettoken"
        params = {"corpid": server.corp_id, "corpsecret": server.corp_secret}
        async with session.get(url, params=params) as resp:
            token = orjson.loads(await resp.read())["access_token"]
        get_url = f"{server.base_url}/cgi-bin/oa/schedule/get?access_token={token}"
        chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]

        async def worker() -> None:
            while chunks:
                body = orjson.dumps({"schedule_id_list": chunks.pop()})
                async with session.post(get_url, data=body, headers=headers) as resp:
                    kept.extend(decoder.decode(await resp.read()).schedule_list)

        start = time.process_time()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        cpu = time.process_time() - start
    return cpu, kept


def _cpu_held(fetch: Callable[[], tuple[float, list[Any]]], expected: int) -> float:
    """The CPU seconds *fetch* reports; what it kept is freed afterwards, uncounted."""
    cpu, kept = fetch()
    if len(kept) != expected:
        raise AssertionError(f"B5: kept {len(kept)} of {expected} schedules")
    del kept
    return cpu


def measure_held(profile: Profile, n: int, rounds: int) -> dict[str, list[float]]:
    """CPU seconds of each variant keeping *n* schedules, round by round, in this process."""
    next_start = 10**9  # IDs no other round of B5 asked for

    def fresh_ids() -> list[str]:
        nonlocal next_start
        next_start += n
        return list(schedule_ids(n, start=next_start))

    with ServerProcess(profile) as server:
        return interleave(
            {
                "ours": lambda: _cpu_held(lambda: asyncio.run(ours_held(server, fresh_ids())), n),
                "raw": lambda: _cpu_held(lambda: asyncio.run(raw_held(server, fresh_ids())), n),
                "raw_untracked": lambda: _cpu_held(
                    lambda: asyncio.run(raw_held(server, fresh_ids(), UntrackedGetResponseStruct)),
                    n,
                ),
            },
            rounds,
        )


def _held_rows(profile: Profile, sizes: Sizes, rounds: int) -> list[Row]:
    n = sizes.bulk_held_ids
    if sizes.rounds > 1:
        # A fresh process: what else a process holds sets the cost of the collector's passes
        # over the Structs it tracks (the benchmark process has held millions of objects).
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_bulk", profile, str(n), str(rounds)],
            capture_output=True,
            check=True,
            cwd=PROJECT_ROOT,
            timeout=900,
        ).stdout
        cpu: dict[str, list[float]] = orjson.loads(out)
    else:
        cpu = measure_held(profile, n, rounds)
    mine = median(cpu["ours"])
    rows = []
    for variant, baseline, note in (
        (
            "raw",
            "raw aiohttp + msgspec, every Struct kept in a list",
            "Structs as msgspec makes them by default: the collector tracks them, and its "
            "passes over the growing list are most of this baseline's CPU",
        ),
        (
            "raw_untracked",
            "the same with gc=False Structs",
            "the fastest hand-written pipeline: Structs the collector never walks, as ours",
        ),
    ):
        base = median(cpu[variant])
        rows.append(
            Row(
                f"client CPU keeping every schedule, {profile}, {n:,} IDs per run (get_many) "
                f"vs {'gc=False Structs' if variant == 'raw_untracked' else 'Structs'}",
                mine * 1e3,
                base * 1e3,
                "ms",
                mine / base,
                HELD_CPU_TARGET,
                baseline_name=baseline,
                note=f"ours {mine / n * 1e6:.2f} µs per schedule, this baseline "
                f"{base / n * 1e6:.2f} µs; {note}",
            )
        )
    return rows


def _profile_rows(profile: Profile, sizes: Sizes, rounds: int) -> Row:
    n = sizes.bulk_ids
    next_start = 0

    def fresh_ids() -> list[str]:
        nonlocal next_start
        next_start += n
        return list(schedule_ids(n, start=next_start))

    with ServerProcess(profile) as server:
        rates = interleave(
            {
                "ours": lambda: asyncio.run(ours(server, fresh_ids())),
                "raw": lambda: asyncio.run(raw(server, fresh_ids())),
            },
            rounds,
        )
    mine, base = median(rates["ours"]), median(rates["raw"])
    return Row(
        f"schedules/s, {profile}, {n:,} IDs per run",
        mine,
        base,
        "schedules/s",
        mine / base,
        TARGET,
        direction=">=",
        baseline_name="raw aiohttp + msgspec Struct decode",
    )


def run(sizes: Sizes) -> list[BenchResult]:
    rounds = max(sizes.rounds, 9) if sizes.rounds > 1 else 1
    profiles = [profile for profile in PROFILES if profile in sizes.bulk_profiles]
    rows = (
        *(_profile_rows(profile, sizes, rounds) for profile in profiles),
        *(row for profile in profiles for row in _held_rows(profile, sizes, rounds)),
    )
    method = (
        f"Concurrency {CONCURRENCY}, chunks of {CHUNK} IDs, loopback, server in its own process; "
        f"{rounds} interleaved runs per variant (fresh IDs and event loop each). Streaming: "
        "median of schedules per second of wall time, every schedule counted and dropped. "
        "Keeping: in a fresh process, median of the client's CPU time from the first request "
        "until the fetch returned, garbage collector at its defaults, freeing the kept "
        "schedules not counted."
    )
    return [
        BenchResult(
            "B5",
            "Bulk fetch: iter_many throughput, get_many CPU ÷ raw aiohttp + msgspec",
            rows,
            method,
        )
    ]


if __name__ == "__main__":
    _profile, _n, _rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.stdout.write(orjson.dumps(measure_held(_profile, _n, _rounds)).decode())  # type: ignore[arg-type]

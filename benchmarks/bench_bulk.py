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
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import msgspec
import orjson

from wecom_async import RateLimits, WeComClient

from ._data import PROFILES, Profile, schedule_ids
from ._harness import BenchResult, Row, Sizes, interleave, median
from ._server import ServerInfo, ServerProcess
from ._structs import GetResponseStruct

__all__ = ["run"]

TARGET = 0.6
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
    rows = tuple(
        _profile_rows(profile, sizes, rounds)
        for profile in PROFILES
        if profile in sizes.bulk_profiles
    )
    method = (
        f"Concurrency {CONCURRENCY}, chunks of {CHUNK} IDs, loopback, server in its own process; "
        f"{rounds} interleaved runs per variant (fresh IDs and event loop each), median of "
        "schedules per second of wall time."
    )
    return [BenchResult("B5", "Bulk throughput: iter_many ÷ raw aiohttp + msgspec", rows, method)]

"""B8: a bulk fetch against other WeCom SDKs, with a WeCom-like 50 ms per call.

The server (own process) answers any ID with a generated schedule and waits ``Sizes.peer_latency``
seconds before handling each schedule/get (the fake's latency fault): a real round trip to WeCom.
Every client fetches the same ``Sizes.peer_ids`` IDs, 1000 per call, from a cold start (its token
fetch included):

* **ours**: ``client.schedules.iter_many(ids)`` at its defaults (16 chunks at once), with
  WeCom's quotas and at most N requests in flight (``RateLimits(max_concurrency=N)``, the
  default for N = 10: the chunks beyond N wait at the limiter and take a freed slot at once),
  every schedule looked at and dropped (streaming);
* **wechatpy 1.8.18** (synchronous, requests): its ``enterprise.WeChatClient`` with
  ``API_BASE_URL`` pointed at the server (``fetch_access_token`` too: it has WeCom's gettoken URL
  written in), ``client.schedule.get(chunk)`` chunk after chunk — it has no concurrency to give;
* **wecomkit** (asyncio, httpx): ``WeComConfig(base_url=…)``, ``client.schedule.get(chunk)`` for
  every chunk with ``asyncio.gather``, at most N at once (a semaphore): the same budget as ours.

wechatpy and wecomkit drop each chunk's schedules once counted too. Ours is measured both
streaming and with ``get_many``, which keeps every schedule (``fetch_ours_held``): each against
the peers, and get_many ÷ streaming. get_many's time ends when it has returned and its client is
closed, with the 100,000 schedules in hand: what the caller waits for. Freeing them later (when
the caller drops the result) is timed on its own and reported beside it; the streaming variants
free each chunk's schedules as they go, inside their time.

N is ``Sizes.peer_concurrency`` (10, about WeCom's concurrency cap per API). Wall time of the
whole fetch; runs interleaved, median of the rounds.

Every client runs after ``gc.collect(); gc.freeze()`` — what our README advises a pipeline to do
once it has started (the benchmark process has imported all three SDKs, httpx and pydantic
included: without freezing, each of the collector's full passes walks all of that again). Ours
without it is reported too.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from typing import Any

import attrs
import orjson

from wecom_async import RateLimits, WeComClient

from ._data import schedule_ids
from ._harness import BenchResult, Row, Sizes, interleave, median, package_version
from ._server import PROJECT_ROOT, ServerInfo, ServerProcess

__all__ = [
    "fetch_ours",
    "fetch_ours_held",
    "fetch_wechatpy",
    "fetch_wecomkit",
    "measure",
    "run",
]

WECHATPY_TARGET = 10.0
WECOMKIT_TARGET = 1.5
#: get_many (every schedule kept) ÷ iter_many (every schedule dropped), wall time.
HELD_TARGET = 1.25
CHUNK = 1000


def _limits(concurrency: int) -> RateLimits:
    """WeCom's quotas, and at most *concurrency* requests in flight."""
    return RateLimits(max_concurrency=concurrency)


async def fetch_ours(server: ServerInfo, ids: list[str], concurrency: int) -> int:
    """Stream the fetch: every schedule is looked at, none kept.

    At most *concurrency* requests are in flight (the rate limiter's cap); iter_many runs at its
    default number of chunks, which is above that cap, so that a freed slot is taken by the
    next request at once, while the answer that freed it is decoded.
    """
    count = 0
    async with WeComClient(
        corp_id=server.corp_id,
        corp_secret=server.corp_secret,
        base_url=server.base_url,
        rate_limits=_limits(concurrency),
    ) as client:
        stream = client.schedules.iter_many(ids)
        async for chunk in stream.chunks():
            count += len(chunk.schedules)
    return count


async def fetch_ours_held(server: ServerInfo, ids: list[str], concurrency: int) -> list[Any]:
    """``get_many``: every schedule kept, and returned (the caller times freeing them)."""
    async with WeComClient(
        corp_id=server.corp_id,
        corp_secret=server.corp_secret,
        base_url=server.base_url,
        rate_limits=_limits(concurrency),
    ) as client:
        result = await client.schedules.get_many(ids)
    return result.schedules


def fetch_wechatpy(server: ServerInfo, ids: list[str]) -> int:
    from wechatpy.enterprise import WeChatClient

    class PointedClient(WeChatClient):  # type: ignore[misc]
        API_BASE_URL = f"{server.base_url}/cgi-bin/"

        def fetch_access_token(self) -> Any:
            # wechatpy 1.8.18 has https://qyapi.weixin.qq.com/cgi-bin/gettoken written in here.
            return self._fetch_access_token(
                url=f"{self.API_BASE_URL}gettoken",
                params={"corpid": self.corp_id, "corpsecret": self.secret},
            )

    client = PointedClient(server.corp_id, server.corp_secret)
    count = 0
    for start in range(0, len(ids), CHUNK):
        count += len(client.schedule.get(ids[start : start + CHUNK]))
    client._http.close()
    return count


async def fetch_wecomkit(server: ServerInfo, ids: list[str], concurrency: int) -> int:
    from wecomkit import AsyncWeComClient, WeComConfig

    config = WeComConfig(
        corp_id=server.corp_id, corp_secret=server.corp_secret, base_url=server.base_url
    )
    gate = asyncio.Semaphore(concurrency)
    async with AsyncWeComClient(config) as client:

        async def one(chunk: list[str]) -> int:
            async with gate:
                answer = await client.schedule.get(chunk)
            found: list[dict[str, Any]] = answer["schedule_list"]
            return len(found)

        chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
        counts = await asyncio.gather(*(one(chunk) for chunk in chunks))
    return sum(counts)


def _timed(
    fetch: Any, expected: int, *, freeze: bool = True, freed: list[float] | None = None
) -> float:
    """Wall time of *fetch*; with *freeze*, after ``gc.freeze()`` (the README's advice for
    pipelines), undone afterwards.

    *fetch* returns a count, or the schedules it kept: then the time to free them (after the
    fetch's time is taken) is appended to *freed*.
    """
    if freeze:
        gc.collect()
        gc.freeze()
    try:
        start = time.perf_counter()
        kept = fetch()
        elapsed = time.perf_counter() - start
        count = kept if isinstance(kept, int) else len(kept)
        if freed is not None:
            start = time.perf_counter()
            del kept
            freed.append(time.perf_counter() - start)
    finally:
        if freeze:
            gc.unfreeze()
    if count != expected:
        raise AssertionError(f"B8: fetched {count} of {expected} schedules")
    return elapsed


def peers_available() -> dict[str, str | None]:
    return {name: package_version(name) for name in ("wechatpy", "wecomkit")}


def measure(sizes: Sizes) -> dict[str, list[float]]:
    """Seconds per fetch of every variant, round by round (interleaved), in this process."""
    n = sizes.peer_ids
    concurrency = sizes.peer_concurrency
    ids = list(schedule_ids(n, start=10_000_000))
    available = peers_available()
    rounds = max(sizes.rounds, 9) if sizes.rounds > 1 else 1
    freed: list[float] = []
    with ServerProcess("light", latency=sizes.peer_latency) as server:
        variants = {
            "ours": lambda: _timed(lambda: asyncio.run(fetch_ours(server, ids, concurrency)), n),
            "ours_default_gc": lambda: _timed(
                lambda: asyncio.run(fetch_ours(server, ids, concurrency)), n, freeze=False
            ),
            "ours_held": lambda: _timed(
                lambda: asyncio.run(fetch_ours_held(server, ids, concurrency)), n, freed=freed
            ),
        }
        if available["wechatpy"]:
            variants["wechatpy"] = lambda: _timed(lambda: fetch_wechatpy(server, ids), n)
        if available["wecomkit"]:
            variants["wecomkit"] = lambda: _timed(
                lambda: asyncio.run(fetch_wecomkit(server, ids, concurrency)), n
            )
        times = interleave(variants, rounds)
    times["ours_held_free"] = freed
    return times


def run(sizes: Sizes) -> list[BenchResult]:
    n = sizes.peer_ids
    concurrency = sizes.peer_concurrency
    available = peers_available()
    rounds = max(sizes.rounds, 9) if sizes.rounds > 1 else 1
    if sizes.rounds > 1:
        # A fresh process: not one that has already decoded, held and freed millions of
        # objects for the other benchmarks.
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_peers",
                orjson.dumps(attrs.asdict(sizes)).decode(),
            ],
            capture_output=True,
            check=True,
            cwd=PROJECT_ROOT,
            timeout=900,
        ).stdout
        times: dict[str, list[float]] = orjson.loads(out)
    else:
        times = measure(sizes)
    ours = median(times["ours"])
    held = median(times["ours_held"])
    free = median(times["ours_held_free"])
    rows: list[Row] = []
    for peer, target, how in (
        ("wechatpy", WECHATPY_TARGET, "sequential (synchronous client)"),
        ("wecomkit", WECOMKIT_TARGET, f"asyncio.gather, ≤ {concurrency} at once"),
    ):
        version = available[peer]
        if peer not in times:
            rows.append(
                Row(
                    f"{n:,} IDs: {peer} time ÷ ours",
                    ours,
                    None,
                    "s",
                    float("nan"),
                    None,
                    note=f"{peer} is not installed (the bench extra installs it): not measured",
                )
            )
            continue
        theirs = median(times[peer])
        for mine, what in ((ours, "streaming (iter_many)"), (held, "keeping all (get_many)")):
            note = f"ours {n / mine:,.0f} schedules/s, {peer} {n / theirs:,.0f}/s"
            if mine is held:
                note += (
                    f"; until get_many returned: freeing the schedules later is not in it "
                    f"(with it, {theirs / (held + free):.2f}×)"
                )
            rows.append(
                Row(
                    f"{n:,} IDs: {peer} {version} time ÷ ours, {what} (speed-up)",
                    mine,
                    theirs,
                    "s",
                    theirs / mine,
                    target,
                    direction=">=",
                    baseline_name=f"{peer} {version}, {how}",
                    note=note,
                )
            )
    rows.append(
        Row(
            f"{n:,} IDs: get_many (keeping every schedule) ÷ streaming",
            held,
            ours,
            "s",
            held / ours,
            HELD_TARGET,
            baseline_name="iter_many, every schedule dropped",
            note="both after gc.freeze(); the held schedules are not tracked by the collector; "
            "get_many until it returned (streaming frees each chunk inside its time), "
            f"with the freeing below {(held + free) / ours:.3f}×",
        )
    )
    rows.append(
        Row(
            f"{n:,} IDs: freeing get_many's {n:,} schedules once the caller drops them",
            free,
            None,
            "s",
            free,
            None,
            note="not in get_many's time above (the caller holds them until then); "
            f"{free / n * 1e9:,.0f} ns per schedule",
        )
    )
    mine = median(times["ours_default_gc"])
    vs = ", ".join(
        f"{peer} ÷ this = {median(times[peer]) / mine:.2f}×"
        for peer in ("wechatpy", "wecomkit")
        if peer in times
    )
    rows.append(
        Row(
            f"{n:,} IDs: ours without gc.freeze() (the collector walks every object the process "
            "holds)",
            mine,
            None,
            "s",
            mine,
            None,
            note=f"streaming, as above; {vs}",
        )
    )
    method = (
        f"{n:,} IDs, {CHUNK} per call, server adding {sizes.peer_latency * 1000:.0f} ms to every "
        f"schedule/get; ours and wecomkit at most {concurrency} requests in flight; every client "
        f"from a cold start after gc.collect() + gc.freeze(), counting the schedules of each "
        "chunk and dropping them (get_many: keeping them all, its time ending when it returned "
        f"and its client closed); {rounds} interleaved rounds, median wall time."
    )
    notes = (
        "Why ours is not faster still: with at most 10 requests in flight and 50 ms per call, "
        "100 calls need ≥ 0.5 s of waiting, plus the first round trip. Ours also spends a few ms "
        "of one core per chunk of 1000 decoding it. An answer that arrives while another is "
        "being decoded waits for it. wechatpy pays 50 ms plus ~13 ms per call, one call at a "
        "time. get_many keeps 100,000 schedules: none of them is tracked by the garbage "
        "collector (msgspec Structs with gc=False), so its passes do not walk them; it collects "
        "them chunk by chunk (one step of the stream per 1000 schedules). Freeing them is a "
        "cost of holding Python objects at all, paid when the caller drops the result: it is "
        "reported on its own row, not in get_many's time.",
    )
    return [
        BenchResult(
            "B8",
            f"Bulk fetch, {sizes.peer_latency * 1000:.0f} ms per call: vs wechatpy and wecomkit",
            tuple(rows),
            method,
            notes,
        )
    ]


if __name__ == "__main__":
    sys.stdout.write(orjson.dumps(measure(Sizes(**orjson.loads(sys.argv[1])))).decode())

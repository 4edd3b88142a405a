"""B6: the rate limiter against WeCom's quotas: never over, and close to them.

* **Fake clock**: the real limiter (``APILimiter`` with WeCom's quotas, 10,000 calls a minute
  and 150,000 an hour) on an event loop whose clock jumps over waits. 16 tasks take slots as
  fast as the limiter lets them for ~62 minutes from a cold start, stop for 10 minutes (the
  buckets drain), and go on for 5 more: every window of 60 s and of 3600 s is counted, cold
  start and restart after idling included (where a leaky bucket allows the most).
* **Real clock**: the whole client (``client.schedules.get``) against an in-process fake WeCom
  that enforces a quota of ``Sizes.limiter_real_per_minute`` calls a minute (and answers 45009
  beyond), client configured with the same quota, 8 tasks calling as fast as allowed for
  ``Sizes.limiter_real_seconds`` seconds of wall time. Windows are counted from the server's
  arrival times.

Worst window ÷ quota must stay ≤ 1.00; the steady rate (after the first burst) ÷ the quota's
rate must reach ≥ 0.98.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence

import orjson

from wecom_async import RateLimits, WeComClient
from wecom_async._ratelimit import APILimiter
from wecom_async.testing import FakeWeCom, Quota

from ._harness import BenchResult, Row, Sizes
from ._server import PROJECT_ROOT
from ._virtual import run_on_fake_clock

__all__ = ["collect_real_clock", "max_in_window", "run", "run_fake_clock", "start_real_clock"]

WORST_TARGET = 1.0
RATE_TARGET = 0.98
MINUTE = 60.0
HOUR = 3600.0
#: The fake-clock run pauses between these fractions of its length (3700 s to 4300 s of 4600).
PAUSE = (0.804, 0.935)


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most of the sorted *times* in any closed interval ``[t, t + window]``."""
    best = start = 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _count_between(times: Sequence[float], low: float, high: float) -> int:
    return sum(1 for t in times if low <= t < high)


async def _fake_clock_run(seconds: float, tasks: int = 16) -> tuple[list[float], float]:
    loop = asyncio.get_running_loop()
    limiter = APILimiter(RateLimits())
    t0 = loop.time()
    pause_at, resume_at, end = t0 + seconds * PAUSE[0], t0 + seconds * PAUSE[1], t0 + seconds
    times: list[float] = []

    async def caller() -> None:
        while True:
            now = loop.time()
            if now >= end:
                return
            if pause_at <= now < resume_at:
                await asyncio.sleep(resume_at - now)
                continue
            async with limiter.slot():
                times.append(loop.time() - t0)

    await asyncio.gather(*(caller() for _ in range(tasks)))
    return times, t0


def run_fake_clock(sizes: Sizes) -> list[Row]:
    seconds = sizes.limiter_virtual_seconds
    limits = RateLimits()
    times, _ = run_on_fake_clock(_fake_clock_run(seconds))
    times.sort()
    minute = max_in_window(times, MINUTE)
    hour = max_in_window(times, HOUR)
    quota_rate = limits.per_hour / HOUR
    # The steady stretch: after the cold-start burst has drained, before the pause.
    low, high = min(300.0, seconds * 0.2), seconds * PAUSE[0]
    steady = _count_between(times, low, high) / (high - low)
    pause = seconds * (PAUSE[1] - PAUSE[0]) / 60
    note = (
        f"{len(times):,} calls in {seconds / 60:.0f} simulated minutes: cold start, "
        f"{seconds * PAUSE[0] / 60:.0f} min busy, {pause:.0f} min idle, busy again"
    )
    return [
        Row(
            "fake clock: worst 60 s window ÷ 10,000 a minute",
            float(minute),
            float(limits.per_minute),
            "calls",
            minute / limits.per_minute,
            WORST_TARGET,
            baseline_name="WeCom quota",
            note=note,
        ),
        Row(
            "fake clock: worst 3600 s window ÷ 150,000 an hour",
            float(hour),
            float(limits.per_hour),
            "calls",
            hour / limits.per_hour,
            WORST_TARGET,
            baseline_name="WeCom quota",
            note="the hour quota binds: the first hour from cold start is the worst window",
        ),
        Row(
            "fake clock: steady rate ÷ 150,000/3600 s",
            steady,
            quota_rate,
            "calls/s",
            steady / quota_rate,
            RATE_TARGET,
            direction=">=",
            baseline_name="WeCom quota rate",
            note=f"from t = {low:.0f} s to {high:.0f} s",
        ),
    ]


# --- real clock: in a subprocess of its own --------------------------------------------------


async def _real_clock_run(seconds: float, per_minute: int) -> dict[str, float]:
    async with FakeWeCom(quota=Quota(per_minute=per_minute, per_hour=None)) as fake:
        limits = RateLimits(per_minute=per_minute, per_hour=per_minute * 1000)
        async with WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            rate_limits=limits,
        ) as client:
            await client.tokens.get()
            deadline = time.monotonic() + seconds

            async def caller() -> None:
                while time.monotonic() < deadline:
                    await client.schedules.get(["0" * 32])

            await asyncio.gather(*(caller() for _ in range(8)))
        times = sorted(r.time for r in fake.requests if r.path == "oa/schedule/get")
        first = times[0]
        rel = [t - first for t in times]
        low, high = min(10.0, seconds / 4), rel[-1]
        steady = _count_between(rel, low, high) / (high - low) if high > low else 0.0
        return {
            "calls": float(len(rel)),
            "worst_minute": float(max_in_window(rel, MINUTE)),
            "steady": steady,
            "rejected": float(fake.quota_exceeded_count),
            "seconds": rel[-1],
        }


def start_real_clock(sizes: Sizes) -> subprocess.Popen[bytes]:
    """Start the real-clock run in a subprocess (its own event loop and fake server)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_limiter",
            "--seconds",
            repr(sizes.limiter_real_seconds),
            "--per-minute",
            str(sizes.limiter_real_per_minute),
        ],
        stdout=subprocess.PIPE,
        cwd=PROJECT_ROOT,
    )


def collect_real_clock(process: subprocess.Popen[bytes], sizes: Sizes) -> list[Row]:
    out, _ = process.communicate(timeout=sizes.limiter_real_seconds + 120)
    if process.returncode != 0:
        raise RuntimeError(f"B6 real-clock run failed (exit {process.returncode})")
    result = orjson.loads(out.splitlines()[-1])
    quota = sizes.limiter_real_per_minute
    note = (
        f"{result['calls']:,.0f} calls in {result['seconds']:.0f} s; "
        f"{result['rejected']:.0f} answered 45009 by the server"
    )
    worst = result["worst_minute"]
    return [
        Row(
            f"real clock: worst 60 s window ÷ {quota:,} a minute",
            worst,
            float(quota),
            "calls",
            worst / quota,
            WORST_TARGET,
            baseline_name="quota set on server and client",
            note=note
            + (
                "; the run is shorter than a minute: the whole run is one window"
                if result["seconds"] < MINUTE
                else ""
            ),
        ),
        Row(
            f"real clock: steady rate ÷ {quota:,}/60 s",
            result["steady"],
            quota / MINUTE,
            "calls/s",
            result["steady"] / (quota / MINUTE),
            RATE_TARGET,
            direction=">=",
            baseline_name="quota rate",
            note="after the first burst, server arrival times",
        ),
    ]


def run(sizes: Sizes, real_clock: subprocess.Popen[bytes] | None = None) -> list[BenchResult]:
    """B6; *real_clock* is a run started earlier by :func:`start_real_clock` (else one now)."""
    rows = run_fake_clock(sizes)
    process = real_clock if real_clock is not None else start_real_clock(sizes)
    rows += collect_real_clock(process, sizes)
    method = (
        "Fake clock: the real APILimiter and aiolimiter buckets on an event loop whose clock "
        "jumps over waits. Real clock: the client against an in-process fake WeCom enforcing "
        "the quota, windows counted from the server's arrival times."
    )
    return [
        BenchResult(
            "B6", "Rate limiter: worst sliding window and steady rate vs quota", tuple(rows), method
        )
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_limiter")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--per-minute", type=int, required=True)
    args = parser.parse_args(argv)
    result = asyncio.run(_real_clock_run(args.seconds, args.per_minute))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()

"""What every benchmark shares: sizes, interleaved rounds, results, and the machine.

A comparison runs its variants in the same process, round after round, alternating their order
(A B, B A, A B, …) so that drift (CPU frequency, caches, a busy neighbour) hits them alike; the
figure of a variant is the median of its rounds.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import metadata
from typing import Literal

import attrs

__all__ = [
    "FULL",
    "SMOKE",
    "BenchResult",
    "Row",
    "Sizes",
    "ainterleave",
    "cpu_per_op",
    "interleave",
    "machine",
    "median",
    "pin_to_cpu",
]

Direction = Literal["<=", ">="]


@attrs.frozen
class Sizes:
    """How big each benchmark is; :data:`FULL` for ``nox -s bench``, :data:`SMOKE` for tests."""

    rounds: int = 9
    #: B1/B2: schedules per get body.
    decode_schedules: int = 1000
    #: B3: encodes per round.
    encodes: int = 2000
    #: B4: calls per block and variant (blocks alternate; at least 31 of each).
    calls: int = 200
    #: B5: IDs per round and variant (one loopback bulk fetch), and the profiles run.
    bulk_ids: int = 24_000
    bulk_profiles: tuple[str, ...] = ("light", "heavy")
    #: B5: IDs per round and variant of the fetch that keeps every schedule (client CPU).
    bulk_held_ids: int = 100_000
    #: B6: simulated seconds on the fake clock; seconds of the real-clock run.
    limiter_virtual_seconds: float = 4_600.0
    limiter_real_seconds: float = 62.0
    limiter_real_per_minute: int = 6_000
    #: B7: schedules held for memory per schedule; IDs streamed to a file.
    held_schedules: int = 20_000
    stream_ids: int = 1_000_000
    #: B8: IDs per bulk fetch, latency per call, concurrency of the async clients.
    peer_ids: int = 100_000
    peer_latency: float = 0.05
    peer_concurrency: int = 10
    #: B9: calls per block and variant; fleet processes, seconds and quota (calls a minute).
    redis_calls: int = 200
    fleet_processes: int = 8
    fleet_seconds: float = 65.0
    fleet_per_minute: int = 1200
    #: B10: schedules written to each table format.
    table_schedules: int = 100_000
    #: B11: recurring schedules expanded over one year.
    recurring_schedules: int = 10_000


FULL = Sizes()
SMOKE = Sizes(
    rounds=1,
    decode_schedules=20,
    encodes=20,
    calls=5,
    bulk_ids=300,
    bulk_profiles=("light",),
    bulk_held_ids=300,
    limiter_virtual_seconds=130.0,
    limiter_real_seconds=0.5,
    limiter_real_per_minute=600,
    held_schedules=50,
    stream_ids=2_500,
    peer_ids=2_000,
    peer_latency=0.001,
    peer_concurrency=4,
    redis_calls=5,
    fleet_processes=2,
    fleet_seconds=2.0,
    fleet_per_minute=600,
    table_schedules=500,
    recurring_schedules=50,
)


@attrs.frozen
class Row:
    """One figure: ours against a baseline, as a ratio with a target (or information only)."""

    measure: str
    ours: float
    baseline: float | None
    unit: str
    #: ``ours / baseline`` (or the figure itself when there is no baseline).
    ratio: float
    target: float | None = None
    direction: Direction = "<="
    baseline_name: str = ""
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.direction == "<=":
            return self.ratio <= self.target
        return self.ratio >= self.target

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "(info)"
        return f"{'≤' if self.direction == '<=' else '≥'} {self.target:g}"


@attrs.frozen
class BenchResult:
    id: str
    title: str
    rows: tuple[Row, ...]
    method: str = ""
    notes: tuple[str, ...] = ()

    @property
    def met(self) -> bool:
        return all(row.met is not False for row in self.rows)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def interleave(variants: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every variant once per round, alternating the order; return each one's figures."""
    names = list(variants)
    results: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(variants[name]())
    return results


async def ainterleave(
    variants: Mapping[str, Callable[[], Awaitable[float]]], rounds: int
) -> dict[str, list[float]]:
    """:func:`interleave` for coroutines, in the running loop."""
    names = list(variants)
    results: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(await variants[name]())
    return results


def cpu_per_op(func: Callable[[], object], number: int) -> float:
    """Seconds of this process's CPU per call of *func*, over *number* calls."""
    start = time.process_time()
    for _ in range(number):
        func()
    return (time.process_time() - start) / number


def pin_to_cpu(pid: int, cpu: int) -> bool:
    """Pin process *pid* (0 = this one) to one CPU, where the OS allows it; True if done."""
    setaffinity = getattr(os, "sched_setaffinity", None)
    getaffinity = getattr(os, "sched_getaffinity", None)
    if setaffinity is None or getaffinity is None:
        return False
    try:
        allowed = getaffinity(0)
        if cpu not in allowed or len(allowed) < 2:
            return False
        setaffinity(pid, {cpu})
    except OSError:
        return False
    return True


_PACKAGES = (
    "wecom-async",
    "aiohttp",
    "msgspec",
    "orjson",
    "attrs",
    "cattrs",
    "aiolimiter",
    "yarl",
    "wechatpy",
    "requests",
    "wecomkit",
    "httpx",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    versions = ", ".join(
        f"{name} {version}" for name in _PACKAGES if (version := package_version(name)) is not None
    )
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "CPU": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "packages": versions,
    }

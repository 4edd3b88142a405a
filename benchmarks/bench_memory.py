"""B7: memory. Bytes per schedule held, and peak RSS while streaming a million IDs to a file.

* **Per held schedule**: ``Sizes.held_schedules`` schedules decoded from get answers and kept
  (the bodies dropped), measured with ``tracemalloc`` (every Python allocation: the objects and
  their strings), ours ÷ the msgspec Struct twin.
* **Streaming**: a subprocess (so its RSS is the client's alone; the server runs in another)
  streams ``Sizes.stream_ids`` IDs through ``client.schedules.iter_many`` (default concurrency
  and rate limits) and writes one line per schedule to a file; its peak RSS (``VmHWM``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import msgspec
import orjson

from wecom_async import WeComClient, _sansio
from wecom_async.models import GetSchedulesResponse

from ._data import PROFILES, Profile, get_body, schedule_ids
from ._harness import BenchResult, Row, Sizes, median
from ._server import PROJECT_ROOT, ServerProcess
from ._structs import GetResponseStruct

__all__ = ["held_bytes", "run", "stream_to_file"]

HELD_TARGET = 1.15
RSS_TARGET_MB = 110.0
BODY = 1000


def held_bytes(decode: Callable[[bytes], Any], bodies: list[bytes]) -> float:
    """Bytes allocated per schedule still held after decoding *bodies* and dropping them."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [decode(body).schedule_list for body in bodies]
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    count = sum(len(schedules) for schedules in held)
    del held
    return (after - before) / count


def _ours(body: bytes) -> Any:
    return _sansio.decode_response(200, body, GetSchedulesResponse, "oa/schedule/get")


def _held_row(profile: Profile, sizes: Sizes) -> Row:
    per_body = min(BODY, sizes.held_schedules)
    bodies = [
        get_body(per_body, profile, seed=index)
        for index in range(max(1, sizes.held_schedules // per_body))
    ]
    struct_decode = msgspec.json.Decoder(GetResponseStruct).decode
    ours: list[float] = []
    struct: list[float] = []
    for _ in range(3):  # deterministic; repeated to show it
        ours.append(held_bytes(_ours, bodies))
        struct.append(held_bytes(struct_decode, bodies))
    mine, base = median(ours), median(struct)
    count = per_body * len(bodies)
    wire = sum(len(b) for b in bodies) / count
    return Row(
        f"bytes per held schedule ({profile}, {count:,} held; {wire:.0f} B of JSON each)",
        mine,
        base,
        "B",
        mine / base,
        HELD_TARGET,
        baseline_name="msgspec Struct twin",
    )


# --- streaming, in a subprocess --------------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak RSS. Linux: ``VmHWM``, because ``ru_maxrss`` survives ``exec`` and
    would report the parent's peak (the benchmark runner's) in a fresh subprocess."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, else KiB


async def _stream(
    base_url: str, corp_id: str, secret: str, count: int, file: TextIO
) -> dict[str, float]:
    rss_start = _peak_rss_mb()
    written = 0
    start = time.perf_counter()
    async with WeComClient(corp_id=corp_id, corp_secret=secret, base_url=base_url) as client:
        stream = client.schedules.iter_many(schedule_ids(count))
        async for s in stream:
            # A buffered file: a write is a memory copy (a pipeline would do the same).
            file.write(f"{s.schedule_id}\t{s.start_time}\t{s.end_time}\t{s.summary}\n")
            written += 1
    elapsed = time.perf_counter() - start
    return {
        "written": float(written),
        "missing": float(len(stream.missing)),
        "seconds": elapsed,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": rss_start,
    }


def stream_to_file(sizes: Sizes) -> dict[str, float]:
    """Run the streaming measurement (server and client each in their own process)."""
    with ServerProcess("light") as server, tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "schedules.tsv")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_memory",
                "--base-url",
                server.base_url,
                "--corp-id",
                server.corp_id,
                "--ids",
                str(sizes.stream_ids),
                "--out",
                out,
            ],
            input=server.corp_secret.encode(),
            capture_output=True,
            check=True,
            timeout=600,
            cwd=PROJECT_ROOT,
        )
    data: dict[str, float] = orjson.loads(result.stdout.splitlines()[-1])
    return data


def run(sizes: Sizes) -> list[BenchResult]:
    rows = [_held_row(profile, sizes) for profile in PROFILES]
    streamed = stream_to_file(sizes)
    if streamed["written"] != sizes.stream_ids:
        raise AssertionError(f"B7: streamed {streamed['written']} of {sizes.stream_ids}")
    rows.append(
        Row(
            f"peak RSS streaming {sizes.stream_ids:,} IDs to a file (light)",
            streamed["peak_rss_mb"],
            None,
            "MB",
            streamed["peak_rss_mb"],
            RSS_TARGET_MB,
            note=(
                f"{streamed['written'] / streamed['seconds']:,.0f} schedules/s, "
                f"{streamed['file_mb']:.0f} MB written; RSS after imports "
                f"{streamed['rss_before_mb']:.0f} MB; the IDs seen (exact de-duplication) "
                "cost ~25 B each beyond the first 131,072"
            ),
        )
    )
    method = (
        "Held: tracemalloc over decoding and keeping the schedules (bodies dropped), 3 runs. "
        "Streaming: iter_many with default concurrency (16) and rate limits, in a subprocess; "
        "peak RSS (VmHWM) of that process."
    )
    return [
        BenchResult("B7", "Memory: per held schedule, and streaming to a file", tuple(rows), method)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--corp-id", required=True)
    parser.add_argument("--ids", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    secret = sys.stdin.read().strip()  # not on the command line
    with open(args.out, "w", encoding="utf-8", buffering=1 << 20) as file:
        result = asyncio.run(_stream(args.base_url, args.corp_id, secret, args.ids, file))
    result["file_mb"] = os.path.getsize(args.out) / 2**20
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()

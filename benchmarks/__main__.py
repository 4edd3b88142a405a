"""``python -m benchmarks``: run B1–B10 and rewrite ``benchmarks/RESULTS.md``.

``--only B1 B4`` runs some of them; ``--smoke`` runs everything at toy sizes (seconds, for the
test suite; nothing is written unless ``--output`` is given).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from . import (
    bench_bulk,
    bench_decode,
    bench_encode,
    bench_limiter,
    bench_memory,
    bench_peers,
    bench_percall,
    bench_recurrence,
    bench_redis,
    bench_tables,
)
from ._harness import FULL, SMOKE, BenchResult, Sizes, machine
from ._report import render

__all__ = ["BENCHMARKS", "main", "run_all"]

RESULTS = Path(__file__).with_name("RESULTS.md")

#: id → what runs it (B1 and B2 share one run).
BENCHMARKS: dict[str, Callable[[Sizes], list[BenchResult]]] = {
    "B1": bench_decode.run,
    "B2": bench_decode.run,
    "B3": bench_encode.run,
    "B4": bench_percall.run,
    "B5": bench_bulk.run,
    "B6": bench_limiter.run,
    "B7": bench_memory.run,
    "B8": bench_peers.run,
    "B9": bench_redis.run,
    "B10": bench_tables.run,
    "B11": bench_recurrence.run,
}


def run_all(
    sizes: Sizes, only: Sequence[str] = (), log: Callable[[str], None] = print
) -> list[BenchResult]:
    wanted = [b for b in BENCHMARKS if not only or b in only]
    results: dict[str, BenchResult] = {}
    for bench_id in wanted:
        if bench_id in results:
            continue  # B2 comes with B1
        log(f"{bench_id} …")
        start = time.perf_counter()
        for result in BENCHMARKS[bench_id](sizes):
            results[result.id] = result
        log(f"{bench_id} done in {time.perf_counter() - start:.1f} s")
    return [results[b] for b in wanted if b in results]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=[])
    parser.add_argument("--smoke", action="store_true", help="toy sizes, for tests")
    parser.add_argument("--output", type=Path, help=f"where to write (default {RESULTS})")
    parser.add_argument("--command", help="how the run was started, for RESULTS.md")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    start = time.perf_counter()
    results = run_all(sizes, args.only, log=lambda text: print(text, file=sys.stderr, flush=True))
    output = args.output if args.output is not None else (None if args.smoke else RESULTS)
    command = args.command or shlex.join(
        ["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)]
    )
    text = render(
        results,
        machine=machine(),
        command=command,
        started=started,
        seconds=time.perf_counter() - start,
        skipped=[b for b in BENCHMARKS if args.only and b not in args.only],
    )
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        print(text)
    missed = [r.id for r in results if not r.met]
    if missed:
        print(f"targets not met: {', '.join(missed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

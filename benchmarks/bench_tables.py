"""B10: writing schedules to Parquet ÷ to JSONL (and CSV), time and size.

``Sizes.table_schedules`` light schedules (decoded models, as a fetch holds them) are written in
chunks of 1000, as ``schedules fetch`` hands them over, by what it runs for each format:

* **JSONL**: one ``schedule_line`` per schedule (``to_dict`` + orjson), one write per chunk;
* **Parquet**: :class:`wecom_async.tables.ParquetWriter` (to Arrow per chunk, a part file of
  10,000 rows each, zstd, each part synced and renamed);
* **CSV** (information): :func:`wecom_async.tables.to_csv`, one write per chunk.

Each round writes a fresh output per format (wall time, variants interleaved; the figure is the
median); sizes are the bytes on disk (all part files for Parquet).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wecom_async import Schedule, tables
from wecom_async._cli._wire import schedule_line

from ._data import make_schedules
from ._harness import BenchResult, Row, Sizes, interleave, median

__all__ = ["run"]

CHUNK = 1000


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.name.startswith("part-"))
    return path.stat().st_size


def run(sizes: Sizes) -> list[BenchResult]:
    count = sizes.table_schedules
    schedules = [Schedule.from_dict(s) for s in make_schedules(count, "light")]
    chunks = [schedules[i : i + CHUNK] for i in range(0, count, CHUNK)]
    workdir = Path(tempfile.mkdtemp(prefix="wecom-bench-tables-"))
    outputs = {
        "jsonl": workdir / "out.jsonl",
        "csv": workdir / "out.csv",
        "parquet": workdir / "out.parquet",
    }

    def jsonl() -> None:
        with open(outputs["jsonl"], "wb") as file:
            for chunk in chunks:
                file.write(b"".join([schedule_line(s) for s in chunk]))
            file.flush()
            os.fsync(file.fileno())

    def csv() -> None:
        with open(outputs["csv"], "wb") as file:
            file.write(tables.to_csv((), header=True).encode())
            for chunk in chunks:
                file.write(tables.to_csv(chunk, header=False).encode())
            file.flush()
            os.fsync(file.fileno())

    def parquet() -> None:
        with tables.ParquetWriter(outputs["parquet"], overwrite=True) as writer:
            for chunk in chunks:
                writer.write(chunk)

    def timed(write: Callable[[], None]) -> Callable[[], float]:
        def measure() -> float:
            start = time.perf_counter()
            write()
            return time.perf_counter() - start

        return measure

    try:
        times = interleave(
            {"jsonl": timed(jsonl), "parquet": timed(parquet), "csv": timed(csv)}, sizes.rounds
        )
        size = {name: _size(path) for name, path in outputs.items()}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    t = {name: median(values) for name, values in times.items()}
    per = f"{count:,} light schedules"
    rows = (
        Row(
            f"write {per} to Parquet ÷ to JSONL: time",
            t["parquet"],
            t["jsonl"],
            "s",
            t["parquet"] / t["jsonl"],
            baseline_name="JSONL",
        ),
        Row(
            f"write {per} to Parquet ÷ to JSONL: size",
            size["parquet"] / 2**20,
            size["jsonl"] / 2**20,
            "MiB",
            size["parquet"] / size["jsonl"],
            baseline_name="JSONL",
        ),
        Row(
            f"write {per} to CSV ÷ to JSONL: time",
            t["csv"],
            t["jsonl"],
            "s",
            t["csv"] / t["jsonl"],
            baseline_name="JSONL",
        ),
        Row(
            f"write {per} to CSV ÷ to JSONL: size",
            size["csv"] / 2**20,
            size["jsonl"] / 2**20,
            "MiB",
            size["csv"] / size["jsonl"],
            baseline_name="JSONL",
        ),
    )
    return [
        BenchResult(
            "B10",
            "Tables: Parquet and CSV output ÷ JSONL",
            rows,
            method=(
                f"{count:,} decoded light schedules written in chunks of {CHUNK} as "
                "`schedules fetch --format` writes them (JSONL: `schedule_line`; Parquet: "
                "`tables.ParquetWriter`, 10,000-row parts, zstd; CSV: `tables.to_csv`); wall "
                f"time, formats interleaved, median of {sizes.rounds} rounds; sizes on disk."
            ),
        )
    ]

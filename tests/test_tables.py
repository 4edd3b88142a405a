"""wecom_async.tables and ``schedules fetch --format csv|parquet``: the rows are the schedules.

Every check reads the output back with an independent reader (pyarrow.dataset, the stdlib csv
module) and compares it, row by row, with ``to_dict()`` of the schedules.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.test_cli import answer_only, cli_env, finish, seed, start, wecom
from tests.test_dicts import schedules as random_schedule
from wecom_async import (
    Attendee,
    ExtraNotInstalledError,
    Reminders,
    ResponseStatus,
    Schedule,
    ValidationError,
    tables,
)
from wecom_async.testing import FakeWeCom

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

FLAGS = ("is_remind", "is_repeat", "is_custom_repeat")


def arrow_row_to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A row read back from Arrow/Parquet → the schedule's to_dict(), by the documented schema."""
    wire = dict(row)
    for name in ("start_time", "end_time"):
        moment: datetime = wire[name]
        assert moment.utcoffset() is not None
        assert moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        wire[name] = int(moment.timestamp())
    reminders = dict(wire["reminders"])
    for flag in FLAGS:
        reminders[flag] = int(reminders[flag])
    assert wire.pop("timezone") == reminders["timezone"]
    wire["reminders"] = reminders
    wire["is_whole_day"] = int(wire["is_whole_day"])
    if not wire["sequence"]:
        del wire["sequence"]
    return wire


def csv_row_to_wire(row: dict[str, str]) -> dict[str, Any]:
    """A CSV record → the schedule's to_dict(), by the documented schema."""
    wire: dict[str, Any] = dict(row)
    for name in ("start_time", "end_time"):
        assert row[name].endswith("Z")
        moment = datetime.strptime(row[name], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        wire[name] = int(moment.timestamp())
    for name in ("admins", "attendees", "reminders"):
        wire[name] = json.loads(row[name])
    for name in ("is_whole_day", "status", "sequence"):
        wire[name] = int(row[name])
    assert int(wire.pop("timezone")) == wire["reminders"]["timezone"]
    if not wire["sequence"]:
        del wire["sequence"]
    return wire


def read_dataset(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = ds.dataset(path, format="parquet").to_table().to_pylist()
    return rows


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == tables.COLUMNS
        return list(reader)


def sample_schedules(count: int, seed: int = 7) -> list[Schedule]:
    """Generated schedules (tests/test_dicts.py), with distinct IDs."""
    rng = random.Random(seed)
    made: list[Schedule] = [random_schedule(rng) for _ in range(count)]
    return [attrs.evolve(s, schedule_id=f"{i}:{s.schedule_id}") for i, s in enumerate(made)]


# --- the Python API -------------------------------------------------------------------------------


def test_to_arrow_gives_one_row_per_schedule_in_the_schema() -> None:
    schedules = sample_schedules(400)
    table = tables.to_arrow(schedules)
    assert table.schema == tables.SCHEMA
    assert table.column_names == list(tables.COLUMNS)
    assert table.schema.field("start_time").type == pa.timestamp("s", tz="UTC")
    rows = table.to_pylist()
    assert [arrow_row_to_wire(r) for r in rows] == [s.to_dict() for s in schedules]


def test_parquet_writer_writes_parts_pyarrow_reads_as_one_table(tmp_path: Path) -> None:
    schedules = sample_schedules(1234)
    out = tmp_path / "out.parquet"
    with tables.ParquetWriter(out, row_group_size=500) as writer:
        for start in range(0, len(schedules), 300):  # chunks of another size than the groups
            writer.write(schedules[start : start + 300])
        assert writer.rows_written == 1000  # two full parts; 234 rows held until close
    parts = tables.part_files(out)
    assert [os.path.basename(p) for p in parts] == [f"part-0000{i}.parquet" for i in range(3)]
    assert [pq.ParquetFile(p).metadata.num_row_groups for p in parts] == [1, 1, 1]
    assert [pq.ParquetFile(p).metadata.num_rows for p in parts] == [500, 500, 234]
    rows = read_dataset(out)
    by_id = {r["schedule_id"]: arrow_row_to_wire(r) for r in rows}
    assert len(rows) == len(by_id) == len({s.schedule_id for s in schedules})
    assert by_id == {s.schedule_id: s.to_dict() for s in schedules}
    # The parts read in order give the input order (pandas/DuckDB read the same files).
    ordered = [r for p in parts for r in pq.read_table(p).to_pylist()]
    assert [r["schedule_id"] for r in ordered] == [s.schedule_id for s in schedules]

    # A second writer refuses to mix into it; append continues after the last part.
    with pytest.raises(FileExistsError):
        tables.ParquetWriter(out)
    with tables.ParquetWriter(out, append=True) as again:
        assert again.existing_ids == [s.schedule_id for s in schedules]
        again.write(sample_schedules(10, seed=8))
    assert os.path.basename(tables.part_files(out)[-1]) == "part-00003.parquet"
    assert len(read_dataset(out)) == 1244
    with tables.ParquetWriter(out, overwrite=True) as fresh:
        fresh.write(schedules[:5])
    assert [r["schedule_id"] for r in read_dataset(out)] == [s.schedule_id for s in schedules[:5]]


def test_a_second_writer_is_locked_out(tmp_path: Path) -> None:
    with tables.ParquetWriter(tmp_path / "d"), pytest.raises(BlockingIOError):
        tables.ParquetWriter(tmp_path / "d", append=True)
    for wrong in (0, 1.5):
        with pytest.raises(ValidationError) as info:
            tables.ParquetWriter(tmp_path / "e", row_group_size=wrong)  # type: ignore[arg-type]
        assert info.value.paths == ("row_group_size",)


def test_csv_parses_with_the_stdlib_csv_module() -> None:
    schedules = sample_schedules(400)
    tricky = Schedule(
        "s-tricky",
        1_767_600_000,
        1_767_603_600,
        summary='a,b "quoted"',
        description="line one\nline two\r\nthree",
        attendees=(Attendee("张三", ResponseStatus.DECLINED),),
        reminders=Reminders(is_remind=True, remind_time_diffs=(-300,), timezone=-5),
    )
    text = tables.to_csv([*schedules, tricky])
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [csv_row_to_wire(r) for r in rows] == [s.to_dict() for s in [*schedules, tricky]]
    # The JSON columns are to_dict's JSON exactly (0/1, not true/false: 1 == True in Python).
    for row, schedule in zip(rows, [*schedules, tricky], strict=True):
        wire = schedule.to_dict()
        for name in ("admins", "attendees", "reminders"):
            assert row[name] == orjson.dumps(wire[name]).decode()
        assert row["is_whole_day"] in ("0", "1")
    assert rows[-1]["start_time"] == "2026-01-05T08:00:00Z"
    assert rows[-1]["timezone"] == "-5"
    assert tables.to_csv([], header=True) == ",".join(tables.COLUMNS) + "\r\n"


def test_without_pyarrow_the_module_imports_and_arrow_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from wecom_async import tables, ExtraNotInstalledError, Schedule\n"
        "assert tables.to_csv([Schedule('s', 1, 2)]).count('\\n') == 2\n"
        "for use in (lambda: tables.SCHEMA, lambda: tables.to_arrow([]),\n"
        "            lambda: tables.ParquetWriter('x')):\n"
        "    try:\n"
        "        use()\n"
        "    except ExtraNotInstalledError as exc:\n"
        "        print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    message = "pip install 'wecom-async[arrow]'"
    assert result.stdout.count(message) == 3, result.stdout
    assert issubclass(ExtraNotInstalledError, ImportError)


def test_parquet_writer_memory_is_bounded_for_a_large_run(tmp_path: Path) -> None:
    """200,000 schedules through the writer: Python and Arrow memory stay at a few row groups."""
    template = sample_schedules(1000)

    def chunks() -> Iterator[list[Schedule]]:
        for number in range(200):  # fresh objects each chunk, as a fetch hands them over
            yield [Schedule.from_dict({**s.to_dict(), "schedule_id": f"{number}-{i}"})
                   for i, s in enumerate(template)]  # fmt: skip

    pool = pa.default_memory_pool()
    arrow_peak = 0
    tracemalloc.start()
    try:
        with tables.ParquetWriter(tmp_path / "big.parquet") as writer:
            for chunk in chunks():
                writer.write(chunk)
                arrow_peak = max(arrow_peak, pool.bytes_allocated())
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A row group of 10,000 of these is ~3 MB of Arrow data, and the Python side holds one
    # chunk (~3 MB measured); the 200k rows held as Arrow data would be ~60 MB.
    assert python_peak < 32 * 2**20, python_peak
    assert arrow_peak < 32 * 2**20, arrow_peak
    assert len(tables.part_files(tmp_path / "big.parquet")) == 20
    assert pq.ParquetDataset(tmp_path / "big.parquet").read(columns=["schedule_id"]).num_rows == (
        200_000
    )


# --- the command line -----------------------------------------------------------------------------


def stored(fake: FakeWeCom, ids: list[str]) -> dict[str, dict[str, Any]]:
    """to_dict() of each schedule as the fake server holds it."""
    found = {i: fake.store.get_schedule(i) for i in ids}
    return {i: Schedule.from_dict(wire).to_dict() for i, wire in found.items() if wire is not None}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
async def test_fetch_in_each_format_round_trips(fake: FakeWeCom, tmp_path: Path, fmt: str) -> None:
    ids = seed(fake, 1500)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    out = tmp_path / f"schedules.{fmt}"
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(out)]
    args = [*fetch, "--format", fmt, "--row-group-size", "400"]
    result = await wecom(*args, env=cli_env(fake))
    assert result.code == 0, result.err
    assert "Done: 1,500 schedules written" in result.err
    assert "it now holds 1,500" in result.err
    expected = stored(fake, ids)
    assert got(out, fmt) == expected
    if fmt == "parquet":
        assert len(tables.part_files(out)) == 4  # 400, 400, 400, 300
    # A second run refuses to mix into it; --resume has nothing to do.
    again = await wecom(*args, env=cli_env(fake))
    assert again.code == 2, again.err
    assert "--resume" in again.err
    resumed = await wecom(*args, "--resume", env=cli_env(fake))
    assert resumed.code == 0, resumed.err
    assert "already in" in resumed.err
    assert got(out, fmt) == expected


def got(out: Path, fmt: str) -> dict[str, dict[str, Any]]:
    """The output's rows by schedule ID (every ID exactly once)."""
    if fmt == "jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    elif fmt == "csv":
        rows = [csv_row_to_wire(r) for r in read_csv(out)]
    else:
        rows = [arrow_row_to_wire(r) for r in read_dataset(out)]
    by_id = {r["schedule_id"]: r for r in rows}
    assert len(by_id) == len(rows), "an ID is in the output twice"
    return by_id


def rows_in(out: Path, fmt: str) -> int:
    if fmt == "csv":
        return len(read_csv(out)) if out.exists() else 0
    if not out.exists():
        return 0
    return sum(pq.ParquetFile(p).metadata.num_rows for p in tables.part_files(out))


async def wait_for_rows(out: Path, fmt: str, count: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(2400):
        try:
            if rows_in(out, fmt) >= count:
                return
        except (csv.Error, OSError, pa.ArrowException):
            pass  # caught between two writes
        assert proc.returncode is None, "the fetch ended before it could be interrupted"
        await asyncio.sleep(0.025)
    raise AssertionError(f"{out} never reached {count} rows")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
async def test_kill_9_leaves_a_readable_output_and_resume_completes_it(
    fake: FakeWeCom, tmp_path: Path, fmt: str
) -> None:
    ids = seed(fake, 2000)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    out = tmp_path / f"out.{fmt}"
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(out), "--format", fmt]
    slow = ["--chunk-size", "50", "--concurrency", "2", "--row-group-size", "150"]
    answer_only(fake, 8)  # 400 schedules, then the calls hang until the fetch is killed

    proc = await start(*fetch, *slow, env=cli_env(fake))
    # Parquet: the 2 parts of 150 (the 100 rows held are lost with the process); CSV: all 400.
    await wait_for_rows(out, fmt, 300 if fmt == "parquet" else 400, proc)
    proc.send_signal(signal.SIGKILL)
    await finish(proc)
    # Readable as it is, up to the last finished part or record.
    expected = stored(fake, ids)
    kept = got(out, fmt)
    assert len(kept) == (300 if fmt == "parquet" else 400)
    assert all(expected[i] == row for i, row in kept.items())

    # What a crash in the middle of a write leaves: an unfinished part, a torn last record
    # (cut inside a quoted field spanning lines).
    if fmt == "parquet":
        (out / ".part-00002.parquet.tmp").write_bytes(b"PAR1 half a part")
        assert len(read_dataset(out)) == 300  # hidden files are not part of the dataset
    else:
        with out.open("ab") as file:
            file.write(f'{ids[-1]},cal,"a description\r\ncut'.encode())

    # SIGINT during the resumed run: the rows held are written as a last part, and kept.
    fake.faults.clear()
    answer_only(fake, 4)  # 200 more: Parquet writes a part of 150 and holds the rest
    proc = await start(*fetch, *slow, "--resume", env=cli_env(fake))
    await wait_for_rows(out, fmt, len(kept) + 150, proc)
    await asyncio.sleep(0.5)  # most likely the last chunks arrived too (not relied on)
    proc.send_signal(signal.SIGINT)
    interrupted = await finish(proc)
    assert interrupted.code == 130, interrupted.err
    repaired = "Removed an unfinished part" if fmt == "parquet" else "Cut off a partial last record"
    assert repaired in interrupted.err
    match = re.search(r"Interrupted \(SIGINT\): ([\d,]+) schedules written", interrupted.err)
    assert match is not None, interrupted.err
    written = int(match[1].replace(",", ""))
    assert written >= 150
    assert len(got(out, fmt)) == len(kept) + written  # whatever was fetched, none held back

    fake.faults.clear()
    last = await wecom(*fetch, *slow, "--resume", env=cli_env(fake))
    assert last.code == 0, last.err
    assert got(out, fmt) == expected  # every ID exactly once, each row the schedule
    if fmt == "parquet":
        assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


async def test_parquet_usage_errors_are_one_line(fake: FakeWeCom, tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(seed(fake, 3)) + "\n")
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--format", "parquet"]
    to_stdout = await wecom(*fetch, "--out", "-", env=cli_env(fake))
    assert to_stdout.code == 2
    assert to_stdout.err.strip().count("\n") == 0, to_stdout.err
    assert "directory" in to_stdout.err
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    into_file = await wecom(*fetch, "--out", str(a_file), env=cli_env(fake))
    assert into_file.code == 2
    assert "is a file" in into_file.err


def test_fetch_without_the_extra_is_a_one_line_error(tmp_path: Path) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("s1\n")
    code = "import sys; sys.modules['pyarrow'] = None\nfrom wecom_async.cli import main\nmain()\n"
    args = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(tmp_path / "o"),
            "--format", "parquet"]  # fmt: skip
    env = cli_env(WECOM_CORP_ID="ww1", WECOM_CORP_SECRET="x", WECOM_BASE_URL="http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "pip install 'wecom-async[arrow]'" in result.stderr

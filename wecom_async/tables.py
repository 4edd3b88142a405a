"""Schedules as tables: Arrow/Parquet (the ``arrow`` extra) and CSV, one row per schedule.

The flat schema (:data:`COLUMNS`; :data:`SCHEMA` in Arrow types) keeps WeCom's field names:

* ``schedule_id``, ``cal_id``, ``summary``, ``description``, ``location``: text;
* ``start_time``, ``end_time``: UTC timestamps (seconds); ``timezone``: the schedule's own UTC
  offset in hours (``reminders.timezone``, 8 = UTC+8), to show the times as WeCom does;
* ``is_whole_day``: a flag; ``status`` (0 normal, 1 cancelled), ``sequence``: integers;
* ``admins`` (user IDs), ``attendees`` (``userid``, ``response_status``) and ``reminders`` (every
  field of ``reminders`` under WeCom's names: flags, Unix seconds, ``exclude_time_list``): list
  and struct columns in Arrow/Parquet, JSON text in WeCom's wire form in CSV.

In CSV the timestamps are ISO 8601 in UTC (``2019-10-17T01:10:00Z``) and flags are 0/1.

:func:`to_arrow` builds a ``pyarrow.Table``; :class:`ParquetWriter` streams schedules into a
Parquet *dataset*: a directory of part files (``part-00000.parquet``…, one row group each) that
pyarrow, pandas, polars, DuckDB and Spark read as one table. Each part is written under a hidden
temporary name, synced and renamed, so a crash (even ``kill -9``) leaves only whole part files:
the dataset is readable up to the last finished row group, and ``append=True`` continues it.
:class:`CSVWriter` and :func:`to_csv` write CSV with the standard library alone.

pyarrow is imported on first use: without the extra, :func:`to_arrow`, :data:`SCHEMA` and
:class:`ParquetWriter` raise :class:`~wecom_async.ExtraNotInstalledError` naming it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from .errors import ExtraNotInstalledError, Problem, ValidationError
from .models import Schedule

if TYPE_CHECKING:
    import pyarrow

__all__ = [
    "COLUMNS",
    "CSVWriter",
    "ParquetWriter",
    "part_files",
    "to_arrow",
    "to_csv",
]

#: The columns, in order (the CSV header).
COLUMNS: tuple[str, ...] = (
    "schedule_id",
    "cal_id",
    "summary",
    "description",
    "location",
    "start_time",
    "end_time",
    "timezone",
    "is_whole_day",
    "status",
    "sequence",
    "admins",
    "attendees",
    "reminders",
)
#: Rows per part file (one row group) of :class:`ParquetWriter`, by default.
ROW_GROUP_SIZE = 10_000
_PART = re.compile(r"part-(\d{5,})\.parquet")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ExtraNotInstalledError(
            "Arrow and Parquet output need the 'arrow' extra: pip install 'wecom-async[arrow]'"
        ) from exc
    return pyarrow


_schema: pyarrow.Schema | None = None


def _get_schema() -> pyarrow.Schema:
    global _schema
    if _schema is None:
        pa = _pyarrow()
        ints = pa.list_(pa.int64())
        reminders = pa.struct(
            [
                ("is_remind", pa.bool_()),
                ("remind_before_event_secs", pa.int64()),
                ("remind_time_diffs", ints),
                ("is_repeat", pa.bool_()),
                ("repeat_type", pa.int64()),
                ("repeat_until", pa.int64()),
                ("is_custom_repeat", pa.bool_()),
                ("repeat_interval", pa.int64()),
                ("repeat_day_of_week", ints),
                ("repeat_day_of_month", ints),
                ("timezone", pa.int64()),
                ("exclude_time_list", pa.list_(pa.struct([("start_time", pa.int64())]))),
            ]
        )
        utc = pa.timestamp("s", tz="UTC")
        _schema = pa.schema(
            [
                pa.field("schedule_id", pa.string(), nullable=False),
                ("cal_id", pa.string()),
                ("summary", pa.string()),
                ("description", pa.string()),
                ("location", pa.string()),
                ("start_time", utc),
                ("end_time", utc),
                ("timezone", pa.int32()),
                ("is_whole_day", pa.bool_()),
                ("status", pa.int64()),
                ("sequence", pa.int64()),
                ("admins", pa.list_(pa.string())),
                (
                    "attendees",
                    pa.list_(pa.struct([("userid", pa.string()), ("response_status", pa.int64())])),
                ),
                ("reminders", reminders),
            ]
        )
    return _schema


def __getattr__(name: str) -> Any:
    # SCHEMA is built (and pyarrow imported) on first use.
    if name == "SCHEMA":
        return _get_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    #: The Arrow schema of :func:`to_arrow` and of the Parquet files.
    SCHEMA: pyarrow.Schema


def _columns(schedules: Iterable[Schedule]) -> dict[str, list[Any]]:
    """The column values of *schedules*, read straight from the models (~3x faster than
    through ``to_dict``; the tests check that the rows are ``to_dict`` field for field)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    appenders = [columns[name].append for name in COLUMNS]
    for s in schedules:
        r = s.reminders
        reminders = {
            "is_remind": r.is_remind,
            "remind_before_event_secs": r.remind_before_event_secs,
            "remind_time_diffs": r.remind_time_diffs,
            "is_repeat": r.is_repeat,
            "repeat_type": r.repeat_type,
            "repeat_until": r.repeat_until,
            "is_custom_repeat": r.is_custom_repeat,
            "repeat_interval": r.repeat_interval,
            "repeat_day_of_week": r.repeat_day_of_week,
            "repeat_day_of_month": r.repeat_day_of_month,
            "timezone": r.timezone,
            "exclude_time_list": [{"start_time": e.start_time} for e in r.exclude_time_list],
        }
        attendees = [
            {"userid": a.userid, "response_status": a.response_status} for a in s.attendees
        ]
        values = (
            s.schedule_id,
            s.cal_id,
            s.summary,
            s.description,
            s.location,
            s.start_time,
            s.end_time,
            r.timezone,
            s.is_whole_day,
            s.status,
            s.sequence,
            s.admins,
            attendees,
            reminders,
        )
        for append, value in zip(appenders, values, strict=True):
            append(value)
    return columns


def to_arrow(schedules: Iterable[Schedule]) -> pyarrow.Table:
    """A ``pyarrow.Table`` of *schedules*, one row each, in :data:`SCHEMA`."""
    pa = _pyarrow()
    table: pyarrow.Table = pa.Table.from_pydict(_columns(schedules), schema=_get_schema())
    return table


def part_files(path: str | os.PathLike[str]) -> list[str]:
    """The part files of a :class:`ParquetWriter` dataset, in order (full paths)."""
    numbered = []
    for name in os.listdir(path):
        match = _PART.fullmatch(name)
        if match is not None:
            numbered.append((int(match[1]), name))
    return [os.path.join(path, name) for _, name in sorted(numbered)]


class ParquetWriter:
    """Streams schedules into a Parquet dataset: a directory of part files, one row group each.

    ``write`` takes schedules as they arrive and holds at most ``row_group_size`` rows (as Arrow
    data) before writing them out as the next part, so memory stays bounded however many
    schedules go through. ``close`` (or leaving the ``with`` block, even on an exception) writes
    what is held. A part is written as a hidden ``.part-NNNNN.parquet.tmp``, synced, renamed and
    the directory synced: after a crash every ``part-*.parquet`` is whole, and the dataset holds
    every row up to the last finished part.

    The directory is created if needed. If it already has parts, ``append=True`` continues it
    (:attr:`existing_ids` lists the IDs already there, and leftovers of an interrupted part are
    removed), ``overwrite=True`` removes them first; otherwise :class:`FileExistsError`. While
    open, the directory is locked (``flock`` on its hidden ``.lock`` file): a second writer gets
    :class:`BlockingIOError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        row_group_size: int = ROW_GROUP_SIZE,
        append: bool = False,
        overwrite: bool = False,
        compression: str = "zstd",
    ) -> None:
        if type(row_group_size) is not int or row_group_size < 1:
            problem = Problem("row_group_size", f"must be an int ≥ 1, got {row_group_size!r}")
            raise ValidationError([problem], model="ParquetWriter arguments")
        self._pa = _pyarrow()
        self.path = os.fspath(path)
        self.row_group_size = row_group_size
        self.compression = compression
        #: IDs already in the dataset when it was opened with ``append=True``, in order.
        self.existing_ids: list[str] = []
        #: Rows written by this writer (not counting those held).
        self.rows_written = 0
        #: Bytes of unfinished parts (left by an interrupted writer) removed on opening.
        self.removed_bytes = 0
        self._batches: list[pyarrow.RecordBatch] = []
        self._held = 0
        os.makedirs(self.path, exist_ok=True)
        self._lock_fd = os.open(os.path.join(self.path, ".lock"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            self._lock()
            self._open_dataset(append=append, overwrite=overwrite)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _lock(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        import fcntl

        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _open_dataset(self, *, append: bool, overwrite: bool) -> None:
        for name in os.listdir(self.path):
            if name.startswith(".part-") and name.endswith(".tmp"):
                leftover = os.path.join(self.path, name)
                self.removed_bytes += os.path.getsize(leftover)
                os.remove(leftover)
        parts = part_files(self.path)
        if parts and overwrite:
            for part in parts:
                os.remove(part)
            parts = []
        elif parts and not append:
            raise FileExistsError(
                f"{self.path} already holds {len(parts)} part files: append or overwrite"
            )
        pq = self._pa.parquet
        for part in parts:
            column = pq.read_table(part, columns=["schedule_id"]).column("schedule_id")
            self.existing_ids.extend(column.to_pylist())
        last = _PART.fullmatch(os.path.basename(parts[-1])) if parts else None
        self._next = int(last[1]) + 1 if last is not None else 0
        _fsync_dir(self.path)

    def write(self, schedules: Sequence[Schedule]) -> None:
        """Add *schedules*; a part is written each time ``row_group_size`` rows are held."""
        pa = self._pa
        schema = _get_schema()
        start = 0
        while start < len(schedules):
            take = min(len(schedules) - start, self.row_group_size - self._held)
            piece = schedules[start : start + take]
            start += take
            self._batches.append(pa.RecordBatch.from_pydict(_columns(piece), schema=schema))
            self._held += take
            if self._held >= self.row_group_size:
                self.flush()

    def flush(self) -> None:
        """Write the rows held (if any) as the next part, now."""
        if not self._held:
            return
        table = self._pa.Table.from_batches(self._batches, schema=_get_schema())
        name = f"part-{self._next:05d}.parquet"
        tmp = os.path.join(self.path, f".{name}.tmp")
        try:
            with open(tmp, "wb") as file:
                self._pa.parquet.write_table(
                    table, file, row_group_size=len(table), compression=self.compression
                )
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, os.path.join(self.path, name))
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(tmp)
            raise
        _fsync_dir(self.path)
        self._next += 1
        self.rows_written += self._held
        self._batches = []
        self._held = 0

    def close(self) -> None:
        """Write what is held, and release the directory."""
        if self._lock_fd < 0:
            return
        try:
            self.flush()
        finally:
            os.close(self._lock_fd)  # also releases the lock
            self._lock_fd = -1

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _fsync_dir(path: str) -> None:
    if sys.platform == "win32":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- CSV -------------------------------------------------------------------------------------


def _utc(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _csv_record(s: Schedule) -> list[Any]:
    # Read straight from the model like _columns; the JSON columns in the wire form (flags as
    # 0/1, enumerations as numbers), as ``to_dict`` writes them (the tests compare the two).
    r = s.reminders
    reminders = {
        "is_remind": int(r.is_remind),
        "remind_before_event_secs": r.remind_before_event_secs,
        "remind_time_diffs": r.remind_time_diffs,
        "is_repeat": int(r.is_repeat),
        "repeat_type": int(r.repeat_type),
        "repeat_until": r.repeat_until,
        "is_custom_repeat": int(r.is_custom_repeat),
        "repeat_interval": r.repeat_interval,
        "repeat_day_of_week": r.repeat_day_of_week,
        "repeat_day_of_month": r.repeat_day_of_month,
        "timezone": r.timezone,
        "exclude_time_list": [{"start_time": e.start_time} for e in r.exclude_time_list],
    }
    attendees = [
        {"userid": a.userid, "response_status": int(a.response_status)} for a in s.attendees
    ]
    return [
        s.schedule_id,
        s.cal_id,
        s.summary,
        s.description,
        s.location,
        _utc(s.start_time),
        _utc(s.end_time),
        r.timezone,
        int(s.is_whole_day),
        int(s.status),
        s.sequence,
        _json(s.admins),
        _json(attendees),
        _json(reminders),
    ]


def to_csv(schedules: Iterable[Schedule], *, header: bool = True) -> str:
    """*schedules* as CSV text (``\\r\\n`` after each record, RFC 4180), the header first."""
    buffer = io.StringIO()
    CSVWriter(buffer, header=header).write(schedules)
    return buffer.getvalue()


class CSVWriter:
    """Writes schedules as CSV records to a text file (open it with ``newline=""``).

    The header (:data:`COLUMNS`) is written first unless ``header=False`` (appending).
    """

    def __init__(self, file: TextIO, *, header: bool = True) -> None:
        self._writer = csv.writer(file)
        self._file = file
        if header:
            self._writer.writerow(COLUMNS)

    def write(self, schedules: Iterable[Schedule]) -> None:
        self._writer.writerows(map(_csv_record, schedules))

    def __enter__(self) -> CSVWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.flush()

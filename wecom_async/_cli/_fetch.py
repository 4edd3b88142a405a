"""``schedules fetch``: a resumable bulk export of any number of schedule IDs to JSONL, CSV or
Parquet.

How it stays safe:

* **Memory**: schedules are streamed with ``client.schedules.iter_many`` and written chunk by
  chunk; only the chunks in flight are held. What grows with the input is the ID list itself
  (about 100 bytes per ID, for de-duplication and ``--resume``), never the schedules.
* **No torn lines**: a chunk's lines (JSONL) or records (CSV) go to the file in one ``write``, and
  are in the kernel's hands as soon as the call returns (``fsync`` once a second and at the end,
  for power losses). Only a ``kill -9`` or a crash in the middle of that write can leave a
  partial last line or record; ``--resume`` finds it and cuts it off before appending.
* **Parquet** is a directory of part files (:class:`wecom_async.tables.ParquetWriter`): each
  part, one row group, is written under a hidden name, synced and renamed, so the directory only
  ever holds whole parts; ``--resume`` reads their IDs and removes an unfinished part.
* **Ctrl-C / SIGTERM**: the fetch stops at once (chunks in flight are dropped, they will be
  fetched again), what was written is synced and counted, the report is written, and the exit
  code is 128 + the signal.
* **Exactly once**: IDs are de-duplicated, and ``--resume`` skips every ID already in the
  output, so after any number of interruptions and resumes each schedule is in the file once.
* **One writer**: the output is locked (``flock``) while a fetch writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import signal
import stat
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import attrs
import click
import orjson
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from .. import (
    AccessTokenError,
    APIConnectionError,
    APITimeoutError,
    BulkProgress,
    ChunkFailure,
    ExtraNotInstalledError,
    HTTPStatusError,
    InvalidCredentialsError,
    PermissionDeniedError,
    ResponseDecodeError,
    Schedule,
    ScheduleStream,
    tables,
)
from ._common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    Connection,
    cancel_on_signals,
    describe_error,
    run,
    stderr_console,
)
from ._ids import IDList
from ._wire import schedule_line

__all__ = ["FetchOptions", "fetch"]

#: Seconds between fsyncs of the output while fetching.
SYNC_INTERVAL = 1.0
#: Seconds between progress lines when stderr is not a terminal (logs of a cron job).
LOG_INTERVAL = 10.0
#: IDs listed on stderr per kind in the final report (all of them are in the report files).
SHOWN_IDS = 10


@attrs.frozen
class FetchOptions:
    ids_source: str
    out: str
    #: jsonl, csv, parquet (a directory of part files) or ics (one iCalendar file, written at
    #: the end: see IcsOutput).
    format: str
    row_group_size: int
    resume: bool
    overwrite: bool
    chunk_size: int
    concurrency: int
    ordered: bool
    allow_missing: bool
    quiet: bool


# --- the output file ------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode):
        return "a character device (a terminal, /dev/stdout…)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class Sink(Protocol):
    """Where the schedules go; ``done`` holds the IDs already there (``--resume``)."""

    done: set[str]

    @property
    def regular(self) -> bool: ...
    @property
    def lines_before(self) -> int: ...
    @property
    def written_lines(self) -> int: ...
    def repair_note(self) -> str | None: ...
    def write_schedules(self, schedules: list[Schedule]) -> None: ...
    def close(self) -> OSError | None: ...


class Output:
    """The JSONL or CSV output: locked, scanned on resume, appended to in whole lines/records.

    Not a regular file (``--out /dev/stdout`` into a pipe, a terminal…): written the same way,
    but not locked, synced nor truncated (none of that applies), and ``--resume`` is refused
    (nothing can be read back from it). A CSV output starts with its header line.
    """

    def __init__(self, path: str, *, resume: bool, overwrite: bool, fmt: str = "jsonl") -> None:
        self.path = path
        self.fmt = fmt
        self.done: set[str] = set()
        self.lines_before = 0
        self.cut_bytes = 0
        self.written_lines = 0
        self._last_sync = time.monotonic()
        try:
            # Write-only: opened read-write, a pipe (/dev/stdout) would have us as a reader too,
            # and never report that its real reader went away.
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except IsADirectoryError:
            raise CLIError(f"--out {path} is a directory", EXIT_USAGE) from None
        except OSError as exc:
            raise CLIError(f"cannot open {path}: {exc.strerror or exc}", EXIT_USAGE) from None
        try:
            mode = os.fstat(self.fd).st_mode
            self.regular = stat.S_ISREG(mode)
            if not self.regular:
                if resume:
                    raise CLIError(
                        f"--resume needs a regular file, and {path} is {_kind(mode)}: nothing "
                        "can be read back from it",
                        EXIT_USAGE,
                    )
                self._header()
                return
            self._lock()
            size = os.fstat(self.fd).st_size
            if overwrite:
                os.ftruncate(self.fd, 0)
            elif resume:
                self._scan_csv() if fmt == "csv" else self._scan()
            elif size:
                raise CLIError(
                    f"{path} already exists ({size:,} bytes): pass --resume to continue that "
                    "export (IDs already in it are skipped) or --overwrite to start over",
                    EXIT_USAGE,
                )
            if os.fstat(self.fd).st_size == 0:
                self._header()
        except BaseException:
            os.close(self.fd)
            raise

    def _lock(self) -> None:
        if sys.platform == "win32":  # pragma: no cover
            return
        import fcntl

        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CLIError(
                f"{self.path} is being written by another wecom-async process; wait for it or "
                "stop it first",
                EXIT_ERROR,
            ) from None

    #: The str field every line of ours has, and what a line without it is said to be.
    _KEY = "schedule_id"
    _NOT_OURS = "is not a schedule exported by this command; refusing to resume into it"

    def _seen(self, key: str) -> None:
        self.done.add(key)

    def _scan(self) -> None:
        """Collect the IDs already exported; cut off a partial last line."""
        good = 0
        with open(self.path, "rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.endswith(b"\n"):
                    self.cut_bytes = len(line)
                    break
                try:
                    key = orjson.loads(line)[self._KEY]
                    if not isinstance(key, str):
                        raise TypeError(key)
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    raise CLIError(
                        f"{self.path} line {number} {self._NOT_OURS} (move it away, or use "
                        "--overwrite)",
                        EXIT_USAGE,
                    ) from None
                self._seen(key)
                self.lines_before += 1
                good += len(line)
        if self.cut_bytes:
            os.ftruncate(self.fd, good)
            os.fsync(self.fd)

    def _header(self) -> None:
        if self.fmt == "csv":
            self.write(tables.to_csv((), header=True).encode())

    def _scan_csv(self) -> None:
        """Collect the IDs already exported to CSV; cut off a partial last record.

        A record may span lines (a description with line breaks, quoted): the lines are fed to
        the csv reader one by one, so the bytes read after each record are where it ends. A
        record cut short by a crash ends without its line break, or inside its quotes.
        """
        good = 0
        consumed = 0
        ended = True

        def lines(file: Any) -> Iterable[str]:
            nonlocal consumed, ended
            for raw in file:
                consumed += len(raw)
                ended = raw.endswith(b"\n")
                yield raw.decode("utf-8", errors="replace")

        with open(self.path, "rb") as file:
            records = csv.reader(lines(file), strict=True)
            number = 0
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    break
                except csv.Error:
                    ended = False  # a quoted field not closed: the record was cut short
                    break
                if not ended:
                    break
                number += 1
                if number == 1:
                    if tuple(record) != tables.COLUMNS:
                        self._refuse(number)
                elif len(record) != len(tables.COLUMNS) or not record[0]:
                    self._refuse(number)
                else:
                    self.done.add(record[0])
                    self.lines_before += 1
                good = consumed
        if consumed > good:
            self.cut_bytes = consumed - good
            os.ftruncate(self.fd, good)
            os.fsync(self.fd)

    def _refuse(self, record: int) -> None:
        raise CLIError(
            f"{self.path} record {record} is not a schedule exported by this command; "
            "refusing to resume into it (move it away, or use --overwrite)",
            EXIT_USAGE,
        )

    def repair_note(self) -> str | None:
        if not self.cut_bytes:
            return None
        what = "record" if self.fmt == "csv" else "line"
        return (
            f"Cut off a partial last {what} ({self.cut_bytes:,} bytes) left in {self.path} by "
            "an interrupted run; its schedule will be fetched again."
        )

    def write_schedules(self, schedules: list[Schedule]) -> None:
        if self.fmt == "csv":
            self.write_lines([tables.to_csv(schedules, header=False).encode()], len(schedules))
        else:
            self.write_lines([schedule_line(s) for s in schedules])

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def write_lines(self, lines: list[bytes], count: int | None = None) -> None:
        """Write *lines* in one go (``count`` schedules: one per line unless given)."""
        if lines:
            self.write(b"".join(lines))
            self.written_lines += len(lines) if count is None else count
        now = time.monotonic()
        if self.regular and now - self._last_sync >= SYNC_INTERVAL:
            os.fsync(self.fd)
            self._last_sync = now

    def close(self) -> OSError | None:
        """Sync and close; the error of the final sync, if any (the report shows it)."""
        error = None
        if self.fd >= 0:
            try:
                if self.regular:
                    os.fsync(self.fd)
            except OSError as exc:
                error = exc
            finally:
                os.close(self.fd)  # also releases the lock
                self.fd = -1
        return error


class ParquetOutput:
    """The Parquet output: a dataset directory written by :class:`tables.ParquetWriter`."""

    regular = True

    def __init__(self, path: str, *, resume: bool, overwrite: bool, row_group_size: int) -> None:
        self.path = path
        if os.path.exists(path) and not os.path.isdir(path):
            raise CLIError(
                f"--out {path} is a file: Parquet output is a directory of part files",
                EXIT_USAGE,
            )
        try:
            self.writer = tables.ParquetWriter(
                path, row_group_size=row_group_size, append=resume, overwrite=overwrite
            )
        except ExtraNotInstalledError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
        except BlockingIOError:
            raise CLIError(
                f"{path} is being written by another wecom-async process; wait for it or stop "
                "it first",
                EXIT_ERROR,
            ) from None
        except FileExistsError:
            raise CLIError(
                f"{path} already holds a Parquet export: pass --resume to continue it (IDs "
                "already in it are skipped) or --overwrite to start over",
                EXIT_USAGE,
            ) from None
        except OSError as exc:
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE) from None
        except Exception as exc:  # a part pyarrow cannot read
            raise CLIError(
                f"{path} holds a part that is not a Parquet export of this command ({exc}); "
                "refusing to resume into it (move it away, or use --overwrite)",
                EXIT_USAGE,
            ) from None
        self.done = set(self.writer.existing_ids)
        self.lines_before = len(self.writer.existing_ids)
        self.writer.existing_ids = []

    def repair_note(self) -> str | None:
        if not self.writer.removed_bytes:
            return None
        return (
            f"Removed an unfinished part ({self.writer.removed_bytes:,} bytes) left in "
            f"{self.path} by an interrupted run; its schedules will be fetched again."
        )

    @property
    def written_lines(self) -> int:
        return self.writer.rows_written

    def write_schedules(self, schedules: list[Schedule]) -> None:
        self.writer.write(schedules)

    def close(self) -> OSError | None:
        """Write the rows held as a last part; the error doing so, if any (the report shows it)."""
        try:
            self.writer.close()
        except OSError as exc:
            return exc
        return None


class IcsOutput(Output):
    """``--format ics``: one VCALENDAR (``wecom_async.ical.to_ics``), written when the fetch ends.

    An iCalendar file cannot be appended to, so the schedules are held until then (memory grows
    with them) and ``--resume`` is refused; an interrupted fetch still writes what it got.
    """

    def __init__(self, path: str, *, overwrite: bool) -> None:
        try:
            from ..ical import to_ics
        except ExtraNotInstalledError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
        self._to_ics = to_ics
        self.schedules: list[Schedule] = []
        super().__init__(path, resume=False, overwrite=overwrite)

    def write_schedules(self, schedules: list[Schedule]) -> None:
        self.schedules.extend(schedules)
        self.written_lines += len(schedules)

    def close(self) -> OSError | None:
        if self.fd >= 0:
            try:
                self.write(self._to_ics(self.schedules))
            except OSError as exc:
                super().close()
                return exc
        return super().close()


def open_output(options: FetchOptions) -> Sink:
    if options.format == "ics":
        return IcsOutput(options.out, overwrite=options.overwrite)
    if options.format == "parquet":
        if options.out == "/dev/stdout":
            raise CLIError("--format parquet writes a directory: give --out a path", EXIT_USAGE)
        return ParquetOutput(
            options.out,
            resume=options.resume,
            overwrite=options.overwrite,
            row_group_size=options.row_group_size,
        )
    return Output(
        options.out, resume=options.resume, overwrite=options.overwrite, fmt=options.format
    )


# --- progress -------------------------------------------------------------------------------------


@attrs.define
class State:
    """Where the export stands; filled in by the fetch task, read by the report."""

    todo: int
    skipped: int
    done: int = 0
    written: int = 0
    missing: list[str] = attrs.Factory(list)
    failures: list[ChunkFailure] = attrs.Factory(list)
    progress: BulkProgress | None = None
    aborted: BaseException | None = None
    signal: int | None = None
    started: float = attrs.Factory(time.monotonic)
    finished: float = 0.0

    @property
    def failed_ids(self) -> int:
        return sum(len(f.ids) for f in self.failures)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    @property
    def retries(self) -> int:
        return self.progress.retries if self.progress is not None else 0

    @property
    def calls(self) -> int:
        return self.progress.calls if self.progress is not None else 0


class View(Protocol):
    def start(self, state: State) -> None: ...
    def update(self, state: State) -> None: ...
    def stop(self, state: State) -> None: ...


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text("– IDs/s" if speed is None else f"{speed:,.0f} IDs/s", style="cyan")


class _CountsBelow(Progress):
    """The bar on one line, and the retry/missing/failed counts on a line of their own below.

    In one line they would not fit 80 columns, and rich would squeeze out the bar and the ETA.
    """

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        for task in self.tasks:
            if task.fields["counts"]:
                yield Text.from_markup(f"  {task.fields['counts']}", overflow="ellipsis")


class BarView:
    """A live rich progress bar (stderr is a terminal); fits 80 columns."""

    def __init__(self, console: Console) -> None:
        # The bar takes the width left; the texts never wrap (a wrapped rate or ETA would
        # make the display two lines high, and garble it when the width changes).
        def fixed() -> Column:
            return Column(no_wrap=True)

        self._progress = _CountsBelow(
            SpinnerColumn(table_column=fixed()),
            TextColumn("[bold]Fetching", table_column=fixed()),
            BarColumn(bar_width=None),
            TextColumn("{task.completed:,.0f}/{task.total:,.0f} IDs", table_column=fixed()),
            TaskProgressColumn(table_column=fixed()),
            _RateColumn(table_column=fixed()),
            TextColumn("ETA", table_column=fixed()),
            TimeRemainingColumn(table_column=fixed()),
            console=console,
            speed_estimate_period=60.0,
            expand=True,
        )
        self._task = self._progress.add_task("fetch", start=False, counts="")

    def start(self, state: State) -> None:
        total = state.skipped + state.todo
        self._progress.update(self._task, total=total, completed=state.skipped)
        self._progress.start_task(self._task)
        self._progress.start()

    def update(self, state: State) -> None:
        counts = _plural(state.retries, "retry", "retries")
        if state.missing:
            counts += f" · {len(state.missing):,} missing"
        if state.failures:
            counts += f" · [red]{state.failed_ids:,} failed[/]"
        self._progress.update(self._task, completed=state.skipped + state.done, counts=counts)

    def stop(self, state: State) -> None:
        self.update(state)
        self._progress.stop()


class LogView:
    """A progress line every :data:`LOG_INTERVAL` seconds (stderr is a file or a pipe)."""

    def __init__(self, console: Console, out: str) -> None:
        self._console = console
        self._out = out
        self._last = 0.0

    def start(self, state: State) -> None:
        self._last = time.monotonic()
        self._console.print(f"Fetching {state.todo:,} schedule IDs into {self._out}…")

    def update(self, state: State) -> None:
        now = time.monotonic()
        if now - self._last < LOG_INTERVAL:
            return
        self._last = now
        total = state.skipped + state.todo
        done = state.skipped + state.done
        rate = state.done / state.elapsed if state.elapsed > 0 else 0.0
        eta = (state.todo - state.done) / rate if rate > 0 else float("nan")
        eta_text = _duration(eta) if eta == eta else "?"
        self._console.print(
            f"{datetime.now():%H:%M:%S} {done:,}/{total:,} IDs "
            f"({100 * done / max(total, 1):.1f}%), {rate:,.0f} IDs/s, ETA {eta_text}, "
            f"{_plural(state.retries, 'retry', 'retries')}, {len(state.missing):,} missing, "
            f"{state.failed_ids:,} failed",
            soft_wrap=True,
        )

    def stop(self, state: State) -> None:
        pass


class QuietView:
    def start(self, state: State) -> None:
        pass

    def update(self, state: State) -> None:
        pass

    def stop(self, state: State) -> None:
        pass


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


# --- the fetch ------------------------------------------------------------------------------------


def _is_fatal(failure: ChunkFailure) -> bool:
    """Failures that every other chunk would meet too: stop instead of failing them all."""
    if failure.too_large_alone:
        return False  # the bulk fetch went on without it
    error = failure.error
    if isinstance(error, (InvalidCredentialsError, AccessTokenError, ResponseDecodeError)):
        return True
    if isinstance(error, PermissionDeniedError):
        return error.errcode in (48002, 60011, 60020)
    if isinstance(error, HTTPStatusError):
        return error.status < 500
    return isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError)


async def _tick(view: View, stream: ScheduleStream, state: State) -> None:
    """Refresh the retry count while a chunk is stuck in retries."""
    while True:
        await asyncio.sleep(0.5)
        state.progress = stream.progress()
        view.update(state)


async def _run(
    conn: Connection, todo: list[str], out: Sink, options: FetchOptions, state: State, view: View
) -> None:
    async with conn.client() as client:
        # Fail early and clearly on wrong credentials or an unreachable server.
        await client.tokens.get()
        stream = client.schedules.iter_many(
            todo,
            chunk_size=options.chunk_size,
            concurrency=options.concurrency,
            ordered=options.ordered,
            on_error="collect",
        )
        view.start(state)
        ticker = asyncio.ensure_future(_tick(view, stream, state))
        try:
            chunks = stream.chunks()
            try:
                async for chunk in chunks:
                    try:
                        out.write_schedules(list(chunk.schedules))
                    except OSError as exc:  # disk full, reader of the pipe gone…
                        state.aborted = exc
                        break
                    state.written += len(chunk.schedules)
                    state.done += len(chunk.ids)
                    state.missing.extend(chunk.missing)
                    state.progress = stream.progress()
                    if chunk.failure is not None:
                        state.failures.append(chunk.failure)
                        if _is_fatal(chunk.failure):
                            state.aborted = chunk.failure.error
                            break
                    view.update(state)
            finally:
                # Stop the chunks in flight now (a break leaves the generator suspended).
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            state.progress = stream.progress()
            state.finished = time.monotonic()


async def _supervise(
    conn: Connection, todo: list[str], out: Sink, options: FetchOptions, state: State, view: View
) -> None:
    """Run the fetch as a task that SIGINT/SIGTERM cancel; what was written stays.

    The first signal decides the exit code; a second one cuts the cleanup short too (what was
    written is whole either way: writes never yield to the event loop).
    """
    received: list[int] = []
    try:
        await cancel_on_signals(_run(conn, todo, out, options, state, view), received)
    finally:
        if received:
            state.signal = received[0]
        if not state.finished:
            state.finished = time.monotonic()


def fetch(conn: Connection, ids: IDList, options: FetchOptions) -> int:
    """Export; print the report; return the exit code."""
    console = stderr_console()
    out = open_output(options)
    try:
        note = out.repair_note()
        if note is not None:
            console.print(note)
        todo = [i for i in ids.ids if i not in out.done]
        state = State(todo=len(todo), skipped=len(ids.ids) - len(todo))
        out.done.clear()
        if options.resume and out.lines_before:
            console.print(
                f"Resuming {options.out}: {out.lines_before:,} schedules already there, "
                f"{state.skipped:,} of the {len(ids.ids):,} IDs skipped."
            )
        if not ids.ids:
            console.print(f"No schedule IDs in {options.ids_source}: nothing to fetch.")
            return EXIT_OK
        if not todo:
            console.print(f"All {len(ids.ids):,} IDs are already in {options.out}: nothing to do.")
            for problem in _write_reports(options.out, state).problems.values():
                console.print(f"  [yellow]{problem}[/]", soft_wrap=True)
            return EXIT_OK
        if options.quiet:
            view: View = QuietView()
        elif console.is_terminal:
            view = BarView(console)
        else:
            view = LogView(console, options.out)
        try:
            run(conn, _supervise(conn, todo, out, options, state, view))
        finally:
            view.stop(state)
    finally:
        sync_error = out.close()
    if sync_error is not None and state.aborted is None:
        state.aborted = sync_error
    return _report(console, conn, options, ids, out, state)


# --- the report -----------------------------------------------------------------------------------


def _report_path(out: str, kind: str) -> str:
    return f"{out}.{kind}.txt"


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


@attrs.frozen
class Reports:
    """The report files written, and why others could not be (by kind: missing, failed)."""

    written: list[str]
    problems: dict[str, str]


def _write_reports(out: str, state: State) -> Reports:
    """``OUT.missing.txt`` and ``OUT.failed.txt`` (ID lists usable with ``--ids``), or none.

    A stale one from an earlier run is removed. A file that cannot be written (or removed) is
    a problem of the report, not an exception: the report then lists those IDs on stderr.
    """
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    texts: dict[str, str | None] = {"missing": None, "failed": None}
    if state.missing:
        texts["missing"] = (
            f"# wecom-async schedules fetch, {stamp}: {len(state.missing):,} IDs WeCom did not "
            "return\n# (unknown, deleted, or not visible to this app). One ID per line: usable "
            "with --ids.\n" + "".join(f"{i}\n" for i in state.missing)
        )
    if state.failures:
        parts = [
            f"# wecom-async schedules fetch, {stamp}: {state.failed_ids:,} IDs failed after "
            f"retries.\n# They are not in {out}: rerun with --resume to fetch them (and any "
            "others left).\n"
        ]
        for failure in state.failures:
            error = failure.error
            parts.append(f"# {type(error).__name__}: {error}\n")
            parts.extend(f"{i}\n" for i in failure.ids)
        texts["failed"] = "".join(parts)
    reports = Reports([], {})
    for kind, text in texts.items():
        path = _report_path(out, kind)
        try:
            if text is None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
            else:
                _write_atomically(path, text)
                reports.written.append(path)
        except OSError as exc:
            doing = "write" if text is not None else "remove the stale"
            reports.problems[kind] = f"cannot {doing} {path}: {exc.strerror or exc}"
    return reports


def _ids_preview(ids: list[str], limit: int | None = SHOWN_IDS) -> str:
    if limit is None:
        return ", ".join(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f", … ({len(ids) - limit:,} more)" if len(ids) > limit else "")


def _report(
    console: Console,
    conn: Connection,
    options: FetchOptions,
    ids: IDList,
    out: Sink,
    state: State,
) -> int:
    if out.regular:
        reports = _write_reports(options.out, state)
    else:
        # No files next to a pipe or a device (/dev/stdout.missing.txt…): the IDs go to stderr.
        reason = f"no report files next to {options.out} (not a regular file): IDs listed above"
        reports = Reports([], {"missing": reason, "failed": reason})
    elapsed = state.elapsed
    rate = state.done / elapsed if elapsed > 0 else 0.0
    left = state.todo - state.done
    if state.signal is not None:
        name = signal.Signals(state.signal).name
        head = f"[yellow]Interrupted ({name})[/]"
    elif state.aborted is not None:
        head = "[red]Stopped[/]"
    else:
        head = "[green]Done[/]"
    total_lines = out.lines_before + out.written_lines
    holds = f"; it now holds {total_lines:,}" if out.regular else ""
    console.print(
        f"{head}: {state.written:,} schedules written to {options.out} in {elapsed:.1f} s "
        f"({rate:,.0f} IDs/s){holds}.",
        soft_wrap=True,
    )
    dup = f", {ids.duplicates:,} duplicate lines ignored" if ids.duplicates else ""
    skipped = f", {state.skipped:,} already in {options.out}" if state.skipped else ""
    console.print(
        f"  IDs: {len(ids.ids):,} distinct in {options.ids_source}{dup}{skipped}; "
        f"{_plural(state.calls, 'call')}, {_plural(state.retries, 'retry', 'retries')}.",
        soft_wrap=True,
    )
    unwritten = False  # a report file with IDs could not be written (they are listed here)
    if state.missing:
        problem = reports.problems.get("missing")
        where = (
            f"{_ids_preview(state.missing)} → {_report_path(options.out, 'missing')}"
            if problem is None
            else _ids_preview(state.missing, None)
        )
        console.print(
            f"  Missing: {_plural(len(state.missing), 'ID')} WeCom did not return (unknown, "
            f"deleted, or not visible to this app): {where}",
            soft_wrap=True,
        )
    if state.failures:
        causes = Counter(f"{type(f.error).__name__}: {f.error}" for f in state.failures)
        cause, _ = causes.most_common(1)[0]
        problem = reports.problems.get("failed")
        failed = [i for f in state.failures for i in f.ids]
        where = (
            _report_path(options.out, "failed")
            if problem is None
            else "IDs: " + _ids_preview(failed, None)
        )
        console.print(
            f"  [red]Failed[/]: {_plural(state.failed_ids, 'ID')} after retries ({cause}"
            f"{'; and other causes' if len(causes) > 1 else ''}) → {where}",
            soft_wrap=True,
        )
    if left > 0:
        console.print(f"  Not fetched yet: {left:,} IDs.")
    if state.failures or left > 0:
        if out.regular:
            console.print(
                f"  To finish: wecom-async schedules fetch --ids {options.ids_source} "
                f"--out {options.out} --resume",
                soft_wrap=True,
            )
        else:
            console.print(
                "  To finish: fetch again into a regular file (only a file can be resumed).",
                soft_wrap=True,
            )
    if reports.written:
        console.print("  Report files: " + ", ".join(reports.written), soft_wrap=True)
    shown = set()
    for kind, problem in reports.problems.items():
        listed = bool(state.missing if kind == "missing" else state.failures)
        if problem not in shown and (listed or out.regular):
            console.print(f"  [{'red' if out.regular else 'yellow'}]{problem}[/]", soft_wrap=True)
            shown.add(problem)
        unwritten = unwritten or (listed and out.regular)
    if state.signal is not None:
        return 128 + state.signal
    if isinstance(state.aborted, OSError):
        raise CLIError(
            f"cannot write {options.out}: {state.aborted.strerror or state.aborted} — the lines "
            "written before are whole"
            + ("; rerun with --resume once that is fixed" if out.regular else ""),
            EXIT_ERROR,
        )
    if state.aborted is not None:
        raise CLIError(conn.scrub(describe_error(state.aborted, conn)), EXIT_ERROR)
    if state.failures:
        return EXIT_FAILED
    if state.missing and not options.allow_missing:
        return EXIT_MISSING
    if unwritten:
        return EXIT_ERROR
    return EXIT_OK


def fetch_options_from(params: dict[str, Any]) -> FetchOptions:
    """Build :class:`FetchOptions` from the command's parameters."""
    if params["resume"] and params["overwrite"]:
        raise click.UsageError("--resume and --overwrite exclude each other")
    if params["resume"] and params["format_"] == "ics":
        raise click.UsageError(
            "--resume does not work with --format ics (an iCalendar file is written once)"
        )
    return FetchOptions(
        ids_source=params["ids"],
        out=params["out"],
        format=params["format_"],
        row_group_size=params["row_group_size"],
        resume=params["resume"],
        overwrite=params["overwrite"],
        chunk_size=params["chunk_size"],
        concurrency=params["concurrency"],
        ordered=params["ordered"],
        allow_missing=params["allow_missing"],
        quiet=params["quiet"],
    )

"""``listen``: receive WeCom's callbacks and write the fetched changes to JSONL, until stopped.

The receiver (:func:`wecom_async.callbacks.callback_app`) hands each event to a
:class:`~wecom_async.callbacks.ScheduleChangeFeed`, and every change it yields becomes one
line of the output (the file writer of ``schedules fetch``: locked, whole lines in one write):

* ``{"type": "schedule", "kind": "upserted"|"deleted"|"failed", "schedule_id", "cal_id",
  "schedule": {…} or null, "error"?: "…", "at": unix seconds}``
* ``{"type": "calendar", "kind": "modified"|"deleted", "cal_id", "at"}``

The output is fsynced twice a second when lines were written, and at the end. ``--resume``
appends to an earlier output (cutting off a partial last line that a ``kill -9`` left).

Stopping: the first Ctrl-C / SIGTERM stops taking callbacks (WeCom retries what it could not
deliver), hands the events received to the feed, fetches every pending ID and writes the
changes; a second signal stops at once, and each ID not fetched yet is written as a
``"failed"`` line, so that no ID is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import attrs
import click
import orjson
from rich.console import Console

from .. import WeComError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    Connection,
    api_options,
    describe_error,
    run,
    stderr_console,
)
from ._fetch import LOG_INTERVAL, Output

if TYPE_CHECKING:
    from aiohttp import web

    from ..callbacks import CalendarChange, FailedDelivery, ScheduleChange, ScheduleChangeFeed
    from ..callbacks._feed import CalendarChangeKind

__all__ = ["ListenOptions", "listen", "listen_command"]

#: Seconds between fsyncs of the output (when lines were written) and display refreshes.
TICK = 0.5


@attrs.frozen
class ListenOptions:
    host: str
    port: int
    path: str
    token: str = attrs.field(repr=False)
    aes_key: str = attrs.field(repr=False)
    out: str
    resume: bool
    overwrite: bool
    debounce: float
    reconcile: tuple[str, ...]
    reconcile_every: float
    quiet: bool


class ChangesOutput(Output):
    """The JSONL of changes: on ``--resume``, lines are checked and a partial last one cut."""

    _KEY = "kind"
    _NOT_OURS = "is not a change written by this command; refusing to append to it"

    def _seen(self, key: str) -> None:
        pass  # nothing is skipped on resume: every change is new

    def write(self, data: bytes) -> None:
        try:
            super().write(data)
        except OSError as exc:  # e.g. a full disk: the error names the file
            raise OSError(exc.errno, exc.strerror, self.path) from None

    def sync(self) -> None:
        if self.regular:  # a pipe or a device (--out /dev/stdout) cannot be fsynced: EINVAL
            os.fsync(self.fd)


def change_line(change: ScheduleChange | CalendarChange) -> bytes:
    """One JSONL line (newline included)."""
    from ..callbacks import CalendarChange

    data: dict[str, Any]
    if isinstance(change, CalendarChange):
        data = {"type": "calendar", "kind": change.kind, "cal_id": change.cal_id}
    else:
        data = {
            "type": "schedule",
            "kind": change.kind,
            "schedule_id": change.schedule_id,
            "cal_id": change.cal_id,
            "schedule": None if change.schedule is None else change.schedule.to_dict(),
        }
        if change.error is not None:
            data["error"] = f"{type(change.error).__name__}: {change.error}"
    data["at"] = int(time.time())
    return orjson.dumps(data) + b"\n"


@attrs.define
class State:
    counts: Counter[str] = attrs.Factory(Counter)
    written: int = 0
    synced: int = 0
    signal: int | None = None
    started: float = attrs.Factory(time.monotonic)


class _Display:
    """The live count: a status line on a terminal, a log line every 10 s otherwise."""

    def __init__(self, console: Console, quiet: bool) -> None:
        self._console = console
        self._quiet = quiet
        self._status = None if quiet or not console.is_terminal else console.status("")
        self._last_log = time.monotonic()
        self._last_text = ""

    def text(self, state: State, feed: ScheduleChangeFeed) -> str:
        counts = state.counts
        return (
            f"{state.written:,} changes written ({counts['upserted']:,} upserted, "
            f"{counts['deleted']:,} deleted, {counts['failed']:,} failed, "
            f"{counts['calendar']:,} calendar) from {feed.stats.events:,} events; "
            f"{feed.pending:,} pending"
        )

    def start(self) -> None:
        if self._status is not None:
            self._status.start()

    def update(self, state: State, feed: ScheduleChangeFeed) -> None:
        if self._quiet:
            return
        text = self.text(state, feed)
        if self._status is not None:
            self._status.update(text)
            return
        now = time.monotonic()
        if text != self._last_text and now - self._last_log >= LOG_INTERVAL:
            self._console.print(text, soft_wrap=True)
            self._last_log, self._last_text = now, text

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()


def _write(
    out: ChangesOutput, state: State, changes: list[ScheduleChange | CalendarChange]
) -> None:
    from ..callbacks import CalendarChange

    out.write_lines([change_line(c) for c in changes])
    state.written += len(changes)
    for change in changes:
        state.counts["calendar" if isinstance(change, CalendarChange) else change.kind] += 1


async def _consume(feed: ScheduleChangeFeed, out: ChangesOutput, state: State) -> None:
    async for change in feed:
        _write(out, state, [change])


async def _tick(
    feed: ScheduleChangeFeed, out: ChangesOutput, state: State, display: _Display
) -> None:
    while True:
        await asyncio.sleep(TICK)
        if state.synced != state.written:
            out.sync()
            state.synced = state.written
        display.update(state, feed)


async def _reconcile(
    feed: ScheduleChangeFeed, options: ListenOptions, conn: Connection, console: Console
) -> None:
    """Re-list the calendars into the feed now and every ``reconcile_every`` seconds."""
    from ..callbacks import FeedClosedError

    while True:
        try:
            await feed.reconcile(options.reconcile)
        except FeedClosedError:
            return
        except WeComError as exc:
            console.print(
                f"[yellow]Reconcile failed[/]: {conn.scrub(describe_error(exc, conn))}; "
                f"next try in {options.reconcile_every:,.0f} s",
                soft_wrap=True,
            )
        await asyncio.sleep(options.reconcile_every)


def _undelivered(failed: FailedDelivery) -> ScheduleChange | CalendarChange | None:
    """The line for an event the receiver took but could not hand over to the feed (None for
    an event naming no schedule or calendar: the feed ignores those)."""
    from ..callbacks import (
        CalendarChange,
        CalendarDeleted,
        CalendarEvent,
        FeedClosedError,
        ScheduleChange,
        ScheduleEvent,
    )

    event = failed.event
    if isinstance(event, ScheduleEvent):
        error = FeedClosedError(f"received but not fetched: {failed.error!r}")
        return ScheduleChange(event.schedule_id, event.cal_id, "failed", error=error)
    if isinstance(event, CalendarEvent):
        kind: CalendarChangeKind = "deleted" if isinstance(event, CalendarDeleted) else "modified"
        return CalendarChange(event.cal_id, kind)
    return None


async def _stop_receiving(runner: web.AppRunner, feed: ScheduleChangeFeed) -> None:
    """Stop the server, hand the events it received to the feed, then close the feed."""
    await runner.cleanup()
    feed.close()


async def _serve(
    conn: Connection, options: ListenOptions, out: ChangesOutput, state: State, console: Console
) -> None:
    from aiohttp import web

    from ..callbacks import (
        CALLBACK_DISPATCHER,
        CallbackCrypto,
        ScheduleChangeFeed,
        callback_app,
    )

    crypto = CallbackCrypto(
        token=options.token, encoding_aes_key=options.aes_key, receive_id=conn.corp_id or ""
    )
    loop = asyncio.get_running_loop()
    async with conn.client() as client:
        await client.tokens.get()  # wrong credentials: said now, not at the first callback
        feed = ScheduleChangeFeed(client, debounce=options.debounce)
        app = callback_app(crypto, feed.put, path=options.path)
        dispatcher = app[CALLBACK_DISPATCHER]
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        stopping: asyncio.Future[None] | None = None
        installed: list[int] = []
        display = _Display(console, options.quiet)
        ticker: asyncio.Future[None] | None = None
        reconciler: asyncio.Future[None] | None = None
        try:
            try:
                await web.TCPSite(runner, options.host, options.port).start()
            except OSError as exc:
                raise CLIError(
                    f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}"
                ) from None
            consumer = asyncio.ensure_future(_consume(feed, out, state))

            def on_signal(signum: int) -> None:
                nonlocal stopping
                if state.signal is None:
                    state.signal = signum
                    stopping = asyncio.ensure_future(_stop_receiving(runner, feed))
                else:
                    consumer.cancel()

            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, on_signal, signum)
                    installed.append(signum)
            host, port = runner.addresses[0][:2]
            console.print(
                f"Listening on http://{host}:{port}{options.path} for corp {conn.corp_id}; "
                f"changes go to {options.out}. Ctrl-C stops (twice: at once)."
            )
            display.start()
            ticker = asyncio.ensure_future(_tick(feed, out, state, display))
            if options.reconcile:
                reconciler = asyncio.ensure_future(_reconcile(feed, options, conn, console))
            try:
                await consumer
            except asyncio.CancelledError:
                if not consumer.cancelled() or state.signal is None:
                    raise
                # Stopped at once: whatever was not fetched is written as failed, and so are
                # the events still waiting for room in the feed (their deliveries are cancelled).
                _write(out, state, await feed.abandon())
                await dispatcher.aclose(timeout=0)
            # Events the receiver took but could not hand over to the feed.
            lost = [_undelivered(failed) for failed in dispatcher.failed]
            _write(out, state, [change for change in lost if change is not None])
        finally:
            for installed_signal in installed:
                loop.remove_signal_handler(installed_signal)
                if state.signal is not None:
                    # Stopped by a signal: one more, until the process exits, must not kill it
                    # (a clean stop would end as killed by SIGTERM, exit code 143).
                    signal.signal(installed_signal, signal.SIG_IGN)
            for task in (ticker, reconciler):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            display.stop()
            if stopping is not None:
                stopping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stopping
            await runner.cleanup()


def listen(conn: Connection, options: ListenOptions) -> int:
    """Serve until stopped; print the report; return the exit code."""
    console = stderr_console()
    if not (options.resume or options.overwrite):
        with contextlib.suppress(OSError):
            size = os.stat(options.out).st_size
            if size:
                raise CLIError(
                    f"{options.out} already exists ({size:,} bytes): pass --resume to append "
                    "to it or --overwrite to start over",
                    EXIT_USAGE,
                )
    out = ChangesOutput(options.out, resume=options.resume, overwrite=options.overwrite)
    state = State()
    try:
        if out.cut_bytes:
            console.print(
                f"Cut off a partial last line ({out.cut_bytes:,} bytes) left in {options.out} "
                "by an interrupted run."
            )
        run(conn, _serve(conn, options, out, state, console))
    finally:
        out.close()
    counts = state.counts
    how = signal.Signals(state.signal).name if state.signal is not None else "the end"
    console.print(
        f"Stopped ({how}) after {time.monotonic() - state.started:,.1f} s: {state.written:,} "
        f"changes written to {options.out} ({counts['upserted']:,} upserted, "
        f"{counts['deleted']:,} deleted, {counts['calendar']:,} calendar, "
        f"{counts['failed']:,} failed)."
    )
    if counts["failed"]:
        console.print(
            f"[red]{counts['failed']:,} schedule(s) could not be fetched[/]: their lines have "
            '"kind": "failed"; fetch those IDs with `wecom-async schedules get`.'
        )
        return EXIT_FAILED
    return EXIT_OK


@click.command(
    "listen", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0 for every interface; WeCom needs an https URL, so "
    "usually behind a reverse proxy).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any."
)
@click.option("--path", default="/wecom/callback", show_default=True, help="URL path.")
@click.option(
    "--token",
    envvar="WECOM_CALLBACK_TOKEN",
    show_envvar=True,
    metavar="TOKEN",
    help="The Token of the app's callback settings (接收消息). Prefer the variable; never printed.",
)
@click.option(
    "--aes-key",
    envvar="WECOM_CALLBACK_AES_KEY",
    show_envvar=True,
    metavar="KEY",
    help="The EncodingAESKey (43 characters) of those settings. Prefer the variable; never "
    "printed.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE.jsonl",
    help="Where the changes go, one JSON object per line.",
)
@click.option("--resume", is_flag=True, help="Append to FILE.jsonl if it exists.")
@click.option("--overwrite", is_flag=True, help="Empty FILE.jsonl first if it exists.")
@click.option(
    "--debounce",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a changed schedule waits for more events before it is fetched (keep it at "
    "1 s or more: WeCom's event times have a one-second resolution).",
)
@click.option(
    "--reconcile",
    "reconcile",
    multiple=True,
    metavar="CAL_ID",
    help="Also re-list this calendar (repeatable; calendars this app created) at the start and "
    "every --reconcile-every seconds: WeCom sends no callback for schedules people add to it.",
)
@click.option(
    "--reconcile-every",
    type=click.FloatRange(min=1),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between two re-lists of the --reconcile calendars.",
)
@click.option("-q", "--quiet", is_flag=True, help="No live count; the final report still shows.")
@api_options
def listen_command(conn: Connection, token: str | None, aes_key: str | None, **params: Any) -> int:
    """Receive WeCom's schedule callbacks; write each fetched change to JSONL, until stopped.

    \b
    Each changed schedule is fetched (1000 per call, once per --debounce window) and written
    as {"type": "schedule", "kind": "upserted"|"deleted"|"failed", "schedule_id", "cal_id",
    "schedule", "at"}; calendar events as {"type": "calendar", "kind": "modified"|"deleted",
    "cal_id", "at"}. Ctrl-C or SIGTERM stops taking callbacks and writes what is pending
    (twice: at once, pending IDs written as "failed"). Exit code: 0, or 3 if some schedules
    could not be fetched. WeCom only reports schedules this app created: pair it with
    --reconcile CAL_ID, a periodic re-list of your calendars. Needs the callbacks extra.
    """
    if not token:
        raise CLIError("no callback token: set WECOM_CALLBACK_TOKEN (or pass --token)", EXIT_USAGE)
    if not aes_key:
        raise CLIError(
            "no EncodingAESKey: set WECOM_CALLBACK_AES_KEY (or pass --aes-key)", EXIT_USAGE
        )
    if params["resume"] and params["overwrite"]:
        raise click.UsageError("--resume and --overwrite exclude each other")
    return listen(conn, ListenOptions(token=token, aes_key=aes_key, **params))

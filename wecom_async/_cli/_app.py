"""The ``wecom-async`` command tree (click)."""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click
import orjson

from .. import Calendar, OpMode, Schedule, __version__
from ..batching import DEFAULT_CONCURRENCY
from ._common import (
    EXIT_ERROR,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    Connection,
    api_options,
    cancel_on_signals,
    dump_json,
    echo_err,
    is_interactive,
    run,
    stdout_write,
)
from ._fake import FAULTS_HELP, parse_faults, parse_quota, serve
from ._fetch import fetch, fetch_options_from
from ._ids import check_id, read_ids
from ._listen import listen_command
from ._occurrences import occurrences_command
from ._wire import (
    InputError,
    parse_time,
    schedule_line,
    to_add_kwargs,
)

__all__ = ["cli", "main"]

_ROOT_HELP = """\
The command line of wecom_async, the asyncio client of the WeCom (企业微信) server API.

\b
Start here (no account needed):
  wecom-async demo

\b
Against WeCom (or `wecom-async fake-server`), credentials come from flags or the environment:
  export WECOM_CORP_ID=ww… WECOM_CORP_SECRET=…   # WECOM_BASE_URL for a fake or a proxy
  wecom-async schedules get ID
  wecom-async schedules fetch --ids ids.txt --out schedules.jsonl [--resume]

\b
Exit codes: 0 done; 1 error; 2 bad usage or input; 3 some IDs failed after retries;
4 some IDs not found; 130/143 interrupted (Ctrl-C / SIGTERM).
"""

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT, help=_ROOT_HELP, invoke_without_command=True)
@click.version_option(__version__, "-V", "--version", prog_name="wecom-async")
@click.option("--debug", is_flag=True, help="Show tracebacks and log every call.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


# --- demo and fake-server ----------------------------------------------------------------------


@cli.command(context_settings=_CONTEXT)
@click.option(
    "--schedules",
    type=click.IntRange(1, 200_000),
    default=20_000,
    show_default=True,
    help="Schedules stored on the fake server and fetched back.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the data set.")
@click.option("--debug", is_flag=True, help="Show tracebacks and log every call.")
def demo(schedules: int, seed: int, debug: bool) -> int:
    """Bulk-fetch thousands of schedules from the embedded fake WeCom server.

    Nothing to configure: it runs on loopback, with no account and no network, in seconds.
    """
    from rich.console import Console

    from .._demo import run_demo

    root_debug = bool(click.get_current_context().find_root().params.get("debug"))
    result = run(
        None, run_demo(schedules=schedules, seed=seed, console=Console()), debug=debug or root_debug
    )
    return EXIT_OK if not result.failed_ids else EXIT_ERROR


@cli.command("fake-server", context_settings=_CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any free port)."
)
@click.option("--corp-id", metavar="ID", help="Corp ID (default: generated from --seed).")
@click.option("--corp-secret", metavar="SECRET", help="Its secret (default: random).")
@click.option(
    "--quota",
    metavar="SPEC",
    help="Calls allowed per API and corp, then errcode 45009: N/min, N/hour, both "
    "(600/min,20000/hour) or off. Default: WeCom's 10000/min,150000/hour.",
)
@click.option("--faults", metavar="SPEC", help=FAULTS_HELP)
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    metavar="N",
    help="Answer errcode 45033 beyond N calls of one API in flight.",
)
@click.option(
    "--token-ttl", type=click.IntRange(min=1), default=7200, show_default=True, help="Seconds."
)
@click.option(
    "--schedules",
    type=click.IntRange(0, 1_000_000),
    default=0,
    show_default=True,
    help="Store this many realistic schedules (in four calendars) before serving.",
)
@click.option(
    "--ids-out",
    type=click.Path(dir_okay=False, writable=True),
    metavar="FILE",
    help="Write the IDs of those schedules to FILE, one per line (for schedules fetch --ids).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of IDs and data.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def fake_server(
    host: str,
    port: int,
    corp_id: str | None,
    corp_secret: str | None,
    quota: str | None,
    faults: str | None,
    max_concurrency: int | None,
    token_ttl: int,
    schedules: int,
    ids_out: str | None,
    seed: int,
    debug: bool,
) -> int:
    """Serve the fake WeCom API for your own integration tests, until Ctrl-C.

    Prints WECOM_BASE_URL, WECOM_CORP_ID, WECOM_CORP_SECRET and WECOM_CAL_ID lines (test
    credentials) on stdout; with --schedules, WECOM_SEEDED_CAL_IDS too (the calendars holding
    them, comma-separated). It implements gettoken and the oa/schedule and oa/calendar APIs.
    """
    if corp_secret is not None and corp_id is None:
        raise click.UsageError("--corp-secret needs --corp-id")
    run(
        None,
        serve(
            host=host,
            port=port,
            corp_id=corp_id,
            corp_secret=corp_secret,
            quota=parse_quota(quota),
            faults=parse_faults(faults),
            max_concurrency=max_concurrency,
            token_ttl=token_ttl,
            seed=seed,
            schedules=schedules,
            ids_out=ids_out,
        ),
        debug=debug,
    )
    return EXIT_OK


# --- schedules ----------------------------------------------------------------------------------


@cli.group(context_settings=_CONTEXT)
def schedules() -> None:
    """Schedules (日程): get, bulk-fetch, list, add, delete."""


schedules.add_command(occurrences_command)


def _checked_ids(values: Sequence[str], noun: str = "schedule ID") -> list[str]:
    ids = []
    for value in values:
        value = value.strip()
        problem = check_id(value) if value else "it is empty"
        if problem is not None:
            raise CLIError(f"{value!r} is not a {noun}: {problem}", EXIT_USAGE)
        ids.append(value)
    return ids


#: ``-f/--format`` of the commands that print objects by ID.
_format_option = click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["json", "jsonl", "text"]),
    default="json",
    show_default=True,
    help="json: an array (wire field names); jsonl: one object per line; text: for people.",
)


@schedules.command("get", context_settings=_CONTEXT)
@click.argument("schedule_ids", nargs=-1, required=True, metavar="ID...")
@_format_option
@api_options
def schedules_get(schedule_ids: tuple[str, ...], fmt: str, conn: Connection) -> int:
    """Print schedules by ID (cancelled ones too, with status 1).

    IDs WeCom does not return are listed on stderr, and the exit code is then 4.
    """
    ids = _checked_ids(schedule_ids)

    async def main() -> tuple[list[Schedule], list[str]]:
        async with conn.client() as client:
            await client.tokens.get()  # wrong credentials or URL: said once, plainly
            result = await client.schedules.get_many(ids)
            return result.schedules, result.missing

    found, missing = run(conn, main())
    _print_schedules(found, fmt)
    for schedule_id in missing:
        echo_err(
            f"Not found: {schedule_id} (WeCom did not return it: unknown, deleted, or not "
            "visible to this app)"
        )
    return EXIT_MISSING if missing else EXIT_OK


def _print_schedules(found: list[Schedule], fmt: str) -> None:
    if fmt == "json":
        stdout_write(dump_json([s.to_dict() for s in found], pretty=True) + b"\n")
    elif fmt == "jsonl":
        stdout_write(b"".join(schedule_line(s) for s in found))
    else:
        from rich.console import Console

        from .._demo import render_schedule

        console = Console(highlight=False)
        for schedule in found:
            console.print(render_schedule(schedule))


@schedules.command("fetch", context_settings=_CONTEXT)
@click.option(
    "--ids",
    required=True,
    metavar="FILE|-",
    help="Schedule IDs, one per line (- reads stdin). Blank lines and # comments are skipped.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    # "-" is stdout, as for --ids (not a file named "-" in the current directory).
    callback=lambda _ctx, _param, value: "/dev/stdout" if value == "-" else value,
    metavar="OUT|-",
    help="Where the schedules go (- is stdout; not for parquet, which writes a directory).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["jsonl", "csv", "parquet", "ics"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per line (WeCom's field names). csv: one row per schedule "
    "(header first; lists as JSON text). parquet: a directory of part files, one row group "
    "each (needs the arrow extra). The columns are in the README. ics: one iCalendar file "
    "(needs the ical extra; written at the end, no --resume).",
)
@click.option(
    "--row-group-size",
    type=click.IntRange(1, 1_000_000),
    default=10_000,
    show_default=True,
    help="parquet: schedules per part file (one row group each); a crash loses at most the "
    "part being filled, fetched again by --resume.",
)
@click.option("--resume", is_flag=True, help="Continue OUT: skip the IDs already in it.")
@click.option("--overwrite", is_flag=True, help="Empty OUT first if it exists.")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Exit 0 even if WeCom did not return some IDs (they are still reported).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Chunks fetched at once. The client's limiter still caps the calls in flight at 10 "
    "and enforces WeCom's quotas; the chunks beyond wait at it, ready to go.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(1, 1000),
    default=1000,
    show_default=True,
    help="IDs per schedule/get call.",
)
@click.option(
    "--ordered", is_flag=True, help="Write in input order (slower when calls vary in latency)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress display; the report still shows.")
@api_options
def schedules_fetch(conn: Connection, **params: Any) -> int:
    """Export any number of schedules to JSONL, CSV, Parquet or iCalendar, resumably.

    \b
    Progress shows IDs done, rate, ETA and retries (a line every 10 s when stderr is not a
    terminal). Ctrl-C or SIGTERM stops at once: everything written is kept whole and synced,
    and --resume continues where it stopped, so every ID ends up exactly once in the output.
    IDs WeCom did not return go to OUT.missing.txt, IDs that failed after retries to
    OUT.failed.txt (both usable with --ids). Exit code: 0 all fetched, 3 some failed,
    4 some missing, 130/143 interrupted, 1 stopped on an error.
    """
    options = fetch_options_from(params)
    ids = read_ids(options.ids_source)
    return fetch(conn, ids, options)


def _read_json_objects(path: str) -> tuple[list[tuple[str, Any]], list[str]]:
    """(where, object) pairs from one JSON object, a JSON array, or JSON Lines; and the lines
    that are not JSON (each reported, with the problems of the other objects, in one pass)."""
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                raw = file.read()
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None
    try:
        whole = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(whole, list):
            return [(f"{name} item {i}", item) for i, item in enumerate(whole, start=1)], []
        return [(name, whole)], []
    objects = []
    problems = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            objects.append((f"{name} line {number}", orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            problems.append(
                f"{name} line {number}: not JSON ({exc}) — give one schedule object, or one "
                "per line (JSON Lines)"
            )
    if not objects and not problems:
        raise CLIError(f"{name} holds no schedule", EXIT_USAGE)
    return objects, problems


@schedules.command("add", context_settings=_CONTEXT)
@click.option(
    "--json",
    "json_path",
    required=True,
    metavar="FILE|-",
    help="A schedule object as oa/schedule/add takes it, or one per line (JSONL).",
)
@click.option("--dry-run", is_flag=True, help="Check every schedule; send nothing.")
@api_options
def schedules_add(json_path: str, dry_run: bool, conn: Connection) -> int:
    """Create schedules; print their IDs, one per line, in input order.

    \b
    Each object has WeCom's fields: start_time and end_time (Unix seconds, or ISO 8601 with
    an offset such as 2026-01-05T09:00:00+08:00), summary, description, location, cal_id,
    is_whole_day, attendees (user IDs, or {"userid": …}), admins, reminders. A line of a
    `schedules fetch` export works too (its output-only fields are ignored).
    Every object is checked before the first is sent; creation stops at the first failure.
    """
    objects, problems = _read_json_objects(json_path)
    prepared: list[tuple[str, dict[str, Any]]] = []
    for where, obj in objects:
        try:
            prepared.append((where, to_add_kwargs(obj)))
        except InputError as exc:
            problems += [f"{where}: {p}" for p in exc.problems]
    if problems:
        shown = problems[:20]
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise CLIError(
            f"nothing sent: {len(problems)} problem(s) in the input\n  "
            + "\n  ".join(shown)
            + more,
            EXIT_USAGE,
        )
    if dry_run:
        echo_err(f"{len(prepared)} schedule(s) valid; nothing sent (--dry-run).")
        return EXIT_OK

    async def main() -> None:
        async with conn.client() as client:
            for index, (where, kwargs) in enumerate(prepared):
                try:
                    schedule_id = await client.schedules.add(**kwargs)
                except BaseException:
                    if index:
                        echo_err(
                            f"Created {index} of {len(prepared)} schedules (IDs above); "
                            f"{where} failed and the rest were not sent."
                        )
                    raise
                stdout_write(f"{schedule_id}\n".encode())

    run(conn, main())
    return EXIT_OK


@schedules.command("delete", context_settings=_CONTEXT)
@click.argument("schedule_ids", nargs=-1, required=True, metavar="ID...")
@click.option(
    "--mode",
    type=click.Choice(["all", "this", "following"]),
    default="all",
    show_default=True,
    help="all: cancel the schedule; this: only the occurrence starting --at; following: that "
    "occurrence and the later ones (ends the series).",
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Start of the occurrence (Unix seconds or ISO 8601 with an offset), for --mode "
    "this/following.",
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@api_options
def schedules_delete(
    schedule_ids: tuple[str, ...], mode: str, at: str | None, yes: bool, conn: Connection
) -> int:
    """Cancel schedules (WeCom notifies their attendees); print the IDs cancelled.

    A cancelled schedule is still returned by `schedules get`, with status 1.
    """
    ids = _checked_ids(schedule_ids)
    op_mode = {"all": OpMode.ALL, "this": OpMode.THIS, "following": OpMode.THIS_AND_FOLLOWING}[mode]
    op_start_time = None
    if op_mode != OpMode.ALL:
        if at is None:
            raise click.UsageError(f"--mode {mode} needs --at (the occurrence's start time)")
        op_start_time = _parse_time(at, "--at")
    elif at is not None:
        raise click.UsageError("--at only goes with --mode this or --mode following")
    if not yes:
        what = (
            f"{len(ids)} schedule(s)"
            if op_mode == OpMode.ALL
            else "occurrences of " + (f"{len(ids)} schedule(s)")
        )
        if not is_interactive():
            raise CLIError(
                f"not deleting {what} without confirmation: pass --yes (stdin is not a terminal)",
                EXIT_USAGE,
            )
        click.confirm(f"Cancel {what}? WeCom notifies the attendees.", abort=True, err=True)

    async def main() -> None:
        async with conn.client() as client:
            for index, schedule_id in enumerate(ids):
                try:
                    await client.schedules.delete(
                        schedule_id, op_mode=op_mode, op_start_time=op_start_time
                    )
                except BaseException:
                    if index:
                        echo_err(
                            f"Cancelled {index} of {len(ids)} (IDs above); {schedule_id} failed "
                            "and the rest were not sent."
                        )
                    raise
                stdout_write(f"{schedule_id}\n".encode())

    run(conn, main())
    return EXIT_OK


def _parse_time(value: str, name: str) -> int | datetime:
    text = value.strip()
    problems: list[str] = []
    parsed = parse_time(int(text) if text.isdigit() else text, name, problems)
    if problems:
        raise click.BadParameter(problems[0], param_hint=name)
    return parsed


@schedules.command("list", context_settings=_CONTEXT)
@click.option(
    "--cal-id", required=True, metavar="CAL_ID", help="The calendar (created by this app)."
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Skip this many schedules: the offset printed by an earlier run lists only newer ones.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=1000,
    show_default=True,
    help="Schedules per get_by_calendar call.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "text"]),
    default="jsonl",
    show_default=True,
    help="jsonl streams one object per line; json collects an array; text is for people.",
)
@api_options
def schedules_list(cal_id: str, offset: int, page_size: int, fmt: str, conn: Connection) -> int:
    """Print every schedule of a calendar (cancelled ones too), page by page.

    The offset reached is printed on stderr at the end: pass it back with --offset to list
    only what was added since. On an error, Ctrl-C or SIGTERM, what was listed until then is
    printed (in every format) and the offset is that of the last schedule printed, so nothing
    is skipped by the next --offset run.
    """
    listed: list[Schedule] = []
    received: list[int] = []
    printed = 0

    async def main() -> None:
        nonlocal printed
        async with conn.client() as client:
            listing = client.schedules.list_by_calendar(cal_id, offset=offset, limit=page_size)
            async for schedule in listing:
                if fmt == "jsonl":
                    stdout_write(schedule_line(schedule))
                    printed += 1
                else:
                    listed.append(schedule)

    error: CLIError | None = None
    try:
        run(conn, cancel_on_signals(main(), received))
    except CLIError as exc:
        error = exc
    finally:
        if fmt != "jsonl" and (listed or (error is None and not received)):
            _print_schedules(listed, fmt)  # an empty calendar: [] in json
            printed = len(listed)
        reached = offset + printed
        head = f"Interrupted ({signal.Signals(received[0]).name}): listed" if received else "Listed"
        if printed or error is None:  # else the error line says it all
            echo_err(
                f"{head} {printed:,} schedules of {cal_id}; offset now {reached:,} "
                f"(--offset {reached} lists only what comes after)."
            )
    if error is not None:
        raise error
    return 128 + received[0] if received else EXIT_OK


# --- calendars ---------------------------------------------------------------------------------


@cli.group(context_settings=_CONTEXT)
def calendars() -> None:
    """Calendars (日历): get by ID. (WeCom has no API that lists an app's calendars.)"""


@calendars.command("get", context_settings=_CONTEXT)
@click.argument("cal_ids", nargs=-1, required=True, metavar="CAL_ID...")
@_format_option
@api_options
def calendars_get(cal_ids: tuple[str, ...], fmt: str, conn: Connection) -> int:
    """Print calendars by ID; IDs WeCom does not return are listed on stderr (exit code 4)."""
    ids = _checked_ids(cal_ids, noun="calendar ID")

    async def main() -> list[Calendar]:
        async with conn.client() as client:
            await client.tokens.get()
            return await client.calendars.get(ids)

    found = run(conn, main())
    if fmt == "json":
        stdout_write(dump_json([c.to_dict() for c in found], pretty=True) + b"\n")
    elif fmt == "jsonl":
        stdout_write(b"".join(dump_json(c.to_dict()) + b"\n" for c in found))
    else:
        from rich.console import Console

        from .._demo import render_calendar

        console = Console(highlight=False)
        for calendar in found:
            console.print(render_calendar(calendar))
    returned = {c.cal_id for c in found}
    missing = [i for i in ids if i not in returned]
    for cal_id in missing:
        echo_err(
            f"Not found: {cal_id} (WeCom did not return it: unknown, deleted, or not this app's)"
        )
    return EXIT_MISSING if missing else EXIT_OK


cli.add_command(listen_command)


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """The ``wecom-async`` console script."""
    try:
        result = cli.main(args=argv, prog_name="wecom-async", standalone_mode=False)
    except CLIError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        echo_err("Interrupted.")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            sys.exit(141)
        raise
    sys.exit(result if isinstance(result, int) else EXIT_OK)

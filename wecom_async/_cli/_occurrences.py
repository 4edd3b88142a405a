"""``schedules occurrences``: the occurrences of schedules in a date range, as JSON Lines.

One line per occurrence: ``{"schedule_id", "start", "end", "start_time", "end_time"}`` (ISO 8601
in the schedule's timezone, and Unix seconds; ``end`` is exclusive), schedule by schedule in the
order of ``--ids``, each schedule's occurrences ascending. A bare date in ``--from``/``--to`` is
00:00 in each schedule's own timezone (so ``--from 2026-03-02 --to 2026-03-03`` is "that day"
wherever the schedule is); a time needs an offset. Cancelled schedules have no occurrences (they
are counted on stderr). IDs WeCom does not return are listed on stderr (exit code 4).
"""

from __future__ import annotations

from datetime import date, datetime, time

import click

from .. import Schedule
from ._common import (
    EXIT_MISSING,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    Connection,
    api_options,
    dump_json,
    echo_err,
    run,
    stdout_write,
)
from ._ids import read_ids

__all__ = ["occurrences_command"]


def _bound(value: str, option: str) -> date | datetime:
    """A bare date, or an aware datetime (ISO 8601)."""
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CLIError(
            f"{option} {value!r} is not a date (2026-03-02) or a time with an offset "
            "(2026-03-02T09:00:00+08:00)",
            EXIT_USAGE,
        ) from None
    if moment.utcoffset() is None:
        raise CLIError(f"{option} {value!r} has no UTC offset (add +08:00, Z…)", EXIT_USAGE)
    return moment


def _at(bound: date | datetime, schedule: Schedule) -> datetime:
    if isinstance(bound, datetime):
        return bound
    return datetime.combine(bound, time(), schedule.reminders.tzinfo)


def occurrence_lines(schedule: Schedule, start: date | datetime, end: date | datetime) -> bytes:
    """The JSON lines of *schedule*'s occurrences overlapping [start, end)."""
    return b"".join(
        dump_json(
            {
                "schedule_id": schedule.schedule_id,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "start_time": int(o.start.timestamp()),
                "end_time": int(o.end.timestamp()),
            }
        )
        + b"\n"
        for o in schedule.occurrences(_at(start, schedule), _at(end, schedule))
    )


@click.command("occurrences", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--ids",
    required=True,
    metavar="FILE|-",
    help="Schedule IDs, one per line (- reads stdin). Blank lines and # comments are skipped.",
)
@click.option("--from", "start", required=True, metavar="DATE", help="Start of the range.")
@click.option("--to", "end", required=True, metavar="DATE", help="End of the range (exclusive).")
@api_options
def occurrences_command(ids: str, start: str, end: str, conn: Connection) -> int:
    """Print the occurrences of schedules overlapping [--from, --to) as JSON Lines.

    \b
    A line: {"schedule_id", "start", "end", "start_time", "end_time"} (ISO 8601 in the
    schedule's timezone, and Unix seconds; end exclusive). A bare DATE is 00:00 in each
    schedule's own timezone; a time needs an offset (2026-03-02T09:00:00+08:00). Cancelled
    schedules have no occurrences. Exit code 4 when WeCom did not return some IDs.
    """
    lo, hi = _bound(start, "--from"), _bound(end, "--to")
    id_list = read_ids(ids).ids

    async def main() -> tuple[list[Schedule], list[str]]:
        async with conn.client() as client:
            await client.tokens.get()
            result = await client.schedules.get_many(id_list)
            return result.schedules, result.missing

    found, missing = run(conn, main()) if id_list else ([], [])
    cancelled = 0
    for schedule in found:
        if schedule.is_cancelled:
            cancelled += 1
            continue
        stdout_write(occurrence_lines(schedule, lo, hi))
    if cancelled:
        echo_err(f"Skipped {cancelled} cancelled schedule(s): they have no occurrences.")
    for schedule_id in missing:
        echo_err(
            f"Not found: {schedule_id} (WeCom did not return it: unknown, deleted, or not "
            "visible to this app)"
        )
    return EXIT_MISSING if missing else EXIT_OK

"""``wecom-async schedules occurrences`` (and ``fetch --format ics``), as a real process."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import icalendar

from tests.test_cli import cli_env, wecom
from wecom_async.testing import FakeWeCom

TZ8 = timezone(timedelta(hours=8))


def _at(*args: int) -> int:
    return int(datetime(*args, tzinfo=TZ8).timestamp())  # type: ignore[arg-type, misc]


def _seed(fake: FakeWeCom) -> list[str]:
    weekly = {
        "schedule_id": "weekly",
        "start_time": _at(2026, 1, 5, 9),  # a Monday
        "end_time": _at(2026, 1, 5, 10),
        "summary": "周会",
        "reminders": {
            "is_repeat": 1,
            "repeat_type": 1,
            "is_custom_repeat": 1,
            "repeat_interval": 1,
            "repeat_day_of_week": [1, 3],
            "exclude_time_list": [{"start_time": _at(2026, 1, 7, 9)}],
        },
    }
    cancelled = dict(weekly, schedule_id="gone", status=1)
    return fake.seed_schedules([weekly, cancelled])


async def test_occurrences_prints_jsonl_of_each_occurrence(fake: FakeWeCom, tmp_path: Path) -> None:
    _seed(fake)
    ids = tmp_path / "ids.txt"
    ids.write_text("weekly\ngone\nnope\n")
    result = await wecom(
        "schedules", "occurrences", "--ids", str(ids), "--from", "2026-01-06", "--to",
        "2026-01-15", env=cli_env(fake),
    )  # fmt: skip
    assert result.code == 4, result.err
    lines = [json.loads(line) for line in result.out.splitlines()]
    # Wednesday the 7th is excluded; the range ends before Thursday the 15th 00:00 (+08:00).
    assert lines == [
        {
            "schedule_id": "weekly",
            "start": f"2026-01-{day:02d}T09:00:00+08:00",
            "end": f"2026-01-{day:02d}T10:00:00+08:00",
            "start_time": _at(2026, 1, day, 9),
            "end_time": _at(2026, 1, day, 10),
        }
        for day in (12, 14)
    ]
    assert "Skipped 1 cancelled schedule(s)" in result.err
    assert "Not found: nope" in result.err


async def test_occurrences_takes_times_with_an_offset_only(fake: FakeWeCom, tmp_path: Path) -> None:
    _seed(fake)
    ids = tmp_path / "ids.txt"
    ids.write_text("weekly\n")
    args = ("schedules", "occurrences", "--ids", str(ids), "--to", "2026-01-20")
    naive = await wecom(*args, "--from", "2026-01-12T09:00:00", env=cli_env(fake))
    assert naive.code == 2
    assert "no UTC offset" in naive.err
    aware = await wecom(*args, "--from", "2026-01-12T01:00:01Z", env=cli_env(fake))
    assert aware.code == 0, aware.err
    # The occurrence of the 12th (09:00–10:00 +08:00) still overlaps 09:00:01.
    assert [json.loads(line)["start_time"] for line in aware.out.splitlines()] == [
        _at(2026, 1, 12, 9),
        _at(2026, 1, 14, 9),
        _at(2026, 1, 19, 9),
    ]


async def test_fetch_format_ics_writes_one_calendar(fake: FakeWeCom, tmp_path: Path) -> None:
    _seed(fake)
    ids = tmp_path / "ids.txt"
    ids.write_text("weekly\ngone\n")
    out = tmp_path / "s.ics"
    args = ("schedules", "fetch", "--ids", str(ids), "--out", str(out), "--format", "ics")
    result = await wecom(*args, "-q", env=cli_env(fake))
    assert result.code == 0, result.err
    calendar: Any = icalendar.Calendar.from_ical(out.read_bytes())
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"weekly", "gone"}
    assert str(events["weekly"]["SUMMARY"]) == "周会"
    assert events["weekly"]["RRULE"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO,WE;WKST=MO"
    assert events["gone"]["STATUS"] == "CANCELLED"
    resumed = await wecom(*args, "--resume", env=cli_env(fake))
    assert resumed.code == 2
    assert "--resume does not work with --format ics" in resumed.err

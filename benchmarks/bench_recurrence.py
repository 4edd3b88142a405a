"""B11: expanding recurring schedules over one year: ours ÷ recurring-ical-events.

``Sizes.recurring_schedules`` recurring schedules (every repeat type, custom intervals and days,
timezones −12…+12, some with an end and exclusions; a fixed seed) are expanded over one year:

* **ours**: ``list(schedule.occurrences(lo, hi))`` for each schedule;
* **recurring-ical-events**: ``recurring_ical_events.of(calendar).between(lo, hi)`` on the
  equivalent iCalendar (our ``to_ics`` of the same schedules, parsed by ``icalendar`` before
  the clock starts: only the expansion is timed).

Both must find the same number of occurrences before their speed means anything. CPU time,
rounds alternating the order, median of each side's rounds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial

import icalendar
import recurring_ical_events

from wecom_async import ExcludeTime, Reminders, RepeatType, Schedule
from wecom_async.ical import to_ics

from ._harness import BenchResult, Row, Sizes, interleave, median

__all__ = ["make_recurring", "run"]

TARGET = 5.0
DAY = 86400
#: The year expanded: 2026 (UTC).
LO = datetime(2026, 1, 1, tzinfo=timezone.utc)
HI = datetime(2027, 1, 1, tzinfo=timezone.utc)


def make_recurring(count: int, seed: int = 10) -> list[Schedule]:
    """*count* recurring schedules starting in 2025–2026, every rule type and option."""
    rng = random.Random(seed)
    types = list(RepeatType)
    schedules = []
    for index in range(count):
        start = 1735689600 + rng.randrange(0, 700) * DAY + rng.randrange(0, 24) * 3600
        custom = rng.random() < 0.5
        excluded = tuple(
            ExcludeTime(start + rng.randrange(0, 300) * DAY) for _ in range(rng.randrange(0, 3))
        )
        reminders = Reminders(
            is_repeat=True,
            repeat_type=types[index % len(types)],
            is_custom_repeat=custom,
            repeat_interval=rng.randrange(1, 4) if custom else 0,
            repeat_day_of_week=tuple(rng.sample(range(1, 8), rng.randrange(1, 4))),
            repeat_day_of_month=tuple(rng.sample(range(1, 32), rng.randrange(1, 4))),
            repeat_until=start + rng.randrange(30, 900) * DAY if rng.random() < 0.3 else 0,
            timezone=rng.randrange(-12, 13),
            exclude_time_list=excluded,
        )
        schedules.append(
            Schedule(f"r{index}", start, start + 3600, reminders=reminders, summary=f"#{index}")
        )
    return schedules


def _ours(schedules: list[Schedule]) -> int:
    return sum(len(list(s.occurrences(LO, HI))) for s in schedules)


def _theirs(calendar: icalendar.Calendar) -> int:
    return len(recurring_ical_events.of(calendar).between(LO, HI))


def _timed(func: Callable[[], int]) -> float:
    start = time.process_time()
    func()
    return time.process_time() - start


def run(sizes: Sizes) -> list[BenchResult]:
    n = sizes.recurring_schedules
    schedules = make_recurring(n)
    calendar = icalendar.Calendar.from_ical(to_ics(schedules))
    found = _ours(schedules)
    assert found == _theirs(calendar), "ours and recurring-ical-events disagree"
    rounds = min(sizes.rounds, 3)
    times = interleave(
        {
            "ours": lambda: _timed(partial(_ours, schedules)),
            "theirs": lambda: _timed(partial(_theirs, calendar)),
        },
        rounds,
    )
    ours, theirs = median(times["ours"]), median(times["theirs"])
    row = Row(
        f"expand {n:,} recurring schedules over one year ({found:,} occurrences)",
        ours * 1e3,
        theirs * 1e3,
        "ms",
        theirs / max(ours, 1e-9),
        TARGET,
        direction=">=",
        baseline_name="recurring-ical-events on the equivalent ics",
        note=f"ours {found / max(ours, 1e-9):,.0f} occurrences/s, "
        f"recurring-ical-events {found / max(theirs, 1e-9):,.0f}/s; ratio = theirs ÷ ours",
    )
    method = (
        f"{rounds} rounds alternating the order, median CPU time of each side; the ics is "
        "built and parsed before timing (expansion only); both counts checked equal first."
    )
    return [
        BenchResult(
            "B11",
            "Expanding recurring schedules over a year: recurring-ical-events ÷ ours",
            (row,),
            method,
        )
    ]

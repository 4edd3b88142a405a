"""iCalendar export: ``Schedule.to_rrule``, ``wecom_async.ical.to_ics``.

The property tests check our recurrence engine (``Schedule.occurrences``) against an independent
expander: ``recurring-ical-events`` reading our ``to_ics`` output, over a 3-year window, for
generated schedules of every repeat type and option the docs define.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wecom_async import (
    ExcludeTime,
    Reminders,
    RepeatType,
    Schedule,
)
from wecom_async.ical import to_ics

DAY = 86400
STAMP = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: 2024-01-01T00:00Z … 2027-01-01T00:00Z: where generated schedules start.
FIRST_START, LAST_START = 1704067200, 1798761600
THREE_YEARS = 3 * 366 * DAY


@st.composite
def schedules(draw: st.DrawFn, repeat_type: RepeatType, whole_day: bool) -> Schedule:
    """A recurring schedule of *repeat_type* with any documented option combination."""
    tz = draw(st.integers(-12, 12))
    offset = tz * 3600
    custom = draw(st.booleans())
    if whole_day:
        day = draw(st.integers(FIRST_START // DAY, LAST_START // DAY))
        # WeCom's whole-day schedules start at 00:00; other clocks are exercised too.
        clock = draw(st.sampled_from([0, 0, 0, 9 * 3600, 86399]))
        start = day * DAY - offset + clock
        end = day * DAY - offset + draw(st.integers(0, 3)) * DAY + draw(st.integers(0, DAY - 1))
        end = max(end, start)
    else:
        start = draw(st.integers(FIRST_START, LAST_START)) // 60 * 60
        end = start + draw(st.sampled_from([0, 60, 1800, 3600, 9 * 3600, DAY, 3 * DAY + 7]))
    span = draw(st.sampled_from([0, 0, 30 * DAY, 400 * DAY, 2 * 366 * DAY]))
    until = 0
    if span:
        until = start + span + draw(st.sampled_from([0, -1, 1, draw(st.integers(0, DAY))]))
    excluded = [
        start + draw(st.integers(0, 800)) * DAY + draw(st.sampled_from([0, 0, 0, 3600]))
        for _ in range(draw(st.integers(0, 4)))
    ]
    reminders = Reminders(
        is_repeat=True,
        repeat_type=repeat_type,
        is_custom_repeat=custom,
        repeat_interval=draw(st.integers(1, 4)) if custom else draw(st.sampled_from([0, 1, 3])),
        repeat_day_of_week=tuple(draw(st.lists(st.integers(1, 7), max_size=7))),
        repeat_day_of_month=tuple(
            draw(st.lists(st.one_of(st.integers(1, 31), st.integers(28, 31)), max_size=5))
        ),
        repeat_until=until,
        timezone=tz,
        exclude_time_list=tuple(ExcludeTime(t) for t in excluded),
    )
    return Schedule(
        schedule_id=f"s{start}",
        start_time=start,
        end_time=end,
        reminders=reminders,
        is_whole_day=whole_day,
    )


def _theirs(schedule: Schedule, lo: int, hi: int) -> list[tuple[int, int]]:
    """The occurrences recurring-ical-events expands from our to_ics output."""
    calendar = icalendar.Calendar.from_ical(to_ics([schedule], dtstamp=STAMP))
    tz = schedule.reminders.tzinfo
    found = []
    if schedule.is_whole_day:
        # Whole-day events are dates: ask for the dates whose days overlap [lo, hi).
        first = datetime.fromtimestamp(lo, tz).date()
        last = datetime.fromtimestamp(hi - 1, tz).date() + timedelta(days=1)
        for event in recurring_ical_events.of(calendar).between(first, last):
            start, end = event["DTSTART"].dt, event["DTEND"].dt
            assert type(start) is date
            found.append((_midnight(start, tz), _midnight(end, tz)))
        return sorted(o for o in found if o[0] < hi and o[1] > lo)
    window = (datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc))
    for event in recurring_ical_events.of(calendar).between(*window):
        found.append((int(event["DTSTART"].dt.timestamp()), int(event["DTEND"].dt.timestamp())))
    return sorted(found)


def _midnight(day: date, tz: timezone) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def _ours(schedule: Schedule, lo: int, hi: int) -> list[tuple[int, int]]:
    lo_dt, hi_dt = (datetime.fromtimestamp(t, timezone.utc) for t in (lo, hi))
    return [
        (int(o.start.timestamp()), int(o.end.timestamp()))
        for o in schedule.occurrences(lo_dt, hi_dt)
    ]


#: Examples per (repeat type, whole-day) pair: 10 pairs.
EXAMPLES = 60


@pytest.mark.parametrize("whole_day", [False, True], ids=["timed", "whole_day"])
@pytest.mark.parametrize("repeat_type", list(RepeatType), ids=lambda t: t.name.lower())
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_occurrences_equal_recurring_ical_events(
    data: st.DataObject, repeat_type: RepeatType, whole_day: bool
) -> None:
    schedule = data.draw(schedules(repeat_type, whole_day), label="schedule")
    lo = schedule.start_time - data.draw(st.sampled_from([0, 1, 40 * DAY, 400 * DAY]))
    hi = lo + THREE_YEARS
    ours = _ours(schedule, lo, hi)
    assert ours == _theirs(schedule, lo, hi)

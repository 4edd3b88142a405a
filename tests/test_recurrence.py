"""Schedule.occurrences: the recurrence engine (wecom_async/_recurrence.py).

Hand-written cases per repeat type and per decision where the docs are silent, window
semantics, timezones, whole-day schedules, exclusions, laziness; and a property test against
an independent expander, dateutil's ``rrule``, built straight from the Reminders fields here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from dateutil import rrule as du  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wecom_async import (
    ExcludeTime,
    Occurrence,
    Reminders,
    RepeatType,
    Schedule,
    ValidationError,
)
from wecom_async._recurrence import is_occurrence

CST = timezone(timedelta(hours=8))
HOUR = 3600
DAY = 86400


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, tz: timezone = CST
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def schedule(
    start: datetime, minutes: int = 60, *, whole_day: bool = False, **reminders: Any
) -> Schedule:
    first = int(start.timestamp())
    if "exclude" in reminders:
        reminders["exclude_time_list"] = tuple(
            ExcludeTime(int(d.timestamp())) for d in reminders.pop("exclude")
        )
    return Schedule(
        "s1",
        first,
        first + minutes * 60,
        reminders=Reminders(is_repeat=bool(reminders), **reminders),
        is_whole_day=whole_day,
    )


def starts(s: Schedule, lo: datetime, hi: datetime) -> list[datetime]:
    return [o.start for o in s.occurrences(lo, hi)]


def days(s: Schedule, lo: datetime, hi: datetime) -> list[str]:
    return [o.start.date().isoformat() for o in s.occurrences(lo, hi)]


# --- each repeat type -----------------------------------------------------------------------------


def test_one_off_schedule_has_one_occurrence() -> None:
    s = schedule(at(2024, 3, 5, 9))
    assert list(s.occurrences(at(2024, 1, 1), at(2025, 1, 1))) == [
        Occurrence(at(2024, 3, 5, 9), at(2024, 3, 5, 10))
    ]
    assert list(s.occurrences(at(2024, 3, 6), at(2025, 1, 1))) == []


def test_daily_and_custom_interval() -> None:
    s = schedule(at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY)
    assert days(s, at(2024, 3, 1), at(2024, 3, 8)) == ["2024-03-05", "2024-03-06", "2024-03-07"]
    # The interval counts only with is_custom_repeat.
    s = schedule(at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY, repeat_interval=3)
    assert len(days(s, at(2024, 3, 5), at(2024, 3, 8))) == 3
    s = schedule(
        at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY, is_custom_repeat=True, repeat_interval=3
    )
    assert days(s, at(2024, 3, 6), at(2024, 3, 15)) == ["2024-03-08", "2024-03-11", "2024-03-14"]


def test_weekly_and_custom_days_every_other_week() -> None:
    tuesday = at(2024, 3, 5, 9)
    s = schedule(tuesday, repeat_type=RepeatType.WEEKLY)
    assert days(s, at(2024, 3, 1), at(2024, 3, 20)) == ["2024-03-05", "2024-03-12", "2024-03-19"]
    s = schedule(
        tuesday,
        repeat_type=RepeatType.WEEKLY,
        is_custom_repeat=True,
        repeat_interval=2,
        repeat_day_of_week=(2, 5),  # Tuesday, Friday
    )
    assert days(s, at(2024, 3, 1), at(2024, 3, 31)) == [
        "2024-03-05",
        "2024-03-08",
        "2024-03-19",
        "2024-03-22",
    ]


def test_custom_weekly_days_without_the_start_weekday() -> None:
    """Decision: start_time is the first occurrence, then only the rule's days."""
    monday = at(2024, 3, 4, 9)
    s = schedule(
        monday,
        repeat_type=RepeatType.WEEKLY,
        is_custom_repeat=True,
        repeat_interval=1,
        repeat_day_of_week=(3,),  # Wednesday
    )
    assert days(s, at(2024, 3, 1), at(2024, 3, 20)) == ["2024-03-04", "2024-03-06", "2024-03-13"]
    # Sunday (7) is the last day of the week: weeks run Monday to Sunday.
    s = schedule(
        monday,
        repeat_type=RepeatType.WEEKLY,
        is_custom_repeat=True,
        repeat_interval=2,
        repeat_day_of_week=(7,),
    )
    assert days(s, at(2024, 3, 1), at(2024, 3, 31)) == ["2024-03-04", "2024-03-10", "2024-03-24"]


def test_monthly_and_custom_days_of_month() -> None:
    s = schedule(at(2024, 1, 15, 9), repeat_type=RepeatType.MONTHLY)
    assert days(s, at(2024, 1, 1), at(2024, 4, 1)) == ["2024-01-15", "2024-02-15", "2024-03-15"]
    s = schedule(
        at(2024, 1, 15, 9),
        repeat_type=RepeatType.MONTHLY,
        is_custom_repeat=True,
        repeat_interval=2,
        repeat_day_of_month=(1, 20),
    )
    assert days(s, at(2024, 1, 1), at(2024, 6, 1)) == [
        "2024-01-15",
        "2024-01-20",
        "2024-03-01",
        "2024-03-20",
        "2024-05-01",
        "2024-05-20",
    ]


def test_the_31st_skips_months_without_it() -> None:
    """Decision: a month without the day has no occurrence (nothing moves to the 30th)."""
    s = schedule(at(2024, 1, 31, 9), repeat_type=RepeatType.MONTHLY)
    assert days(s, at(2024, 1, 1), at(2024, 9, 1)) == [
        "2024-01-31",
        "2024-03-31",
        "2024-05-31",
        "2024-07-31",
        "2024-08-31",
    ]
    s = schedule(
        at(2024, 1, 10, 9),
        repeat_type=RepeatType.MONTHLY,
        is_custom_repeat=True,
        repeat_interval=1,
        repeat_day_of_month=(30, 31),
    )
    assert days(s, at(2024, 2, 1), at(2024, 5, 1)) == ["2024-03-30", "2024-03-31", "2024-04-30"]


def test_yearly_and_29_february() -> None:
    """Decision: a yearly schedule on 29 February occurs in leap years only."""
    s = schedule(at(2024, 2, 29, 9), repeat_type=RepeatType.YEARLY)
    assert days(s, at(2024, 1, 1), at(2033, 1, 1)) == ["2024-02-29", "2028-02-29", "2032-02-29"]
    s = schedule(
        at(2023, 6, 1, 9), repeat_type=RepeatType.YEARLY, is_custom_repeat=True, repeat_interval=2
    )
    assert days(s, at(2023, 1, 1), at(2028, 1, 1)) == ["2023-06-01", "2025-06-01", "2027-06-01"]


def test_workdays_are_monday_to_friday_without_interval() -> None:
    s = schedule(
        at(2024, 3, 8, 9),  # a Friday
        repeat_type=RepeatType.WORKDAYS,
        is_custom_repeat=True,
        repeat_interval=3,
    )
    assert days(s, at(2024, 3, 1), at(2024, 3, 16)) == [
        "2024-03-08",
        "2024-03-11",
        "2024-03-12",
        "2024-03-13",
        "2024-03-14",
        "2024-03-15",
    ]


# --- repeat_until, exclusions ---------------------------------------------------------------------


def test_repeat_until_includes_an_occurrence_starting_at_it() -> None:
    until = at(2024, 3, 7, 9)
    s = schedule(
        at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY, repeat_until=int(until.timestamp())
    )
    assert days(s, at(2024, 3, 1), at(2024, 4, 1)) == ["2024-03-05", "2024-03-06", "2024-03-07"]
    s = schedule(
        at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY, repeat_until=int(until.timestamp()) - 1
    )
    assert days(s, at(2024, 3, 1), at(2024, 4, 1)) == ["2024-03-05", "2024-03-06"]


def test_excluded_occurrences_are_left_out_even_the_first() -> None:
    s = schedule(
        at(2024, 3, 5, 9),
        repeat_type=RepeatType.DAILY,
        exclude=[at(2024, 3, 5, 9), at(2024, 3, 7, 9), at(2024, 3, 8, 10)],
    )
    # 8 March 10:00 is no occurrence's start: it excludes nothing.
    assert days(s, at(2024, 3, 1), at(2024, 3, 9)) == ["2024-03-06", "2024-03-08"]


# --- window, timezone, whole-day ------------------------------------------------------------------


def test_window_is_the_overlap_with_start_inclusive_end_exclusive() -> None:
    s = schedule(at(2024, 3, 5, 9), minutes=120, repeat_type=RepeatType.DAILY)
    # Ongoing at the window's start: included; ending exactly at it: not.
    assert starts(s, at(2024, 3, 6, 10), at(2024, 3, 7, 9)) == [at(2024, 3, 6, 9)]
    assert starts(s, at(2024, 3, 6, 11), at(2024, 3, 7, 9, 0)) == []
    assert starts(s, at(2024, 3, 6, 11), at(2024, 3, 7, 9, 1)) == [at(2024, 3, 7, 9)]
    # A zero-length occurrence counts when it starts in [start, end).
    z = schedule(at(2024, 3, 5, 9), minutes=0, repeat_type=RepeatType.DAILY)
    assert starts(z, at(2024, 3, 6, 9), at(2024, 3, 7, 9)) == [at(2024, 3, 6, 9)]
    # Unix seconds work as bounds too.
    lo, hi = int(at(2024, 3, 6, 10).timestamp()), int(at(2024, 3, 7, 9).timestamp())
    assert starts(s, lo, hi) == [at(2024, 3, 6, 9)]  # type: ignore[arg-type]


def test_dates_and_times_are_in_the_schedules_timezone() -> None:
    new_york = timezone(timedelta(hours=-5))
    # Friday 23:00 at UTC-5 is Saturday 04:00 UTC: workdays count in the schedule's timezone.
    s = schedule(at(2024, 3, 8, 23, tz=new_york), repeat_type=RepeatType.WORKDAYS, timezone=-5)
    got = list(s.occurrences(at(2024, 3, 8, tz=new_york), at(2024, 3, 13, tz=new_york)))
    assert [o.start for o in got] == [
        at(2024, 3, 8, 23, tz=new_york),
        at(2024, 3, 11, 23, tz=new_york),
        at(2024, 3, 12, 23, tz=new_york),
    ]
    assert all(o.start.utcoffset() == timedelta(hours=-5) for o in got)
    # The default timezone is UTC+8.
    d = schedule(at(2024, 3, 5, 1), repeat_type=RepeatType.DAILY)
    assert [o.start.utcoffset() for o in d.occurrences(at(2024, 3, 5), at(2024, 3, 7))] == [
        timedelta(hours=8)
    ] * 2


def test_whole_day_occurrences_cover_whole_dates() -> None:
    first = at(2024, 3, 4)
    s = Schedule(
        "s1",
        int(first.timestamp()),
        int(at(2024, 3, 5).timestamp()),  # through 5 March: two dates
        reminders=Reminders(is_repeat=True, repeat_type=RepeatType.WEEKLY),
        is_whole_day=True,
    )
    # The 11–12 March occurrence overlaps a window starting on the 12th.
    assert list(s.occurrences(at(2024, 3, 12, 15), at(2024, 3, 18))) == [
        Occurrence(at(2024, 3, 11), at(2024, 3, 13))
    ]
    one_day = Schedule(
        "s2",
        int(first.timestamp()),
        int(first.timestamp()),
        reminders=Reminders(
            is_repeat=True,
            repeat_type=RepeatType.DAILY,
            exclude_time_list=(ExcludeTime(int(at(2024, 3, 5).timestamp())),),
        ),
        is_whole_day=True,
    )
    assert list(one_day.occurrences(at(2024, 3, 4), at(2024, 3, 7))) == [
        Occurrence(at(2024, 3, 4), at(2024, 3, 5)),
        Occurrence(at(2024, 3, 6), at(2024, 3, 7)),
    ]


def test_whole_day_occurrences_start_at_midnight_whatever_the_clock() -> None:
    """A whole-day start_time not at 0:00 (WeCom's own are): the occurrence still runs 0:00–0:00;
    the exclusion matches the start at start_time's clock (what op_start_time names)."""
    s = Schedule(
        "s1",
        int(at(2024, 3, 4, 9).timestamp()),
        int(at(2024, 3, 4, 10).timestamp()),
        reminders=Reminders(
            is_repeat=True,
            repeat_type=RepeatType.DAILY,
            exclude_time_list=(ExcludeTime(int(at(2024, 3, 5, 9).timestamp())),),
        ),
        is_whole_day=True,
    )
    assert list(s.occurrences(at(2024, 3, 4, 12), at(2024, 3, 7))) == [
        Occurrence(at(2024, 3, 4), at(2024, 3, 5)),
        Occurrence(at(2024, 3, 6), at(2024, 3, 7)),
    ]


def test_forever_schedules_are_lazy_and_seek_to_the_window() -> None:
    s = schedule(at(2020, 1, 1, 9), repeat_type=RepeatType.DAILY)
    it = s.occurrences(at(2020, 1, 1), at(2030, 1, 1))
    assert isinstance(it, Iterator)
    assert not isinstance(it, Sequence)
    assert [o.start for o in itertools.islice(it, 3)] == [
        at(2020, 1, 1, 9),
        at(2020, 1, 2, 9),
        at(2020, 1, 3, 9),
    ]
    assert sum(1 for _ in s.occurrences(at(2020, 1, 1), at(2030, 1, 1))) == 3653
    # A window far away starts right there.
    assert next(s.occurrences(at(2999, 6, 1, 12), at(3000, 1, 1))).start == at(2999, 6, 2, 9)


def test_naive_bounds_and_unknown_repeat_types_are_validation_errors() -> None:
    s = schedule(at(2024, 3, 5, 9), repeat_type=RepeatType.DAILY)
    with pytest.raises(ValidationError) as info:
        s.occurrences(datetime(2024, 1, 1), at(2024, 2, 1))
    assert info.value.paths == ("start",)
    odd = schedule(at(2024, 3, 5, 9), repeat_type=RepeatType(3))
    with pytest.raises(ValidationError) as info:
        odd.occurrences(at(2024, 1, 1), at(2024, 2, 1))
    assert info.value.paths == ("reminders.repeat_type",)


# --- property test against dateutil's rrule -------------------------------------------------------


def expected(s: Schedule, lo: datetime, hi: datetime) -> list[Occurrence]:
    """The occurrences per dateutil's rrule, built from the Reminders fields (not our code)."""
    r = s.reminders
    tz = timezone(timedelta(hours=r.timezone))
    start = datetime.fromtimestamp(s.start_time, tz)
    custom = r.is_custom_repeat
    interval = r.repeat_interval if custom else 1
    rules = du.rruleset()
    rules.rdate(start)  # start_time is always the first occurrence
    common: dict[str, Any] = {"dtstart": start, "wkst": du.MO}
    if r.repeat_until:
        common["until"] = datetime.fromtimestamp(r.repeat_until, tz)
    if r.is_repeat:
        kind = r.repeat_type
        if kind == RepeatType.DAILY:
            rules.rrule(du.rrule(du.DAILY, interval=interval, **common))
        elif kind == RepeatType.WORKDAYS:
            rules.rrule(du.rrule(du.WEEKLY, byweekday=range(5), **common))
        elif kind == RepeatType.WEEKLY:
            weekdays = (custom and r.repeat_day_of_week) or (start.isoweekday(),)
            byday = [d - 1 for d in weekdays]
            rules.rrule(du.rrule(du.WEEKLY, interval=interval, byweekday=byday, **common))
        elif kind == RepeatType.MONTHLY:
            monthdays = (custom and r.repeat_day_of_month) or (start.day,)
            rules.rrule(du.rrule(du.MONTHLY, interval=interval, bymonthday=monthdays, **common))
        else:
            rules.rrule(du.rrule(du.YEARLY, interval=interval, **common))
    for e in r.exclude_time_list:
        rules.exdate(datetime.fromtimestamp(e.start_time, tz))
    out = []
    if s.is_whole_day:
        span = (datetime.fromtimestamp(s.end_time, tz).date() - start.date()).days + 1
        for when in rules.between(lo - timedelta(days=span + 1), hi, inc=True):
            day = datetime.combine(when.date(), datetime.min.time(), tz)
            occurrence = Occurrence(day, day + timedelta(days=span))
            if occurrence.start < hi and occurrence.end > lo:
                out.append(occurrence)
        return out
    length = timedelta(seconds=s.end_time - s.start_time)
    for when in rules.between(lo - length - timedelta(days=1), hi, inc=True):
        occurrence = Occurrence(when, when + length)
        if when < hi and (occurrence.end > lo or (not length and when >= lo)):
            out.append(occurrence)
    return out


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    offset = draw(st.integers(-12, 12))
    tz = timezone(timedelta(hours=offset))
    whole_day = draw(st.booleans())
    first_day = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 6 * 365)))
    if whole_day:
        start = datetime.combine(first_day, datetime.min.time(), tz)
        end = start + timedelta(days=draw(st.integers(0, 3)))
    else:
        start = datetime.combine(first_day, datetime.min.time(), tz) + timedelta(
            minutes=draw(st.integers(0, 24 * 60 - 1))
        )
        end = start + timedelta(minutes=draw(st.sampled_from([0, 30, 60, 23 * 60, 50 * 60])))
    first = int(start.timestamp())
    kind = draw(st.sampled_from(list(RepeatType)))
    custom = draw(st.booleans())
    until = draw(st.one_of(st.just(0), st.integers(first - DAY, first + 4 * 365 * DAY)))
    if until and draw(st.booleans()):
        until = first + (until - first) // DAY * DAY  # on a start's clock: often an occurrence
    reminders = Reminders(
        is_repeat=True,
        repeat_type=kind,
        repeat_until=until,
        is_custom_repeat=custom,
        repeat_interval=draw(st.integers(1, 4)),
        repeat_day_of_week=tuple(draw(st.sets(st.integers(1, 7), max_size=3))),
        repeat_day_of_month=tuple(draw(st.sets(st.integers(1, 31), max_size=3))),
        timezone=offset,
    )
    s = Schedule("p", first, int(end.timestamp()), reminders=reminders, is_whole_day=whole_day)
    lo = start + timedelta(hours=draw(st.integers(-400 * 24, 400 * 24)))
    hi = lo + timedelta(days=3 * 365)
    # Exclude some real occurrences (and one time that is none).
    real = expected(s, lo, hi)
    picks = draw(st.lists(st.sampled_from(real), max_size=4)) if real else []
    raw_clock = timedelta(seconds=(first + offset * HOUR) % DAY)
    excluded = {
        int((datetime.combine(o.start.date(), datetime.min.time(), tz) + raw_clock).timestamp())
        for o in picks
    } | {first + 7}
    reminders = attrs.evolve(
        reminders, exclude_time_list=tuple(ExcludeTime(t) for t in sorted(excluded))
    )
    s = Schedule("p", first, int(end.timestamp()), reminders=reminders, is_whole_day=whole_day)
    return s, lo, hi


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_occurrences_match_dateutil_over_three_years(
    case: tuple[Schedule, datetime, datetime],
) -> None:
    s, lo, hi = case
    assert list(s.occurrences(lo, hi)) == expected(s, lo, hi)


def wire(s: Schedule) -> dict[str, Any]:
    """The schedule as the fake server stores it (wire form)."""
    r = s.reminders
    return {
        "start_time": s.start_time,
        "end_time": s.end_time,
        "is_whole_day": int(s.is_whole_day),
        "reminders": {
            "is_repeat": int(r.is_repeat),
            "repeat_type": int(r.repeat_type),
            "repeat_until": r.repeat_until,
            "is_custom_repeat": int(r.is_custom_repeat),
            "repeat_interval": r.repeat_interval,
            "repeat_day_of_week": list(r.repeat_day_of_week),
            "repeat_day_of_month": list(r.repeat_day_of_month),
            "timezone": r.timezone,
            "exclude_time_list": [{"start_time": e.start_time} for e in r.exclude_time_list],
        },
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules())
def test_the_fakes_op_start_time_check_agrees_with_occurrences(
    case: tuple[Schedule, datetime, datetime],
) -> None:
    """One engine: the fake's is_occurrence accepts exactly the starts occurrences() yields."""
    s, lo, hi = case
    tz = s.reminders.tzinfo
    clock = timedelta(seconds=(s.start_time + s.reminders.timezone * HOUR) % DAY)
    raw = [
        int((datetime.combine(o.start.date(), datetime.min.time(), tz) + clock).timestamp())
        for o in s.occurrences(lo, hi)
    ]
    record = wire(s)
    for start in raw[:50]:
        assert is_occurrence(record, start)
        assert not is_occurrence(record, start + 60)
    for e in s.reminders.exclude_time_list:
        assert not is_occurrence(record, e.start_time)

"""The one recurrence engine: the occurrences of a (recurring) schedule.

``Schedule.occurrences`` and the fake server (``op_start_time`` checks of update/del) both use
it. The rules follow the reminder fields of doc 93703: ``repeat_type`` 0 daily, 1 weekly,
2 monthly, 5 yearly, 7 workdays; with ``is_custom_repeat`` 1, ``repeat_interval`` (every N days,
weeks, months or years), ``repeat_day_of_week`` (weekly: 1 Monday … 7 Sunday) and
``repeat_day_of_month`` (monthly: 1…31) refine them. Dates are taken in the schedule's own
``timezone`` (a fixed offset, hours east of UTC), and every occurrence starts at the wall-clock
time of ``start_time`` and lasts ``end_time - start_time``.

Assumptions (the docs are silent; README "Recurring schedules and iCalendar" has the table):

* ``start_time`` itself is always the first occurrence, even when a custom rule would not
  produce it (a weekly schedule starting on a Monday that repeats on Wednesdays: that Monday,
  then Wednesdays only), as DTSTART is in RFC 5545.
* An occurrence counts while its start is ≤ ``repeat_until`` (0 = forever); the first one
  always counts.
* Without ``is_custom_repeat`` the interval is 1 and the days are those of ``start_time``.
* Workdays (7) are Monday to Friday; public holidays are not modelled, and the interval does
  not apply to them.
* A custom rule without days (empty ``repeat_day_of_week``/``repeat_day_of_month``) repeats on
  the weekday/day of month of ``start_time``.
* A month without the day (the 31st in a 30-day month, the 29th–31st in February) has no
  occurrence that month: nothing moves to the month's last day. A yearly schedule starting on
  29 February occurs in leap years only. (Both as BYMONTHDAY / FREQ=YEARLY in RFC 5545.)
* Weekly intervals count weeks from Monday to Sunday (WKST=MO).
* An occurrence whose start is in ``exclude_time_list`` is no longer an occurrence (this
  includes the first one).
* Whole-day schedules: an occurrence covers the dates from its date through the date of
  ``end_time`` shifted alike (in the schedule's timezone), from 00:00 to 00:00 after the last
  date; exclusions match the occurrence's start at ``start_time``'s wall-clock time (0:00 for
  WeCom's own whole-day schedules).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any, NamedTuple

__all__ = ["Rule", "is_occurrence", "occurrences", "rule_from_wire"]

DAILY, WEEKLY, MONTHLY, YEARLY, WORKDAYS = 0, 1, 2, 5, 7
_REPEAT_TYPES = frozenset({DAILY, WEEKLY, MONTHLY, YEARLY, WORKDAYS})
_DAY = 86400
_EPOCH = date(1970, 1, 1).toordinal()
_ONE_DAY = timedelta(days=1)


class Rule(NamedTuple):
    """Everything the engine needs of a schedule (Unix seconds, wire values)."""

    start_time: int
    end_time: int
    timezone: int
    is_repeat: bool
    repeat_type: int
    is_custom_repeat: bool
    repeat_interval: int
    repeat_day_of_week: tuple[int, ...]
    repeat_day_of_month: tuple[int, ...]
    repeat_until: int
    excluded: frozenset[int]
    is_whole_day: bool


def rule_from_wire(schedule: Mapping[str, Any]) -> Rule:
    """The rule of a schedule in wire form (the fake server's records)."""
    r = schedule["reminders"]
    return Rule(
        start_time=schedule["start_time"],
        end_time=schedule["end_time"],
        timezone=r["timezone"],
        is_repeat=r["is_repeat"] == 1,
        repeat_type=r["repeat_type"],
        is_custom_repeat=r["is_custom_repeat"] == 1,
        repeat_interval=r["repeat_interval"],
        repeat_day_of_week=tuple(r["repeat_day_of_week"]),
        repeat_day_of_month=tuple(r["repeat_day_of_month"]),
        repeat_until=r["repeat_until"],
        excluded=frozenset(e["start_time"] for e in r["exclude_time_list"]),
        is_whole_day=schedule.get("is_whole_day") == 1,
    )


def is_occurrence(schedule: Mapping[str, Any], when: int) -> bool:
    """Whether *when* (Unix seconds) is the start of an occurrence of *schedule* (wire form).

    A schedule that does not repeat has one occurrence, at ``start_time``.
    """
    rule = rule_from_wire(schedule)
    if when in rule.excluded:
        return False
    offset = rule.timezone * 3600
    day = date.fromordinal(_EPOCH + (when + offset) // _DAY)
    return any(start == when for start in _starts(rule, day, day))


def occurrences(rule: Rule, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    """Lazily, the (start, end) Unix seconds of the occurrences overlapping ``[lo, hi)``.

    An occurrence overlaps when it starts before *hi* and ends after *lo*; one that lasts no
    time at all overlaps when ``lo <= start < hi``. Ascending by start.
    """
    if rule.is_repeat and rule.repeat_type not in _REPEAT_TYPES:
        raise ValueError(f"unknown repeat_type {rule.repeat_type}")
    offset = rule.timezone * 3600
    if rule.is_whole_day:
        first = (rule.start_time + offset) // _DAY
        days = max((rule.end_time + offset) // _DAY - first, 0) + 1
        length = days * _DAY
    else:
        length = rule.end_time - rule.start_time
    # No occurrence starting before this date can reach lo (one day of margin).
    low_day = date.fromordinal(_EPOCH + (lo - length + offset) // _DAY - 1)
    last = hi - 1
    until = rule.repeat_until
    if until and until < last:
        last = until
    high_day = date.fromordinal(_EPOCH + (max(last, rule.start_time) + offset) // _DAY)
    excluded = rule.excluded
    for raw in _starts(rule, low_day, high_day):
        start = raw - (raw + offset) % _DAY if rule.is_whole_day else raw
        if start >= hi:
            return
        if raw in excluded:
            continue
        end = start + length
        if end > lo or (end == start and start >= lo):
            yield start, end


def _starts(rule: Rule, low: date, high: date) -> Iterator[int]:
    """The raw starts (wall clock of ``start_time``) on dates in [low, high], ascending.

    ``repeat_until`` applies (not to the first start); the exclusions do not.
    """
    offset = rule.timezone * 3600
    local = rule.start_time + offset
    clock = local % _DAY
    first = date.fromordinal(_EPOCH + local // _DAY)
    base = clock - offset - _EPOCH * _DAY
    if low <= first <= high:
        yield rule.start_time
    if not rule.is_repeat or high <= first:
        return
    low = max(low, first + _ONE_DAY)
    until = rule.repeat_until
    for day in _dates(rule, first, low, high):
        start = day.toordinal() * _DAY + base
        if until and start > until:
            return
        yield start


def _dates(rule: Rule, first: date, low: date, high: date) -> Iterator[date]:
    """The dates after *first* in [low, high] (low > first) on which the rule repeats."""
    custom = rule.is_custom_repeat
    interval = max(rule.repeat_interval, 1) if custom else 1
    kind = rule.repeat_type
    if kind == DAILY:
        # The first multiple of the interval on or after low.
        skip = -(-(low - first).days // interval) * interval
        day = first + timedelta(days=skip)
        step = timedelta(days=interval)
        while day <= high:
            yield day
            day += step
    elif kind == WORKDAYS:
        day = low
        while day <= high:
            if day.weekday() < 5:
                yield day
            day += _ONE_DAY
    elif kind == WEEKLY:
        weekdays = sorted(set((custom and rule.repeat_day_of_week) or (first.isoweekday(),)))
        monday0 = first - timedelta(days=first.weekday())
        weeks = (low - monday0).days // 7
        monday = monday0 + timedelta(weeks=weeks // interval * interval)
        step = timedelta(weeks=interval)
        while monday <= high:
            for weekday in weekdays:
                day = monday + timedelta(days=weekday - 1)
                if low <= day <= high:
                    yield day
            monday += step
    elif kind == MONTHLY:
        month_days = sorted(set((custom and rule.repeat_day_of_month) or (first.day,)))
        months = (low.year - first.year) * 12 + low.month - first.month
        index = first.year * 12 + first.month - 1 + months // interval * interval
        while date(index // 12, index % 12 + 1, 1) <= high:
            year, month = index // 12, index % 12 + 1
            for month_day in month_days:
                valid = _valid_date(year, month, month_day)
                if valid is not None and low <= valid <= high:
                    yield valid
            index += interval
    elif kind == YEARLY:
        year = first.year + (low.year - first.year) // interval * interval
        while year <= high.year:
            valid = _valid_date(year, first.month, first.day)
            if valid is not None and low <= valid <= high:
                yield valid
            year += interval


def _valid_date(year: int, month: int, day: int) -> date | None:
    """The date, or None when the month has no such day (31 April, 29 February 2027)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None

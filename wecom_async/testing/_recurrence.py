"""Occurrences of recurring schedules: is a time the start of one? (``op_start_time`` checks).

The rules follow the reminder fields of doc 93703: ``repeat_type`` 0 daily, 1 weekly, 2 monthly,
5 yearly, 7 workdays; with ``is_custom_repeat`` 1, ``repeat_interval`` (every N days, weeks,
months or years), ``repeat_day_of_week`` (weekly: 1 Monday … 7 Sunday) and
``repeat_day_of_month`` (monthly: 1…31) refine them. Dates are taken in the schedule's own
``timezone`` (hours east of UTC), and every occurrence starts at the wall-clock time of
``start_time``.

Assumptions (the docs are silent):

* ``start_time`` itself is always the first occurrence, even when a custom rule would not
  produce it (a weekly schedule starting on a Monday that repeats on Wednesdays).
* An occurrence counts while its start is ≤ ``repeat_until`` (0 = forever).
* Workdays (7) are Monday to Friday; public holidays are not modelled, and the interval does
  not apply to them.
* A custom rule without days (empty ``repeat_day_of_week``/``repeat_day_of_month``) repeats on
  the weekday/day of month of ``start_time``; a month without that day has no occurrence.
* An occurrence listed in ``exclude_time_list`` is no longer an occurrence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["is_occurrence"]

DAILY, WEEKLY, MONTHLY, YEARLY, WORKDAYS = 0, 1, 2, 5, 7


def is_occurrence(schedule: Mapping[str, Any], when: int) -> bool:
    """Whether *when* (Unix seconds) is the start of an occurrence of *schedule* (wire form).

    A schedule that does not repeat has one occurrence, at ``start_time``.
    """
    reminders = schedule["reminders"]
    start = schedule["start_time"]
    if any(e.get("start_time") == when for e in reminders["exclude_time_list"]):
        return False
    if when == start:
        return True
    if reminders["is_repeat"] != 1 or when < start:
        return False
    until = reminders["repeat_until"]
    if until and when > until:
        return False
    tz = timezone(timedelta(hours=reminders["timezone"]))
    first = datetime.fromtimestamp(start, tz)
    candidate = datetime.fromtimestamp(when, tz)
    if candidate.time() != first.time():
        return False
    return _date_matches(reminders, first.date(), candidate.date())


def _date_matches(reminders: Mapping[str, Any], first: date, day: date) -> bool:
    custom = reminders["is_custom_repeat"] == 1
    interval = max(reminders["repeat_interval"], 1) if custom else 1
    repeat_type = reminders["repeat_type"]
    if repeat_type == DAILY:
        return (day - first).days % interval == 0
    if repeat_type == WORKDAYS:
        return day.weekday() < 5
    if repeat_type == WEEKLY:
        weeks = (_monday(day) - _monday(first)).days // 7
        weekdays = (custom and reminders["repeat_day_of_week"]) or [first.isoweekday()]
        return weeks % interval == 0 and day.isoweekday() in weekdays
    if repeat_type == MONTHLY:
        months = (day.year - first.year) * 12 + day.month - first.month
        days = (custom and reminders["repeat_day_of_month"]) or [first.day]
        return months % interval == 0 and day.day in days
    if repeat_type == YEARLY:
        years = day.year - first.year
        return years % interval == 0 and (day.month, day.day) == (first.month, first.day)
    return False


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())

"""RFC 5545 recurrence rules of WeCom schedules: the one mapping ``to_rrule`` and ``to_ics`` use.

WeCom's repeat fields map onto RRULE parts one to one (the recurrence engine in
``wecom_async._recurrence`` follows the same rules; the property tests check the two agree):

* repeat_type 0 daily → ``FREQ=DAILY``; 1 weekly → ``FREQ=WEEKLY;BYDAY=…;WKST=MO`` (weeks start
  on Monday, so ``INTERVAL`` counts Monday-to-Sunday weeks); 2 monthly → ``FREQ=MONTHLY;
  BYMONTHDAY=…``; 5 yearly → ``FREQ=YEARLY``; 7 workdays → ``FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR``.
* ``repeat_interval``, ``repeat_day_of_week`` and ``repeat_day_of_month`` only count with
  ``is_custom_repeat`` (as WeCom does); without days a rule repeats on the start's weekday or day
  of month. The workdays rule takes no interval.
* ``repeat_until`` → ``UNTIL`` (inclusive, in UTC; a DATE for whole-day schedules).
* ``start_time`` is always the first occurrence: RFC 5545's DTSTART always counts as the first
  instance, even where the rule would not produce it.
* ``exclude_time_list`` → ``EXDATE``.

Timezones: the schedule's fixed offset becomes the IANA zone ``Etc/GMT-N`` (UTC+N; the sign is
inverted by POSIX convention), offset 0 becomes UTC.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .models.schedule import Schedule

__all__ = ["exdates", "local_date", "rrule_parts", "to_rrule", "zone"]

_DAILY, _WEEKLY, _MONTHLY, _YEARLY, _WORKDAYS = 0, 1, 2, 5, 7
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ = {_DAILY: "DAILY", _WEEKLY: "WEEKLY", _MONTHLY: "MONTHLY", _YEARLY: "YEARLY"}


def zone(offset_hours: int) -> timezone | ZoneInfo:
    """The tzinfo a schedule's times are exported in: UTC, or the fixed-offset IANA zone."""
    if offset_hours == 0:
        return timezone.utc
    return ZoneInfo(f"Etc/GMT{-offset_hours:+d}")


def local_date(seconds: int, offset_hours: int) -> date:
    """The date of Unix time *seconds* at the schedule's offset."""
    return datetime.fromtimestamp(seconds, timezone(timedelta(hours=offset_hours))).date()


def local(seconds: int, offset_hours: int) -> datetime:
    """Unix time *seconds* as an aware datetime in the export zone."""
    return datetime.fromtimestamp(seconds, zone(offset_hours))


def rrule_parts(schedule: Schedule) -> dict[str, Any] | None:
    """The RRULE of *schedule* as ordered parts (``icalendar.vRecur`` input), or None."""
    rem = schedule.reminders
    if not rem.is_repeat:
        return None
    offset = rem.timezone
    first = local(schedule.start_time, offset)
    repeat_type = int(rem.repeat_type)
    custom = rem.is_custom_repeat
    parts: dict[str, Any] = {}
    if repeat_type == _WORKDAYS:
        parts["FREQ"] = "WEEKLY"
    else:
        parts["FREQ"] = _FREQ[repeat_type]
    if rem.repeat_until:
        if schedule.is_whole_day:
            # The last date whose occurrence (at start_time's wall-clock time) starts ≤ until.
            parts["UNTIL"] = local_date(rem.repeat_until - _time_of_day(first), offset)
        else:
            parts["UNTIL"] = datetime.fromtimestamp(rem.repeat_until, timezone.utc)
    if custom and repeat_type != _WORKDAYS and rem.repeat_interval > 1:
        parts["INTERVAL"] = rem.repeat_interval
    if repeat_type == _WORKDAYS:
        parts["BYDAY"] = list(_WEEKDAYS[:5])
    elif repeat_type == _WEEKLY:
        days = (custom and sorted(set(rem.repeat_day_of_week))) or [first.isoweekday()]
        parts["BYDAY"] = [_WEEKDAYS[day - 1] for day in days]
    elif repeat_type == _MONTHLY:
        parts["BYMONTHDAY"] = (custom and sorted(set(rem.repeat_day_of_month))) or [first.day]
    if parts["FREQ"] == "WEEKLY":
        parts["WKST"] = "MO"
    return parts


def exdates(schedule: Schedule) -> list[datetime] | list[date]:
    """``exclude_time_list`` as EXDATE values (dates for whole-day schedules), in order."""
    rem = schedule.reminders
    starts = sorted({e.start_time for e in rem.exclude_time_list})
    if schedule.is_whole_day:
        # An exclusion matches an occurrence's start at start_time's wall-clock time only.
        clock = _time_of_day(local(schedule.start_time, rem.timezone))
        return [
            local_date(s, rem.timezone)
            for s in starts
            if _time_of_day(local(s, rem.timezone)) == clock
        ]
    return [local(s, rem.timezone) for s in starts]


def _time_of_day(moment: datetime) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _value(value: object) -> str:
    if isinstance(value, datetime):
        if value.utcoffset() == timedelta(0) and value.tzinfo is timezone.utc:
            return value.strftime("%Y%m%dT%H%M%SZ")
        return value.strftime("%Y%m%dT%H%M%S")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, list):
        return ",".join(_value(v) for v in value)
    return str(value)


def to_rrule(schedule: Schedule) -> str | None:
    """``RRULE:…`` and, with exclusions, an ``EXDATE…`` line (``\\n``-separated), or None."""
    parts = rrule_parts(schedule)
    if parts is None:
        return None
    lines = ["RRULE:" + ";".join(f"{key}={_value(value)}" for key, value in parts.items())]
    excluded = exdates(schedule)
    if excluded:
        offset = schedule.reminders.timezone
        if schedule.is_whole_day:
            params = ";VALUE=DATE"
        elif offset == 0:
            params = ""
        else:
            params = f";TZID={zone(offset)}"
        lines.append(f"EXDATE{params}:{_value(excluded)}")
    return "\n".join(lines)

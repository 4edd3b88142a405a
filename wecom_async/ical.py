"""Export schedules to iCalendar (RFC 5545): ``to_ics(schedules) -> bytes``.

Needs the ``ical`` extra (``pip install 'wecom-async[ical]'``, for ``icalendar``); the library
serialises, nothing is hand-written. One VEVENT per schedule:

* ``UID`` is ``schedule_id``; ``DTSTART``/``DTEND`` are in the schedule's fixed offset (the zone
  ``Etc/GMT-N`` with its VTIMEZONE, or UTC for offset 0); whole-day schedules get DATE values,
  ``DTEND`` the day after the last day (RFC 5545's end is exclusive).
* ``RRULE`` and ``EXDATE`` as :meth:`Schedule.to_rrule` gives them (``wecom_async/_rrule.py``).
* ``SUMMARY``/``DESCRIPTION``/``LOCATION`` when not empty; ``STATUS:CANCELLED`` for cancelled
  schedules; ``SEQUENCE`` when the answer had one.
* ``ATTENDEE;CN=userid;PARTSTAT=…:urn:x-wecom:userid:<userid>`` per attendee (WeCom gives user
  IDs, not e-mail addresses): response_status 0 → NEEDS-ACTION, 1 → TENTATIVE, 2 → ACCEPTED,
  3 (accepted this occurrence only) → ACCEPTED, 4 → DECLINED, an unknown value → NEEDS-ACTION.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

try:
    import icalendar
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from .errors import ExtraNotInstalledError

    raise ExtraNotInstalledError(
        "wecom_async.ical needs the 'ical' extra: pip install 'wecom-async[ical]'"
    ) from exc

from ._rrule import exdates, local, local_date, rrule_parts
from .models.schedule import ResponseStatus, Schedule

__all__ = ["PRODID", "to_ics"]

PRODID = "-//wecom_async//wecom-async//EN"

_PARTSTAT = {
    ResponseStatus.PENDING: "NEEDS-ACTION",
    ResponseStatus.TENTATIVE: "TENTATIVE",
    ResponseStatus.ACCEPTED: "ACCEPTED",
    ResponseStatus.ACCEPTED_ONCE: "ACCEPTED",
    ResponseStatus.DECLINED: "DECLINED",
}


def attendee_uri(userid: str) -> str:
    """The cal-address an attendee is exported with."""
    return "urn:x-wecom:userid:" + quote(userid, safe="")


def _event(schedule: Schedule, dtstamp: datetime) -> icalendar.Event:
    rem = schedule.reminders
    offset = rem.timezone
    event = icalendar.Event()
    event.add("uid", schedule.schedule_id)
    event.add("dtstamp", dtstamp)
    if schedule.is_whole_day:
        first = local_date(schedule.start_time, offset)
        last = max(local_date(schedule.end_time, offset), first)
        event.add("dtstart", first)
        event.add("dtend", last + timedelta(days=1))
    else:
        event.add("dtstart", local(schedule.start_time, offset))
        event.add("dtend", local(max(schedule.end_time, schedule.start_time), offset))
    parts = rrule_parts(schedule)
    if parts is not None:
        event.add("rrule", icalendar.vRecur(parts))
        excluded = exdates(schedule)
        if excluded:
            event.add("exdate", excluded)
    if schedule.summary:
        event.add("summary", schedule.summary)
    if schedule.description:
        event.add("description", schedule.description)
    if schedule.location:
        event.add("location", schedule.location)
    if schedule.is_cancelled:
        event.add("status", "CANCELLED")
    if schedule.sequence:
        event.add("sequence", schedule.sequence)
    for attendee in schedule.attendees:
        event.add(
            "attendee",
            attendee_uri(attendee.userid),
            parameters={
                "CN": attendee.userid,
                "PARTSTAT": _PARTSTAT.get(attendee.response_status, "NEEDS-ACTION"),
            },
        )
    return event


def to_ics(
    schedules: Iterable[Schedule],
    *,
    calendar_name: str | None = None,
    dtstamp: datetime | None = None,
) -> bytes:
    """One VCALENDAR (UTF-8 bytes, CRLF lines) with a VEVENT per schedule, in order.

    ``calendar_name`` sets ``NAME`` and ``X-WR-CALNAME``. ``dtstamp`` (default: now) is every
    event's ``DTSTAMP``; pass one for reproducible output.
    """
    stamp = (dtstamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if calendar_name is not None:
        calendar.add("name", calendar_name)
        calendar.add("x-wr-calname", calendar_name)
    for schedule in schedules:
        calendar.add_component(_event(schedule, stamp))
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data

"""Schedule (日程) models: what the schedule endpoints send and answer.

Field names and wire types follow the WeCom pages (doc 93703 add, doc 97720 update, doc 97724 get,
doc 97725 del, doc 97723 get_by_calendar, docs 97721/97722 attendees): times are Unix
seconds, 0/1 flags are bools, enumerations are IntEnums that tolerate values added later. The
classes are frozen attrs classes with slots and no attrs validators or converters, so the fast
decoder (msgspec) builds them straight from response bytes; requests are checked by the explicit
``validate`` functions below before anything is sent. The parts of a schedule/get answer
(:class:`Schedule`, :class:`Reminders`, :class:`ExcludeTime`, :class:`Attendee`), which bulk
fetches hold by the hundred thousand, are written as attrs classes and turned by
:func:`~wecom_async.models._common.untracked` into msgspec Structs the garbage collector never
tracks, with the same attrs API.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

import attrs

from .. import _recurrence
from ..errors import Problem, ValidationError
from ._common import (
    DEFAULT_TZ_OFFSET,
    WireIntEnum,
    from_unix,
    reject_str,
    tz_from_offset,
    untracked,
)
from ._dicts import WireDict
from ._validation import UINT32_MAX, Checker, describe, fmt_set, is_int

__all__ = [
    "AddScheduleRequest",
    "AddScheduleResponse",
    "Attendee",
    "DeleteScheduleRequest",
    "ExcludeTime",
    "GetSchedulesByCalendarRequest",
    "GetSchedulesByCalendarResponse",
    "GetSchedulesRequest",
    "GetSchedulesResponse",
    "OKResponse",
    "Occurrence",
    "OpMode",
    "Reminders",
    "RepeatType",
    "ResponseStatus",
    "Schedule",
    "ScheduleAttendeesRequest",
    "ScheduleInput",
    "ScheduleStatus",
    "UpdateScheduleRequest",
    "UpdateScheduleResponse",
]

# --- documented limits (doc 93703) ---------------------------------------------------------
MAX_ADMINS = 3
MAX_ATTENDEES = 1000
MAX_USERID_BYTES = 64
MAX_SUMMARY_CHARS = 128
MAX_DESCRIPTION_CHARS = 1000
MAX_LOCATION_CHARS = 128
MAX_CAL_ID_BYTES = 64
MAX_IDS_PER_GET = 1000
#: get_by_calendar page size (doc 97723): 1…1000; WeCom's default (500) is never relied on.
MAX_PAGE_SIZE = 1000
REMIND_BEFORE_EVENT_SECS = frozenset({0, 300, 900, 3600, 86400})
REMIND_TIME_DIFFS = frozenset({0, -300, -900, -3600, -86400})
#: Only allowed when ``is_whole_day`` is set: 09:00 that day, two days and one week before.
REMIND_TIME_DIFFS_WHOLE_DAY = REMIND_TIME_DIFFS | {32400, -172800, -604800}


class RepeatType(WireIntEnum):
    """``reminders.repeat_type``: how a recurring schedule repeats."""

    DAILY = 0
    WEEKLY = 1
    MONTHLY = 2
    YEARLY = 5
    WORKDAYS = 7


_REPEAT_TYPES = frozenset(RepeatType)
_OP_MODES = frozenset({0, 1, 2})
_USERID = operator.attrgetter("userid")
_DAYS_OF_WEEK = frozenset(range(1, 8))
_DAYS_OF_MONTH = frozenset(range(1, 32))


class ResponseStatus(WireIntEnum):
    """``attendees[].response_status``: an attendee's answer to the invitation."""

    PENDING = 0  # 未处理
    TENTATIVE = 1  # 待定
    ACCEPTED = 2  # 全部接受
    ACCEPTED_ONCE = 3  # 仅接受一次
    DECLINED = 4  # 拒绝


class ScheduleStatus(WireIntEnum):
    """``status``: cancelled schedules are still returned by schedule/get, with status 1."""

    NORMAL = 0
    CANCELLED = 1


class OpMode(WireIntEnum):
    """``op_mode`` of update and del: which occurrences of a recurring schedule to touch.

    ``THIS`` and ``THIS_AND_FOLLOWING`` need ``op_start_time``, the start of one occurrence
    (doc 96204). An update in those modes splits the series: ``THIS`` carves the occurrence out
    into a new one-off schedule (and excludes it from the series); ``THIS_AND_FOLLOWING`` ends the
    series before the occurrence and starts a new series there (at the first occurrence it is
    the same as ``ALL``). A delete in those modes excludes the occurrence, or ends the series.
    """

    ALL = 0  # 全部
    THIS = 1  # 仅此日程
    THIS_AND_FOLLOWING = 2  # 此日程及将来的所有日程


@untracked
@attrs.frozen(slots=True)
class Attendee(WireDict):
    """A schedule attendee. Requests send ``userid`` only; responses add ``response_status``.

    Not tracked by the garbage collector (see :func:`~wecom_async.models._common.untracked`): a
    schedule/get answer of 1000 schedules with 5–50 attendees holds ~27,000 of them; as tracked
    objects they made the collector's passes cost as much as decoding itself.
    """

    userid: str
    response_status: ResponseStatus = ResponseStatus.PENDING


@untracked
@attrs.frozen(slots=True)
class ExcludeTime(WireDict):
    """An occurrence removed from a recurring schedule (``reminders.exclude_time_list[]``)."""

    start_time: int

    @property
    def start(self) -> datetime:
        """The excluded occurrence's start as an aware UTC datetime."""
        return datetime.fromtimestamp(self.start_time, dt.timezone.utc)


@untracked
@attrs.frozen(slots=True)
class Reminders(WireDict):
    """Reminder and recurrence settings (``schedule.reminders``).

    The defaults are WeCom's own defaults, so a request leaves out every field still at its
    default (the server reads an absent field the same way) and a response missing a field reads
    as the default. ``remind_time_diffs``, when not empty, takes precedence over the older
    ``remind_before_event_secs``.
    """

    is_remind: bool = False
    remind_before_event_secs: int = 0
    remind_time_diffs: tuple[int, ...] = ()
    is_repeat: bool = False
    repeat_type: RepeatType = RepeatType.DAILY
    repeat_until: int = 0
    is_custom_repeat: bool = False
    repeat_interval: int = 0
    repeat_day_of_week: tuple[int, ...] = ()
    repeat_day_of_month: tuple[int, ...] = ()
    timezone: int = DEFAULT_TZ_OFFSET
    exclude_time_list: tuple[ExcludeTime, ...] = ()

    @property
    def tzinfo(self) -> dt.timezone:
        """The schedule's timezone as a fixed UTC offset."""
        return tz_from_offset(self.timezone)

    @property
    def repeat_until_dt(self) -> datetime | None:
        """``repeat_until`` as an aware datetime, or None when the schedule repeats forever."""
        return from_unix(self.repeat_until, self.timezone) if self.repeat_until else None

    def validate(self, check: Checker, path: str, *, is_whole_day: bool) -> None:
        """Append every broken documented limit (and every wrong type) to ``check``."""
        # As in ScheduleInput.validate: a rule's field path is only built when it may fail.
        for name in ("is_remind", "is_repeat", "is_custom_repeat"):
            if type(getattr(self, name)) is not bool:
                check.flag(f"{path}.{name}", getattr(self, name))
        secs = self.remind_before_event_secs
        if (type(secs) is not int or secs not in REMIND_BEFORE_EVENT_SECS) and check.is_int(
            f"{path}.remind_before_event_secs", secs
        ):
            check.one_of(f"{path}.remind_before_event_secs", secs, REMIND_BEFORE_EVENT_SECS)
        allowed = REMIND_TIME_DIFFS_WHOLE_DAY if is_whole_day else REMIND_TIME_DIFFS
        diffs = self.remind_time_diffs
        if type(diffs) is tuple or check.int_list(f"{path}.remind_time_diffs", diffs):
            for index, diff in enumerate(diffs):
                if type(diff) is not int or diff not in allowed:
                    if not check.is_int(f"{path}.remind_time_diffs[{index}]", diff):
                        continue
                    if diff in allowed:
                        continue
                    hint = (
                        " (only with is_whole_day)" if diff in REMIND_TIME_DIFFS_WHOLE_DAY else ""
                    )
                    check.add(
                        f"{path}.remind_time_diffs[{index}]",
                        f"must be one of {fmt_set(allowed)}, got {diff}{hint}",
                    )
        repeat_type = self.repeat_type
        if (
            type(repeat_type) is not RepeatType or repeat_type not in _REPEAT_TYPES
        ) and check.is_int(f"{path}.repeat_type", repeat_type):
            check.one_of(f"{path}.repeat_type", repeat_type, _REPEAT_TYPES)
        until, interval = self.repeat_until, self.repeat_interval
        if not (type(until) is int and 0 <= until <= UINT32_MAX):
            check.uint32(f"{path}.repeat_until", until, required=True)
        if not (type(interval) is int and 0 <= interval <= UINT32_MAX):
            check.uint32(f"{path}.repeat_interval", interval, required=True)
        if self.is_custom_repeat and is_int(interval) and interval < 1:
            check.add(f"{path}.repeat_interval", "custom repeats need repeat_interval ≥ 1")
        for name, days, low, high in (
            ("repeat_day_of_week", self.repeat_day_of_week, 1, 7),
            ("repeat_day_of_month", self.repeat_day_of_month, 1, 31),
        ):
            if days == () or (
                type(days) is tuple
                and all(type(day) is int for day in days)
                and (_DAYS_OF_WEEK if high == 7 else _DAYS_OF_MONTH).issuperset(days)
            ):
                continue
            if check.int_list(f"{path}.{name}", days):
                check.each_in_range(f"{path}.{name}", days, low, high)
        tz = self.timezone
        if not (type(tz) is int and -12 <= tz <= 12) and check.is_int(f"{path}.timezone", tz):
            check.int_range(f"{path}.timezone", tz, -12, 12)


class Occurrence(NamedTuple):
    """One occurrence of a schedule: aware datetimes in the schedule's timezone, end exclusive.

    Whole-day occurrences run from 00:00 of their first date to 00:00 after their last one.
    """

    start: datetime
    end: datetime


@untracked
@attrs.frozen(slots=True)
class Schedule(WireDict):
    """A schedule as schedule/get answers it (doc 97724).

    Unknown fields in the answer are ignored; missing optional ones take their defaults.
    ``start``/``end`` give aware datetimes in the schedule's own timezone (UTC+8 by default).
    """

    schedule_id: str
    start_time: int
    end_time: int
    admins: tuple[str, ...] = ()
    attendees: tuple[Attendee, ...] = ()
    summary: str = ""
    description: str = ""
    reminders: Reminders = Reminders()
    location: str = ""
    cal_id: str = ""
    status: ScheduleStatus = ScheduleStatus.NORMAL
    is_whole_day: bool = False
    #: Present in get_by_calendar answers only; 0 elsewhere.
    sequence: int = 0

    @property
    def start(self) -> datetime:
        """``start_time`` as an aware datetime in the schedule's timezone."""
        return from_unix(self.start_time, self.reminders.timezone)

    @property
    def end(self) -> datetime:
        """``end_time`` as an aware datetime in the schedule's timezone."""
        return from_unix(self.end_time, self.reminders.timezone)

    @property
    def is_cancelled(self) -> bool:
        """True for a cancelled schedule (schedule/get returns those too)."""
        return self.status == ScheduleStatus.CANCELLED

    @property
    def attendee_ids(self) -> tuple[str, ...]:
        """The attendees' user IDs, in order."""
        return tuple(a.userid for a in self.attendees)

    def occurrences(self, start: datetime | int, end: datetime | int) -> Iterator[Occurrence]:
        """Lazily, the occurrences overlapping ``[start, end)``, ascending.

        *start* and *end* are aware datetimes or Unix seconds. An occurrence overlaps when it
        starts before *end* and ends after *start* (one that lasts no time: when it starts in
        the window). A schedule that does not repeat has one occurrence. The rules, and what
        we decided where the docs are silent, are in README "Recurring schedules and iCalendar"
        (and ``wecom_async/_recurrence.py``). Raises :class:`~wecom_async.ValidationError` for
        a naive datetime or a ``repeat_type`` this version does not know.
        """
        problems: list[Problem] = []
        bounds: list[int] = []
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, datetime):
                if value.tzinfo is None or value.utcoffset() is None:
                    problems.append(Problem(name, "must be a timezone-aware datetime"))
                    continue
                value = int(value.timestamp())
            bounds.append(value)
        r = self.reminders
        if r.is_repeat and r.repeat_type not in _REPEAT_TYPES:
            problems.append(
                Problem("reminders.repeat_type", f"unknown repeat_type {int(r.repeat_type)}")
            )
        if problems:
            raise ValidationError(problems, model="occurrences")
        rule = _recurrence.Rule(
            start_time=self.start_time,
            end_time=self.end_time,
            timezone=r.timezone,
            is_repeat=r.is_repeat,
            repeat_type=r.repeat_type,
            is_custom_repeat=r.is_custom_repeat,
            repeat_interval=r.repeat_interval,
            repeat_day_of_week=r.repeat_day_of_week,
            repeat_day_of_month=r.repeat_day_of_month,
            repeat_until=r.repeat_until,
            excluded=frozenset(e.start_time for e in r.exclude_time_list),
            is_whole_day=self.is_whole_day,
        )
        return _as_occurrences(_recurrence.occurrences(rule, bounds[0], bounds[1]), r.tzinfo)

    def to_rrule(self) -> str | None:
        """The RFC 5545 ``RRULE:…`` line (and an ``EXDATE…`` line for the exclusions).

        None for a schedule that does not repeat. The lines are ``\\n``-separated; the EXDATE
        times are in the schedule's zone (``TZID=Etc/GMT-8`` for UTC+8, UTC for offset 0, dates
        for whole-day schedules), the UNTIL in UTC. ``wecom_async/_rrule.py`` has the mapping.
        """
        from .._rrule import to_rrule

        return to_rrule(self)


def _as_occurrences(spans: Iterator[tuple[int, int]], tz: dt.timezone) -> Iterator[Occurrence]:
    fromtimestamp = datetime.fromtimestamp
    for start, end in spans:
        yield Occurrence(fromtimestamp(start, tz), fromtimestamp(end, tz))


@attrs.frozen(slots=True)
class ScheduleInput(WireDict):
    """The writable fields of a schedule, as schedule/add and schedule/update send them.

    ``None`` means "not set": the field is left out of the request. Build it through
    ``client.schedules.add(...)`` or ``update(...)``, which also accept datetimes and plain
    user-ID strings. ``schedule_id`` is for update only (it names the schedule); ``cal_id`` is
    for add only (a schedule cannot move to another calendar).
    """

    start_time: int
    end_time: int
    admins: tuple[str, ...] | None = None
    attendees: tuple[Attendee, ...] | None = None
    summary: str | None = None
    description: str | None = None
    reminders: Reminders | None = None
    location: str | None = None
    cal_id: str | None = None
    is_whole_day: bool | None = None
    schedule_id: str | None = None

    def validate(
        self, check: Checker, path: str = "schedule", *, skip_attendees: bool = False
    ) -> None:
        """Append every broken documented limit to ``check``.

        With ``skip_attendees`` (an update keeping the stored attendees) the admins cannot be
        checked against the attendees here: WeCom checks them against the attendees it keeps.
        """
        # Each rule is skipped when its value is certainly fine (no field path is built then);
        # otherwise the Checker decides and words the problem. The order of problems is kept.
        # Wrong types are problems too (``type(x) is str`` etc. keep the quick tests exact).
        start, end = self.start_time, self.end_time
        if not (type(start) is int and 0 <= start <= UINT32_MAX):
            check.uint32(f"{path}.start_time", start, required=True)
        if not (type(end) is int and 0 <= end <= UINT32_MAX):
            check.uint32(f"{path}.end_time", end, required=True)
        if ((type(start) is int and type(end) is int) or (is_int(start) and is_int(end))) and (
            end < start
        ):
            times = {f"{path}.start_time", f"{path}.end_time"}
            if not any(p.path in times for p in check.problems):
                check.add(f"{path}.end_time", "must not be before start_time")
        is_whole_day = self.is_whole_day
        if is_whole_day is not None and type(is_whole_day) is not bool:
            check.flag(f"{path}.is_whole_day", is_whole_day)
        attendee_ids: set[object] = set()
        attendees = self.attendees
        if attendees is not None:
            if len(attendees) > MAX_ATTENDEES:
                check.max_items(f"{path}.attendees", attendees, MAX_ATTENDEES)
            userids = list(map(_USERID, attendees))
            if not _plain_userids(userids):
                for index, userid in enumerate(userids):
                    _check_userid(check, f"{path}.attendees[{index}].userid", userid)
                userids = [u for u in userids if type(u) is str]
            attendee_ids = set(userids)
        admins = self.admins
        if admins is not None:
            if len(admins) > MAX_ADMINS:
                check.max_items(f"{path}.admins", admins, MAX_ADMINS)
            plain = _plain_userids(admins)
            for index, admin in enumerate(admins):
                if not plain:
                    _check_userid(check, f"{path}.admins[{index}]", admin)
                    if type(admin) is not str:
                        continue
                if not skip_attendees and admin not in attendee_ids:
                    check.add(f"{path}.admins[{index}]", f"admin {admin!r} must be an attendee")
        summary, description, location = self.summary, self.description, self.location
        if summary is not None and not (type(summary) is str and len(summary) <= MAX_SUMMARY_CHARS):
            check.text(f"{path}.summary", summary, MAX_SUMMARY_CHARS)
        if description is not None and not (
            type(description) is str and len(description) <= MAX_DESCRIPTION_CHARS
        ):
            check.text(f"{path}.description", description, MAX_DESCRIPTION_CHARS)
        if location is not None and not (
            type(location) is str and len(location) <= MAX_LOCATION_CHARS
        ):
            check.text(f"{path}.location", location, MAX_LOCATION_CHARS)
        cal_id = self.cal_id
        if cal_id is not None and not (
            type(cal_id) is str and cal_id and _fits(cal_id, MAX_CAL_ID_BYTES)
        ):
            check.id(f"{path}.cal_id", cal_id, MAX_CAL_ID_BYTES)
        reminders = self.reminders
        if reminders is not None:
            if isinstance(reminders, Reminders):
                reminders.validate(check, f"{path}.reminders", is_whole_day=bool(is_whole_day))
            else:
                check.add(f"{path}.reminders", f"must be a Reminders, got {describe(reminders)}")


def _check_userid(check: Checker, path: str, userid: object) -> None:
    check.id(path, userid, MAX_USERID_BYTES)


# Quick sufficient conditions: True means the rule has nothing to say about the value, so the
# (slower) Checker call and its field path can be skipped. False means "ask the Checker".


def _fits(text: str, max_bytes: int) -> bool:
    """Whether *text* is certainly at most *max_bytes* long in UTF-8 (without encoding it)."""
    return len(text) <= max_bytes >> 2 or (text.isascii() and len(text) <= max_bytes)


def _all_str(values: Sequence[object]) -> bool:
    """Whether every value is a string (a join, in C, without a Python step per value)."""
    try:
        "".join(values)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def _plain_userids(userids: Sequence[object]) -> bool:
    """Whether every user ID is certainly fine: a non-empty string of at most 64 bytes in UTF-8.

    Without a Python-level step per ID (a schedule may have 1000 attendees).
    """
    if not userids:
        return True
    try:
        joined = "".join(userids)  # type: ignore[arg-type]  # TypeError if one is no string
    except TypeError:
        return False
    if "" in userids:
        return False
    longest = max(map(len, userids))  # type: ignore[arg-type]
    return longest <= MAX_USERID_BYTES >> 2 or (longest <= MAX_USERID_BYTES and joined.isascii())


# --- request and response envelopes --------------------------------------------------------


@attrs.frozen(slots=True)
class AddScheduleRequest(WireDict):
    """Body of schedule/add. ``agentid`` is only for old third-party multi-app suites."""

    schedule: ScheduleInput
    agentid: int | None = None

    def validate(self, check: Checker | None = None) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit.

        ``check`` may already hold problems found while building the request.
        """
        check = Checker() if check is None else check
        self.schedule.validate(check)
        if self.schedule.schedule_id is not None:
            check.add("schedule.schedule_id", "chosen by WeCom: leave it out of an add")
        if self.agentid is not None:
            check.uint32("agentid", self.agentid)
        if check.problems:
            check.raise_if_any("schedule/add request")


@attrs.frozen(slots=True)
class AddScheduleResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    schedule_id: str = ""


@attrs.frozen(slots=True)
class GetSchedulesRequest(WireDict):
    """Body of schedule/get: at most 1000 IDs per call."""

    schedule_id_list: tuple[str, ...]

    def validate(self) -> None:
        check = Checker()
        ids = self.schedule_id_list
        if not ids:
            check.add("schedule_id_list", "must not be empty")
        check.max_items("schedule_id_list", ids, MAX_IDS_PER_GET)
        # Only then build the paths (1000 IDs a call): an empty ID, or one that is no string
        # (the join, in C, fails on bytes, ints, None...).
        if "" in ids or not _all_str(ids):
            for index, schedule_id in enumerate(ids):
                check.id(f"schedule_id_list[{index}]", schedule_id)
        check.raise_if_any("schedule/get request")


@attrs.frozen(slots=True)
class GetSchedulesResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    schedule_list: tuple[Schedule, ...] = ()


@attrs.frozen(slots=True)
class OKResponse(WireDict):
    """An answer with nothing besides errcode/errmsg (schedule/del, the attendee calls…)."""

    errcode: int = 0
    errmsg: str = ""


def _check_op(check: Checker, op_mode: OpMode | None, op_start_time: int | None) -> None:
    """The rules of ``op_mode``/``op_start_time`` shared by update and del (doc 96204).

    ``op_start_time`` "only takes effect in modes 1 and 2" (doc 97720): the client methods
    leave it out of a request in mode ALL (after checking its type), so it is not an error here.
    """
    if op_mode is not None and not (type(op_mode) is OpMode and op_mode in _OP_MODES):
        check.one_of("op_mode", op_mode, _OP_MODES)
    if op_mode in (OpMode.THIS, OpMode.THIS_AND_FOLLOWING) and op_start_time is None:
        check.add("op_start_time", f"required with op_mode {OpMode(op_mode).name}")
    check.uint32("op_start_time", op_start_time)


def _day_start(seconds: int, tz_offset_hours: int) -> int:
    """Unix seconds of 00:00 of the day holding *seconds*, in the given UTC offset."""
    return seconds - (seconds + tz_offset_hours * 3600) % 86400


@attrs.frozen(slots=True)
class UpdateScheduleRequest(WireDict):
    """Body of schedule/update: overwrites the schedule (fields left out are cleared).

    ``skip_attendees`` keeps the stored attendees (and their answers); ``attendees`` must then be
    left out. ``op_mode``/``op_start_time`` choose the occurrences of a recurring schedule.
    """

    schedule: ScheduleInput
    skip_attendees: bool | None = None
    op_mode: OpMode | None = None
    op_start_time: int | None = None

    def validate(self, check: Checker | None = None) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit."""
        check = Checker() if check is None else check
        schedule = self.schedule
        skip = self.skip_attendees
        if skip is not None and type(skip) is not bool:
            check.flag("skip_attendees", skip)
        skip = bool(skip)
        if schedule.schedule_id is None:
            check.add("schedule.schedule_id", "required")
        else:
            check.id("schedule.schedule_id", schedule.schedule_id)
        schedule.validate(check, skip_attendees=skip)
        if schedule.cal_id is not None:
            check.add("schedule.cal_id", "cannot change: a schedule stays in its calendar")
        if skip and schedule.attendees is not None:
            check.add("schedule.attendees", "must be left out with skip_attendees")
        _check_op(check, self.op_mode, self.op_start_time)
        reminders = schedule.reminders
        if not isinstance(reminders, Reminders):
            reminders = None
        if self.op_mode == OpMode.THIS and reminders is not None and reminders.is_repeat:
            check.add(
                "schedule.reminders.is_repeat",
                "op_mode THIS makes the occurrence a one-off schedule: it cannot repeat",
            )
        occurrence, start = self.op_start_time, schedule.start_time
        if (
            self.op_mode in (OpMode.THIS, OpMode.THIS_AND_FOLLOWING)
            and is_int(occurrence)
            and is_int(start)
        ):
            # Errcode 90488 "start_time需要在op_start_time之后" (doc 90313). Read, as the
            # recurring-schedule page (doc 96204) shows moving an occurrence within its day,
            # as: not before 00:00 of op_start_time's day, in the schedule's timezone.
            tz = reminders.timezone if reminders is not None else DEFAULT_TZ_OFFSET
            if is_int(tz) and start < _day_start(occurrence, tz):  # type: ignore[arg-type]
                check.add(
                    "schedule.start_time",
                    f"with op_mode {OpMode(self.op_mode).name} it must not be before the day "
                    "of op_start_time (WeCom answers 90488)",
                )
        check.raise_if_any("schedule/update request")


@attrs.frozen(slots=True)
class UpdateScheduleResponse(WireDict):
    """``schedule_id`` is the new schedule split off by op_mode THIS/THIS_AND_FOLLOWING."""

    errcode: int = 0
    errmsg: str = ""
    schedule_id: str = ""


@attrs.frozen(slots=True)
class DeleteScheduleRequest(WireDict):
    """Body of schedule/del (cancels the schedule, or some occurrences of a recurring one)."""

    schedule_id: str
    op_mode: OpMode | None = None
    op_start_time: int | None = None

    def validate(self, check: Checker | None = None) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit."""
        check = Checker() if check is None else check
        check.id("schedule_id", self.schedule_id)
        _check_op(check, self.op_mode, self.op_start_time)
        check.raise_if_any("schedule/del request")


@attrs.frozen(slots=True)
class ScheduleAttendeesRequest(WireDict):
    """Body of schedule/add_attendees and schedule/del_attendees: 1 to 1000 users."""

    schedule_id: str
    attendees: tuple[Attendee, ...]

    def validate(self, model: str = "schedule attendees request") -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit.

        An empty list is allowed: docs 97721/97722 mark ``attendees`` optional (否).
        """
        check = Checker()
        check.id("schedule_id", self.schedule_id)
        check.max_items("attendees", self.attendees, MAX_ATTENDEES)
        for index, attendee in enumerate(self.attendees):
            _check_userid(check, f"attendees[{index}].userid", attendee.userid)
        check.raise_if_any(model)


@attrs.frozen(slots=True)
class GetSchedulesByCalendarRequest(WireDict):
    """Body of schedule/get_by_calendar. Both paging fields are always sent (no defaults)."""

    cal_id: str
    offset: int
    limit: int

    def validate(self) -> None:
        check = Checker()
        check.id("cal_id", self.cal_id, MAX_CAL_ID_BYTES)
        check.uint32("offset", self.offset, required=True)
        if self.limit is None:
            check.add("limit", "required")
        check.int_range("limit", self.limit, 1, MAX_PAGE_SIZE)
        check.raise_if_any("schedule/get_by_calendar request")


@attrs.frozen(slots=True)
class GetSchedulesByCalendarResponse(WireDict):
    errcode: int = 0
    errmsg: str = ""
    schedule_list: tuple[Schedule, ...] = ()


def normalize_attendees(values: Iterable[str | Attendee]) -> tuple[Attendee, ...]:
    """User-ID strings or :class:`Attendee` objects → a tuple of :class:`Attendee`."""
    reject_str("attendees", values)
    # ``type(v) is str`` first: isinstance against a Struct class costs more than the Attendee.
    return tuple(
        [
            Attendee(v) if type(v) is str else v if isinstance(v, Attendee) else Attendee(v)
            for v in values
        ]
    )

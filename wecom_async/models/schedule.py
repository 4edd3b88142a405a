"""Schedule (日程) models: what schedule/add sends and what schedule/get answers.

Field names and wire types follow the WeCom pages (doc 93703 add, doc 97724 get): times are Unix
seconds, 0/1 flags are bools, enumerations are IntEnums that tolerate values added later. The
classes are frozen attrs classes with slots and no attrs validators or converters, so the fast
decoder (msgspec) builds them straight from response bytes; requests are checked by the explicit
``validate`` functions below before anything is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import datetime

import attrs

from ._common import DEFAULT_TZ_OFFSET, WireIntEnum, from_unix, tz_from_offset
from ._validation import Checker, fmt_set

__all__ = [
    "AddScheduleRequest",
    "AddScheduleResponse",
    "Attendee",
    "ExcludeTime",
    "GetSchedulesRequest",
    "GetSchedulesResponse",
    "Reminders",
    "RepeatType",
    "ResponseStatus",
    "Schedule",
    "ScheduleInput",
    "ScheduleStatus",
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


@attrs.frozen(slots=True)
class Attendee:
    """A schedule attendee. Requests send ``userid`` only; responses add ``response_status``."""

    userid: str
    response_status: ResponseStatus = ResponseStatus.PENDING


@attrs.frozen(slots=True)
class ExcludeTime:
    """An occurrence removed from a recurring schedule (``reminders.exclude_time_list[]``)."""

    start_time: int

    @property
    def start(self) -> datetime:
        """The excluded occurrence's start as an aware UTC datetime."""
        return datetime.fromtimestamp(self.start_time, dt.timezone.utc)


@attrs.frozen(slots=True)
class Reminders:
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
        """Append every broken documented limit to ``check``."""
        check.one_of(
            f"{path}.remind_before_event_secs",
            self.remind_before_event_secs,
            REMIND_BEFORE_EVENT_SECS,
        )
        allowed = REMIND_TIME_DIFFS_WHOLE_DAY if is_whole_day else REMIND_TIME_DIFFS
        for index, diff in enumerate(self.remind_time_diffs):
            if diff not in allowed:
                hint = " (only with is_whole_day)" if diff in REMIND_TIME_DIFFS_WHOLE_DAY else ""
                check.add(
                    f"{path}.remind_time_diffs[{index}]",
                    f"must be one of {fmt_set(allowed)}, got {diff}{hint}",
                )
        check.one_of(f"{path}.repeat_type", int(self.repeat_type), set(RepeatType))
        check.uint32(f"{path}.repeat_until", self.repeat_until)
        check.uint32(f"{path}.repeat_interval", self.repeat_interval)
        if self.is_custom_repeat and self.repeat_interval < 1:
            check.add(f"{path}.repeat_interval", "custom repeats need repeat_interval ≥ 1")
        check.each_in_range(f"{path}.repeat_day_of_week", self.repeat_day_of_week, 1, 7)
        check.each_in_range(f"{path}.repeat_day_of_month", self.repeat_day_of_month, 1, 31)
        check.int_range(f"{path}.timezone", self.timezone, -12, 12)


@attrs.frozen(slots=True)
class Schedule:
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


@attrs.frozen(slots=True)
class ScheduleInput:
    """The writable fields of a schedule, as schedule/add sends them.

    ``None`` means "not set": the field is left out of the request. Build it through
    ``client.schedules.add(...)``, which also accepts datetimes and plain user-ID strings.
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

    def validate(self, check: Checker, path: str = "schedule") -> None:
        """Append every broken documented limit to ``check``."""
        check.uint32(f"{path}.start_time", self.start_time)
        check.uint32(f"{path}.end_time", self.end_time)
        times = {f"{path}.start_time", f"{path}.end_time"}
        if self.end_time < self.start_time and not any(p.path in times for p in check.problems):
            check.add(f"{path}.end_time", "must not be before start_time")
        attendee_ids: set[str] = set()
        if self.attendees is not None:
            check.max_items(f"{path}.attendees", self.attendees, MAX_ATTENDEES)
            for index, attendee in enumerate(self.attendees):
                _check_userid(check, f"{path}.attendees[{index}].userid", attendee.userid)
                attendee_ids.add(attendee.userid)
        if self.admins is not None:
            check.max_items(f"{path}.admins", self.admins, MAX_ADMINS)
            for index, admin in enumerate(self.admins):
                _check_userid(check, f"{path}.admins[{index}]", admin)
                if admin not in attendee_ids:
                    check.add(f"{path}.admins[{index}]", f"admin {admin!r} must be an attendee")
        check.max_chars(f"{path}.summary", self.summary, MAX_SUMMARY_CHARS)
        check.max_chars(f"{path}.description", self.description, MAX_DESCRIPTION_CHARS)
        check.max_chars(f"{path}.location", self.location, MAX_LOCATION_CHARS)
        check.not_empty(f"{path}.cal_id", self.cal_id)
        check.max_bytes(f"{path}.cal_id", self.cal_id, MAX_CAL_ID_BYTES)
        if self.reminders is not None:
            self.reminders.validate(
                check, f"{path}.reminders", is_whole_day=bool(self.is_whole_day)
            )


def _check_userid(check: Checker, path: str, userid: str) -> None:
    check.not_empty(path, userid)
    check.max_bytes(path, userid, MAX_USERID_BYTES)


# --- request and response envelopes --------------------------------------------------------


@attrs.frozen(slots=True)
class AddScheduleRequest:
    """Body of schedule/add. ``agentid`` is only for old third-party multi-app suites."""

    schedule: ScheduleInput
    agentid: int | None = None

    def validate(self, check: Checker | None = None) -> None:
        """Raise :class:`~wecom_async.ValidationError` listing every broken limit.

        ``check`` may already hold problems found while building the request.
        """
        check = Checker() if check is None else check
        self.schedule.validate(check)
        check.uint32("agentid", self.agentid)
        check.raise_if_any("schedule/add request")


@attrs.frozen(slots=True)
class AddScheduleResponse:
    errcode: int = 0
    errmsg: str = ""
    schedule_id: str = ""


@attrs.frozen(slots=True)
class GetSchedulesRequest:
    """Body of schedule/get: at most 1000 IDs per call."""

    schedule_id_list: tuple[str, ...]

    def validate(self) -> None:
        check = Checker()
        if not self.schedule_id_list:
            check.add("schedule_id_list", "must not be empty")
        check.max_items("schedule_id_list", self.schedule_id_list, MAX_IDS_PER_GET)
        for index, schedule_id in enumerate(self.schedule_id_list):
            check.not_empty(f"schedule_id_list[{index}]", schedule_id)
        check.raise_if_any("schedule/get request")


@attrs.frozen(slots=True)
class GetSchedulesResponse:
    errcode: int = 0
    errmsg: str = ""
    schedule_list: tuple[Schedule, ...] = ()


def normalize_attendees(values: Iterable[str | Attendee]) -> tuple[Attendee, ...]:
    """User-ID strings or :class:`Attendee` objects → a tuple of :class:`Attendee`."""
    return tuple(v if isinstance(v, Attendee) else Attendee(v) for v in values)

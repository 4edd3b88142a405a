"""Request validation: generic type checks and the rules of the schedule and calendar endpoints.

Each check raises :class:`~._errors.FakeAPIError` with the errcode WeCom documents, and only the
first problem found is reported (the real API answers a single errcode). The errmsg names the
offending field, e.g. ``"invalid Request Parameter: schedule.end_time < schedule.start_time"``.

Assumptions (the docs list no errcode, or say nothing):

* A wrong JSON type (string for a number, object for a list, ``true`` for an int, …) or a value
  outside its documented type (uint32, 0/1 flags) answers 40058 "invalid Request Parameter".
* JSON ``null`` for an optional field means "not given" (several SDKs serialise unset fields as
  ``null``); for a required field it is 40058.
* ``agentid``, when given, must be a uint32 (40058); its value is otherwise ignored.
* ``organizer`` or ``readonly`` present with a non-null value answers 90493 "deprecated parameter".
* ``start_time``/``end_time`` missing, not an int, or outside uint32 → 40058; ``end_time`` earlier
  than ``start_time`` → 40058 (equal is accepted).
* More than 1000 attendees → 90464 (checked before the attendees themselves). An attendee that is
  not an object, or whose ``userid`` is missing, not a string, empty or longer than 64 bytes of
  UTF-8 → 40058.
* More than 3 admins, or an admin that is not a non-empty string of at most 64 bytes → 40058; an
  admin not among the attendees' userids → 90492.
* ``summary`` > 128 characters, ``description`` > 1000, ``location`` > 128 → 40058 (characters
  are Python ``str`` code points).
* ``cal_id`` longer than 64 bytes → 40058; an empty ``cal_id`` means "not given" (the default
  calendar); a ``cal_id`` that is not a calendar of the caller's corp → 90457, a deleted one →
  90459, one of another app → 90466 (the endpoint module decides, through ``check_calendar``).
* Reminder values are validated whatever ``is_remind``/``is_repeat``/``is_custom_repeat`` say
  (the docs only say when they take effect): ``remind_before_event_secs`` ∉ {0, 300, 900, 3600,
  86400} → 90471; a ``remind_time_diffs`` value ∉ {0, -300, -900, -3600, -86400} (plus 32400,
  -172800, -604800 when ``is_whole_day`` is 1) → 90704; ``repeat_type`` ∉ {0, 1, 2, 5, 7} →
  90465; ``timezone`` ∉ -12..12 → 90480; a ``repeat_day_of_month`` value ∉ 1..31 → 90487; a
  ``repeat_day_of_week`` value ∉ 1..7 → 40058; ``is_custom_repeat`` 1 with ``repeat_interval``
  missing or < 1 → 90486; ``repeat_until`` or ``repeat_interval`` not a uint32 → 40058.
* Order of the checks: schedule object, agentid, deprecated fields, times, is_whole_day,
  attendees, admins, texts, cal_id, reminders (in the order of the list above).

Update, del and the other schedule endpoints (doc 96204 for op_mode):

* ``op_mode`` other than 0, 1, 2 → 90485; ``op_start_time`` not a uint32 → 90482 (the checks on
  the schedule itself are the endpoint's: see ``_schedules``). ``op_start_time`` with op_mode 0
  is accepted and ignored (doc 97720: it "only takes effect in modes 1 and 2").
* A ``schedule_id`` missing, not a string or empty → 90461.
* add_attendees/del_attendees: ``attendees`` missing or empty is accepted and changes nothing
  (docs 97721/97722 mark ``attendees`` optional, 否); more than 1000 → 90464, a bad ``userid``
  → 40058 (as in add).
* get_by_calendar: ``cal_id`` missing or empty → 90457; ``offset`` not a uint32 → 90470;
  ``limit`` not an integer within 1…1000 → 90469; absent ``offset``/``limit`` mean 0/500.

Calendars (doc 93647 add, doc 97716 update, doc 97717 get):

* ``calendar.organizer``, ``calendar.readonly`` or ``shares[].readonly`` (the pre-2023 fields)
  → 90493.
* ``summary`` missing, not a string, or not 1…128 characters → 40058; ``color`` missing or not
  ``"#RRGGBB"`` (hex digits of either case) → 90473; ``description`` > 512 characters → 40058.
* More than 3 admins, more than 2000 shares, a share that is not an object, a bad ``userid``
  (as for attendees), a ``permission`` other than 1 or 3 → 40058. On add, an admin not among
  the shares' userids → 90492 (doc 93647: 管理员必须在通知范围成员的列表中); update does not
  check it (doc 97716 states only "at most 3 admins").
* ``public_range`` not an object, more than 1000 ``userids`` or 100 ``partyids``, a partyid
  that is not a uint32 → 40058.
* ``cal_id_list`` missing or empty → 90458; not an array of strings, or more than 1000 → 40058.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, NoReturn

from ._errors import FakeAPIError, default_errmsg

__all__ = [
    "ALLOWED_REMIND_BEFORE_EVENT_SECS",
    "ALLOWED_REMIND_TIME_DIFFS",
    "ALLOWED_REPEAT_TYPES",
    "MAX_ATTENDEES",
    "MAX_IDS_PER_GET",
    "UINT32_MAX",
    "WHOLE_DAY_REMIND_TIME_DIFFS",
    "check_attendees_body",
    "check_cal_id_list",
    "check_calendar",
    "check_get_by_calendar",
    "check_op",
    "check_schedule",
    "check_schedule_add",
    "check_schedule_get",
    "fail",
    "is_int",
    "is_uint32",
    "optional_flag",
    "optional_int_list",
    "optional_list",
    "optional_object",
    "optional_string",
    "optional_uint32",
    "require_id",
    "require_object",
    "require_uint32",
    "utf8_len",
]

# The documented limits, stated again on purpose rather than imported from wecom_async.models:
# the fake is an independent reading of the docs, so a wrong limit in the client fails a test.
UINT32_MAX = 2**32 - 1
MAX_ATTENDEES = 1000
MAX_ADMINS = 3
MAX_USERID_BYTES = 64
MAX_CAL_ID_BYTES = 64
MAX_SUMMARY_CHARS = 128
MAX_DESCRIPTION_CHARS = 1000
MAX_LOCATION_CHARS = 128
MAX_IDS_PER_GET = 1000
ALLOWED_REMIND_BEFORE_EVENT_SECS = frozenset({0, 300, 900, 3600, 86400})
ALLOWED_REMIND_TIME_DIFFS = frozenset({0, -300, -900, -3600, -86400})
WHOLE_DAY_REMIND_TIME_DIFFS = ALLOWED_REMIND_TIME_DIFFS | {32400, -172800, -604800}
ALLOWED_REPEAT_TYPES = frozenset({0, 1, 2, 5, 7})
DEPRECATED_SCHEDULE_FIELDS = ("organizer", "readonly")
DEPRECATED_CALENDAR_FIELDS = ("organizer", "readonly")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 500
MAX_CAL_ADMINS = 3
MAX_CAL_SUMMARY_CHARS = 128
MAX_CAL_DESCRIPTION_CHARS = 512
MAX_SHARES = 2000
MAX_PUBLIC_USERIDS = 1000
MAX_PUBLIC_PARTYIDS = 100
ALLOWED_PERMISSIONS = frozenset({1, 3})
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")


# --- generic checks ---------------------------------------------------------------------------


def fail(detail: str, errcode: int = 40058) -> NoReturn:
    """Raise *errcode* with an errmsg naming the problem."""
    raise FakeAPIError(errcode, f"{default_errmsg(errcode)}: {detail}")


def is_int(value: object) -> bool:
    """A JSON integer (``bool`` is not one)."""
    return type(value) is int


def is_uint32(value: object) -> bool:
    return type(value) is int and 0 <= value <= UINT32_MAX


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def require_object(value: object, name: str, errcode: int = 40058) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        fail(f"{name} must be an object", errcode)
    return value


def optional_object(obj: Mapping[str, Any], key: str, name: str) -> Mapping[str, Any] | None:
    value = obj.get(key)
    if value is None:
        return None
    return require_object(value, name)


def require_uint32(obj: Mapping[str, Any], key: str, name: str) -> int:
    value = obj.get(key)
    if not is_uint32(value):
        fail(f"{name} must be a uint32")
    assert isinstance(value, int)
    return value


def optional_uint32(obj: Mapping[str, Any], key: str, name: str) -> int | None:
    if obj.get(key) is None:
        return None
    return require_uint32(obj, key, name)


def optional_int(obj: Mapping[str, Any], key: str, name: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not is_int(value):
        fail(f"{name} must be an integer")
    assert isinstance(value, int)
    return value


def optional_flag(obj: Mapping[str, Any], key: str, name: str) -> int:
    """A 0/1 field; 0 when absent."""
    value = obj.get(key)
    if value is None:
        return 0
    if value not in (0, 1) or not is_int(value):
        fail(f"{name} must be 0 or 1")
    assert isinstance(value, int)
    return value


def optional_string(
    obj: Mapping[str, Any],
    key: str,
    name: str,
    *,
    max_chars: int | None = None,
    max_bytes: int | None = None,
) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        fail(f"{name} must be a string")
    if max_chars is not None and len(value) > max_chars:
        fail(f"{name} longer than {max_chars} characters")
    if max_bytes is not None and utf8_len(value) > max_bytes:
        fail(f"{name} longer than {max_bytes} bytes")
    return value


def optional_list(obj: Mapping[str, Any], key: str, name: str) -> list[Any]:
    """A JSON array; ``[]`` when absent."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        fail(f"{name} must be an array")
    return value


def optional_int_list(obj: Mapping[str, Any], key: str, name: str) -> list[int]:
    values = optional_list(obj, key, name)
    for value in values:
        if not is_int(value):
            fail(f"{name} must be an array of integers")
    return values


def _userid(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        fail(f"{name} must be a non-empty string")
    if utf8_len(value) > MAX_USERID_BYTES:
        fail(f"{name} longer than {MAX_USERID_BYTES} bytes")
    return value


# --- schedules --------------------------------------------------------------------------------


def require_id(value: object, name: str, errcode: int) -> str:
    """A non-empty string ID, else *errcode*."""
    if not isinstance(value, str) or not value:
        fail(f"{name} missing or not a non-empty string", errcode)
    return value


def check_schedule_add(
    body: Mapping[str, Any], *, check_calendar: Callable[[str], object]
) -> Mapping[str, Any]:
    """Validate an ``oa/schedule/add`` body; return its ``schedule`` object."""
    schedule = require_object(body.get("schedule"), "schedule")
    optional_uint32(body, "agentid", "agentid")
    check_schedule(schedule, check_calendar=check_calendar)
    return schedule


def check_schedule(
    schedule: Mapping[str, Any],
    *,
    check_calendar: Callable[[str], object],
    kept_attendees: Collection[str] | None = None,
) -> None:
    """Validate the fields of a ``schedule`` object (as sent to add or update).

    *check_calendar* is called with a non-empty ``cal_id`` and raises if it may not be used.
    *kept_attendees* (update with ``skip_attendees``) are the attendees the admins must be
    among, instead of those sent.
    """
    for deprecated in DEPRECATED_SCHEDULE_FIELDS:
        if schedule.get(deprecated) is not None:
            fail(f"schedule.{deprecated} is deprecated", 90493)

    start_time = require_uint32(schedule, "start_time", "schedule.start_time")
    end_time = require_uint32(schedule, "end_time", "schedule.end_time")
    if end_time < start_time:
        fail("schedule.end_time < schedule.start_time")
    is_whole_day = optional_flag(schedule, "is_whole_day", "schedule.is_whole_day")

    attendees = optional_list(schedule, "attendees", "schedule.attendees")
    if len(attendees) > MAX_ATTENDEES:
        fail(f"more than {MAX_ATTENDEES} attendees", 90464)
    attendee_ids = set()
    for i, attendee in enumerate(attendees):
        name = f"schedule.attendees[{i}]"
        attendee_ids.add(_userid(require_object(attendee, name).get("userid"), f"{name}.userid"))
    if kept_attendees is not None:
        attendee_ids = set(kept_attendees)

    admins = optional_list(schedule, "admins", "schedule.admins")
    if len(admins) > MAX_ADMINS:
        fail(f"more than {MAX_ADMINS} admins")
    for i, admin in enumerate(admins):
        _userid(admin, f"schedule.admins[{i}]")
    for admin in admins:
        if admin not in attendee_ids:
            fail(f"admin {admin!r} is not an attendee", 90492)

    optional_string(schedule, "summary", "schedule.summary", max_chars=MAX_SUMMARY_CHARS)
    optional_string(
        schedule, "description", "schedule.description", max_chars=MAX_DESCRIPTION_CHARS
    )
    optional_string(schedule, "location", "schedule.location", max_chars=MAX_LOCATION_CHARS)

    cal_id = optional_string(schedule, "cal_id", "schedule.cal_id", max_bytes=MAX_CAL_ID_BYTES)
    if cal_id:
        check_calendar(cal_id)

    reminders = optional_object(schedule, "reminders", "schedule.reminders")
    if reminders is not None:
        _check_reminders(reminders, is_whole_day=is_whole_day)


def _check_reminders(rem: Mapping[str, Any], *, is_whole_day: int) -> None:
    prefix = "schedule.reminders."
    for flag in ("is_remind", "is_repeat", "is_custom_repeat"):
        optional_flag(rem, flag, prefix + flag)

    secs = optional_int(rem, "remind_before_event_secs", prefix + "remind_before_event_secs")
    if secs is not None and secs not in ALLOWED_REMIND_BEFORE_EVENT_SECS:
        fail(f"{prefix}remind_before_event_secs {secs} not supported", 90471)

    allowed = WHOLE_DAY_REMIND_TIME_DIFFS if is_whole_day == 1 else ALLOWED_REMIND_TIME_DIFFS
    for diff in optional_int_list(rem, "remind_time_diffs", prefix + "remind_time_diffs"):
        if diff not in allowed:
            fail(f"{prefix}remind_time_diffs value {diff} not supported", 90704)

    repeat_type = optional_int(rem, "repeat_type", prefix + "repeat_type")
    if repeat_type is not None and repeat_type not in ALLOWED_REPEAT_TYPES:
        fail(f"{prefix}repeat_type {repeat_type} not supported", 90465)

    optional_uint32(rem, "repeat_until", prefix + "repeat_until")

    timezone = optional_int(rem, "timezone", prefix + "timezone")
    if timezone is not None and not -12 <= timezone <= 12:
        fail(f"{prefix}timezone {timezone} not in -12..12", 90480)

    for day in optional_int_list(rem, "repeat_day_of_month", prefix + "repeat_day_of_month"):
        if not 1 <= day <= 31:
            fail(f"{prefix}repeat_day_of_month value {day} not in 1..31", 90487)

    for day in optional_int_list(rem, "repeat_day_of_week", prefix + "repeat_day_of_week"):
        if not 1 <= day <= 7:
            fail(f"{prefix}repeat_day_of_week value {day} not in 1..7")

    interval = optional_int(rem, "repeat_interval", prefix + "repeat_interval")
    if rem.get("is_custom_repeat") == 1 and (interval is None or interval < 1):
        fail(f"{prefix}repeat_interval required when is_custom_repeat is 1", 90486)
    optional_uint32(rem, "repeat_interval", prefix + "repeat_interval")


def check_schedule_get(body: Mapping[str, Any]) -> list[str]:
    """Validate an ``oa/schedule/get`` body; return ``schedule_id_list``."""
    ids = body.get("schedule_id_list")
    if ids is None:
        fail("schedule_id_list missing", 90462)
    if not isinstance(ids, list):
        fail("schedule_id_list must be an array")
    if not ids:
        fail("schedule_id_list is empty", 90462)
    if len(ids) > MAX_IDS_PER_GET:
        fail(f"more than {MAX_IDS_PER_GET} schedule IDs")
    for schedule_id in ids:
        if not isinstance(schedule_id, str):
            fail("schedule_id_list must be an array of strings")
    return ids


def check_op(body: Mapping[str, Any]) -> tuple[int, int | None]:
    """``op_mode`` (0 when absent) and ``op_start_time`` of an update or del body."""
    mode = body.get("op_mode")
    if mode is None:
        mode = 0
    elif not is_int(mode) or mode not in (0, 1, 2):
        fail(f"op_mode {mode!r} not in 0, 1, 2", 90485)
    op_start_time = body.get("op_start_time")
    if op_start_time is not None and not is_uint32(op_start_time):
        fail("op_start_time must be a uint32", 90482)
    return mode, op_start_time


def check_attendees_body(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Validate an add_attendees/del_attendees body; return the schedule ID and the userids."""
    schedule_id = require_id(body.get("schedule_id"), "schedule_id", 90461)
    # Optional (否) in docs 97721/97722: none, or an empty list, changes nothing.
    attendees = optional_list(body, "attendees", "attendees")
    if len(attendees) > MAX_ATTENDEES:
        fail(f"more than {MAX_ATTENDEES} attendees", 90464)
    userids = []
    for i, attendee in enumerate(attendees):
        name = f"attendees[{i}]"
        userids.append(_userid(require_object(attendee, name).get("userid"), f"{name}.userid"))
    return schedule_id, userids


def check_get_by_calendar(body: Mapping[str, Any]) -> tuple[str, int, int]:
    """Validate a get_by_calendar body; return ``cal_id``, ``offset`` and ``limit``."""
    cal_id = require_id(body.get("cal_id"), "cal_id", 90457)
    offset = body.get("offset")
    if offset is None:
        offset = 0
    elif not is_uint32(offset):
        fail("offset must be a uint32", 90470)
    limit = body.get("limit")
    if limit is None:
        limit = DEFAULT_PAGE_SIZE
    elif not is_int(limit) or not 1 <= limit <= MAX_PAGE_SIZE:
        fail(f"limit must be within 1..{MAX_PAGE_SIZE}", 90469)
    return cal_id, offset, limit


# --- calendars --------------------------------------------------------------------------------


def check_calendar(calendar: Mapping[str, Any], *, admins_among_shares: bool = True) -> None:
    """Validate the fields of a ``calendar`` object (as sent to add or update).

    *admins_among_shares*: add only (doc 93647); doc 97716 (update) states only "at most 3".
    """
    for deprecated in DEPRECATED_CALENDAR_FIELDS:
        if calendar.get(deprecated) is not None:
            fail(f"calendar.{deprecated} is deprecated", 90493)
    shares = optional_list(calendar, "shares", "calendar.shares")
    for i, share in enumerate(shares):
        if isinstance(share, Mapping) and share.get("readonly") is not None:
            fail(f"calendar.shares[{i}].readonly is deprecated", 90493)

    summary = calendar.get("summary")
    if not isinstance(summary, str) or not 1 <= len(summary) <= MAX_CAL_SUMMARY_CHARS:
        fail(f"calendar.summary must be 1..{MAX_CAL_SUMMARY_CHARS} characters")
    color = calendar.get("color")
    if not isinstance(color, str) or COLOR_RE.fullmatch(color) is None:
        fail(f"calendar.color {color!r} is not #RRGGBB", 90473)
    optional_string(
        calendar, "description", "calendar.description", max_chars=MAX_CAL_DESCRIPTION_CHARS
    )

    admins = optional_list(calendar, "admins", "calendar.admins")
    if len(admins) > MAX_CAL_ADMINS:
        fail(f"more than {MAX_CAL_ADMINS} admins")
    for i, admin in enumerate(admins):
        _userid(admin, f"calendar.admins[{i}]")
    if len(shares) > MAX_SHARES:
        fail(f"more than {MAX_SHARES} shares")
    share_ids = set()
    for i, share in enumerate(shares):
        name = f"calendar.shares[{i}]"
        share = require_object(share, name)
        share_ids.add(_userid(share.get("userid"), f"{name}.userid"))
        permission = optional_int(share, "permission", f"{name}.permission")
        if permission is not None and permission not in ALLOWED_PERMISSIONS:
            fail(f"{name}.permission {permission} not in 1, 3")
    for admin in admins if admins_among_shares else ():
        if admin not in share_ids:
            fail(f"admin {admin!r} is not among the shares", 90492)

    for flag in ("is_public", "is_corp_calendar", "set_as_default"):
        optional_flag(calendar, flag, f"calendar.{flag}")
    public_range = optional_object(calendar, "public_range", "calendar.public_range")
    if public_range is not None:
        userids = optional_list(public_range, "userids", "calendar.public_range.userids")
        if len(userids) > MAX_PUBLIC_USERIDS:
            fail(f"more than {MAX_PUBLIC_USERIDS} public_range.userids")
        for i, userid in enumerate(userids):
            _userid(userid, f"calendar.public_range.userids[{i}]")
        partyids = optional_list(public_range, "partyids", "calendar.public_range.partyids")
        if len(partyids) > MAX_PUBLIC_PARTYIDS:
            fail(f"more than {MAX_PUBLIC_PARTYIDS} public_range.partyids")
        for partyid in partyids:
            if not is_uint32(partyid):
                fail("calendar.public_range.partyids must be uint32 department IDs")


def check_cal_id_list(body: Mapping[str, Any]) -> list[str]:
    """Validate an ``oa/calendar/get`` body; return ``cal_id_list``."""
    ids = body.get("cal_id_list")
    if ids is None or ids == []:
        fail("cal_id_list missing or empty", 90458)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        fail("cal_id_list must be an array of strings")
    if len(ids) > MAX_IDS_PER_GET:
        fail(f"more than {MAX_IDS_PER_GET} calendar IDs")
    return ids

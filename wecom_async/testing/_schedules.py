"""Endpoints ``oa/schedule/…``.

Assumptions for ``oa/schedule/get`` (the docs are silent): IDs that are unknown, belong to
another corp or to another app's calendar are left out of ``schedule_list`` and the call still
succeeds (errcode 0); an ID repeated in the request is answered once, at its first position;
answers follow request order. Cancelled schedules are returned with ``status`` 1.

``oa/schedule/add`` stores only the documented input fields of ``schedule`` (``schedule_id``,
``status``, attendees' ``response_status`` and ``reminders.exclude_time_list`` are ignored) and
fills the documented defaults for the others (see ``_store.normalize_schedule``). Without
``cal_id`` the schedule goes to the app's default calendar; when the app has none (it was
deleted) → 90708. A third-party app must give ``cal_id`` (doc 93648: "第三方应用必须指定
cal_id"); without it → 40058 (assumption: the docs name no errcode).

The writes (update, del, add_attendees, del_attendees) find their schedule the same way: an
unknown ``schedule_id`` (or another corp's) → 90461; one in another app's calendar → 90466; one
whose calendar was deleted → 90459; a cancelled one → 90460 (in that order). Each write adds one
to the schedule's ``sequence``.

``oa/schedule/update`` (doc 97720, doc 96204) overwrites: the fields sent replace the stored
ones and every field not sent goes back to its default. Assumptions beyond the docs:

* ``skip_attendees`` 1 keeps the stored attendees (the ``attendees`` sent are still checked,
  then ignored) and the admins must be among the kept ones (90492). Otherwise the attendees
  sent replace the stored ones, and those already attending keep their ``response_status``.
* ``cal_id`` may be sent only with the schedule's own calendar; another value → 40058.
* op_mode 1 or 2 on a schedule that does not repeat → 90485; ``op_start_time`` missing or not
  the start of an occurrence (see ``wecom_async._recurrence``) → 90482; op_mode 1 with
  ``reminders.is_repeat`` 1 → 90484 (doc 96204).
* op_mode 1 or 2 with a ``start_time`` before 00:00 of ``op_start_time``'s day → 90488
  (doc 90313: "start_time需要在op_start_time之后"; assumption: "after" counts by day, as moving
  an occurrence earlier within its day is the common case, in the timezone of the
  ``reminders`` sent, UTC+8 by default).
* op_mode 0 keeps the series' ``exclude_time_list`` while the schedule still repeats.
* op_mode 1: the occurrence is added to the series' ``exclude_time_list`` and the fields sent
  become a new one-off schedule in the same calendar (recurrence fields dropped).
* op_mode 2 at the first occurrence is op_mode 0 (doc 96204). Later: the series ends just
  before the occurrence (``repeat_until`` = ``op_start_time`` - 1), and the fields sent become a
  new schedule in the same calendar. Exclusions at or after ``op_start_time`` move from the old
  series to the new one, shifted by (new ``start_time`` - ``op_start_time``), so occurrences
  removed or carved out earlier stay out.
* The answer's ``schedule_id`` is the new schedule for a split, else the schedule itself.

``oa/schedule/del`` (doc 97725): op_mode 0 cancels the schedule (``status`` 1, still returned
by get); op_mode 1 excludes the occurrence; op_mode 2 ends the series before the occurrence (at
the first occurrence it cancels the schedule). op_mode rules as for update.

``oa/schedule/add_attendees``/``del_attendees`` (docs 97721/97722): add keeps the users already
attending (with their answers) and appends the others as pending; more than 1000 attendees in
all → 90464. del removes every user listed, ignores users not attending, and answers 90492
(nothing removed) if a user listed is an admin of the schedule.

``oa/schedule/get_by_calendar`` (doc 97723): the calendar must be usable by the app (see
``_calendars.usable_calendar``). Schedules are listed in the order they were stored in the
calendar (splits append), cancelled ones included, so that an offset stays valid while
schedules are added or cancelled. Each item also carries ``sequence``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from .._recurrence import is_occurrence
from ._calendars import usable_calendar
from ._context import Handler, HandlerContext
from ._store import JSONObject, StoredSchedule, normalize_schedule
from ._validation import (
    MAX_ATTENDEES,
    check_attendees_body,
    check_get_by_calendar,
    check_op,
    check_schedule,
    check_schedule_add,
    check_schedule_get,
    fail,
    optional_flag,
    require_id,
    require_object,
)

__all__ = ["SCHEDULE_ENDPOINTS", "schedule_add", "schedule_get"]

_ADD_FIELDS = (
    "admins",
    "start_time",
    "end_time",
    "is_whole_day",
    "summary",
    "description",
    "location",
    "cal_id",
)
_RECURRENCE_FIELDS = (
    "is_repeat",
    "repeat_type",
    "repeat_until",
    "is_custom_repeat",
    "repeat_interval",
    "repeat_day_of_week",
    "repeat_day_of_month",
)


def _add_input(schedule: Mapping[str, Any]) -> JSONObject:
    """The documented input fields of an add/update ``schedule`` object."""
    raw: JSONObject = {key: schedule[key] for key in _ADD_FIELDS if key in schedule}
    attendees = schedule.get("attendees")
    if attendees is not None:
        raw["attendees"] = [{"userid": a["userid"]} for a in attendees]
    reminders = schedule.get("reminders")
    if reminders is not None:
        raw["reminders"] = {k: v for k, v in reminders.items() if k != "exclude_time_list"}
    return raw


def schedule_add(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/add``: validate, store, answer the new ``schedule_id``."""
    store = ctx.store
    schedule = check_schedule_add(body, check_calendar=lambda cal_id: usable_calendar(ctx, cal_id))
    if ctx.third_party and not schedule.get("cal_id"):
        fail("a third-party app must give schedule.cal_id")
    if not schedule.get("cal_id") and not store.default_cal_id(ctx.corp_id):
        fail("the app has no default calendar: pass cal_id", 90708)
    record = store.insert_schedule(ctx.corp_id, _add_input(schedule))
    return {"schedule_id": record.schedule_id}


def _of_other_app(ctx: HandlerContext, record: StoredSchedule) -> bool:
    cal = ctx.store.calendar_record(ctx.corp_id, record.data["cal_id"])
    return cal is not None and cal.other_app


def schedule_get(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/get``: the schedules of the caller's app among ``schedule_id_list``."""
    found = []
    for schedule_id in dict.fromkeys(check_schedule_get(body)):
        record = ctx.store.schedule_record(ctx.corp_id, schedule_id)
        if record is not None and not _of_other_app(ctx, record):
            found.append(record.data)
    return {"schedule_list": found}


def _writable_schedule(ctx: HandlerContext, schedule_id: str) -> StoredSchedule:
    """The live record of *schedule_id* if the caller's app may change it."""
    record = ctx.store.schedule_record(ctx.corp_id, schedule_id)
    if record is None:
        fail(f"unknown schedule_id {schedule_id!r}", 90461)
    usable_calendar(ctx, record.data["cal_id"])
    if record.data["status"] == 1:
        fail(f"schedule {schedule_id!r} was cancelled", 90460)
    return record


def _check_occurrence(schedule: JSONObject, mode: int, op_start_time: int | None) -> None:
    """The op_mode rules of doc 96204 that depend on the stored schedule."""
    if mode == 0:
        return
    if schedule["reminders"]["is_repeat"] != 1:
        fail(f"op_mode {mode} needs a recurring schedule", 90485)
    if op_start_time is None:
        fail(f"op_start_time required with op_mode {mode}", 90482)
    if not is_occurrence(schedule, op_start_time):
        fail(f"op_start_time {op_start_time} is not the start of an occurrence", 90482)


def _exclude(record: StoredSchedule, start_time: int) -> None:
    """Remove the occurrence starting at *start_time* from the series."""
    excluded = record.data["reminders"]["exclude_time_list"]
    excluded.append({"start_time": start_time})
    excluded.sort(key=lambda e: e["start_time"])


def _end_before(record: StoredSchedule, start_time: int) -> list[int]:
    """End the series just before *start_time*; return the exclusions dropped with its tail."""
    reminders = record.data["reminders"]
    kept = [e for e in reminders["exclude_time_list"] if e["start_time"] < start_time]
    dropped = [e["start_time"] for e in reminders["exclude_time_list"] if e not in kept]
    reminders["exclude_time_list"] = kept
    reminders["repeat_until"] = start_time - 1
    return dropped


def _with_answers(stored: list[JSONObject], sent: list[JSONObject]) -> list[JSONObject]:
    """The attendees *sent*, with the ``response_status`` of those already attending."""
    answers = {a["userid"]: a["response_status"] for a in stored}
    return [{"userid": a["userid"], "response_status": answers.get(a["userid"], 0)} for a in sent]


def schedule_update(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/update``: overwrite the schedule, or split a recurring one."""
    schedule = require_object(body.get("schedule"), "schedule")
    skip_attendees = optional_flag(body, "skip_attendees", "skip_attendees")
    mode, op_start_time = check_op(body)
    schedule_id = require_id(schedule.get("schedule_id"), "schedule.schedule_id", 90461)
    record = _writable_schedule(ctx, schedule_id)
    stored = record.data

    def same_calendar(cal_id: str) -> None:
        if cal_id != stored["cal_id"]:
            fail("schedule.cal_id cannot change")

    kept = [a["userid"] for a in stored["attendees"]] if skip_attendees else None
    check_schedule(schedule, check_calendar=same_calendar, kept_attendees=kept)
    _check_occurrence(stored, mode, op_start_time)
    reminders = schedule.get("reminders")
    if mode == 1 and isinstance(reminders, Mapping) and reminders.get("is_repeat") == 1:
        fail("op_mode 1 makes a one-off schedule: is_repeat must not be 1", 90484)
    if mode in (1, 2):
        assert op_start_time is not None
        timezone = reminders.get("timezone") if isinstance(reminders, Mapping) else None
        offset = (8 if timezone is None else timezone) * 3600
        day_start = op_start_time - (op_start_time + offset) % 86400
        if schedule["start_time"] < day_start:
            fail("schedule.start_time is before the day of op_start_time", 90488)

    raw = _add_input(schedule)
    raw["attendees"] = (
        stored["attendees"]
        if skip_attendees
        else _with_answers(stored["attendees"], raw.get("attendees", []))
    )
    new_reminders = dict(raw.get("reminders") or {})
    record.sequence += 1
    if mode == 0 or (mode == 2 and op_start_time == stored["start_time"]):
        if new_reminders.get("is_repeat") == 1:
            new_reminders["exclude_time_list"] = stored["reminders"]["exclude_time_list"]
        raw["reminders"] = new_reminders
        record.data = normalize_schedule(raw, schedule_id=schedule_id, cal_id=stored["cal_id"])
        return {"schedule_id": schedule_id}
    assert op_start_time is not None
    if mode == 1:
        _exclude(record, op_start_time)
        for key in _RECURRENCE_FIELDS:
            new_reminders.pop(key, None)
    else:
        shift = raw["start_time"] - op_start_time
        moved = _end_before(record, op_start_time)
        new_reminders["exclude_time_list"] = [{"start_time": t + shift} for t in moved]
    raw["reminders"] = new_reminders
    raw["cal_id"] = stored["cal_id"]
    return {"schedule_id": ctx.store.insert_schedule(ctx.corp_id, raw).schedule_id}


def schedule_del(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/del``: cancel the schedule, or some occurrences of a recurring one."""
    mode, op_start_time = check_op(body)
    record = _writable_schedule(ctx, require_id(body.get("schedule_id"), "schedule_id", 90461))
    _check_occurrence(record.data, mode, op_start_time)
    if mode == 0 or (mode == 2 and op_start_time == record.data["start_time"]):
        ctx.store.cancel_schedule(record.schedule_id)
        return {}
    assert op_start_time is not None
    if mode == 1:
        _exclude(record, op_start_time)
    else:
        _end_before(record, op_start_time)
    record.sequence += 1
    return {}


def schedule_add_attendees(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/add_attendees``: add users, keeping those already attending."""
    schedule_id, userids = check_attendees_body(body)
    record = _writable_schedule(ctx, schedule_id)
    attendees = record.data["attendees"]
    present = {a["userid"] for a in attendees}
    added = [u for u in dict.fromkeys(userids) if u not in present]
    if len(attendees) + len(added) > MAX_ATTENDEES:
        fail(f"more than {MAX_ATTENDEES} attendees in all", 90464)
    attendees.extend({"userid": u, "response_status": 0} for u in added)
    record.sequence += 1
    return {}


def schedule_del_attendees(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/del_attendees``: remove every user listed."""
    schedule_id, userids = check_attendees_body(body)
    record = _writable_schedule(ctx, schedule_id)
    removed = set(userids)
    for admin in record.data["admins"]:
        if admin in removed:
            fail(f"admin {admin!r} must stay an attendee", 90492)
    record.data["attendees"] = [a for a in record.data["attendees"] if a["userid"] not in removed]
    record.sequence += 1
    return {}


def schedule_get_by_calendar(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/get_by_calendar``: one page of the calendar's schedules."""
    cal_id, offset, limit = check_get_by_calendar(body)
    usable_calendar(ctx, cal_id)
    store = ctx.store
    page = []
    for schedule_id in islice(store.corp(ctx.corp_id).by_calendar[cal_id], offset, offset + limit):
        record = store.schedule_record(ctx.corp_id, schedule_id)
        assert record is not None
        page.append({**record.data, "sequence": record.sequence})
    return {"schedule_list": page}


SCHEDULE_ENDPOINTS: dict[str, Handler] = {
    "oa/schedule/add": schedule_add,
    "oa/schedule/get": schedule_get,
    "oa/schedule/update": schedule_update,
    "oa/schedule/del": schedule_del,
    "oa/schedule/add_attendees": schedule_add_attendees,
    "oa/schedule/del_attendees": schedule_del_attendees,
    "oa/schedule/get_by_calendar": schedule_get_by_calendar,
}

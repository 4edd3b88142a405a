"""Endpoints ``oa/calendar/…`` (doc 93647 add, doc 97716 update, doc 97717 get, doc 97718 del).

Request checks are in ``_validation`` (``check_calendar``). Assumptions (the docs are silent):

* A calendar ID that is missing, unknown or of another corp → 90457; a calendar of another app
  of the corp → 90466 (before the next check); a deleted calendar → 90459. The same rule applies
  wherever an endpoint names a calendar to use (schedule/add, get_by_calendar: see
  :func:`usable_calendar`).
* A share whose userid is not a member of the corp (``Store.mark_unknown_users``) is not stored
  and is reported in ``fail_result.shares`` with errcode 40001 and errmsg ``"not found"``, as in
  the docs' example; the call still succeeds. ``fail_result`` is always answered (``shares``
  empty when every share was accepted). Admins are stored as sent.
* add: ``is_corp_calendar`` 1 makes the calendar public (``is_public`` stored as 1), needs a
  ``public_range`` with at least one user or department (40058), and cannot go with
  ``set_as_default`` 1 (40058). A ``public_range`` sent for a calendar that is not public is
  ignored (stored empty), as "only effective for public calendars" suggests. ``set_as_default``
  1 makes the new calendar the app's default calendar.
* update: ``is_public`` or ``is_corp_calendar`` sent with another value than the stored one,
  or ``set_as_default`` 1, → 40058 (they cannot change). Every other field is overwritten;
  with ``skip_public_range`` 1 the stored range is kept, otherwise the range sent (none = empty)
  replaces it, and a corp calendar must keep a non-empty range (40058).
* get: unknown, deleted and other apps' calendars are left out of ``calendar_list``; an ID
  repeated in the request is answered once; answers follow request order.
* del: the calendar's schedules are cancelled; the default calendar may be deleted (the app
  then has none: schedule/add without ``cal_id`` answers 90708).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Handler, HandlerContext
from ._store import JSONObject, StoredCalendar, normalize_calendar
from ._validation import (
    check_cal_id_list,
    check_calendar,
    fail,
    optional_flag,
    optional_uint32,
    require_id,
    require_object,
)

__all__ = ["CALENDAR_ENDPOINTS", "usable_calendar"]

_WRITABLE_FIELDS = ("admins", "summary", "color", "description", "shares")
UNKNOWN_USER_ERRCODE = 40001
UNKNOWN_USER_ERRMSG = "not found"


def usable_calendar(ctx: HandlerContext, cal_id: str) -> StoredCalendar:
    """The calendar *cal_id* if the caller's app may use it, else the errcode why not."""
    cal = ctx.store.calendar_record(ctx.corp_id, cal_id)
    if cal is None:
        fail(f"unknown cal_id {cal_id!r}", 90457)
    if cal.other_app:
        fail(f"calendar {cal_id!r} belongs to another app", 90466)
    if cal.deleted:
        fail(f"calendar {cal_id!r} was deleted", 90459)
    return cal


def _range_is_empty(public_range: Any) -> bool:
    return not isinstance(public_range, Mapping) or not (
        public_range.get("userids") or public_range.get("partyids")
    )


def _split_shares(ctx: HandlerContext, shares: Any) -> tuple[list[Any], list[JSONObject]]:
    """The shares to store and the ``fail_result.shares`` of those refused."""
    unknown = ctx.store.corp(ctx.corp_id).unknown_userids
    kept: list[Any] = []
    failed: dict[str, JSONObject] = {}
    for share in shares or ():
        userid = share["userid"]
        if userid in unknown:
            failed[userid] = {
                "errcode": UNKNOWN_USER_ERRCODE,
                "errmsg": UNKNOWN_USER_ERRMSG,
                "userid": userid,
            }
        else:
            kept.append(share)
    return kept, list(failed.values())


def calendar_add(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/calendar/add``: validate, store, answer ``cal_id`` and ``fail_result``."""
    calendar = require_object(body.get("calendar"), "calendar")
    optional_uint32(body, "agentid", "agentid")
    check_calendar(calendar)
    set_as_default = optional_flag(calendar, "set_as_default", "calendar.set_as_default")
    raw: JSONObject = {k: calendar[k] for k in _WRITABLE_FIELDS if k in calendar}
    raw["is_corp_calendar"] = optional_flag(
        calendar, "is_corp_calendar", "calendar.is_corp_calendar"
    )
    raw["is_public"] = optional_flag(calendar, "is_public", "calendar.is_public")
    if raw["is_corp_calendar"]:
        if _range_is_empty(calendar.get("public_range")):
            fail("a corp calendar needs a public_range")
        if set_as_default:
            fail("a corp calendar cannot be the default calendar")
        raw["is_public"] = 1
    if raw["is_public"]:
        raw["public_range"] = calendar.get("public_range")
    raw["shares"], failed = _split_shares(ctx, calendar.get("shares"))
    cal_id = ctx.store.add_calendar(ctx.corp_id, **raw)
    if set_as_default:
        ctx.store.set_default_calendar(cal_id)
    return {"cal_id": cal_id, "fail_result": {"shares": failed}}


def calendar_update(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/calendar/update``: overwrite the calendar; answer ``fail_result``."""
    calendar = require_object(body.get("calendar"), "calendar")
    skip_public_range = optional_flag(body, "skip_public_range", "skip_public_range")
    cal = usable_calendar(ctx, require_id(calendar.get("cal_id"), "calendar.cal_id", 90457))
    check_calendar(calendar, admins_among_shares=False)  # doc 97716: only "at most 3 admins"
    stored = cal.data
    for name in ("is_public", "is_corp_calendar"):
        value = calendar.get(name)
        if value is not None and value != stored[name]:
            fail(f"calendar.{name} cannot change")
    if calendar.get("set_as_default") == 1:
        fail("calendar.set_as_default is for add only")
    raw: JSONObject = {k: calendar[k] for k in _WRITABLE_FIELDS if k in calendar}
    raw["is_public"] = stored["is_public"]
    raw["is_corp_calendar"] = stored["is_corp_calendar"]
    if skip_public_range:
        raw["public_range"] = stored["public_range"]
    elif stored["is_public"]:
        if stored["is_corp_calendar"] and _range_is_empty(calendar.get("public_range")):
            fail("a corp calendar needs a public_range")
        raw["public_range"] = calendar.get("public_range")
    raw["shares"], failed = _split_shares(ctx, calendar.get("shares"))
    cal.data = normalize_calendar(raw, cal_id=cal.cal_id)
    return {"fail_result": {"shares": failed}}


def calendar_get(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/calendar/get``: the caller's app's live calendars among ``cal_id_list``."""
    found = []
    for cal_id in dict.fromkeys(check_cal_id_list(body)):
        cal = ctx.store.calendar_record(ctx.corp_id, cal_id)
        if cal is not None and not cal.deleted and not cal.other_app:
            found.append(cal.data)
    return {"calendar_list": found}


def calendar_del(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/calendar/del``: delete the calendar and cancel its schedules."""
    cal = usable_calendar(ctx, require_id(body.get("cal_id"), "cal_id", 90457))
    ctx.store.delete_calendar(cal.cal_id)
    return {}


CALENDAR_ENDPOINTS: dict[str, Handler] = {
    "oa/calendar/add": calendar_add,
    "oa/calendar/update": calendar_update,
    "oa/calendar/get": calendar_get,
    "oa/calendar/del": calendar_del,
}

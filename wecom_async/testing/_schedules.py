"""Endpoints ``oa/schedule/…``.

Assumptions for ``oa/schedule/get`` (the docs are silent): IDs that are unknown or belong to
another corp are left out of ``schedule_list`` and the call still succeeds (errcode 0); an ID
repeated in the request is answered once, at its first position; answers follow request order.
Cancelled schedules are returned with ``status`` 1.

``oa/schedule/add`` stores only the documented input fields of ``schedule`` (``schedule_id``,
``status``, attendees' ``response_status`` and ``reminders.exclude_time_list`` are ignored) and
fills the documented defaults for the others (see ``_store.normalize_schedule``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._context import Handler, HandlerContext
from ._store import JSONObject
from ._validation import check_schedule_add, check_schedule_get

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
    schedule = check_schedule_add(
        body, has_calendar=lambda cal_id: store.has_calendar(ctx.corp_id, cal_id)
    )
    record = store.insert_schedule(ctx.corp_id, _add_input(schedule))
    return {"schedule_id": record.schedule_id}


def schedule_get(ctx: HandlerContext, body: JSONObject) -> JSONObject:
    """``oa/schedule/get``: the schedules of the caller's corp among ``schedule_id_list``."""
    found = []
    for schedule_id in dict.fromkeys(check_schedule_get(body)):
        record = ctx.store.schedule_record(ctx.corp_id, schedule_id)
        if record is not None:
            found.append(record.data)
    return {"schedule_list": found}


SCHEDULE_ENDPOINTS: dict[str, Handler] = {
    "oa/schedule/add": schedule_add,
    "oa/schedule/get": schedule_get,
}

"""The in-memory data of the fake: corps, their calendars and schedules.

Everything is per corp: a schedule or calendar of another corp is invisible to a caller (it is
treated exactly like an unknown ID).

Schedules are kept in their full wire form (what ``oa/schedule/get`` answers), built once when the
schedule is stored by :func:`normalize_schedule`: the fields that were sent, the documented default
for each field that was not (or was sent as JSON ``null``). Reading back is then just a lookup.

IDs are deterministic for a given ``seed`` and creation order: schedule IDs are 32 lowercase hex
digits like the real ones, calendar IDs are ``"wcFAKE"`` + 26 letters/digits (32 characters, the
real ones look like ``"wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA"``).

Assumptions (the docs are silent):

* A repeated attendee or admin userid is stored once (first occurrence kept): WeCom keeps members
  as a set.
* ``exclude_time_list`` is an output only; ``oa/schedule/add`` ignores it (seeding keeps it).
* Each corp's default calendar has summary ``"Default calendar"`` and colour ``"#3F51B5"``.
* A repeated share userid is stored once (first occurrence kept); a share without
  ``permission`` gets 1 (view), the documented default.
* Deleting a calendar cancels its schedules (``status`` 1, still readable by schedule/get), and
  deleting the default calendar leaves the corp without one (schedule/add without ``cal_id``
  then answers 90708) until a calendar is added with ``set_as_default``.
* The fake models one app per corp. Calendars added with ``other_app=True`` stand for calendars
  another app of the corp created: the API treats them (and their schedules) as not this app's.
* Every userid is a member of the corp except those given to :meth:`Store.mark_unknown_users`
  (only calendar shares check membership: see ``_calendars``).
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._clock import Clock

__all__ = [
    "CorpData",
    "JSONObject",
    "Store",
    "StoredCalendar",
    "StoredSchedule",
    "normalize_calendar",
    "normalize_schedule",
]

JSONObject = dict[str, Any]

_CAL_ALPHABET = string.ascii_letters + string.digits
DEFAULT_COLOR = "#3F51B5"


def _or(mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    """``mapping[key]``, or *default* when the key is absent or JSON ``null``."""
    value = mapping.get(key)
    return default if value is None else value


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (orjson round trip: much faster than copy.deepcopy)."""
    return orjson.loads(orjson.dumps(value))


def _unique_strings(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _attendees(raw: Any) -> list[JSONObject]:
    out: dict[Any, JSONObject] = {}
    for item in raw or ():
        if not isinstance(item, Mapping):
            continue
        userid = item.get("userid")
        if userid in out:
            continue
        out[userid] = {"userid": userid, "response_status": _or(item, "response_status", 0)}
    return list(out.values())


def normalize_schedule(raw: Mapping[str, Any], *, schedule_id: str, cal_id: str) -> JSONObject:
    """The full wire form of a schedule (as ``oa/schedule/get`` lists it) from what was sent.

    *raw* is the ``schedule`` object of an add request (already validated, or trusted seed data);
    *cal_id* is the calendar it belongs to (the default calendar already substituted). Fields the
    API does not know are dropped; ``status`` and attendees' ``response_status`` are kept when
    present (seed data), else 0.
    """
    rem = raw.get("reminders")
    if not isinstance(rem, Mapping):
        rem = {}
    reminders: JSONObject = {
        "is_remind": _or(rem, "is_remind", 0),
        "is_repeat": _or(rem, "is_repeat", 0),
        "remind_before_event_secs": _or(rem, "remind_before_event_secs", 0),
        "remind_time_diffs": list(_or(rem, "remind_time_diffs", ())),
        "repeat_type": _or(rem, "repeat_type", 0),
        "repeat_until": _or(rem, "repeat_until", 0),
        "is_custom_repeat": _or(rem, "is_custom_repeat", 0),
        "repeat_interval": _or(rem, "repeat_interval", 0),
        "repeat_day_of_week": list(_or(rem, "repeat_day_of_week", ())),
        "repeat_day_of_month": list(_or(rem, "repeat_day_of_month", ())),
        "timezone": _or(rem, "timezone", 8),
        "exclude_time_list": [dict(e) for e in _or(rem, "exclude_time_list", ())],
    }
    return {
        "schedule_id": schedule_id,
        "admins": _unique_strings(_or(raw, "admins", ())),
        "attendees": _attendees(raw.get("attendees")),
        "summary": _or(raw, "summary", ""),
        "description": _or(raw, "description", ""),
        "reminders": reminders,
        "location": _or(raw, "location", ""),
        "cal_id": cal_id,
        "start_time": raw.get("start_time"),
        "end_time": raw.get("end_time"),
        "status": _or(raw, "status", 0),
        "is_whole_day": _or(raw, "is_whole_day", 0),
    }


def _shares(raw: Any) -> list[JSONObject]:
    out: dict[Any, JSONObject] = {}
    for item in raw or ():
        if not isinstance(item, Mapping):
            continue
        userid = item.get("userid")
        if userid not in out:
            out[userid] = {"userid": userid, "permission": _or(item, "permission", 1)}
    return list(out.values())


def normalize_calendar(raw: Mapping[str, Any], *, cal_id: str) -> JSONObject:
    """The full wire form of a calendar (as ``oa/calendar/get`` lists it) from what was sent.

    *raw* is the ``calendar`` object of an add request (already validated, or trusted data);
    fields the API does not know are dropped, missing ones get their defaults.
    """
    public_range = raw.get("public_range")
    if not isinstance(public_range, Mapping):
        public_range = {}
    return {
        "cal_id": cal_id,
        "admins": _unique_strings(_or(raw, "admins", ())),
        "summary": _or(raw, "summary", ""),
        "color": _or(raw, "color", DEFAULT_COLOR),
        "description": _or(raw, "description", ""),
        "shares": _shares(raw.get("shares")),
        "is_public": _or(raw, "is_public", 0),
        "public_range": {
            "userids": _unique_strings(_or(public_range, "userids", ())),
            "partyids": _unique_strings(_or(public_range, "partyids", ())),
        },
        "is_corp_calendar": _or(raw, "is_corp_calendar", 0),
    }


@dataclass(slots=True)
class StoredSchedule:
    """One schedule. ``data`` is its wire form (``schedule_id`` included).

    ``sequence`` starts at 1 and grows by one with each change (update, del, attendees);
    ``get_by_calendar`` lists it.
    """

    schedule_id: str
    corp_id: str
    data: JSONObject
    sequence: int = 1
    created_at: float = 0.0


@dataclass(slots=True)
class StoredCalendar:
    """One calendar. ``data`` is its wire form (``cal_id`` included).

    ``other_app``: created by another app of the corp (this app may not use it).
    """

    cal_id: str
    corp_id: str
    data: JSONObject
    is_default: bool = False
    deleted: bool = False
    other_app: bool = False


@dataclass(slots=True)
class CorpData:
    """The calendars and schedules of one corp (insertion ordered)."""

    corp_id: str
    default_cal_id: str = ""
    calendars: dict[str, StoredCalendar] = field(default_factory=dict)
    schedules: dict[str, StoredSchedule] = field(default_factory=dict)
    #: cal_id -> schedule IDs in that calendar (insertion ordered; values unused).
    by_calendar: dict[str, dict[str, None]] = field(default_factory=dict)
    #: User IDs that are not members of the corp (see :meth:`Store.mark_unknown_users`).
    unknown_userids: set[str] = field(default_factory=set)


class Store:
    """In-memory data of every corp of a :class:`~wecom_async.testing.FakeWeCom`.

    Methods taking ``corp_id=None`` use the first corp (the default one). Methods returning
    schedules or calendars return copies: mutating them does not change the store.
    """

    def __init__(self, *, seed: int = 0, clock: Clock = time.time) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._corps: dict[str, CorpData] = {}
        self._schedules: dict[str, StoredSchedule] = {}
        self._calendars: dict[str, StoredCalendar] = {}

    # --- IDs ------------------------------------------------------------------------------

    def new_schedule_id(self) -> str:
        """A fresh schedule ID: 32 lowercase hex digits, deterministic for the seed."""
        while True:
            sid = f"{self._rng.getrandbits(128):032x}"
            if sid not in self._schedules:
                return sid

    def new_cal_id(self) -> str:
        """A fresh calendar ID: ``"wcFAKE"`` + 26 letters/digits, deterministic for the seed."""
        while True:
            cal_id = "wcFAKE" + "".join(self._rng.choices(_CAL_ALPHABET, k=26))
            if cal_id not in self._calendars:
                return cal_id

    def new_corp_id(self) -> str:
        """A fresh corp ID: ``"wwfake"`` + 12 hex digits, deterministic for the seed."""
        while True:
            corp_id = f"wwfake{self._rng.getrandbits(48):012x}"
            if corp_id not in self._corps:
                return corp_id

    # --- corps and calendars ----------------------------------------------------------------

    @property
    def corp_ids(self) -> list[str]:
        """Every corp, the default one first."""
        return list(self._corps)

    def add_corp(self, corp_id: str) -> CorpData:
        """Create the data of *corp_id*, with its default calendar. Idempotent."""
        if corp_id in self._corps:
            return self._corps[corp_id]
        corp = self._corps[corp_id] = CorpData(corp_id)
        cal_id = self.add_calendar(corp_id, summary="Default calendar", color=DEFAULT_COLOR)
        self.set_default_calendar(cal_id)
        return corp

    def corp(self, corp_id: str | None = None) -> CorpData:
        """The data of *corp_id* (``KeyError`` if unknown)."""
        if corp_id is None:
            if not self._corps:
                raise KeyError("the store has no corp")
            return next(iter(self._corps.values()))
        return self._corps[corp_id]

    def default_cal_id(self, corp_id: str | None = None) -> str:
        """The ID of the default calendar of *corp_id* (``""`` once it was deleted)."""
        return self.corp(corp_id).default_cal_id

    def mark_unknown_users(self, *userids: str, corp_id: str | None = None) -> None:
        """Make *userids* not members of *corp_id*: calendar shares naming them are refused."""
        self.corp(corp_id).unknown_userids.update(userids)

    def add_calendar(
        self,
        corp_id: str | None = None,
        *,
        cal_id: str | None = None,
        other_app: bool = False,
        **fields: Any,
    ) -> str:
        """Create a calendar in *corp_id*; return its ID.

        *fields* are wire fields of a calendar (``summary``, ``color``, ``description``,
        ``admins``, ``is_public``, ``public_range``, ``is_corp_calendar``, ``shares``); the others
        get defaults. *cal_id* picks the ID (``ValueError`` if it is already used anywhere).
        *other_app* makes it a calendar of another app of the corp.
        """
        corp = self.corp(corp_id)
        if cal_id is None:
            cal_id = self.new_cal_id()
        elif cal_id in self._calendars:
            raise ValueError(f"calendar {cal_id!r} already exists")
        data = normalize_calendar(_copy(fields), cal_id=cal_id)
        cal = StoredCalendar(cal_id, corp.corp_id, data, other_app=other_app)
        self._calendars[cal_id] = corp.calendars[cal_id] = cal
        corp.by_calendar[cal_id] = {}
        return cal_id

    def set_default_calendar(self, cal_id: str) -> None:
        """Make *cal_id* the default calendar of its corp (``set_as_default``)."""
        cal = self._calendars[cal_id]
        corp = self._corps[cal.corp_id]
        previous = corp.calendars.get(corp.default_cal_id)
        if previous is not None:
            previous.is_default = False
        cal.is_default = True
        corp.default_cal_id = cal_id

    def delete_calendar(self, cal_id: str) -> None:
        """Delete *cal_id* as ``oa/calendar/del`` does: its live schedules are cancelled, and
        the corp has no default calendar any more if it was the default one."""
        cal = self._calendars[cal_id]
        corp = self._corps[cal.corp_id]
        cal.deleted = True
        for schedule_id in corp.by_calendar[cal_id]:
            if self._schedules[schedule_id].data["status"] != 1:
                self.cancel_schedule(schedule_id)
        if cal.is_default:
            cal.is_default = False
            corp.default_cal_id = ""

    def calendar_record(self, corp_id: str, cal_id: str) -> StoredCalendar | None:
        """The live calendar *cal_id* if it belongs to *corp_id* (for endpoint handlers)."""
        cal = self._calendars.get(cal_id)
        if cal is None or cal.corp_id != corp_id:
            return None
        return cal

    def has_calendar(self, corp_id: str, cal_id: str) -> bool:
        """Whether *cal_id* is a (not deleted) calendar of *corp_id*."""
        cal = self.calendar_record(corp_id, cal_id)
        return cal is not None and not cal.deleted

    def get_calendar(self, cal_id: str) -> JSONObject | None:
        """A copy of the wire form of calendar *cal_id* (any corp, deleted too), or None."""
        cal = self._calendars.get(cal_id)
        return None if cal is None else _copy(cal.data)

    # --- schedules --------------------------------------------------------------------------

    def insert_schedule(
        self, corp_id: str, raw: Mapping[str, Any], *, schedule_id: str | None = None
    ) -> StoredSchedule:
        """Store schedule *raw* (wire form, as sent to add) in *corp_id*; return the record.

        No validation beyond: *cal_id* (if given and not empty) must be a calendar of the corp
        (``ValueError``), and *schedule_id* (if given) must be unused (``ValueError``).
        """
        corp = self.corp(corp_id)
        if schedule_id is None:
            schedule_id = self.new_schedule_id()
        elif schedule_id in self._schedules:
            raise ValueError(f"schedule {schedule_id!r} already exists")
        cal_id = raw.get("cal_id") or corp.default_cal_id
        if not self.has_calendar(corp.corp_id, cal_id):
            raise ValueError(f"{cal_id!r} is not a calendar of corp {corp.corp_id!r}")
        data = normalize_schedule(raw, schedule_id=schedule_id, cal_id=cal_id)
        record = StoredSchedule(schedule_id, corp.corp_id, data, created_at=self._clock())
        self._schedules[schedule_id] = corp.schedules[schedule_id] = record
        corp.by_calendar[cal_id][schedule_id] = None
        return record

    def seed_schedules(
        self, schedules: Iterable[Mapping[str, Any]], *, corp_id: str | None = None
    ) -> list[str]:
        """Store many schedules at once without going through HTTP; return their IDs in order.

        Each item is a ``schedule`` object as sent to ``oa/schedule/add`` (not validated),
        optionally with ``schedule_id`` (to choose the ID), ``status`` (1 = cancelled) and
        attendees' ``response_status``. Fast enough for 100k schedules.
        """
        corp = self.corp(corp_id)
        return [
            self.insert_schedule(corp.corp_id, raw, schedule_id=raw.get("schedule_id")).schedule_id
            for raw in schedules
        ]

    def schedule_record(self, corp_id: str, schedule_id: str) -> StoredSchedule | None:
        """The live record of *schedule_id* if it belongs to *corp_id* (for endpoint handlers)."""
        record = self._schedules.get(schedule_id)
        if record is None or record.corp_id != corp_id:
            return None
        return record

    def get_schedule(self, schedule_id: str) -> JSONObject | None:
        """A copy of the wire form of *schedule_id* (any corp), or None."""
        record = self._schedules.get(schedule_id)
        return None if record is None else _copy(record.data)

    def schedules(self, corp_id: str | None = None) -> list[JSONObject]:
        """Copies of every schedule of *corp_id*, in creation order."""
        return [_copy(r.data) for r in self.corp(corp_id).schedules.values()]

    def schedule_count(self, corp_id: str | None = None) -> int:
        """How many schedules *corp_id* has (cancelled ones included)."""
        return len(self.corp(corp_id).schedules)

    def cancel_schedule(self, schedule_id: str) -> None:
        """Mark *schedule_id* cancelled (``status`` 1), as ``oa/schedule/del`` does."""
        record = self._schedules[schedule_id]
        record.data["status"] = 1
        record.sequence += 1

    def set_response_status(self, schedule_id: str, userid: str, response_status: int) -> None:
        """Set how attendee *userid* answered the invitation (0 pending … 4 declined)."""
        for attendee in self._schedules[schedule_id].data["attendees"]:
            if attendee["userid"] == userid:
                attendee["response_status"] = response_status
                return
        raise KeyError(userid)

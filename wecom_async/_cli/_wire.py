"""Schedules as JSON: the wire form out (exports), and schedule objects in (``schedules add``).

Out: the models' ``to_dict()``: every field of a :class:`~wecom_async.Schedule` under WeCom's own
names, flags as 0/1 and enumerations as numbers — exactly the shape ``oa/schedule/get`` answers,
so tools written against WeCom's documentation read the export as is. ``schedule_id`` comes
first in each line.

In: a ``schedule`` object as WeCom's ``oa/schedule/add`` takes it (or an exported line: the
output-only fields ``schedule_id``, ``status``, ``sequence``, attendees' ``response_status`` and
``reminders.exclude_time_list`` are ignored). Times are Unix seconds or ISO 8601 with an offset
(``2026-01-05T09:00:00+08:00``). Unknown fields and wrong types are refused with their path, so a
typo never silently drops a field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from .. import Attendee, Reminders, RepeatType, Schedule
from ..models import AddScheduleRequest, ScheduleInput

__all__ = ["parse_time", "schedule_line", "to_add_kwargs"]


def schedule_line(schedule: Schedule) -> bytes:
    """One JSONL line (newline included): the schedule's ``to_dict()``."""
    return orjson.dumps(schedule.to_dict()) + b"\n"


# --- input ---------------------------------------------------------------------------------------

_TEXT = ("summary", "description", "location", "cal_id")
_OUTPUT_ONLY = frozenset({"schedule_id", "status", "sequence"})
_KNOWN = frozenset(
    {"start_time", "end_time", "attendees", "admins", "reminders", "is_whole_day", *_TEXT}
)
_REMINDER_FLAGS = ("is_remind", "is_repeat", "is_custom_repeat")
_REMINDER_INTS = (
    "remind_before_event_secs",
    "repeat_type",
    "repeat_until",
    "repeat_interval",
    "timezone",
)
_REMINDER_LISTS = ("remind_time_diffs", "repeat_day_of_week", "repeat_day_of_month")


class InputError(ValueError):
    """What is wrong with one schedule object: a list of ``path: problem``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _type(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _int(value: Any, path: str, problems: list[str]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(f"{path}: expected an integer, got {_type(value)} {value!r}")
    return 0


def _flag(value: Any, path: str, problems: list[str]) -> bool:
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    problems.append(f"{path}: expected 0, 1, true or false, got {value!r}")
    return False


def parse_time(value: Any, path: str, problems: list[str]) -> int | datetime:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            problems.append(f"{path}: {value!r} is not Unix seconds or an ISO 8601 date-time")
            return 0
        if moment.tzinfo is None:
            problems.append(f"{path}: {value!r} has no UTC offset (write e.g. +08:00)")
            return 0
        return moment
    return _int(value, path, problems)


def _str(value: Any, path: str, problems: list[str]) -> str:
    if isinstance(value, str):
        return value
    problems.append(f"{path}: expected a string, got {_type(value)}")
    return ""


def _list(value: Any, path: str, problems: list[str]) -> list[Any]:
    if isinstance(value, list):
        return value
    problems.append(f"{path}: expected a list, got {_type(value)}")
    return []


def _reminders(raw: Any, problems: list[str]) -> Reminders | None:
    if not isinstance(raw, dict):
        problems.append(f"schedule.reminders: expected an object, got {_type(raw)}")
        return None
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"schedule.reminders.{key}"
        if key == "exclude_time_list":
            continue  # output only
        if key in _REMINDER_FLAGS:
            fields[key] = _flag(value, path, problems)
        elif key in _REMINDER_INTS:
            fields[key] = _int(value, path, problems)
        elif key in _REMINDER_LISTS:
            items = _list(value, path, problems)
            fields[key] = tuple(_int(v, f"{path}[{i}]", problems) for i, v in enumerate(items))
        else:
            problems.append(f"{path}: unknown field")
    if "repeat_type" in fields:
        fields["repeat_type"] = RepeatType(fields["repeat_type"])
    return Reminders(**fields)


def to_add_kwargs(obj: Any) -> dict[str, Any]:
    """Keyword arguments of ``client.schedules.add`` from a schedule object (or its envelope).

    Raises :class:`InputError` with every problem found, including the documented limits that
    the library checks (so that a file can be checked whole before anything is sent).
    """
    problems: list[str] = []
    if not isinstance(obj, dict):
        raise InputError([f"expected a JSON object, got {_type(obj)}"])
    kwargs: dict[str, Any] = {}
    if "schedule" in obj:
        envelope = obj
        obj = envelope["schedule"]
        if not isinstance(obj, dict):
            raise InputError([f"schedule: expected an object, got {_type(obj)}"])
        for key, value in envelope.items():
            if key == "agentid":
                kwargs["agentid"] = _int(value, "agentid", problems)
            elif key != "schedule":
                problems.append(f"{key}: unknown field")
    for required in ("start_time", "end_time"):
        if required not in obj:
            problems.append(f"schedule.{required}: required")
    for key, value in obj.items():
        path = f"schedule.{key}"
        if key in _OUTPUT_ONLY:
            continue
        if key not in _KNOWN:
            problems.append(f"{path}: unknown field")
        elif value is None:
            continue  # JSON null: not set
        elif key in ("start_time", "end_time"):
            kwargs[key] = parse_time(value, path, problems)
        elif key in _TEXT:
            kwargs[key] = _str(value, path, problems)
        elif key == "is_whole_day":
            kwargs[key] = _flag(value, path, problems)
        elif key == "admins":
            items = _list(value, path, problems)
            kwargs[key] = [_str(v, f"{path}[{i}]", problems) for i, v in enumerate(items)]
        elif key == "attendees":
            attendees: list[str] = []
            for i, item in enumerate(_list(value, path, problems)):
                if isinstance(item, dict) and "userid" in item:
                    item = item["userid"]
                attendees.append(_str(item, f"{path}[{i}].userid", problems))
            kwargs[key] = attendees
        else:
            kwargs[key] = _reminders(value, problems)
    # The documented limits are checked even when some fields are wrong, so that one pass
    # reports every problem; a field already reported is not reported again by them.
    problems += _limit_problems(kwargs, problems)
    if problems:
        raise InputError(problems)
    return kwargs


def _unix(value: int | datetime) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else value


def _limit_problems(kwargs: dict[str, Any], reported: list[str]) -> list[str]:
    """The library's own checks of schedule/add, run without sending anything.

    Problems on a field that ``reported`` already names are left out (a wrong or missing time
    also leaves out those of the other time: their order cannot be judged).
    """
    from .. import ValidationError

    flagged = {r.partition(":")[0] for r in reported}
    times = ("schedule.start_time", "schedule.end_time")
    if flagged & set(times):
        flagged.update(times)
    schedule = ScheduleInput(
        start_time=_unix(kwargs.get("start_time", 0)),
        end_time=_unix(kwargs.get("end_time", 0)),
        admins=None if "admins" not in kwargs else tuple(kwargs["admins"]),
        attendees=None
        if "attendees" not in kwargs
        else tuple(Attendee(a) for a in kwargs["attendees"]),
        summary=kwargs.get("summary"),
        description=kwargs.get("description"),
        reminders=kwargs.get("reminders"),
        location=kwargs.get("location"),
        cal_id=kwargs.get("cal_id"),
        is_whole_day=kwargs.get("is_whole_day"),
    )
    try:
        AddScheduleRequest(schedule=schedule, agentid=kwargs.get("agentid")).validate()
    except ValidationError as exc:
        return [
            str(p)
            for p in exc.problems
            if not any(p.path == f or p.path.startswith((f + ".", f + "[")) for f in flagged)
        ]
    return []

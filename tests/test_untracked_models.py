"""Held answers cost the garbage collector nothing, and the models keep their attrs API."""

from __future__ import annotations

import gc
import pickle

import attrs
import orjson
import pytest

from wecom_async import _sansio
from wecom_async.models import (
    Attendee,
    ExcludeTime,
    GetSchedulesResponse,
    Reminders,
    RepeatType,
    ResponseStatus,
    Schedule,
)

UNTRACKED = (Schedule, Reminders, ExcludeTime, Attendee)


def _answer(count: int) -> bytes:
    schedules = [
        {
            "schedule_id": f"id{i}",
            "start_time": 1_700_000_000 + i,
            "end_time": 1_700_003_600 + i,
            "admins": ["u0"],
            "attendees": [{"userid": f"u{k}", "response_status": k % 5} for k in range(4)],
            "summary": f"s{i}",
            "reminders": {
                "is_remind": 1,
                "remind_time_diffs": [-300],
                "is_repeat": 1,
                "repeat_type": 1,
                "repeat_day_of_week": [1, 3],
                "exclude_time_list": [{"start_time": 1_700_600_000}, {"start_time": 1}],
            },
            "cal_id": "cal",
        }
        for i in range(count)
    ]
    return orjson.dumps({"errcode": 0, "errmsg": "ok", "schedule_list": schedules})


def _decode(body: bytes) -> tuple[Schedule, ...]:
    answer = _sansio.decode_response(200, body, GetSchedulesResponse, "oa/schedule/get")
    return answer.schedule_list


def test_held_schedules_are_not_tracked_by_the_collector() -> None:
    body = _answer(500)
    gc.collect()
    before = len(gc.get_objects())
    held = [_decode(body) for _ in range(4)]
    gc.collect()  # tuples of untracked items are untracked by a pass over them
    per_schedule = (len(gc.get_objects()) - before) / 2000
    assert per_schedule < 0.01, per_schedule  # was ~3 with attrs slots classes
    schedule = held[0][0]
    parts = [
        schedule,
        schedule.reminders,
        schedule.attendees,
        schedule.attendees[0],
        schedule.reminders.exclude_time_list,
        schedule.reminders.exclude_time_list[0],
    ]
    assert [gc.is_tracked(part) for part in parts] == [False] * len(parts)
    assert schedule.reminders.exclude_time_list[0] == ExcludeTime(1_700_600_000)
    assert schedule.attendees[1] == Attendee("u1", ResponseStatus.TENTATIVE)


@pytest.mark.parametrize("cls", UNTRACKED)
def test_untracked_models_keep_the_attrs_api(cls: type) -> None:
    assert attrs.has(cls)
    assert cls.__name__ == cls.__qualname__
    assert cls.__module__ == "wecom_async.models.schedule"
    assert cls.__doc__


def test_schedule_attrs_api_is_unchanged() -> None:
    names = [field.name for field in attrs.fields(Schedule)]
    assert names == [
        "schedule_id",
        "start_time",
        "end_time",
        "admins",
        "attendees",
        "summary",
        "description",
        "reminders",
        "location",
        "cal_id",
        "status",
        "is_whole_day",
        "sequence",
    ]
    assert attrs.fields(Schedule).reminders.default == Reminders()
    schedule = Schedule("id", 10, 20, ("u",), (Attendee("u"),), "sum")
    assert schedule == Schedule(
        schedule_id="id",
        start_time=10,
        end_time=20,
        admins=("u",),
        attendees=(Attendee("u"),),
        summary="sum",
    )
    assert hash(schedule) == hash(Schedule("id", 10, 20, ("u",), (Attendee("u"),), "sum"))
    assert schedule != Schedule("id", 10, 21, ("u",), (Attendee("u"),), "sum")
    changed = attrs.evolve(schedule, summary="new", reminders=Reminders(is_repeat=True))
    assert type(changed) is Schedule
    assert (changed.summary, changed.reminders.is_repeat, changed.start_time) == ("new", True, 10)
    assert attrs.evolve(Reminders(), repeat_type=RepeatType.WEEKLY).repeat_type == 1
    assert attrs.evolve(Attendee("a"), userid="b") == Attendee("b")
    data = attrs.asdict(schedule)
    assert list(data["attendees"]) == [{"userid": "u", "response_status": ResponseStatus.PENDING}]
    assert data["reminders"]["timezone"] == 8
    assert (
        repr(Attendee("u")) == "Attendee(userid='u', response_status=<ResponseStatus.PENDING: 0>)"
    )
    assert schedule.start.utcoffset() is not None
    assert schedule.attendee_ids == ("u",)
    with pytest.raises(AttributeError):
        schedule.summary = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(schedule)) == schedule

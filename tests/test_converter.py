"""The converter: requests leave out unset fields; both decode engines give the same models."""

from __future__ import annotations

import random
from typing import Any

import orjson

from wecom_async import (
    Attendee,
    Reminders,
    RepeatType,
    ResponseStatus,
    Schedule,
    ScheduleStatus,
    _converter,
)
from wecom_async.models import AddScheduleRequest, GetSchedulesResponse, ScheduleInput


def test_request_leaves_out_what_was_not_set() -> None:
    body = orjson.loads(
        _converter.encode(AddScheduleRequest(schedule=ScheduleInput(start_time=1, end_time=2)))
    )
    assert body == {"schedule": {"start_time": 1, "end_time": 2}}


def test_request_wire_types() -> None:
    request = AddScheduleRequest(
        schedule=ScheduleInput(
            start_time=1,
            end_time=2,
            attendees=(Attendee("u1", ResponseStatus.ACCEPTED), Attendee("u2")),
            is_whole_day=False,
            reminders=Reminders(is_remind=True, remind_time_diffs=(-300,), timezone=8),
        ),
        agentid=1000014,
    )
    body = orjson.loads(_converter.encode(request))
    assert body == {
        "schedule": {
            "start_time": 1,
            "end_time": 2,
            # only user IDs: response_status is the server's
            "attendees": [{"userid": "u1"}, {"userid": "u2"}],
            # explicitly set, so sent, as a 0/1 int
            "is_whole_day": 0,
            # reminder fields at WeCom's defaults are left out (timezone 8 is the default)
            "reminders": {"is_remind": 1, "remind_time_diffs": [-300]},
        },
        "agentid": 1000014,
    }


def random_schedule(rng: random.Random, index: int) -> dict[str, Any]:
    attendees = [
        {"userid": f"user{rng.randrange(10_000)}", "response_status": rng.randrange(5)}
        for _ in range(rng.randrange(0, 8))
    ]
    schedule: dict[str, Any] = {
        "schedule_id": f"{index:032x}",
        "admins": [a["userid"] for a in attendees[: rng.randrange(0, 4)]],
        "attendees": attendees,
        "summary": rng.choice(["需求评审会议", "周会", "", "1:1 同步"]),
        "description": "描述" * rng.randrange(0, 20),
        "location": rng.choice(["广州国际媒体港10楼1005会议室", ""]),
        "cal_id": "wc" + "x" * 30,
        "start_time": 1_700_000_000 + index * 60,
        "end_time": 1_700_003_600 + index * 60,
        "status": rng.randrange(2),
        "is_whole_day": rng.randrange(2),
        "reminders": {
            "is_remind": rng.randrange(2),
            "is_repeat": rng.randrange(2),
            "remind_before_event_secs": rng.choice([0, 300, 3600]),
            "remind_time_diffs": rng.sample([0, -300, -900, -3600], rng.randrange(3)),
            "repeat_type": rng.choice([0, 1, 2, 5, 7, 3]),  # 3 is not documented (yet)
            "repeat_until": rng.choice([0, 1_800_000_000]),
            "is_custom_repeat": rng.randrange(2),
            "repeat_interval": rng.randrange(3),
            "repeat_day_of_week": sorted(rng.sample(range(1, 8), rng.randrange(3))),
            "repeat_day_of_month": sorted(rng.sample(range(1, 32), rng.randrange(3))),
            "timezone": rng.randrange(-12, 13),
            "exclude_time_list": [{"start_time": 1_700_086_400}] * rng.randrange(2),
        },
    }
    # Answers may lack optional fields or carry fields added later.
    for key in rng.sample(["admins", "description", "location", "reminders", "status"], 2):
        schedule.pop(key)
    schedule["field_added_later"] = {"nested": [1, 2]}
    return schedule


def test_msgspec_and_cattrs_give_identical_models() -> None:
    rng = random.Random(20261121)
    body = orjson.dumps(
        {
            "errcode": 0,
            "errmsg": "ok",
            "schedule_list": [random_schedule(rng, i) for i in range(500)],
            "new_top_level": True,
        }
    )
    fast = _converter.decode(body, GetSchedulesResponse)
    reference = _converter.structure(orjson.loads(body), GetSchedulesResponse)
    assert len(fast.schedule_list) == 500
    assert fast == reference
    # The comparison above is only meaningful if values really came through.
    repeat_types = {s.reminders.repeat_type for s in fast.schedule_list}
    assert RepeatType.WORKDAYS in repeat_types
    assert 3 in repeat_types


def test_defaults_for_missing_fields_and_unknown_enum_values() -> None:
    body = b'{"schedule_id":"s1","start_time":1,"end_time":2,"status":9,"surprise":1}'
    schedule = _converter.decode(body, Schedule)
    assert schedule.status == 9
    assert schedule.status.name == "UNKNOWN_9"
    assert schedule.reminders == Reminders()
    assert schedule.reminders.timezone == 8
    assert schedule.admins == ()
    assert schedule.status != ScheduleStatus.CANCELLED
    assert not schedule.is_cancelled


def test_convenience_properties() -> None:
    schedule = _converter.decode(
        b'{"schedule_id":"s","start_time":1571274600,"end_time":1571320210,"status":1,'
        b'"attendees":[{"userid":"a"},{"userid":"b","response_status":4}],'
        b'"reminders":{"timezone":-5,"repeat_until":1606976813}}',
        Schedule,
    )
    assert schedule.is_cancelled
    assert schedule.attendee_ids == ("a", "b")
    assert schedule.attendees[1].response_status is ResponseStatus.DECLINED
    assert schedule.start.isoformat() == "2019-10-16T20:10:00-05:00"
    assert schedule.end.utcoffset() is not None
    until = schedule.reminders.repeat_until_dt
    assert until is not None
    assert until.timestamp() == 1606976813
    assert Reminders().repeat_until_dt is None
    default_tz = _converter.decode(b'{"schedule_id":"s","start_time":0,"end_time":0}', Schedule)
    assert default_tz.start.isoformat() == "1970-01-01T08:00:00+08:00"

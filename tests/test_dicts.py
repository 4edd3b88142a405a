"""to_dict / from_dict: every model as WeCom's JSON and back (round trips on generated models)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest

from wecom_async import (
    Attendee,
    Calendar,
    CalendarFailResult,
    CalendarPermission,
    CalendarShare,
    CalendarWriteResult,
    ExcludeTime,
    PublicRange,
    Reminders,
    RepeatType,
    ResponseStatus,
    Schedule,
    ScheduleStatus,
    ShareFailure,
    ValidationError,
    _converter,
)
from wecom_async import models as models_module
from wecom_async.models import (
    AddCalendarRequest,
    AddScheduleRequest,
    CalendarInput,
    DeleteScheduleRequest,
    GetSchedulesResponse,
    OpMode,
    ScheduleInput,
    UpdateScheduleRequest,
)

DOC = Path("/work/shared/wecom-docs/schedule-get.md")

# Generated models: seeded random values over each field's range (hypothesis is not a dependency).
Gen = Callable[[random.Random], Any]
ALPHABET = 'aZ0_-.中文 "\\\n\t\u2028😀'


def text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(13)))


def ids(rng: random.Random) -> str:
    return text(rng) or "x"


def u32(rng: random.Random) -> int:
    return rng.choice([0, 1, 2**32 - 1, rng.randrange(2**32)])


def flag(rng: random.Random) -> bool:
    return rng.random() < 0.5


def ints(low: int, high: int) -> Gen:
    return lambda rng: rng.randint(low, high)


def enum_values(enum: Any) -> Gen:
    """The documented members, and values WeCom may add later (kept as pseudo-members)."""
    return lambda rng: rng.choice(list(enum)) if flag(rng) else enum(rng.randrange(41))


def small_tuple(item: Gen) -> Gen:
    return lambda rng: tuple(item(rng) for _ in range(rng.randrange(5)))


def maybe(gen: Gen) -> Gen:
    return lambda rng: None if flag(rng) else gen(rng)


def const(value: Any) -> Gen:
    return lambda rng: value


def build(cls: Any, *args: Gen, **kwargs: Gen) -> Gen:
    return lambda rng: cls(*(g(rng) for g in args), **{k: g(rng) for k, g in kwargs.items()})


attendees = build(Attendee, ids, enum_values(ResponseStatus))
reminders = build(
    Reminders,
    is_remind=flag,
    remind_before_event_secs=u32,
    remind_time_diffs=small_tuple(ints(-604800, 86399)),
    is_repeat=flag,
    repeat_type=enum_values(RepeatType),
    repeat_until=u32,
    is_custom_repeat=flag,
    repeat_interval=u32,
    repeat_day_of_week=small_tuple(ints(1, 7)),
    repeat_day_of_month=small_tuple(ints(1, 31)),
    timezone=ints(-12, 12),
    exclude_time_list=small_tuple(build(ExcludeTime, u32)),
)
schedules = build(
    Schedule,
    schedule_id=ids,
    start_time=u32,
    end_time=u32,
    admins=small_tuple(ids),
    attendees=small_tuple(attendees),
    summary=text,
    description=text,
    reminders=reminders,
    location=text,
    cal_id=text,
    status=enum_values(ScheduleStatus),
    is_whole_day=flag,
    sequence=u32,
)
public_ranges = build(PublicRange, small_tuple(ids), small_tuple(u32))
shares = build(CalendarShare, ids, enum_values(CalendarPermission))
calendars = build(
    Calendar,
    cal_id=ids,
    admins=small_tuple(ids),
    summary=text,
    color=text,
    description=text,
    shares=small_tuple(shares),
    is_public=flag,
    public_range=public_ranges,
    is_corp_calendar=flag,
)
share_failures = build(ShareFailure, text, ints(0, 10**6), text)
fail_results = build(CalendarFailResult, small_tuple(share_failures))
schedule_inputs = build(
    ScheduleInput,
    start_time=u32,
    end_time=u32,
    admins=maybe(small_tuple(ids)),
    # A request carries attendees' user IDs only: response_status is WeCom's.
    attendees=maybe(small_tuple(build(Attendee, ids))),
    summary=maybe(text),
    reminders=maybe(reminders),
    is_whole_day=maybe(flag),
)

MODELS: dict[Any, Gen] = {
    Schedule: schedules,
    Attendee: attendees,
    Reminders: reminders,
    ExcludeTime: build(ExcludeTime, u32),
    Calendar: calendars,
    CalendarShare: shares,
    PublicRange: public_ranges,
    CalendarFailResult: fail_results,
    ShareFailure: share_failures,
    CalendarWriteResult: build(CalendarWriteResult, ids, fail_results),
    GetSchedulesResponse: build(GetSchedulesResponse, ints(0, 9), text, small_tuple(schedules)),
    AddScheduleRequest: build(AddScheduleRequest, schedule_inputs, maybe(u32)),
    UpdateScheduleRequest: build(
        UpdateScheduleRequest,
        lambda rng: attrs.evolve(schedule_inputs(rng), schedule_id="s1"),
        maybe(flag),
        maybe(enum_values(OpMode)),
        maybe(u32),
    ),
    DeleteScheduleRequest: build(DeleteScheduleRequest, ids),
    AddCalendarRequest: build(
        AddCalendarRequest,
        build(
            CalendarInput,
            summary=text,
            color=text,
            shares=maybe(small_tuple(shares)),
            public_range=maybe(public_ranges),
            is_public=maybe(flag),
        ),
    ),
}


@pytest.mark.parametrize("model", list(MODELS), ids=lambda m: m.__name__)
def test_from_dict_of_to_dict_is_the_model(model: type[Any]) -> None:
    rng = random.Random(f"{model.__name__}-20261130")
    for _ in range(300):
        value = MODELS[model](rng)
        wire = value.to_dict()
        # JSON-ready: plain dicts, lists, strings and ints, exactly what JSON reads back.
        assert _plain(wire)
        assert json.loads(json.dumps(wire)) == wire
        assert model.from_dict(wire) == value
        assert model.from_dict(json.loads(json.dumps(wire))) == value


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    # bool is a subclass of int, and IntEnum too: only the exact types are plain.
    return type(value) in (str, int) or value is None


def test_every_public_model_has_to_dict_and_from_dict() -> None:
    classes = [
        getattr(models_module, name)
        for name in models_module.__all__
        if attrs.has(getattr(models_module, name)) or getattr(models_module, name) is Attendee
    ]
    assert len(classes) > 25
    for cls in classes:
        assert callable(cls.to_dict), cls
        assert callable(cls.from_dict), cls


def test_schedule_wire_shape_flags_enums_and_sequence() -> None:
    schedule = Schedule(
        "s1",
        10,
        20,
        attendees=(Attendee("u1", ResponseStatus.DECLINED),),
        reminders=Reminders(is_repeat=True, repeat_type=RepeatType(3)),
        status=ScheduleStatus.CANCELLED,
        is_whole_day=True,
    )
    wire = schedule.to_dict()
    assert next(iter(wire)) == "schedule_id"
    assert wire["attendees"] == [{"userid": "u1", "response_status": 4}]
    assert (wire["is_whole_day"], type(wire["is_whole_day"])) == (1, int)
    assert (wire["reminders"]["repeat_type"], type(wire["reminders"]["repeat_type"])) == (3, int)
    assert (wire["status"], type(wire["status"])) == (1, int)
    # sequence is only in get_by_calendar answers: written only when set.
    assert "sequence" not in wire
    assert attrs.evolve(schedule, sequence=7).to_dict()["sequence"] == 7
    # Calendar.adminis is the doc example's spelling, decoding only.
    calendar = Calendar.from_dict({"cal_id": "c", "adminis": ["a"]})
    assert calendar.admins == ("a",)
    assert "adminis" not in calendar.to_dict()
    assert calendar.to_dict()["admins"] == ["a"]


def test_request_to_dict_is_the_body_sent() -> None:
    request = AddScheduleRequest(
        ScheduleInput(1, 2, attendees=(Attendee("u1"),), reminders=Reminders(is_remind=True)),
        agentid=5,
    )
    assert orjson.loads(_converter.encode(request)) == request.to_dict()
    assert request.to_dict() == {
        "schedule": {
            "start_time": 1,
            "end_time": 2,
            "attendees": [{"userid": "u1"}],
            "reminders": {"is_remind": 1},
        },
        "agentid": 5,
    }


def _doc_sample() -> dict[str, Any]:
    page = DOC.read_text(encoding="utf-8")
    start = page.index('"errcode": 0')
    body = page[page.rindex("{", 0, start) : page.index("参数说明", start)]
    sample: dict[str, Any] = json.loads(re.sub(r"\s+", " ", body))
    return sample


def test_from_dict_reads_the_docs_sample_as_the_decoder_does() -> None:
    sample = _doc_sample()
    wecom = sample["schedule_list"][0]
    schedule = Schedule.from_dict(wecom)
    assert schedule == _converter.decode(orjson.dumps(wecom), Schedule)
    assert schedule.schedule_id == "17c7d2bd9f20d652840f72f59e796AAA"
    assert schedule.attendees == (Attendee("userid2", ResponseStatus.TENTATIVE),)
    assert schedule.reminders.repeat_type is RepeatType.WORKDAYS
    assert schedule.reminders.exclude_time_list == (ExcludeTime(1571361000),)
    assert schedule.is_whole_day is True
    assert schedule.status is ScheduleStatus.CANCELLED
    # The whole answer too; and to_dict gives back WeCom's own JSON, key for key.
    assert GetSchedulesResponse.from_dict(sample).schedule_list == (schedule,)
    assert schedule.to_dict() == wecom


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"schedule_id": 1, "start_time": 1, "end_time": 2}, "schedule_id"),
        ({"schedule_id": "s", "start_time": 1}, "$"),
        ({"schedule_id": "s", "start_time": 1, "end_time": 2, "attendees": [{"userid": 3}]},
         "attendees[0].userid"),
        ({"schedule_id": "s", "start_time": 1, "end_time": 2, "reminders": {"timezone": "x"}},
         "reminders.timezone"),
        (["not", "a", "dict"], "$"),
    ],
)  # fmt: skip
def test_from_dict_of_a_wrong_value_is_a_validation_error_naming_it(data: Any, path: str) -> None:
    with pytest.raises(ValidationError) as info:
        Schedule.from_dict(data)
    assert info.value.paths == (path,)
    assert "Schedule dict" in str(info.value)

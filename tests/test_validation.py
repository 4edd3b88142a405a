"""Every documented limit of schedule/add, checked before anything is sent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from wecom_async import Attendee, Reminders, RepeatType, ValidationError, WeComClient
from wecom_async.models import AddScheduleRequest, GetSchedulesRequest, ScheduleInput

START = 1_700_000_000
END = START + 3600


def problems(**fields: Any) -> dict[str, str]:
    """Validate an add request built from ``fields``; {path: message} of every problem."""
    base: dict[str, Any] = {"start_time": START, "end_time": END}
    base.update(fields)
    agentid = base.pop("agentid", None)
    try:
        AddScheduleRequest(schedule=ScheduleInput(**base), agentid=agentid).validate()
    except ValidationError as exc:
        return {p.path: p.message for p in exc.problems}
    return {}


def reminder_problems(*, is_whole_day: bool | None = None, **fields: Any) -> dict[str, str]:
    return problems(reminders=Reminders(**fields), is_whole_day=is_whole_day)


def test_a_valid_request_has_no_problem() -> None:
    assert (
        problems(
            admins=("u1",),
            attendees=(Attendee("u1"), Attendee("u2")),
            summary="需求评审会议",
            description="d" * 1000,
            location="l" * 128,
            cal_id="c" * 64,
            is_whole_day=True,
            reminders=Reminders(
                is_remind=True,
                remind_before_event_secs=3600,
                remind_time_diffs=(0, -3600, 32400, -604800),
                is_repeat=True,
                repeat_type=RepeatType.WORKDAYS,
                repeat_until=1606976813,
                is_custom_repeat=True,
                repeat_interval=1,
                repeat_day_of_week=(3, 7),
                repeat_day_of_month=(10, 21),
                timezone=-12,
            ),
        )
        == {}
    )


def test_admins_at_most_three_and_each_an_attendee() -> None:
    attendees = tuple(Attendee(f"u{i}") for i in range(4))
    found = problems(admins=("u0", "u1", "u2", "u3"), attendees=attendees)
    assert found == {"schedule.admins": "at most 3 items, got 4"}
    found = problems(admins=("u0", "boss"), attendees=attendees)
    assert found == {"schedule.admins[1]": "admin 'boss' must be an attendee"}


def test_attendees_at_most_1000() -> None:
    ok = tuple(Attendee(f"u{i}") for i in range(1000))
    assert problems(attendees=ok) == {}
    found = problems(attendees=(*ok, Attendee("one-more")))
    assert found == {"schedule.attendees": "at most 1000 items, got 1001"}


def test_userid_at_most_64_bytes_in_utf8() -> None:
    assert problems(attendees=(Attendee("a" * 64),)) == {}
    # 22 CJK characters are 66 bytes: over the limit although only 22 characters long.
    found = problems(
        attendees=(Attendee("ok"), Attendee("ok2"), Attendee("ok3"), Attendee("张" * 22))
    )
    assert found == {"schedule.attendees[3].userid": "at most 64 bytes in UTF-8, got 66"}
    assert problems(attendees=(Attendee(""),)) == {
        "schedule.attendees[0].userid": "must not be empty"
    }


@pytest.mark.parametrize(
    ("field", "limit"), [("summary", 128), ("description", 1000), ("location", 128)]
)
def test_text_lengths_in_characters(field: str, limit: int) -> None:
    assert problems(**{field: "字" * limit}) == {}
    found = problems(**{field: "字" * (limit + 1)})
    assert found == {f"schedule.{field}": f"at most {limit} characters, got {limit + 1}"}


def test_cal_id_at_most_64_bytes() -> None:
    assert problems(cal_id="c" * 64) == {}
    assert problems(cal_id="c" * 65) == {"schedule.cal_id": "at most 64 bytes in UTF-8, got 65"}
    assert problems(cal_id="") == {"schedule.cal_id": "must not be empty"}


def test_times_within_uint32_and_end_not_before_start() -> None:
    assert "schedule.start_time" in problems(start_time=-1)
    assert "schedule.end_time" in problems(end_time=2**32)
    assert problems(end_time=START - 1) == {"schedule.end_time": "must not be before start_time"}
    assert problems(end_time=START) == {}


def test_agentid_within_uint32() -> None:
    assert "agentid" in problems(agentid=-5)


@pytest.mark.parametrize("secs", [0, 300, 900, 3600, 86400])
def test_remind_before_event_secs_allowed(secs: int) -> None:
    assert reminder_problems(remind_before_event_secs=secs) == {}


def test_remind_before_event_secs_rejected() -> None:
    found = reminder_problems(remind_before_event_secs=600)
    assert found == {
        "schedule.reminders.remind_before_event_secs": (
            "must be one of {0, 300, 900, 3600, 86400}, got 600"
        )
    }


def test_remind_time_diffs() -> None:
    assert reminder_problems(remind_time_diffs=(0, -300, -900, -3600, -86400)) == {}
    found = reminder_problems(remind_time_diffs=(0, 60))
    assert list(found) == ["schedule.reminders.remind_time_diffs[1]"]
    assert "got 60" in found["schedule.reminders.remind_time_diffs[1]"]


@pytest.mark.parametrize("diff", [32400, -172800, -604800])
def test_whole_day_remind_time_diffs_only_for_whole_day(diff: int) -> None:
    assert reminder_problems(is_whole_day=True, remind_time_diffs=(diff,)) == {}
    found = reminder_problems(is_whole_day=False, remind_time_diffs=(diff,))
    message = found["schedule.reminders.remind_time_diffs[0]"]
    assert message.endswith("(only with is_whole_day)")


def test_repeat_type_is_one_of_the_documented() -> None:
    for value in (0, 1, 2, 5, 7):
        assert reminder_problems(repeat_type=RepeatType(value)) == {}
    found = reminder_problems(repeat_type=RepeatType(3))
    assert found == {"schedule.reminders.repeat_type": "must be one of {0, 1, 2, 5, 7}, got 3"}


def test_repeat_days_and_timezone_ranges() -> None:
    assert reminder_problems(repeat_day_of_week=(1, 7), repeat_day_of_month=(1, 31)) == {}
    found = reminder_problems(repeat_day_of_week=(0, 8), repeat_day_of_month=(32,), timezone=13)
    assert found == {
        "schedule.reminders.repeat_day_of_week[0]": "must be within 1…7, got 0",
        "schedule.reminders.repeat_day_of_week[1]": "must be within 1…7, got 8",
        "schedule.reminders.repeat_day_of_month[0]": "must be within 1…31, got 32",
        "schedule.reminders.timezone": "must be within -12…12, got 13",
    }
    assert reminder_problems(timezone=-13) == {
        "schedule.reminders.timezone": "must be within -12…12, got -13"
    }


def test_custom_repeat_needs_an_interval() -> None:
    found = reminder_problems(is_repeat=True, is_custom_repeat=True)
    assert found == {
        "schedule.reminders.repeat_interval": "custom repeats need repeat_interval ≥ 1"
    }


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        AddScheduleRequest(
            schedule=ScheduleInput(
                start_time=END,
                end_time=START,
                summary="s" * 200,
                admins=("x", "y", "z", "w"),
                reminders=Reminders(timezone=20),
            )
        ).validate()
    error = info.value
    assert error.paths == (
        "schedule.end_time",
        "schedule.admins",
        "schedule.admins[0]",
        "schedule.admins[1]",
        "schedule.admins[2]",
        "schedule.admins[3]",
        "schedule.summary",
        "schedule.reminders.timezone",
    )
    text = str(error)
    assert "8 problems" in text
    assert "schedule.summary: at most 128 characters, got 200" in text


def test_get_request_limits() -> None:
    GetSchedulesRequest(schedule_id_list=tuple(str(i) for i in range(1000))).validate()
    with pytest.raises(ValidationError) as info:
        GetSchedulesRequest(schedule_id_list=tuple(str(i) for i in range(1001))).validate()
    assert info.value.paths == ("schedule_id_list",)
    with pytest.raises(ValidationError):
        GetSchedulesRequest(schedule_id_list=()).validate()
    with pytest.raises(ValidationError) as info:
        GetSchedulesRequest(schedule_id_list=("a", "")).validate()
    assert info.value.paths == ("schedule_id_list[1]",)


async def test_client_rejects_before_sending_and_names_naive_datetimes() -> None:
    # Port 9 (discard) on loopback: if anything were sent, the call would fail differently.
    async with WeComClient(corp_id="c", corp_secret="s", base_url="http://127.0.0.1:9") as client:
        naive = datetime(2024, 1, 1, 9, 0)
        with pytest.raises(ValidationError) as info:
            await client.schedules.add(
                start_time=naive,
                end_time=datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=8))),
                summary="x" * 129,
            )
        assert info.value.paths == ("schedule.start_time", "schedule.summary")
        assert "naive datetime" in str(info.value)
        with pytest.raises(ValidationError):
            await client.schedules.get([str(i) for i in range(1001)])
        assert client.tokens.fetches == 0

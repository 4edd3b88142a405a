"""client.schedules beyond add/get: update, patch, delete, attendees, list_by_calendar.

Everything goes through the public API against the fake WeCom server on loopback.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from wecom_async import (
    APIConnectionError,
    Attendee,
    ExcludeTime,
    InvalidRequestError,
    NotFoundError,
    OpMode,
    PermissionDeniedError,
    Reminders,
    RepeatType,
    ResourceDeletedError,
    ResponseStatus,
    Schedule,
    ValidationError,
    WeComClient,
)
from wecom_async.models import AddScheduleRequest, ScheduleInput, UpdateScheduleRequest
from wecom_async.testing import FakeWeCom

TZ8 = timezone(timedelta(hours=8))
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
#: Wednesday 2024-01-03 14:00 UTC+8: the first occurrence of the weekly series below.
T0 = int(datetime(2024, 1, 3, 14, 0, tzinfo=TZ8).timestamp())
WEEKLY = Reminders(
    is_remind=True, remind_time_diffs=(-900,), is_repeat=True, repeat_type=RepeatType.WEEKLY
)

UPDATE = "oa/schedule/update"
DELETE = "oa/schedule/del"
ADD_ATTENDEES = "oa/schedule/add_attendees"
DEL_ATTENDEES = "oa/schedule/del_attendees"
BY_CALENDAR = "oa/schedule/get_by_calendar"


def bodies(fake: FakeWeCom, path: str) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path == path and r.body is not None]


async def one(client: WeComClient, schedule_id: str) -> Schedule:
    [schedule] = await client.schedules.get([schedule_id])
    return schedule


async def weekly_series(client: WeComClient, **fields: Any) -> str:
    """A weekly series from T0 (one hour each week), with two attendees, one of them admin."""
    values: dict[str, Any] = {
        "start_time": T0,
        "end_time": T0 + HOUR,
        "summary": "体育课",
        "description": "every Wednesday",
        "location": "操场",
        "attendees": ["teacher", "student"],
        "admins": ["teacher"],
        "reminders": WEEKLY,
    }
    values.update(fields)
    return await client.schedules.add(**values)


# --- update -------------------------------------------------------------------------------------


async def test_update_overwrites_every_field_not_sent(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client)
    assert (
        await client.schedules.update(
            schedule_id, start_time=T0 + HOUR, end_time=T0 + 2 * HOUR, summary="moved"
        )
        == schedule_id
    )
    assert bodies(fake, UPDATE) == [
        {
            "schedule": {
                "schedule_id": schedule_id,
                "start_time": T0 + HOUR,
                "end_time": T0 + 2 * HOUR,
                "summary": "moved",
            }
        }
    ]
    schedule = await one(client, schedule_id)
    assert (schedule.start_time, schedule.summary) == (T0 + HOUR, "moved")
    assert schedule.description == schedule.location == ""
    assert (schedule.attendees, schedule.admins) == ((), ())
    assert schedule.reminders == Reminders()


async def test_update_sets_every_field_and_keeps_answers_of_kept_attendees(
    client: WeComClient, fake: FakeWeCom
) -> None:
    schedule_id = await weekly_series(client)
    fake.store.set_response_status(schedule_id, "student", ResponseStatus.ACCEPTED)
    reminders = Reminders(is_remind=True, remind_time_diffs=(32400,), timezone=-5)
    await client.schedules.update(
        schedule_id,
        start_time=datetime(2024, 2, 1, tzinfo=TZ8),
        end_time=datetime(2024, 2, 2, tzinfo=TZ8),
        summary="s",
        description="d",
        location="l",
        attendees=["student", Attendee("new")],
        admins=["new"],
        reminders=reminders,
        is_whole_day=True,
    )
    schedule = await one(client, schedule_id)
    assert schedule.start == datetime(2024, 2, 1, tzinfo=TZ8)
    assert schedule.attendees == (Attendee("student", ResponseStatus.ACCEPTED), Attendee("new"))
    assert (schedule.admins, schedule.description, schedule.location) == (("new",), "d", "l")
    assert schedule.reminders == reminders
    assert schedule.is_whole_day


async def test_update_skip_attendees_keeps_them(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client)
    fake.store.set_response_status(schedule_id, "student", ResponseStatus.DECLINED)
    await client.schedules.update(
        schedule_id,
        start_time=T0,
        end_time=T0 + HOUR,
        admins=["student"],
        skip_attendees=True,
    )
    [body] = bodies(fake, UPDATE)
    assert body["skip_attendees"] == 1
    assert "attendees" not in body["schedule"]
    schedule = await one(client, schedule_id)
    assert schedule.attendees == (Attendee("teacher"), Attendee("student", ResponseStatus.DECLINED))
    assert schedule.admins == ("student",)


async def test_update_never_sends_exclude_time_list(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client)
    reminders = attrs.evolve(WEEKLY, exclude_time_list=(ExcludeTime(T0 + WEEK),))
    await client.schedules.update(
        schedule_id, start_time=T0, end_time=T0 + HOUR, reminders=reminders
    )
    [body] = bodies(fake, UPDATE)
    assert "exclude_time_list" not in body["schedule"]["reminders"]


@pytest.mark.parametrize(
    ("fields", "paths"),
    [
        pytest.param(
            {"attendees": ["a"], "skip_attendees": True}, ["schedule.attendees"], id="skip"
        ),
        pytest.param({"op_mode": OpMode.THIS}, ["op_start_time"], id="THIS without time"),
        pytest.param(
            {"op_mode": OpMode.THIS_AND_FOLLOWING}, ["op_start_time"], id="FOLLOWING without time"
        ),
        pytest.param({"op_start_time": 1.5}, ["op_start_time"], id="float time without mode"),
        pytest.param({"op_mode": OpMode(7), "op_start_time": T0}, ["op_mode"], id="mode 7"),
        pytest.param(
            {"op_mode": OpMode.THIS, "op_start_time": T0, "reminders": WEEKLY},
            ["schedule.reminders.is_repeat"],
            id="THIS repeating",
        ),
        pytest.param({"op_mode": OpMode.THIS, "op_start_time": -1}, ["op_start_time"], id="uint32"),
        pytest.param(
            {"op_mode": OpMode.THIS, "op_start_time": datetime(2024, 1, 3)},
            ["op_start_time"],
            id="naive op_start_time",
        ),
        pytest.param({"admins": ["x"]}, ["schedule.admins[0]"], id="admin not attendee"),
        pytest.param({"summary": "s" * 129}, ["schedule.summary"], id="summary"),
    ],
)
async def test_update_is_validated_before_sending(
    client: WeComClient, fake: FakeWeCom, fields: dict[str, Any], paths: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.schedules.update("sid", start_time=T0, end_time=T0 + HOUR, **fields)
    assert list(info.value.paths) == paths
    assert info.value.model == "schedule/update request"
    assert fake.calls(UPDATE) == 0


def test_ids_are_wecom_s_to_choose_and_calendars_do_not_change() -> None:
    with pytest.raises(ValidationError) as add:
        AddScheduleRequest(ScheduleInput(start_time=1, end_time=2, schedule_id="s")).validate()
    assert add.value.paths == ("schedule.schedule_id",)
    with pytest.raises(ValidationError) as update:
        UpdateScheduleRequest(ScheduleInput(start_time=1, end_time=2, cal_id="wc")).validate()
    assert update.value.paths == ("schedule.schedule_id", "schedule.cal_id")


async def test_update_needs_a_schedule_id(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValidationError) as info:
        await client.schedules.update("", start_time=T0, end_time=T0)
    assert info.value.paths == ("schedule.schedule_id",)


async def test_update_errors_are_typed(client: WeComClient, fake: FakeWeCom) -> None:
    single = await client.schedules.add(start_time=T0, end_time=T0 + HOUR)
    series = await weekly_series(client)
    with pytest.raises(NotFoundError) as not_found:
        await client.schedules.update("0" * 32, start_time=T0, end_time=T0)
    assert not_found.value.errcode == 90461
    with pytest.raises(InvalidRequestError) as not_recurring:
        await client.schedules.update(
            single, start_time=T0, end_time=T0, op_mode=OpMode.THIS, op_start_time=T0
        )
    assert not_recurring.value.errcode == 90485
    with pytest.raises(InvalidRequestError) as not_an_occurrence:
        await client.schedules.update(
            series,
            start_time=T0 + DAY,
            end_time=T0 + DAY,
            op_mode=OpMode.THIS,
            op_start_time=T0 + DAY,
        )
    assert not_an_occurrence.value.errcode == 90482
    other_app = fake.store.add_calendar(other_app=True, summary="theirs")
    [theirs] = fake.seed_schedules([{"start_time": T0, "end_time": T0, "cal_id": other_app}])
    with pytest.raises(PermissionDeniedError) as denied:
        await client.schedules.update(theirs, start_time=T0, end_time=T0)
    assert denied.value.errcode == 90466
    await client.schedules.delete(single)
    with pytest.raises(ResourceDeletedError) as cancelled:
        await client.schedules.update(single, start_time=T0, end_time=T0)
    assert cancelled.value.errcode == 90460


async def test_update_this_occurrence_carves_it_out(client: WeComClient, fake: FakeWeCom) -> None:
    series_id = await weekly_series(client)
    second = T0 + WEEK
    new_id = await client.schedules.update(
        series_id,
        start_time=second + 2 * HOUR,
        end_time=second + 3 * HOUR,
        summary="moved this week",
        attendees=["teacher", "student"],
        admins=["teacher"],
        op_mode=OpMode.THIS,
        op_start_time=second,
    )
    assert new_id != series_id
    [body] = bodies(fake, UPDATE)
    assert (body["op_mode"], body["op_start_time"]) == (1, second)
    series, carved = await client.schedules.get([series_id, new_id])
    assert series.reminders.exclude_time_list == (ExcludeTime(second),)
    assert series.summary == "体育课"
    assert series.reminders.is_repeat
    assert (carved.start_time, carved.end_time) == (second + 2 * HOUR, second + 3 * HOUR)
    assert carved.summary == "moved this week"
    assert not carved.reminders.is_repeat
    assert carved.cal_id == series.cal_id
    listed = [s.schedule_id async for s in client.schedules.list_by_calendar(series.cal_id)]
    assert listed == [series_id, new_id]


async def test_update_this_and_following_splits_the_series(
    client: WeComClient, fake: FakeWeCom
) -> None:
    series_id = await weekly_series(client)
    third, fourth = T0 + 2 * WEEK, T0 + 3 * WEEK
    await client.schedules.delete(series_id, op_mode=OpMode.THIS, op_start_time=fourth)
    new_id = await client.schedules.update(
        series_id,
        start_time=third + HOUR,
        end_time=third + 2 * HOUR,
        summary="later",
        reminders=WEEKLY,
        skip_attendees=True,
        admins=["teacher"],
        op_mode=OpMode.THIS_AND_FOLLOWING,
        op_start_time=third,
    )
    assert new_id != series_id
    old, new = await client.schedules.get([series_id, new_id])
    assert old.reminders.repeat_until == third - 1
    assert old.reminders.exclude_time_list == ()
    assert old.summary == "体育课"
    assert new.start_time == third + HOUR
    assert new.summary == "later"
    assert new.reminders.is_repeat
    # The occurrence deleted before the split stays out of the new series (moved with it).
    assert new.reminders.exclude_time_list == (ExcludeTime(fourth + HOUR),)
    assert new.attendee_ids == ("teacher", "student")


async def test_this_and_following_at_the_first_occurrence_changes_all(
    client: WeComClient, fake: FakeWeCom
) -> None:
    series_id = await weekly_series(client)
    same_id = await client.schedules.update(
        series_id,
        start_time=T0,
        end_time=T0 + HOUR,
        summary="renamed",
        reminders=WEEKLY,
        skip_attendees=True,
        op_mode=OpMode.THIS_AND_FOLLOWING,
        op_start_time=T0,
    )
    assert same_id == series_id
    assert fake.store.schedule_count() == 1
    assert (await one(client, series_id)).summary == "renamed"


async def test_writes_are_not_resent_once_the_request_may_have_arrived(
    client: WeComClient, fake: FakeWeCom
) -> None:
    schedule_id = await weekly_series(client)
    fake.faults.drop(path=UPDATE, after=True)
    with pytest.raises(APIConnectionError) as info:
        await client.schedules.update(schedule_id, start_time=T0, end_time=T0 + HOUR)
    assert info.value.request_sent
    assert fake.calls(UPDATE) == 1
    fake.faults.drop(path=DEL_ATTENDEES, after=True)
    with pytest.raises(APIConnectionError):
        await client.schedules.remove_attendees(schedule_id, ["x"])
    assert fake.calls(DEL_ATTENDEES) == 1


# --- delete -------------------------------------------------------------------------------------


async def test_delete_cancels_the_schedule(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await client.schedules.add(start_time=T0, end_time=T0 + HOUR)
    await client.schedules.delete(schedule_id)
    assert bodies(fake, DELETE) == [{"schedule_id": schedule_id}]
    assert (await one(client, schedule_id)).is_cancelled
    with pytest.raises(ResourceDeletedError) as info:
        await client.schedules.delete(schedule_id)
    assert info.value.errcode == 90460


async def test_delete_one_occurrence(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client)
    await client.schedules.delete(
        schedule_id, op_mode=OpMode.THIS, op_start_time=datetime(2024, 1, 10, 14, tzinfo=TZ8)
    )
    assert bodies(fake, DELETE) == [
        {"schedule_id": schedule_id, "op_mode": 1, "op_start_time": T0 + WEEK}
    ]
    schedule = await one(client, schedule_id)
    assert not schedule.is_cancelled
    assert schedule.reminders.exclude_time_list == (ExcludeTime(T0 + WEEK),)
    with pytest.raises(InvalidRequestError) as info:  # no longer an occurrence
        await client.schedules.delete(schedule_id, op_mode=OpMode.THIS, op_start_time=T0 + WEEK)
    assert info.value.errcode == 90482


async def test_delete_this_and_following(client: WeComClient) -> None:
    schedule_id = await weekly_series(client)
    await client.schedules.delete(
        schedule_id, op_mode=OpMode.THIS_AND_FOLLOWING, op_start_time=T0 + 5 * WEEK
    )
    schedule = await one(client, schedule_id)
    assert schedule.reminders.repeat_until == T0 + 5 * WEEK - 1
    assert not schedule.is_cancelled
    await client.schedules.delete(schedule_id, op_mode=OpMode.THIS_AND_FOLLOWING, op_start_time=T0)
    assert (await one(client, schedule_id)).is_cancelled


async def test_untyped_callers_may_pass_op_mode_as_an_int(
    client: WeComClient, fake: FakeWeCom
) -> None:
    schedule_id = await weekly_series(client)
    await client.schedules.delete(schedule_id, op_mode=1, op_start_time=T0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as info:
        await client.schedules.delete(schedule_id, op_mode=1)  # type: ignore[arg-type]
    assert info.value.paths == ("op_start_time",)
    assert [b.get("op_mode") for b in bodies(fake, DELETE)] == [1]


async def test_delete_is_validated(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValidationError) as info:
        await client.schedules.delete("", op_mode=OpMode.THIS)
    assert info.value.paths == ("schedule_id", "op_start_time")
    assert info.value.model == "schedule/del request"
    assert fake.calls(DELETE) == 0


MONDAY_9 = int(datetime(2024, 1, 1, 9, tzinfo=TZ8).timestamp())


@pytest.mark.parametrize(
    ("reminders", "valid", "invalid"),
    [
        pytest.param(
            Reminders(is_repeat=True, repeat_type=RepeatType.DAILY),
            [MONDAY_9 + DAY, MONDAY_9 + 400 * DAY],
            [MONDAY_9 + DAY + 60, MONDAY_9 - DAY],
            id="daily",
        ),
        pytest.param(
            Reminders(
                is_repeat=True,
                repeat_type=RepeatType.DAILY,
                is_custom_repeat=True,
                repeat_interval=3,
            ),
            [MONDAY_9 + 3 * DAY, MONDAY_9 + 9 * DAY],
            [MONDAY_9 + DAY, MONDAY_9 + 4 * DAY],
            id="every 3 days",
        ),
        pytest.param(
            Reminders(
                is_repeat=True,
                repeat_type=RepeatType.WEEKLY,
                is_custom_repeat=True,
                repeat_interval=2,
                repeat_day_of_week=(3, 5),
            ),
            [MONDAY_9 + 2 * DAY, MONDAY_9 + 4 * DAY, MONDAY_9 + 16 * DAY],
            [MONDAY_9 + 9 * DAY, MONDAY_9 + 3 * DAY, MONDAY_9 + 14 * DAY],
            id="Wed and Fri every 2 weeks",
        ),
        pytest.param(
            Reminders(is_repeat=True, repeat_type=RepeatType.WORKDAYS),
            [MONDAY_9 + DAY, MONDAY_9 + 4 * DAY, MONDAY_9 + 7 * DAY],
            [MONDAY_9 + 5 * DAY, MONDAY_9 + 6 * DAY],
            id="workdays",
        ),
        pytest.param(
            Reminders(is_repeat=True, repeat_type=RepeatType.MONTHLY),
            [int(datetime(2024, 3, 1, 9, tzinfo=TZ8).timestamp())],
            [int(datetime(2024, 3, 2, 9, tzinfo=TZ8).timestamp())],
            id="monthly",
        ),
        pytest.param(
            Reminders(
                is_repeat=True,
                repeat_type=RepeatType.MONTHLY,
                is_custom_repeat=True,
                repeat_interval=1,
                repeat_day_of_month=(15,),
            ),
            [int(datetime(2024, 2, 15, 9, tzinfo=TZ8).timestamp())],
            [int(datetime(2024, 2, 1, 9, tzinfo=TZ8).timestamp())],
            id="15th of each month",
        ),
        pytest.param(
            Reminders(
                is_repeat=True, repeat_type=RepeatType.YEARLY, repeat_until=MONDAY_9 + 400 * DAY
            ),
            [int(datetime(2025, 1, 1, 9, tzinfo=TZ8).timestamp())],
            [
                int(datetime(2026, 1, 1, 9, tzinfo=TZ8).timestamp()),  # after repeat_until
                int(datetime(2025, 1, 2, 9, tzinfo=TZ8).timestamp()),
            ],
            id="yearly until",
        ),
        pytest.param(
            Reminders(is_repeat=True, repeat_type=RepeatType.DAILY, timezone=0),
            [MONDAY_9 + DAY],
            [MONDAY_9 + DAY + HOUR],
            id="in UTC",
        ),
    ],
)
async def test_op_start_time_must_start_an_occurrence(
    client: WeComClient, reminders: Reminders, valid: list[int], invalid: list[int]
) -> None:
    schedule_id = await client.schedules.add(
        start_time=MONDAY_9, end_time=MONDAY_9 + HOUR, reminders=reminders
    )
    for when in invalid:
        with pytest.raises(InvalidRequestError) as info:
            await client.schedules.delete(schedule_id, op_mode=OpMode.THIS, op_start_time=when)
        assert info.value.errcode == 90482, when
    for when in valid:
        await client.schedules.delete(schedule_id, op_mode=OpMode.THIS, op_start_time=when)
    excluded = (await one(client, schedule_id)).reminders.exclude_time_list
    assert excluded == tuple(ExcludeTime(t) for t in sorted(valid))


# --- attendees ----------------------------------------------------------------------------------


async def test_add_attendees_sends_every_user_once_and_keeps_answers(
    client: WeComClient, fake: FakeWeCom
) -> None:
    schedule_id = await client.schedules.add(start_time=T0, end_time=T0, attendees=["a"])
    fake.store.set_response_status(schedule_id, "a", ResponseStatus.ACCEPTED)
    await client.schedules.add_attendees(schedule_id, ["b", "c", "b", Attendee("d"), "a"])
    assert bodies(fake, ADD_ATTENDEES) == [
        {
            "schedule_id": schedule_id,
            "attendees": [{"userid": u} for u in ("b", "c", "d", "a")],
        }
    ]
    schedule = await one(client, schedule_id)
    assert schedule.attendees == (
        Attendee("a", ResponseStatus.ACCEPTED),
        Attendee("b"),
        Attendee("c"),
        Attendee("d"),
    )


async def test_remove_attendees_removes_every_listed_user(
    client: WeComClient, fake: FakeWeCom
) -> None:
    users = [f"user{i}" for i in range(1000)]
    schedule_id = await client.schedules.add(start_time=T0, end_time=T0, attendees=users)
    leaving = users[1::2]
    await client.schedules.remove_attendees(schedule_id, [*leaving, "not-attending"])
    [body] = bodies(fake, DEL_ATTENDEES)
    assert len(body["attendees"]) == 501
    assert (await one(client, schedule_id)).attendee_ids == tuple(users[::2])


async def test_an_admin_cannot_be_removed_from_the_attendees(client: WeComClient) -> None:
    schedule_id = await weekly_series(client)
    with pytest.raises(InvalidRequestError) as info:
        await client.schedules.remove_attendees(schedule_id, ["student", "teacher"])
    assert info.value.errcode == 90492
    assert (await one(client, schedule_id)).attendee_ids == ("teacher", "student")


async def test_at_most_1000_attendees_in_all(client: WeComClient) -> None:
    schedule_id = await client.schedules.add(
        start_time=T0, end_time=T0, attendees=[f"u{i}" for i in range(999)]
    )
    with pytest.raises(InvalidRequestError) as info:
        await client.schedules.add_attendees(schedule_id, ["x", "y"])
    assert info.value.errcode == 90464
    await client.schedules.add_attendees(schedule_id, ["x", "u0"])
    assert len((await one(client, schedule_id)).attendees) == 1000


@pytest.mark.parametrize("method", ["add_attendees", "remove_attendees"])
async def test_attendee_calls_are_validated(
    client: WeComClient, fake: FakeWeCom, method: str
) -> None:
    call = getattr(client.schedules, method)
    with pytest.raises(ValidationError) as info:
        await call("", [f"u{i}" for i in range(1001)])
    assert info.value.paths == ("schedule_id", "attendees")
    with pytest.raises(ValidationError) as info:
        await call("sid", ["ok", "", "x" * 65])
    assert info.value.paths == ("attendees[1].userid", "attendees[2].userid")
    with pytest.raises(ValidationError) as info:
        await call("sid", "alice")
    assert info.value.paths == ("userids",)
    assert fake.calls(ADD_ATTENDEES) + fake.calls(DEL_ATTENDEES) == 0


# --- patch --------------------------------------------------------------------------------------


async def test_patch_keeps_attendees_and_reminders(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client, is_whole_day=False)
    fake.store.set_response_status(schedule_id, "student", ResponseStatus.TENTATIVE)
    await client.schedules.delete(schedule_id, op_mode=OpMode.THIS, op_start_time=T0 + WEEK)
    before = await one(client, schedule_id)

    assert await client.schedules.patch(schedule_id, summary="体育课（新）") == schedule_id

    after = await one(client, schedule_id)
    assert after == attrs.evolve(before, summary="体育课（新）")
    assert after.attendees == (Attendee("teacher"), Attendee("student", ResponseStatus.TENTATIVE))
    assert after.reminders.exclude_time_list == (ExcludeTime(T0 + WEEK),)
    [body] = bodies(fake, UPDATE)
    assert body["skip_attendees"] == 1
    assert "attendees" not in body["schedule"]
    assert "exclude_time_list" not in body["schedule"]["reminders"]


async def test_patch_replaces_only_the_fields_given(client: WeComClient) -> None:
    schedule_id = await weekly_series(client)
    before = await one(client, schedule_id)
    reminders = attrs.evolve(before.reminders, remind_time_diffs=(-3600,))
    await client.schedules.patch(
        schedule_id,
        attendees=["teacher", "guest"],
        reminders=reminders,
        end_time=datetime(2024, 1, 3, 16, tzinfo=TZ8),
        location="",
    )
    after = await one(client, schedule_id)
    assert after == attrs.evolve(
        before,
        attendees=(Attendee("teacher"), Attendee("guest")),
        reminders=reminders,
        end_time=T0 + 2 * HOUR,
        location="",
    )


async def test_patch_one_occurrence_defaults_to_its_own_times(
    client: WeComClient, fake: FakeWeCom
) -> None:
    series_id = await weekly_series(client)
    second = T0 + WEEK
    new_id = await client.schedules.patch(
        series_id, location="体育馆", op_mode=OpMode.THIS, op_start_time=second
    )
    assert new_id != series_id
    series, carved = await client.schedules.get([series_id, new_id])
    assert series.location == "操场"
    assert series.reminders.exclude_time_list == (ExcludeTime(second),)
    assert (carved.start_time, carved.end_time) == (second, second + HOUR)
    assert (carved.location, carved.summary) == ("体育馆", "体育课")
    assert carved.attendee_ids == ("teacher", "student")
    assert carved.reminders == Reminders(is_remind=True, remind_time_diffs=(-900,))


async def test_patch_this_and_following_keeps_the_recurrence(client: WeComClient) -> None:
    series_id = await weekly_series(client)
    third = T0 + 2 * WEEK
    new_id = await client.schedules.patch(
        series_id, summary="new term", op_mode=OpMode.THIS_AND_FOLLOWING, op_start_time=third
    )
    old, new = await client.schedules.get([series_id, new_id])
    assert old.reminders.repeat_until == third - 1
    assert (new.start_time, new.summary) == (third, "new term")
    assert new.reminders == WEEKLY


async def test_patch_reports_missing_cancelled_and_single_schedules(
    client: WeComClient, fake: FakeWeCom
) -> None:
    with pytest.raises(NotFoundError) as missing:
        await client.schedules.patch("0" * 32, summary="x")
    assert missing.value.errcode == 90461
    single = await client.schedules.add(start_time=T0, end_time=T0 + HOUR)
    with pytest.raises(ValidationError) as info:
        await client.schedules.patch(single, op_mode=OpMode.THIS, op_start_time=T0)
    assert info.value.paths == ("op_mode",)
    await client.schedules.delete(single)
    with pytest.raises(ResourceDeletedError) as cancelled:
        await client.schedules.patch(single, summary="x")
    assert cancelled.value.errcode == 90460
    with pytest.raises(ValidationError):
        await client.schedules.patch("", summary="x")
    assert fake.calls(UPDATE) == 0


async def test_patch_checks_the_result_before_sending(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly_series(client)
    with pytest.raises(ValidationError) as info:
        await client.schedules.patch(schedule_id, attendees=["student"])  # the admin would go
    assert info.value.paths == ("schedule.admins[0]",)
    assert fake.calls(UPDATE) == 0


# --- list_by_calendar ---------------------------------------------------------------------------


async def test_list_by_calendar_returns_each_schedule_once_and_resumes(
    client: WeComClient, fake: FakeWeCom
) -> None:
    cal_id = fake.store.add_calendar(summary="big")
    seeded = fake.seed_schedules(
        {"start_time": T0 + i, "end_time": T0 + i, "cal_id": cal_id} for i in range(2500)
    )
    fake.seed_schedules([{"start_time": 1, "end_time": 2}])  # another calendar

    listing = client.schedules.list_by_calendar(cal_id)
    listed = [s.schedule_id async for s in listing]
    assert listed == seeded
    assert (listing.offset, listing.pages, listing.exhausted) == (2500, 4, True)
    assert [(b["offset"], b["limit"]) for b in bodies(fake, BY_CALENDAR)] == [
        (0, 1000),
        (1000, 1000),
        (2000, 1000),
        (2500, 1000),
    ]
    assert [s async for s in listing] == []  # exhausted: no more calls
    assert fake.calls(BY_CALENDAR) == 4

    added = await client.schedules.add(start_time=T0, end_time=T0, cal_id=cal_id)
    await client.schedules.delete(seeded[0])
    later = client.schedules.list_by_calendar(cal_id, offset=listing.offset)
    assert [s.schedule_id async for s in later] == [added]
    assert later.offset == 2501


async def test_list_by_calendar_resumes_after_an_early_stop(
    client: WeComClient, fake: FakeWeCom
) -> None:
    cal_id = fake.store.add_calendar(summary="big")
    seeded = fake.seed_schedules(
        {"start_time": i, "end_time": i, "cal_id": cal_id} for i in range(2500)
    )
    first: list[str] = []
    listing = client.schedules.list_by_calendar(cal_id, limit=300)
    async for schedule in listing:
        first.append(schedule.schedule_id)
        if len(first) == 1234:
            break
    assert listing.offset == 1234
    rest = [s.schedule_id async for s in client.schedules.list_by_calendar(cal_id, offset=1234)]
    assert first + rest == seeded


async def test_a_failed_page_keeps_the_offset_and_is_retried(
    client: WeComClient, fake: FakeWeCom
) -> None:
    cal_id = fake.store.add_calendar(summary="c")
    seeded = fake.seed_schedules(
        {"start_time": i, "end_time": i, "cal_id": cal_id} for i in range(25)
    )
    listing = client.schedules.list_by_calendar(cal_id, limit=10)
    got = [(await anext(listing)).schedule_id for _ in range(10)]
    fake.faults.errcode(48002, path=BY_CALENDAR)
    with pytest.raises(PermissionDeniedError):
        await anext(listing)
    assert listing.offset == 10
    got += [s.schedule_id async for s in listing]
    assert got == seeded


async def test_list_by_calendar_lists_cancelled_schedules_with_their_sequence(
    client: WeComClient, fake: FakeWeCom
) -> None:
    schedule_id = await weekly_series(client)
    await client.schedules.patch(schedule_id, summary="v2")
    await client.schedules.delete(schedule_id)
    [listed] = [s async for s in client.schedules.list_by_calendar(fake.default_cal_id())]
    assert listed.is_cancelled
    assert listed.sequence == 3


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        ({"limit": 0}, ("limit",)),
        ({"limit": 1001}, ("limit",)),
        ({"offset": -1}, ("offset",)),
        ({"cal_id": ""}, ("cal_id",)),
    ],
)
def test_list_by_calendar_checks_its_arguments_at_once(
    client: WeComClient, kwargs: dict[str, Any], paths: tuple[str, ...]
) -> None:
    arguments: dict[str, Any] = {"cal_id": "wcX"}
    arguments.update(kwargs)
    cal_id = arguments.pop("cal_id")
    with pytest.raises(ValidationError) as info:
        client.schedules.list_by_calendar(cal_id, **arguments)
    assert info.value.paths == paths


async def test_list_by_calendar_errors(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(NotFoundError) as unknown:
        [s async for s in client.schedules.list_by_calendar("wcNOPE")]
    assert unknown.value.errcode == 90457
    theirs = fake.store.add_calendar(other_app=True, summary="theirs")
    with pytest.raises(PermissionDeniedError):
        [s async for s in client.schedules.list_by_calendar(theirs)]
    mine = await client.calendars.add(summary="mine", color="#00FF00")
    await client.calendars.delete(mine.cal_id)
    with pytest.raises(ResourceDeletedError) as deleted:
        [s async for s in client.schedules.list_by_calendar(mine.cal_id)]
    assert deleted.value.errcode == 90459

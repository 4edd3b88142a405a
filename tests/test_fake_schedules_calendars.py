"""The fake's new endpoints at the wire level: what the client's own validation never sends.

Calls go through ``client.request`` (the public escape hatch that sends any body as is), so the
fake's errcodes are seen exactly as a caller of the raw API would see them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from wecom_async import WeComAPIError, WeComClient
from wecom_async.testing import FakeWeCom

JSON = dict[str, Any]
Mutation = Callable[[JSON], None]

T0 = 1_704_261_600  # Wednesday 2024-01-03 14:00 UTC+8
WEEK = 7 * 86400
CALENDAR: JSON = {
    "admins": ["admin1"],
    "summary": "test_summary",
    "color": "#FF3030",
    "description": "test_describe",
    "shares": [{"userid": "admin1", "permission": 1}, {"userid": "userid3", "permission": 3}],
    "is_public": 1,
    "public_range": {"userids": ["abel", "jack"], "partyids": [1232, 34353]},
}


async def errcode_of(client: WeComClient, path: str, body: JSON) -> int:
    """The errcode the fake answers (0 on success)."""
    try:
        await client.request(path, body)
    except WeComAPIError as exc:
        return exc.errcode
    return 0


def calendar(mutate: Mutation | None = None) -> JSON:
    value = copy.deepcopy(CALENDAR)
    if mutate is not None:
        mutate(value)
    return value


async def weekly(client: WeComClient) -> str:
    answer = await client.request(
        "oa/schedule/add",
        {
            "schedule": {
                "start_time": T0,
                "end_time": T0 + 3600,
                "attendees": [{"userid": "a"}, {"userid": "b"}],
                "admins": ["a"],
                "reminders": {"is_repeat": 1, "repeat_type": 1},
            }
        },
    )
    schedule_id: str = answer["schedule_id"]
    return schedule_id


# --- calendars ----------------------------------------------------------------------------------


def _set(key: str, value: Any) -> Mutation:
    def mutate(cal: JSON) -> None:
        cal[key] = value

    return mutate


def _drop(key: str) -> Mutation:
    def mutate(cal: JSON) -> None:
        del cal[key]

    return mutate


def _share_readonly(cal: JSON) -> None:
    cal["shares"][0]["readonly"] = 1


@pytest.mark.parametrize(
    ("mutate", "errcode"),
    [
        pytest.param(_set("organizer", "admin1"), 90493, id="organizer"),
        pytest.param(_set("readonly", 1), 90493, id="readonly"),
        pytest.param(_share_readonly, 90493, id="shares readonly"),
        pytest.param(_drop("color"), 90473, id="no color"),
        pytest.param(_set("color", "#FFF"), 90473, id="short color"),
        pytest.param(_set("color", 16711680), 90473, id="color int"),
        pytest.param(_drop("summary"), 40058, id="no summary"),
        pytest.param(_set("summary", ""), 40058, id="empty summary"),
        pytest.param(_set("description", "d" * 513), 40058, id="description"),
        pytest.param(_set("admins", ["nobody"]), 90492, id="admin not shared"),
        pytest.param(_set("admins", ["a", "b", "c", "d"]), 40058, id="4 admins"),
        pytest.param(_set("shares", [{"userid": "x", "permission": 2}]), 40058, id="permission"),
        pytest.param(_set("shares", ["x"]), 40058, id="share not an object"),
        pytest.param(
            _set("shares", [{"userid": f"u{i}"} for i in range(2001)]), 40058, id="2001 shares"
        ),
        pytest.param(_set("public_range", {"partyids": ["x"]}), 40058, id="partyid"),
        pytest.param(
            _set("public_range", {"userids": [f"u{i}" for i in range(1001)]}), 40058, id="userids"
        ),
        pytest.param(_set("is_public", 2), 40058, id="flag"),
        pytest.param(_set("is_corp_calendar", 1), 0, id="corp"),
        pytest.param(_set("public_range", {}), 0, id="empty range"),
    ],
)
async def test_calendar_add_validation(
    client: WeComClient, fake: FakeWeCom, mutate: Mutation, errcode: int
) -> None:
    body = {"calendar": calendar(mutate)}
    assert await errcode_of(client, "oa/calendar/add", body) == errcode


async def test_corp_calendar_rules(client: WeComClient) -> None:
    def corp(**fields: Any) -> JSON:
        return {"calendar": calendar(lambda c: c.update(is_corp_calendar=1, **fields))}

    assert await errcode_of(client, "oa/calendar/add", corp(public_range={})) == 40058
    assert await errcode_of(client, "oa/calendar/add", corp(set_as_default=1)) == 40058
    answer = await client.request("oa/calendar/add", corp(is_public=0))
    cal_id = answer["cal_id"]
    [stored] = (await client.request("oa/calendar/get", {"cal_id_list": [cal_id]}))["calendar_list"]
    assert (stored["is_public"], stored["is_corp_calendar"]) == (1, 1)
    update = {"cal_id": cal_id, "summary": "s", "color": "#000000"}
    assert await errcode_of(client, "oa/calendar/update", {"calendar": update}) == 40058
    kept = {"skip_public_range": 1, "calendar": update}
    assert await errcode_of(client, "oa/calendar/update", kept) == 0


async def test_calendar_add_answers(client: WeComClient, fake: FakeWeCom) -> None:
    private = calendar(lambda c: c.update(is_public=0))
    answer = await client.request("oa/calendar/add", {"calendar": private})
    assert answer["fail_result"] == {"shares": []}
    stored = fake.store.get_calendar(answer["cal_id"])
    assert stored is not None
    assert stored["public_range"] == {"userids": [], "partyids": []}  # ignored: not public
    assert stored["shares"][1] == {"userid": "userid3", "permission": 3}


async def test_calendar_update_rules(client: WeComClient) -> None:
    cal_id = (await client.request("oa/calendar/add", {"calendar": calendar()}))["cal_id"]
    base = {"cal_id": cal_id, "summary": "s", "color": "#000000"}
    cases: list[tuple[JSON, int]] = [
        ({"calendar": {**base, "is_public": 0}}, 40058),
        ({"calendar": {**base, "is_public": 1, "is_corp_calendar": 0}}, 0),
        ({"calendar": {**base, "set_as_default": 1}}, 40058),
        ({"calendar": {**base, "organizer": "x"}}, 90493),
        ({"calendar": {k: v for k, v in base.items() if k != "cal_id"}}, 90457),
        ({"calendar": {**base, "color": "#00000G"}}, 90473),
        ({"calendar": None}, 40058),
    ]
    for body, errcode in cases:
        assert await errcode_of(client, "oa/calendar/update", body) == errcode, body


async def test_calendar_get_and_del_wire(client: WeComClient) -> None:
    get_cases: list[tuple[JSON, int]] = [
        ({}, 90458),
        ({"cal_id_list": []}, 90458),
        ({"cal_id_list": [1]}, 40058),
        ({"cal_id_list": "wc"}, 40058),
        ({"cal_id_list": [f"wc{i}" for i in range(1001)]}, 40058),
    ]
    for body, errcode in get_cases:
        assert await errcode_of(client, "oa/calendar/get", body) == errcode, body
    assert await errcode_of(client, "oa/calendar/del", {}) == 90457
    assert await errcode_of(client, "oa/calendar/del", {"cal_id": 5}) == 90457


# --- schedules ----------------------------------------------------------------------------------


async def test_schedule_update_wire(client: WeComClient, fake: FakeWeCom) -> None:
    schedule_id = await weekly(client)
    cal_id = fake.default_cal_id()

    def body(**fields: Any) -> JSON:
        schedule = {"schedule_id": schedule_id, "start_time": T0, "end_time": T0 + 60}
        schedule.update(fields.pop("schedule", {}))
        return {"schedule": schedule, **fields}

    weekly_rule = {"reminders": {"is_repeat": 1, "repeat_type": 1}}
    next_week = {"start_time": T0 + WEEK, "end_time": T0 + WEEK + 60}
    cases: list[tuple[JSON, int]] = [
        (body(op_mode=3), 90485),
        (body(op_mode="1"), 90485),
        (body(op_mode=1, op_start_time="x"), 90482),
        (body(op_mode=1), 90482),
        (body(op_mode=1, op_start_time=T0, schedule={"reminders": {"is_repeat": 1}}), 90484),
        (body(schedule={"organizer": "a"}), 90493),
        (body(schedule={"cal_id": "wcOTHER"}), 40058),
        (body(schedule={"schedule_id": ""}), 90461),
        (body(schedule={"end_time": T0 - 1}), 40058),
        (body(skip_attendees=1, schedule={"admins": ["c"], "attendees": [{"userid": "c"}]}), 90492),
        (body(skip_attendees=2), 40058),
        (body(skip_attendees=1, schedule={"admins": ["b"], "cal_id": cal_id, **weekly_rule}), 0),
        (body(op_mode=2, op_start_time=T0 + WEEK, schedule=next_week), 0),
    ]
    for request, errcode in cases:
        assert await errcode_of(client, "oa/schedule/update", request) == errcode, request
    [schedule] = (await client.request("oa/schedule/get", {"schedule_id_list": [schedule_id]}))[
        "schedule_list"
    ]
    assert schedule["admins"] == ["b"]
    assert schedule["reminders"]["repeat_until"] == T0 + WEEK - 1


async def test_schedule_del_and_attendees_wire(client: WeComClient) -> None:
    schedule_id = await weekly(client)
    cases: list[tuple[str, JSON, int]] = [
        ("oa/schedule/del", {}, 90461),
        ("oa/schedule/del", {"schedule_id": schedule_id, "op_mode": -1}, 90485),
        ("oa/schedule/del", {"schedule_id": schedule_id, "op_mode": 2, "op_start_time": 1}, 90482),
        ("oa/schedule/add_attendees", {"schedule_id": schedule_id}, 0),  # optional (97721)
        ("oa/schedule/add_attendees", {"attendees": [{"userid": "x"}]}, 90461),
        (
            "oa/schedule/add_attendees",
            {"schedule_id": schedule_id, "attendees": [{"userid": f"u{i}"} for i in range(1001)]},
            90464,
        ),
        ("oa/schedule/del_attendees", {"schedule_id": schedule_id, "attendees": [{}]}, 40058),
        (
            "oa/schedule/del_attendees",
            {"schedule_id": "nope", "attendees": [{"userid": "a"}]},
            90461,
        ),
    ]
    for path, body, errcode in cases:
        assert await errcode_of(client, path, body) == errcode, (path, body)


async def test_get_by_calendar_wire(client: WeComClient, fake: FakeWeCom) -> None:
    cal_id = fake.default_cal_id()
    fake.seed_schedules({"start_time": i, "end_time": i} for i in range(600))
    answer = await client.request("oa/schedule/get_by_calendar", {"cal_id": cal_id})
    assert len(answer["schedule_list"]) == 500  # WeCom's default page size
    assert answer["schedule_list"][0]["sequence"] == 1
    page = await client.request(
        "oa/schedule/get_by_calendar", {"cal_id": cal_id, "offset": 599, "limit": 1000}
    )
    assert len(page["schedule_list"]) == 1
    paging_cases: list[tuple[JSON, int]] = [
        ({}, 90457),
        ({"cal_id": cal_id, "limit": 0}, 90469),
        ({"cal_id": cal_id, "limit": 1001}, 90469),
        ({"cal_id": cal_id, "limit": "10"}, 90469),
        ({"cal_id": cal_id, "offset": -1}, 90470),
        ({"cal_id": cal_id, "offset": 1.5}, 90470),
    ]
    for body, errcode in paging_cases:
        assert await errcode_of(client, "oa/schedule/get_by_calendar", body) == errcode, body


async def test_another_apps_calendar_is_off_limits(client: WeComClient, fake: FakeWeCom) -> None:
    theirs = fake.store.add_calendar(other_app=True, summary="theirs", color="#000000")
    [schedule_id] = fake.seed_schedules([{"start_time": 1, "end_time": 2, "cal_id": theirs}])
    add = {"schedule": {"start_time": 1, "end_time": 2, "cal_id": theirs}}
    assert await errcode_of(client, "oa/schedule/add", add) == 90466
    answer = await client.request("oa/schedule/get", {"schedule_id_list": [schedule_id]})
    assert answer["schedule_list"] == []
    assert await client.request("oa/calendar/get", {"cal_id_list": [theirs]}) == {
        "errcode": 0,
        "errmsg": "ok",
        "calendar_list": [],
    }
    delete = {"schedule_id": schedule_id}
    assert await errcode_of(client, "oa/schedule/del", delete) == 90466

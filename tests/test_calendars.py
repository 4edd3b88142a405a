"""client.calendars: add, update, patch, get, delete, through the public API against the fake."""

from __future__ import annotations

from typing import Any

import attrs
import orjson
import pytest

from wecom_async import (
    Calendar,
    CalendarFailResult,
    CalendarPermission,
    CalendarShare,
    CalendarWriteResult,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PublicRange,
    ResourceDeletedError,
    ShareFailure,
    ValidationError,
    WeComClient,
    _converter,
)
from wecom_async.models import AddCalendarResponse, GetCalendarsResponse
from wecom_async.testing import FakeWeCom

ADD = "oa/calendar/add"
UPDATE = "oa/calendar/update"
GET = "oa/calendar/get"
DELETE = "oa/calendar/del"


def bodies(fake: FakeWeCom, path: str) -> list[dict[str, Any]]:
    return [r.body for r in fake.requests if r.path == path and r.body is not None]


async def one(client: WeComClient, cal_id: str) -> Calendar:
    [calendar] = await client.calendars.get([cal_id])
    return calendar


async def team_calendar(client: WeComClient, **fields: Any) -> str:
    values: dict[str, Any] = {
        "summary": "研发部日历",
        "color": "#FF3030",
        "description": "team events",
        "admins": ["lead"],
        "shares": ["lead", CalendarShare("intern", CalendarPermission.FREE_BUSY)],
        "is_public": True,
        "public_range": PublicRange(userids=("abel", "jack"), partyids=(1232, 34353)),
    }
    values.update(fields)
    result = await client.calendars.add(**values)
    assert result.ok
    return result.cal_id


# --- add ----------------------------------------------------------------------------------------


async def test_every_field_round_trips(client: WeComClient, fake: FakeWeCom) -> None:
    result = await client.calendars.add(
        summary="研发部日历",
        color="#ff3030",
        description="team events",
        admins=["lead"],
        shares=["lead", CalendarShare("intern", CalendarPermission.FREE_BUSY)],
        is_public=True,
        public_range=PublicRange(userids=("abel", "jack"), partyids=(1232, 34353)),
        agentid=1000014,
    )
    assert result == CalendarWriteResult(result.cal_id, CalendarFailResult())
    assert result.ok
    assert await one(client, result.cal_id) == Calendar(
        cal_id=result.cal_id,
        admins=("lead",),
        summary="研发部日历",
        color="#ff3030",
        description="team events",
        shares=(CalendarShare("lead"), CalendarShare("intern", CalendarPermission.FREE_BUSY)),
        is_public=True,
        public_range=PublicRange(userids=("abel", "jack"), partyids=(1232, 34353)),
        is_corp_calendar=False,
    )
    [body] = bodies(fake, ADD)
    assert body["agentid"] == 1000014
    # A share at the default permission (view) is sent as the user ID alone.
    assert body["calendar"]["shares"] == [{"userid": "lead"}, {"userid": "intern", "permission": 3}]


async def test_add_sends_only_what_was_set(client: WeComClient, fake: FakeWeCom) -> None:
    result = await client.calendars.add(summary="s", color="#000000")
    assert bodies(fake, ADD) == [{"calendar": {"summary": "s", "color": "#000000"}}]
    calendar = await one(client, result.cal_id)
    assert (calendar.shares, calendar.is_public, calendar.public_range) == (
        (),
        False,
        PublicRange(),
    )


async def test_refused_shares_are_surfaced(client: WeComClient, fake: FakeWeCom) -> None:
    fake.store.mark_unknown_users("ghost", "left-the-company")
    result = await client.calendars.add(
        summary="s", color="#000000", shares=["a", "ghost", "left-the-company"]
    )
    assert not result.ok
    assert result.failed_userids == ("ghost", "left-the-company")
    assert result.fail_result.shares[0] == ShareFailure("ghost", 40001, "not found")
    assert (await one(client, result.cal_id)).share_ids == ("a",)

    update = await client.calendars.update(
        result.cal_id, summary="s", color="#000000", shares=["ghost", "b"]
    )
    assert update.cal_id == result.cal_id
    assert update.failed_userids == ("ghost",)
    assert (await one(client, result.cal_id)).share_ids == ("b",)


async def test_the_default_calendar_receives_schedules_without_cal_id(
    client: WeComClient, fake: FakeWeCom
) -> None:
    result = await client.calendars.add(summary="mine", color="#00FF00", set_as_default=True)
    schedule_id = await client.schedules.add(start_time=1, end_time=2)
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule.cal_id == result.cal_id == fake.default_cal_id()


async def test_a_corp_calendar_is_public(client: WeComClient) -> None:
    result = await client.calendars.add(
        summary="全员日历",
        color="#0000FF",
        is_corp_calendar=True,
        public_range=PublicRange(partyids=(1,)),
    )
    calendar = await one(client, result.cal_id)
    assert (calendar.is_corp_calendar, calendar.is_public) == (True, True)
    assert calendar.public_range == PublicRange(partyids=(1,))


@pytest.mark.parametrize(
    ("fields", "paths"),
    [
        pytest.param({"summary": ""}, ["calendar.summary"], id="empty summary"),
        pytest.param({"summary": "题" * 129}, ["calendar.summary"], id="long summary"),
        pytest.param({"color": "red"}, ["calendar.color"], id="named color"),
        pytest.param({"color": "#12345"}, ["calendar.color"], id="short color"),
        pytest.param({"color": "#GG0000"}, ["calendar.color"], id="not hex"),
        pytest.param({"color": "#FF0000\n"}, ["calendar.color"], id="trailing newline"),
        pytest.param({"description": "d" * 513}, ["calendar.description"], id="description"),
        pytest.param(
            {"admins": ["a", "b", "c", "d"], "shares": ["a", "b", "c", "d"]},
            ["calendar.admins"],
            id="4 admins",
        ),
        pytest.param({"admins": ["boss"], "shares": ["a"]}, ["calendar.admins[0]"], id="admin"),
        pytest.param(
            {"shares": [f"u{i}" for i in range(2001)]}, ["calendar.shares"], id="2001 shares"
        ),
        pytest.param(
            {"shares": [CalendarShare("a", CalendarPermission(2)), ""]},
            ["calendar.shares[0].permission", "calendar.shares[1].userid"],
            id="shares",
        ),
        pytest.param(
            {
                "is_public": True,
                "public_range": PublicRange(
                    userids=tuple(f"u{i}" for i in range(1001)), partyids=tuple(range(101))
                ),
            },
            ["calendar.public_range.userids", "calendar.public_range.partyids"],
            id="public range limits",
        ),
        pytest.param(
            {"is_public": True, "public_range": PublicRange(partyids=(-1,))},
            ["calendar.public_range.partyids[0]"],
            id="partyid",
        ),
        pytest.param({"is_corp_calendar": True}, ["calendar.public_range"], id="corp no range"),
        pytest.param(
            {
                "is_corp_calendar": True,
                "is_public": False,
                "set_as_default": True,
                "public_range": PublicRange(partyids=(1,)),
            },
            ["calendar.is_public", "calendar.set_as_default"],
            id="corp",
        ),
        pytest.param({"agentid": -1}, ["agentid"], id="agentid"),
    ],
)
async def test_add_is_validated_before_sending(
    client: WeComClient, fake: FakeWeCom, fields: dict[str, Any], paths: list[str]
) -> None:
    values: dict[str, Any] = {"summary": "s", "color": "#000000"}
    values.update(fields)
    with pytest.raises(ValidationError) as info:
        await client.calendars.add(**values)
    assert list(info.value.paths) == paths
    assert info.value.model == "calendar/add request"
    assert fake.calls(ADD) == 0


async def test_the_limits_themselves_are_accepted(client: WeComClient) -> None:
    result = await client.calendars.add(
        summary="题" * 128,
        color="#aBcDeF",
        description="d" * 512,
        admins=["u0", "u1", "u2"],
        shares=[f"u{i}" for i in range(2000)],
        is_public=True,
        public_range=PublicRange(
            userids=tuple(f"p{i}" for i in range(1000)), partyids=tuple(range(1, 101))
        ),
    )
    assert len((await one(client, result.cal_id)).shares) == 2000


# --- update and patch ---------------------------------------------------------------------------


async def test_update_overwrites_every_field_not_sent(client: WeComClient, fake: FakeWeCom) -> None:
    cal_id = await team_calendar(client)
    result = await client.calendars.update(cal_id, summary="new", color="#111111")
    assert result == CalendarWriteResult(cal_id)
    assert bodies(fake, UPDATE) == [
        {"calendar": {"cal_id": cal_id, "summary": "new", "color": "#111111"}}
    ]
    calendar = await one(client, cal_id)
    assert calendar == Calendar(
        cal_id=cal_id, summary="new", color="#111111", is_public=True, public_range=PublicRange()
    )


async def test_update_can_keep_the_public_range(client: WeComClient, fake: FakeWeCom) -> None:
    cal_id = await team_calendar(client)
    await client.calendars.update(
        cal_id,
        summary="s",
        color="#111111",
        description="d",
        admins=["x"],
        shares=[CalendarShare("x", CalendarPermission.FREE_BUSY)],
        skip_public_range=True,
    )
    [body] = bodies(fake, UPDATE)
    assert body["skip_public_range"] == 1
    assert "public_range" not in body["calendar"]
    calendar = await one(client, cal_id)
    assert calendar.public_range == PublicRange(userids=("abel", "jack"), partyids=(1232, 34353))
    assert calendar.shares == (CalendarShare("x", CalendarPermission.FREE_BUSY),)
    assert (calendar.admins, calendar.description) == (("x",), "d")


async def test_update_is_validated_before_sending(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValidationError) as info:
        await client.calendars.update(
            "",
            summary="",
            color="blue",
            public_range=PublicRange(),
            skip_public_range=True,
        )
    assert info.value.paths == (
        "calendar.summary",
        "calendar.color",
        "calendar.cal_id",
        "calendar.public_range",
    )
    assert info.value.model == "calendar/update request"
    assert fake.calls(UPDATE) == 0


async def test_update_errors_are_typed(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(NotFoundError) as unknown:
        await client.calendars.update("wcNOPE", summary="s", color="#000000")
    assert unknown.value.errcode == 90457
    theirs = fake.store.add_calendar(other_app=True, summary="theirs")
    with pytest.raises(PermissionDeniedError) as denied:
        await client.calendars.update(theirs, summary="s", color="#000000")
    assert denied.value.errcode == 90466


async def test_patch_keeps_everything_not_given(client: WeComClient, fake: FakeWeCom) -> None:
    cal_id = await team_calendar(client)
    before = await one(client, cal_id)
    assert await client.calendars.patch(cal_id, description="new") == CalendarWriteResult(cal_id)
    assert await one(client, cal_id) == attrs.evolve(before, description="new")
    [body] = bodies(fake, UPDATE)
    assert body["skip_public_range"] == 1
    assert body["calendar"]["shares"] == [
        {"userid": "lead"},
        {"userid": "intern", "permission": 3},
    ]


async def test_patch_replaces_the_fields_given(client: WeComClient) -> None:
    cal_id = await team_calendar(client)
    before = await one(client, cal_id)
    await client.calendars.patch(
        cal_id,
        summary="s2",
        color="#222222",
        admins=[],
        shares=["new"],
        public_range=PublicRange(partyids=(7,)),
    )
    assert await one(client, cal_id) == attrs.evolve(
        before,
        summary="s2",
        color="#222222",
        admins=(),
        shares=(CalendarShare("new"),),
        public_range=PublicRange(partyids=(7,)),
    )


async def test_patch_of_a_missing_calendar_sends_no_update(
    client: WeComClient, fake: FakeWeCom
) -> None:
    with pytest.raises(NotFoundError) as info:
        await client.calendars.patch("wcNOPE", summary="x")
    assert info.value.errcode == 90457
    assert fake.calls(UPDATE) == 0


# --- get ----------------------------------------------------------------------------------------


async def test_get_batches_any_number_in_input_order(client: WeComClient, fake: FakeWeCom) -> None:
    ids = [fake.store.add_calendar(summary=f"c{i}") for i in range(2500)]
    theirs = fake.store.add_calendar(other_app=True, summary="theirs")
    wanted = [*reversed(ids), ids[0], "wcNOPE", theirs]
    calendars = await client.calendars.get(wanted, concurrency=2)
    assert [c.cal_id for c in calendars] == list(reversed(ids))
    assert calendars[0].summary == "c2499"
    sizes = [len(b["cal_id_list"]) for b in bodies(fake, GET)]
    assert sorted(sizes) == [502, 1000, 1000]


async def test_get_is_validated(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValidationError) as info:
        await client.calendars.get([])
    assert info.value.paths == ("cal_id_list",)
    with pytest.raises(ValidationError) as info:
        await client.calendars.get(["ok", "", "c" * 65])
    assert info.value.paths == ("cal_id_list[1]", "cal_id_list[2]")
    with pytest.raises(ValidationError, match="not a single string"):
        await client.calendars.get("wcX")
    with pytest.raises(ValueError, match="concurrency"):
        await client.calendars.get(["wcX"], concurrency=0)
    assert fake.calls(GET) == 0


async def test_a_failed_chunk_fails_the_get(client: WeComClient, fake: FakeWeCom) -> None:
    ids = [fake.store.add_calendar(summary=f"c{i}") for i in range(1500)]
    fake.faults.errcode(48002, path=GET)
    with pytest.raises(PermissionDeniedError):
        await client.calendars.get(ids)


# --- delete -------------------------------------------------------------------------------------


async def test_delete_removes_the_calendar_and_cancels_its_schedules(
    client: WeComClient, fake: FakeWeCom
) -> None:
    cal_id = await team_calendar(client)
    schedule_id = await client.schedules.add(start_time=1, end_time=2, cal_id=cal_id)
    await client.calendars.delete(cal_id)
    assert bodies(fake, DELETE) == [{"cal_id": cal_id}]
    assert await client.calendars.get([cal_id]) == []
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule.is_cancelled
    with pytest.raises(ResourceDeletedError) as add_info:
        await client.schedules.add(start_time=1, end_time=2, cal_id=cal_id)
    assert add_info.value.errcode == 90459
    with pytest.raises(ResourceDeletedError):
        await client.calendars.delete(cal_id)
    with pytest.raises(ResourceDeletedError):
        await client.schedules.patch(schedule_id, summary="x")


async def test_delete_errors(client: WeComClient, fake: FakeWeCom) -> None:
    with pytest.raises(ValidationError):
        await client.calendars.delete("")
    with pytest.raises(NotFoundError):
        await client.calendars.delete("wcNOPE")
    theirs = fake.store.add_calendar(other_app=True, summary="theirs")
    with pytest.raises(PermissionDeniedError):
        await client.calendars.delete(theirs)


async def test_without_a_default_calendar_schedules_need_a_cal_id(
    client: WeComClient, fake: FakeWeCom
) -> None:
    await client.calendars.delete(fake.default_cal_id())
    with pytest.raises(InvalidRequestError) as info:
        await client.schedules.add(start_time=1, end_time=2)
    assert info.value.errcode == 90708
    result = await client.calendars.add(summary="new default", color="#123456", set_as_default=True)
    schedule_id = await client.schedules.add(start_time=1, end_time=2)
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule.cal_id == result.cal_id


async def test_derived_clients_have_calendars(client: WeComClient) -> None:
    derived = client.with_options(timeout=5, max_retries=0)
    result = await derived.calendars.add(summary="s", color="#000000")
    assert [c.cal_id for c in await client.calendars.get([result.cal_id])] == [result.cal_id]
    assert repr(derived.calendars).startswith("<Calendars of WeComClient(")


# --- decoding -----------------------------------------------------------------------------------


def test_both_decoders_agree_on_calendar_answers() -> None:
    """The docs' example answers, with a field added later and one left out."""
    get = orjson.dumps(
        {
            "errcode": 0,
            "errmsg": "ok",
            "calendar_list": [
                {
                    "cal_id": "wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA",
                    "admins": ["admin1", "admin2"],
                    "summary": "test_summary",
                    "color": "#FF3030",
                    "description": "test_describe_1",
                    "shares": [
                        {"userid": "userid2", "permission": 1},
                        {"userid": "userid1", "permission": 3},
                        {"userid": "userid0", "permission": 9},
                    ],
                    "is_public": 1,
                    "public_range": {"userids": ["abel", "jack"], "partyids": [1232, 34353]},
                    "is_corp_calendar": 1,
                    "added_later": {"x": 1},
                },
                {"cal_id": "wcMINIMAL"},
            ],
        }
    )
    fast = _converter.decode(get, GetCalendarsResponse)
    assert fast == _converter.structure(orjson.loads(get), GetCalendarsResponse)
    full, minimal = fast.calendar_list
    assert full.share_ids == ("userid2", "userid1", "userid0")
    assert full.shares[1].permission is CalendarPermission.FREE_BUSY
    assert full.shares[2].permission == 9
    assert full.public_range.partyids == (1232, 34353)
    assert (full.is_public, full.is_corp_calendar) == (True, True)
    assert minimal == Calendar("wcMINIMAL")

    add = (
        b'{"errcode":0,"errmsg":"ok","cal_id":"wc1","fail_result":{"shares":'
        b'[{"errcode":40001,"errmsg":"not found","userid":"userid3"}]}}'
    )
    answer = _converter.decode(add, AddCalendarResponse)
    assert answer == _converter.structure(orjson.loads(add), AddCalendarResponse)
    assert answer.fail_result.shares == (ShareFailure("userid3", 40001, "not found"),)
    assert _converter.decode(b'{"errcode":0,"cal_id":"wc1"}', AddCalendarResponse).fail_result == (
        CalendarFailResult()
    )

# Wrong argument types are what this file passes on purpose.
# mypy: disable-error-code="arg-type"
"""Issue 11, items 9–10: wrong types are ValidationErrors naming the field, with nothing sent;
what the docs allow is not refused (and the fake server agrees)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import IntEnum
from fractions import Fraction
from typing import Any

import pytest

from wecom_async import (
    Attendee,
    CalendarShare,
    InvalidRequestError,
    OpMode,
    PublicRange,
    RateLimits,
    Reminders,
    RepeatType,
    RetryPolicy,
    ValidationError,
    WeComClient,
)
from wecom_async._converter import decode, structure
from wecom_async.models import Calendar, GetCalendarsResponse

T0 = 1_700_000_000  # 2023-11-15 06:13:20 UTC+8
HOUR = 3600
DAY = 24 * HOUR
WEEK = 7 * DAY
SECRET = "s3cr3t-value"

Call = Callable[[WeComClient], Awaitable[Any]]


def _add(**fields: Any) -> Call:
    values: dict[str, Any] = {"start_time": T0, "end_time": T0 + HOUR, **fields}
    return lambda c: c.schedules.add(**values)


def _cal_add(**fields: Any) -> Call:
    values: dict[str, Any] = {"summary": "s", "color": "#000000", **fields}
    return lambda c: c.calendars.add(**values)


async def _first(listing: Any) -> Any:
    return await listing.__anext__()


# Each case: a call with one wrong argument, and the field path the error must name.
CASES: list[Any] = [
    pytest.param(_add(summary=123), "schedule.summary", id="summary int"),
    pytest.param(_add(start_time=1.5), "schedule.start_time", id="start float"),
    pytest.param(_add(start_time=True), "schedule.start_time", id="start bool"),
    pytest.param(_add(start_time=None), "schedule.start_time", id="start None"),
    pytest.param(_add(end_time="1"), "schedule.end_time", id="end str"),
    pytest.param(_add(is_whole_day=2), "schedule.is_whole_day", id="whole day 2"),
    pytest.param(_add(attendees=[5]), "schedule.attendees[0].userid", id="attendee int"),
    pytest.param(_add(attendees=[b"u"]), "schedule.attendees[0].userid", id="attendee bytes"),
    pytest.param(_add(attendees=5), "attendees", id="attendees int"),
    pytest.param(_add(admins=[b"a"], attendees=["a"]), "schedule.admins[0]", id="admin bytes"),
    pytest.param(_add(cal_id=b"wc"), "schedule.cal_id", id="cal_id bytes"),
    pytest.param(_add(location="\ud800"), "schedule.location", id="surrogate text"),
    pytest.param(
        _add(attendees=["ok", "x\udfff"]), "schedule.attendees[1].userid", id="surrogate userid"
    ),
    pytest.param(_add(agentid="1"), "agentid", id="agentid str"),
    pytest.param(_add(reminders={"is_remind": 1}), "schedule.reminders", id="reminders dict"),
    pytest.param(
        _add(reminders=Reminders(is_remind=2)), "schedule.reminders.is_remind", id="is_remind 2"
    ),
    pytest.param(
        _add(reminders=Reminders(timezone=8.5)), "schedule.reminders.timezone", id="tz float"
    ),
    pytest.param(
        _add(reminders=Reminders(remind_before_event_secs=300.0)),
        "schedule.reminders.remind_before_event_secs",
        id="secs float",
    ),
    pytest.param(
        _add(reminders=Reminders(remind_time_diffs=(-300.0,))),
        "schedule.reminders.remind_time_diffs[0]",
        id="diff float",
    ),
    pytest.param(
        _add(reminders=Reminders(repeat_type=1.0)),
        "schedule.reminders.repeat_type",
        id="repeat_type float",
    ),
    pytest.param(
        _add(reminders=Reminders(repeat_day_of_week=(3.0,))),
        "schedule.reminders.repeat_day_of_week[0]",
        id="day of week float",
    ),
    pytest.param(
        _add(reminders=Reminders(is_custom_repeat=True, repeat_interval="2")),
        "schedule.reminders.repeat_interval",
        id="interval str",
    ),
    pytest.param(lambda c: c.schedules.get([b"sid"]), "schedule_id_list[0]", id="get bytes"),
    pytest.param(lambda c: c.schedules.get(None), "schedule_ids", id="get None"),
    pytest.param(
        lambda c: c.schedules.get(["ok", "\ud800"]), "schedule_id_list[1]", id="get surrogate"
    ),
    pytest.param(_cal_add(summary="\udc00"), "calendar.summary", id="cal summary surrogate"),
    pytest.param(lambda c: c.schedules.get_many(["a", 5]), "schedule_ids[1]", id="get_many"),
    pytest.param(lambda c: c.schedules.get_many(None), "schedule_ids", id="get_many None"),
    pytest.param(
        lambda c: c.schedules.update(5, start_time=T0, end_time=T0),
        "schedule.schedule_id",
        id="update id int",
    ),
    pytest.param(
        lambda c: c.schedules.update("sid", start_time=T0, end_time=T0, skip_attendees="yes"),
        "skip_attendees",
        id="update skip str",
    ),
    pytest.param(
        lambda c: c.schedules.update("sid", start_time=T0, end_time=T0, op_mode=True),
        "op_mode",
        id="update op_mode bool",
    ),
    pytest.param(
        lambda c: c.schedules.patch("sid", summary=5), "schedule.summary", id="patch summary"
    ),
    pytest.param(
        lambda c: c.schedules.patch("sid", start_time=1.5),
        "schedule.start_time",
        id="patch start",
    ),
    pytest.param(
        lambda c: c.schedules.patch("sid", attendees=[b"x"]),
        "schedule.attendees[0].userid",
        id="patch attendees",
    ),
    pytest.param(lambda c: c.schedules.patch(None), "schedule.schedule_id", id="patch id"),
    pytest.param(lambda c: c.schedules.delete(b"sid"), "schedule_id", id="delete bytes"),
    pytest.param(lambda c: c.schedules.delete("sid", op_mode="1"), "op_mode", id="op_mode str"),
    pytest.param(
        lambda c: c.schedules.delete("sid", op_mode=OpMode.THIS, op_start_time=1.5),
        "op_start_time",
        id="op_start_time float",
    ),
    pytest.param(
        lambda c: c.schedules.add_attendees("sid", ["a", 5]), "userids[1].userid", id="add_att"
    ),
    pytest.param(
        lambda c: c.schedules.remove_attendees("sid", [["a"]]),
        "userids[0].userid",
        id="remove_att unhashable",
    ),
    pytest.param(
        lambda c: c.schedules.update("sid", start_time=T0, end_time=T0, reminders={}),
        "schedule.reminders",
        id="update reminders dict",
    ),
    pytest.param(
        lambda c: c.schedules.get_many(["a"], chunk_size="10"), "chunk_size", id="chunk_size str"
    ),
    pytest.param(
        lambda c: c.schedules.get_many(["a"], concurrency=0), "concurrency", id="concurrency 0"
    ),
    pytest.param(
        lambda c: c.calendars.get(["wc"], concurrency=1.5), "concurrency", id="cal concurrency"
    ),
    pytest.param(
        lambda c: c.calendars.patch("wc", summary=5), "calendar.summary", id="cal patch summary"
    ),
    pytest.param(
        lambda c: c.calendars.patch("wc", shares=[CalendarShare(b"u")]),
        "calendar.shares[0].userid",
        id="cal patch shares",
    ),
    pytest.param(lambda c: c.calendars.patch(5), "calendar.cal_id", id="cal patch id"),
    pytest.param(
        lambda c: c.schedules.remove_attendees(None, ["a"]), "schedule_id", id="remove_att id"
    ),
    pytest.param(lambda c: _first(c.schedules.list_by_calendar(5)), "cal_id", id="list cal"),
    pytest.param(
        lambda c: _first(c.schedules.list_by_calendar("wc", limit=1.5)), "limit", id="list limit"
    ),
    pytest.param(
        lambda c: _first(c.schedules.list_by_calendar("wc", offset=True)),
        "offset",
        id="list offset",
    ),
    pytest.param(_cal_add(summary=5), "calendar.summary", id="cal summary"),
    pytest.param(_cal_add(color=None), "calendar.color", id="cal color"),
    pytest.param(_cal_add(description=b"d"), "calendar.description", id="cal description"),
    pytest.param(_cal_add(shares=[5]), "calendar.shares[0].userid", id="share int"),
    pytest.param(
        _cal_add(shares=[CalendarShare("a", 1.0)]),
        "calendar.shares[0].permission",
        id="share permission float",
    ),
    pytest.param(_cal_add(is_public="yes"), "calendar.is_public", id="is_public str"),
    pytest.param(
        _cal_add(is_public=True, public_range=PublicRange(partyids=("1",))),
        "calendar.public_range.partyids[0]",
        id="partyid str",
    ),
    pytest.param(
        _cal_add(is_public=True, public_range=PublicRange(userids="abc")),
        "calendar.public_range.userids",
        id="public userids str",
    ),
    pytest.param(
        _cal_add(is_public=True, public_range={"userids": ["a"]}),
        "calendar.public_range",
        id="public_range dict",
    ),
    pytest.param(
        lambda c: c.calendars.update(b"wc", summary="s", color="#000000"),
        "calendar.cal_id",
        id="cal update id",
    ),
    pytest.param(
        lambda c: c.calendars.update("wc", summary="s", color="#000000", skip_public_range=2),
        "skip_public_range",
        id="cal update skip",
    ),
    pytest.param(lambda c: c.calendars.get(["wc", 5]), "cal_ids[1]", id="cal get int"),
    pytest.param(lambda c: c.calendars.get([{}]), "cal_ids[0]", id="cal get unhashable"),
    pytest.param(lambda c: c.calendars.delete(None), "cal_id", id="cal delete None"),
    pytest.param(lambda c: c.with_options(retry=3).schedules.get(["x"]), "retry", id="retry"),
    pytest.param(lambda c: c.request(5), "path", id="request path int"),
    pytest.param(lambda c: c.request("oa/a b"), "path", id="request path space"),
    pytest.param(
        lambda c: c.request("oa/x HTTP/1.1\r\nX-Injected: 1\r\n\r\n"),
        "path",
        id="request path CRLF",
    ),
    pytest.param(lambda c: c.request("oa/x?debug=1"), "path", id="request path query"),
    pytest.param(lambda c: c.request("oa/x#f"), "path", id="request path fragment"),
    pytest.param(lambda c: c.request("../../admin"), "path", id="request path dots"),
    pytest.param(lambda c: c.request("http://evil.example/x"), "path", id="request path URL"),
    pytest.param(lambda c: c.request("oa/schedule/get", [1]), "body", id="request body list"),
    pytest.param(
        lambda c: c.request("oa/schedule/get", {"schedule_id_list": ["\ud800"]}),
        "schedule_id_list[0]",
        id="request surrogate",
    ),
    pytest.param(
        lambda c: c.request("oa/schedule/get", {"ids": [b"x"]}), "ids[0]", id="request bytes"
    ),
    pytest.param(lambda c: c.request("oa/schedule/get", {"a": {1: 2}}), "a", id="request int key"),
]


@pytest.mark.parametrize(("call", "path"), CASES)
async def test_a_wrong_type_is_a_validation_error_naming_the_field_and_nothing_is_sent(
    client: WeComClient, fake: Any, call: Call, path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await call(client)
    assert path in info.value.paths, str(info.value)
    assert fake.requests == []  # not even gettoken


async def test_every_wrong_field_is_named_at_once(client: WeComClient, fake: Any) -> None:
    with pytest.raises(ValidationError) as info:
        await client.schedules.add(
            start_time=1.5,
            end_time=T0,
            summary=b"s",
            is_whole_day="1",
            attendees=[Attendee(5)],
            reminders=Reminders(timezone=None),
        )
    assert info.value.paths == (
        "schedule.start_time",
        "schedule.is_whole_day",
        "schedule.attendees[0].userid",
        "schedule.summary",
        "schedule.reminders.timezone",
    )
    assert fake.requests == []


# --- the constructor -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        pytest.param({"corp_id": "", "corp_secret": SECRET}, ("corp_id",), id="corp_id empty"),
        pytest.param({"corp_id": "c", "corp_secret": None}, ("corp_secret",), id="secret None"),
        pytest.param({"corp_id": 5, "corp_secret": b"x"}, ("corp_id", "corp_secret"), id="types"),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "base_url": "qyapi.weixin.qq.com"},
            ("base_url",),
            id="no scheme",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "base_url": "ftp://h"},
            ("base_url",),
            id="not http",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "base_url": None}, ("base_url",), id="None"
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "timeout": "30"}, ("timeout",), id="timeout"
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "timeout": -1}, ("timeout",), id="timeout<0"
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "max_retries": "2"},
            ("max_retries",),
            id="max_retries str",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "max_retries": -1},
            ("max_retries",),
            id="max_retries<0",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "token_refresh_margin": None},
            ("token_refresh_margin",),
            id="margin None",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "retry": 3, "rate_limits": {"share": 1}},
            ("retry", "rate_limits"),
            id="retry and rate_limits",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "token_store": {}},
            ("token_store",),
            id="token_store",
        ),
        pytest.param(
            {"corp_id": "c", "corp_secret": SECRET, "clock": 0.0, "sleep": None},
            ("clock", "sleep"),
            id="clock and sleep",
        ),
    ],
)
def test_the_constructor_names_the_wrong_argument(
    kwargs: dict[str, Any], paths: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        WeComClient(**kwargs)
    assert info.value.paths == paths
    assert isinstance(info.value, ValueError)  # as before: `except ValueError` still works
    assert SECRET not in str(info.value)
    assert "s3cr3t" not in repr(info.value.problems)


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"max_retries": "3"}, "max_retries"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": 2.0}, "max_retries"),
        ({"backoff_initial": "0.5"}, "backoff_initial"),
        ({"backoff_max": float("inf")}, "backoff_max"),
        ({"backoff_max": -1}, "backoff_max"),
        ({"jitter": 1.5}, "jitter"),
        ({"jitter": float("nan")}, "jitter"),
        ({"retry_errcodes": 45009}, "retry_errcodes"),
        ({"retry_errcodes": "-1"}, "retry_errcodes"),
        ({"retry_statuses": [500, "502"]}, "retry_statuses"),
        ({"retry_statuses": [True]}, "retry_statuses"),
        ({"frequency_block_seconds": None}, "frequency_block_seconds"),
        ({"retry_unsafe": 1}, "retry_unsafe"),
        ({"random": 0.5}, "random"),
    ],
)
def test_a_wrong_retry_policy_is_a_validation_error_naming_the_field(
    kwargs: dict[str, Any], path: str
) -> None:
    with pytest.raises(ValidationError) as info:
        RetryPolicy(**kwargs)
    assert info.value.model == "RetryPolicy"
    assert info.value.paths == (path,)
    assert isinstance(info.value, ValueError)


class _Retries(IntEnum):
    TWO = 2


def test_option_numbers_of_other_real_types_are_taken_and_absurd_ones_refused() -> None:
    """A Fraction or an int subclass is a number; a quota past 10**15 would overflow float
    arithmetic inside the first call (an OverflowError, no WeComError): refused at once."""
    assert RetryPolicy(backoff_initial=Fraction(1, 2)).backoff_initial == Fraction(1, 2)
    assert RetryPolicy(max_retries=_Retries.TWO).max_retries == 2
    with pytest.raises(ValidationError) as caught:
        RateLimits(per_minute=10**400, per_hour=10**400)
    assert caught.value.paths == ("per_minute",)
    assert len(str(caught.value)) < 300  # the 401 digits are not all shown


def test_a_retry_policy_takes_any_collection_of_ints() -> None:
    policy = RetryPolicy(retry_errcodes=[-1, 45033], retry_statuses=(502, 503))
    assert policy.retry_errcodes == frozenset({-1, 45033})
    assert policy.retry_statuses == frozenset({502, 503})
    assert policy == RetryPolicy(retry_errcodes={-1, 45033}, retry_statuses={503, 502})


def test_a_wrongly_typed_secret_is_never_shown() -> None:
    with pytest.raises(ValidationError) as info:
        WeComClient(corp_id="c", corp_secret=SECRET.encode())
    assert info.value.paths == ("corp_secret",)
    assert "s3cr3t" not in str(info.value)


# --- per-call timeout= and max_retries= -------------------------------------------------------

Endpoint = Callable[..., Awaitable[Any]]

# Every endpoint, with valid arguments: only the call options passed to it are wrong.
ENDPOINTS: list[Any] = [
    pytest.param(lambda c, **o: c.schedules.add(start_time=T0, end_time=T0 + HOUR, **o), id="add"),
    pytest.param(lambda c, **o: c.schedules.get(["sid"], **o), id="get"),
    pytest.param(
        lambda c, **o: c.schedules.update("sid", start_time=T0, end_time=T0 + HOUR, **o),
        id="update",
    ),
    pytest.param(lambda c, **o: c.schedules.patch("sid", summary="s", **o), id="patch"),
    pytest.param(lambda c, **o: c.schedules.delete("sid", **o), id="delete"),
    pytest.param(lambda c, **o: c.schedules.add_attendees("sid", ["a"], **o), id="add_att"),
    pytest.param(lambda c, **o: c.schedules.remove_attendees("sid", ["a"], **o), id="remove_att"),
    pytest.param(lambda c, **o: _first(c.schedules.list_by_calendar("wc", **o)), id="list"),
    pytest.param(lambda c, **o: c.schedules.get_many(["sid"], on_error="collect", **o), id="many"),
    pytest.param(lambda c, **o: _first(c.schedules.iter_many(["sid"], **o)), id="iter_many"),
    pytest.param(lambda c, **o: c.calendars.add(summary="s", color="#000000", **o), id="cal add"),
    pytest.param(lambda c, **o: c.calendars.get(["wc"], **o), id="cal get"),
    pytest.param(
        lambda c, **o: c.calendars.update("wc", summary="s", color="#000000", **o),
        id="cal update",
    ),
    pytest.param(lambda c, **o: c.calendars.patch("wc", summary="s", **o), id="cal patch"),
    pytest.param(lambda c, **o: c.calendars.delete("wc", **o), id="cal delete"),
    pytest.param(
        lambda c, **o: c.request("oa/schedule/get", {"schedule_id_list": []}, **o), id="request"
    ),
    pytest.param(lambda c, **o: c.with_options(**o).schedules.get(["sid"]), id="with_options"),
]

WRONG_OPTIONS: list[Any] = [
    pytest.param({"max_retries": "3"}, "max_retries", id="retries str"),
    pytest.param({"max_retries": 1.5}, "max_retries", id="retries float"),
    pytest.param({"max_retries": True}, "max_retries", id="retries bool"),
    pytest.param({"max_retries": -1}, "max_retries", id="retries<0"),
    pytest.param({"timeout": -1}, "timeout", id="timeout<0"),
    pytest.param({"timeout": 0}, "timeout", id="timeout 0"),
    pytest.param({"timeout": "1"}, "timeout", id="timeout str"),
    pytest.param({"timeout": float("nan")}, "timeout", id="timeout nan"),
]


@pytest.mark.parametrize(("options", "name"), WRONG_OPTIONS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_a_wrong_per_call_option_is_a_validation_error_naming_it_and_nothing_is_sent(
    client: WeComClient, fake: Any, endpoint: Endpoint, options: dict[str, Any], name: str
) -> None:
    """Not a TypeError from deep in the retry loop, nor taken as it is (-1 s, 1.5 retries), nor
    (in a bulk fetch) a chunk failure: the same check as the constructor's."""
    with pytest.raises(ValidationError) as info:
        await endpoint(client, **options)
    assert info.value.paths == (name,), str(info.value)
    assert fake.requests == []  # not even gettoken


# --- item 10: what the docs allow is not refused -------------------------------------------------


async def test_calendar_update_and_patch_keep_admins_that_are_not_among_the_shares(
    client: WeComClient, fake: Any
) -> None:
    # doc 97716 states only "at most 3 admins": a calendar whose admin is not shared with is
    # updated as it is, and patch sends back what calendar/get answered.
    cal_id = fake.store.add_calendar(summary="team", color="#112233", admins=["creator"])
    await client.calendars.update(cal_id, summary="team", color="#112233", admins=["creator"])
    await client.calendars.patch(cal_id, description="new")
    [calendar] = await client.calendars.get([cal_id])
    assert calendar.admins == ("creator",)
    assert calendar.description == "new"
    update = [r for r in fake.requests if r.path == "oa/calendar/update"][-1]
    assert update.body["calendar"]["admins"] == ["creator"]
    # add still needs them among the shares (doc 93647).
    with pytest.raises(ValidationError) as info:
        await client.calendars.add(summary="s", color="#000000", admins=["boss"])
    assert info.value.paths == ("calendar.admins[0]",)


def test_calendar_admins_are_also_read_from_adminis() -> None:
    assert structure({"cal_id": "wc1", "adminis": ["a"]}, Calendar).admins == ("a",)
    body = b'{"errcode":0,"errmsg":"ok","calendar_list":[{"cal_id":"wc1","adminis":["a","b"]}]}'
    [calendar] = decode(body, GetCalendarsResponse).calendar_list
    assert calendar.admins == ("a", "b")
    both = b'{"calendar_list":[{"cal_id":"wc1","admins":["x"],"adminis":["a"]}]}'
    assert decode(both, GetCalendarsResponse).calendar_list[0].admins == ("x",)


async def test_patch_of_a_calendar_answered_with_adminis_keeps_its_admins(
    client: WeComClient, fake: Any
) -> None:
    cal_id = fake.store.add_calendar(summary="team", color="#112233", admins=["lead"])
    data = fake.store.calendar_record(fake.corp_id, cal_id).data
    data["adminis"] = data.pop("admins")  # WeCom answering as doc 97717's example spells it
    await client.calendars.patch(cal_id, summary="renamed")
    update = [r for r in fake.requests if r.path == "oa/calendar/update"][-1]
    assert update.body["calendar"]["admins"] == ["lead"]


async def test_op_start_time_with_op_mode_all_is_left_out_not_refused(
    client: WeComClient, fake: Any
) -> None:
    sid = await client.schedules.add(start_time=T0, end_time=T0 + HOUR)
    await client.schedules.update(sid, start_time=T0, end_time=T0 + HOUR, op_start_time=T0)
    await client.schedules.patch(sid, summary="x", op_start_time=T0)
    await client.schedules.delete(sid, op_start_time=T0)
    bodies = [r.body for r in fake.requests if r.path in ("oa/schedule/update", "oa/schedule/del")]
    assert len(bodies) == 3
    assert all(body is not None and "op_start_time" not in body for body in bodies)


async def test_the_fake_ignores_op_start_time_with_op_mode_0(
    client: WeComClient, fake: Any
) -> None:
    sid = await client.schedules.add(start_time=T0, end_time=T0 + HOUR)
    body = {"schedule_id": sid, "op_mode": 0, "op_start_time": T0 + 5}
    assert await client.request("oa/schedule/del", body) == {"errcode": 0, "errmsg": "ok"}


async def test_public_range_of_a_private_calendar_is_left_out_not_refused(
    client: WeComClient, fake: Any
) -> None:
    result = await client.calendars.add(
        summary="s", color="#000000", public_range=PublicRange(userids=("a",))
    )
    assert result.cal_id
    assert "public_range" not in fake.requests[-1].body["calendar"]


@pytest.mark.parametrize("method", ["add_attendees", "remove_attendees"])
async def test_empty_attendees_are_allowed(client: WeComClient, fake: Any, method: str) -> None:
    # Docs 97721/97722 mark attendees optional: an empty list is sent and changes nothing.
    sid = await client.schedules.add(start_time=T0, end_time=T0 + HOUR, attendees=["a"])
    await getattr(client.schedules, method)(sid, [])
    [schedule] = await client.schedules.get([sid])
    assert schedule.attendee_ids == ("a",)
    assert fake.requests[-2].body == {"schedule_id": sid, "attendees": []}


# --- 90488: a split's start is not before op_start_time's day ----------------------------------


async def _weekly(client: WeComClient) -> str:
    return await client.schedules.add(
        start_time=T0,
        end_time=T0 + HOUR,
        reminders=Reminders(is_repeat=True, repeat_type=RepeatType.WEEKLY),
    )


@pytest.mark.parametrize("mode", [OpMode.THIS, OpMode.THIS_AND_FOLLOWING])
async def test_a_split_starting_before_the_occurrences_day_is_refused_before_sending(
    client: WeComClient, fake: Any, mode: OpMode
) -> None:
    series = await _weekly(client)
    second = T0 + WEEK  # 06:13:20 UTC+8: 00:00 of its day is 22 413 s earlier
    sent = len(fake.requests)
    with pytest.raises(ValidationError) as info:
        await client.schedules.update(
            series,
            start_time=second - 7 * HOUR,  # the day before, 23:13:20
            end_time=second,
            op_mode=mode,
            op_start_time=second,
        )
    assert info.value.paths == ("schedule.start_time",)
    assert "90488" in str(info.value)
    assert len(fake.requests) == sent
    # Earlier within the same day is fine.
    new_id = await client.schedules.update(
        series, start_time=second - 6 * HOUR, end_time=second, op_mode=mode, op_start_time=second
    )
    assert new_id != series


async def test_the_fake_answers_90488(client: WeComClient, fake: Any) -> None:
    series = await _weekly(client)
    second = T0 + WEEK
    body = {
        "op_mode": 1,
        "op_start_time": second,
        "schedule": {"schedule_id": series, "start_time": second - DAY, "end_time": second},
    }
    with pytest.raises(InvalidRequestError) as info:
        await client.request("oa/schedule/update", body)
    assert info.value.errcode == 90488
    # In the timezone sent: at UTC-12, 06:13:20 UTC+8 is 10:13:20 the day before.
    body["schedule"] = {
        **body["schedule"],  # type: ignore[dict-item]
        "start_time": second - 10 * HOUR,
        "reminders": {"timezone": -12},
    }
    answer = await client.request("oa/schedule/update", body)
    assert answer["errcode"] == 0

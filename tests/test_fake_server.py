"""Tests of wecom_async.testing, the fake WeCom server, driven over raw HTTP (aiohttp)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from wecom_async.testing import (
    FakeClock,
    FakeWeCom,
    FaultProfile,
    HandlerContext,
    Quota,
)
from wecom_async.testing._server import CLIENT_MAX_SIZE

JSON = dict[str, Any]

DOC_CAL_ID = "wcjgewCwAAqeJcPI1d8Pwbjt7nttzAAA"
#: The request example of schedule-add.md (newest version).
DOC_SCHEDULE: JSON = {
    "admins": ["admin1", "admin2"],
    "start_time": 1571274600,
    "end_time": 1571320210,
    "is_whole_day": 1,
    "attendees": [{"userid": "userid2"}],
    "summary": "需求评审会议",
    "description": "2.0版本需求初步评审",
    "reminders": {
        "is_remind": 1,
        "remind_before_event_secs": 3600,
        "remind_time_diffs": [0, -3600],
        "is_repeat": 1,
        "repeat_type": 7,
        "repeat_until": 1606976813,
        "is_custom_repeat": 1,
        "repeat_interval": 1,
        "repeat_day_of_week": [3, 7],
        "repeat_day_of_month": [10, 21],
        "timezone": 8,
    },
    "location": "广州国际媒体港10楼1005会议室",
    "cal_id": DOC_CAL_ID,
}
ERRMSG_RE = re.compile(
    r"^.+, hint: \[[^\]]+\], more info at https://open\.work\.weixin\.qq\.com/devtool/query\?e=(-?\d+)$"
)
ADD = "oa/schedule/add"
GET = "oa/schedule/get"


def doc_schedule() -> JSON:
    """The docs' example, admins made attendees (admins must be among the attendees)."""
    schedule = copy.deepcopy(DOC_SCHEDULE)
    schedule["attendees"] = [{"userid": "userid2"}, {"userid": "admin1"}, {"userid": "admin2"}]
    return schedule


class GatedSleep:
    """An injectable ``sleep`` that records durations and waits until released (no real time)."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.released = asyncio.Event()
        self._cond = asyncio.Condition()

    async def __call__(self, seconds: float) -> None:
        async with self._cond:
            self.calls.append(seconds)
            self._cond.notify_all()
        await self.released.wait()

    async def wait_entered(self, n: int) -> None:
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: len(self.calls) >= n), 5)


async def instant_sleep(seconds: float) -> None:
    await asyncio.sleep(0)


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@contextlib.asynccontextmanager
async def serve(**kwargs: Any) -> AsyncIterator[FakeWeCom]:
    """A started FakeWeCom whose default corp has the docs' calendar."""
    async with FakeWeCom(**kwargs) as server:
        server.store.add_calendar(cal_id=DOC_CAL_ID, summary="docs")
        yield server


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    async with serve(clock=clock) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def gettoken(
    http: aiohttp.ClientSession,
    fake: FakeWeCom,
    corp_id: str | None = None,
    secret: str | None = None,
) -> JSON:
    params = {
        "corpid": fake.corp_id if corp_id is None else corp_id,
        "corpsecret": fake.corp_secret if secret is None else secret,
    }
    async with http.get(f"{fake.base_url}/cgi-bin/gettoken", params=params) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        result: JSON = await resp.json()
        return result


async def token_of(http: aiohttp.ClientSession, fake: FakeWeCom, corp_id: str | None = None) -> str:
    corp = fake.corp_id if corp_id is None else corp_id
    answer = await gettoken(http, fake, corp, fake.corps[corp])
    assert answer["errcode"] == 0
    token: str = answer["access_token"]
    return token


async def call(
    http: aiohttp.ClientSession,
    fake: FakeWeCom,
    path: str,
    body: Any,
    token: str | None,
    *,
    raw: bytes | None = None,
    method: str = "POST",
    timeout: float | None = None,
) -> JSON:
    params = {} if token is None else {"access_token": token}
    data = raw if raw is not None else None
    kwargs: dict[str, Any] = {"params": params}
    if data is not None:
        kwargs["data"] = data
    elif method == "POST":
        kwargs["json"] = body
    if timeout is not None:
        kwargs["timeout"] = aiohttp.ClientTimeout(total=timeout)
    async with http.request(method, f"{fake.base_url}/cgi-bin/{path}", **kwargs) as resp:
        assert resp.status == 200, await resp.text()
        result: JSON = await resp.json()
        return result


async def add(http: aiohttp.ClientSession, fake: FakeWeCom, token: str, schedule: JSON) -> JSON:
    return await call(http, fake, ADD, {"schedule": schedule}, token)


async def get(http: aiohttp.ClientSession, fake: FakeWeCom, token: str, ids: list[str]) -> JSON:
    return await call(http, fake, GET, {"schedule_id_list": ids}, token)


def errcode_of_errmsg(answer: JSON) -> int:
    match = ERRMSG_RE.match(answer["errmsg"])
    assert match is not None, answer
    return int(match.group(1))


# --- lifecycle --------------------------------------------------------------------------------


async def test_start_close_and_defaults() -> None:
    fake = FakeWeCom()
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    await fake.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.base_url)
        assert fake.corp_id.startswith("wwfake")
        assert len(fake.corp_secret) >= 32
        assert fake.default_cal_id().startswith("wcFAKE")
        assert len(fake.default_cal_id()) == 32
        assert fake.corp_secret not in repr(fake)
    finally:
        await fake.close()
        await fake.close()  # idempotent


async def test_app_runs_under_another_runner() -> None:
    fake = FakeWeCom()
    async with TestClient(TestServer(fake.app, access_log=None)) as client:
        resp = await client.get(
            "/cgi-bin/gettoken", params={"corpid": fake.corp_id, "corpsecret": fake.corp_secret}
        )
        assert (await resp.json())["errcode"] == 0


# --- gettoken ---------------------------------------------------------------------------------


async def test_gettoken_success(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    answer = await gettoken(http, fake)
    assert answer["errcode"] == 0
    assert answer["errmsg"] == "ok"
    assert len(answer["access_token"]) >= 64
    assert answer["expires_in"] == 7200
    assert fake.gettoken_calls == 1


@pytest.mark.parametrize(
    ("corp_id", "secret", "errcode"),
    [("wwnope", None, 40013), (None, "wrong", 40001), ("", None, 41002), (None, "", 41004)],
)
async def test_gettoken_errors(
    http: aiohttp.ClientSession,
    fake: FakeWeCom,
    corp_id: str | None,
    secret: str | None,
    errcode: int,
) -> None:
    answer = await gettoken(http, fake, corp_id, secret)
    assert answer["errcode"] == errcode
    assert errcode_of_errmsg(answer) == errcode
    assert "access_token" not in answer


async def test_gettoken_same_token_while_valid(
    http: aiohttp.ClientSession, fake: FakeWeCom, clock: FakeClock
) -> None:
    first = await gettoken(http, fake)
    clock.advance(100)
    second = await gettoken(http, fake)
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 7100
    assert fake.tokens_issued == 1


async def test_token_expiry(http: aiohttp.ClientSession, fake: FakeWeCom, clock: FakeClock) -> None:
    token = await token_of(http, fake)
    clock.advance(7199)
    assert (await get(http, fake, token, ["x"]))["errcode"] == 0
    clock.advance(1)
    answer = await get(http, fake, token, ["x"])
    assert answer["errcode"] == 42001
    assert errcode_of_errmsg(answer) == 42001
    new = await gettoken(http, fake)
    assert new["access_token"] != token
    assert new["expires_in"] == 7200
    assert (await get(http, fake, new["access_token"], ["x"]))["errcode"] == 0


async def test_token_ttl_setting(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with serve(clock=clock, token_ttl=60) as fake:
        assert (await gettoken(http, fake))["expires_in"] == 60
        token = await token_of(http, fake)
        clock.advance(60)
        assert (await get(http, fake, token, ["x"]))["errcode"] == 42001


async def test_invalidate_tokens(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    assert fake.invalidate_tokens() == 1
    assert (await get(http, fake, token, ["x"]))["errcode"] == 40014
    new = await token_of(http, fake)
    assert new != token
    assert (await get(http, fake, new, ["x"]))["errcode"] == 0


async def test_invalidate_tokens_of_one_corp(http: aiohttp.ClientSession) -> None:
    async with serve(corps={"wwa": "sa", "wwb": "sb"}) as fake:
        token_a = await token_of(http, fake, "wwa")
        token_b = await token_of(http, fake, "wwb")
        fake.invalidate_tokens("wwa")
        assert (await get(http, fake, token_a, ["x"]))["errcode"] == 40014
        assert (await get(http, fake, token_b, ["x"]))["errcode"] == 0


@pytest.mark.parametrize(("token", "errcode"), [(None, 41001), ("", 41001), ("bogus", 40014)])
async def test_access_token_errors(
    http: aiohttp.ClientSession, fake: FakeWeCom, token: str | None, errcode: int
) -> None:
    answer = await get(http, fake, token, ["x"])  # type: ignore[arg-type]
    assert answer["errcode"] == errcode
    assert errcode_of_errmsg(answer) == errcode


# --- the common layer -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_body_not_a_json_object(
    http: aiohttp.ClientSession, fake: FakeWeCom, raw: bytes
) -> None:
    token = await token_of(http, fake)
    answer = await call(http, fake, GET, None, token, raw=raw)
    assert answer["errcode"] == 47001


async def test_get_method_on_post_api(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    assert (await call(http, fake, GET, None, token, method="GET"))["errcode"] == 43002


async def test_unknown_path_is_404(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    url = f"{fake.base_url}/cgi-bin/oa/schedule/nope"
    async with http.post(url, params={"access_token": token}, json={}) as resp:
        assert resp.status == 404
        assert "404" in await resp.text()
    assert fake.requests[-1].http_status == 404


async def test_custom_endpoint(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    def echo(ctx: HandlerContext, body: JSON) -> JSON:
        return {"corp": ctx.corp_id, "path": ctx.path, "body": body}

    fake.endpoints["test/echo"] = echo
    token = await token_of(http, fake)
    answer = await call(http, fake, "test/echo", {"a": 1}, token)
    assert answer == {
        "errcode": 0,
        "errmsg": "ok",
        "corp": fake.corp_id,
        "path": "test/echo",
        "body": {"a": 1},
    }


# --- schedule/add and schedule/get ------------------------------------------------------------


async def test_add_get_round_trip_of_every_field(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    answer = await call(http, fake, ADD, {"schedule": doc_schedule(), "agentid": 1000014}, token)
    assert answer["errcode"] == 0
    assert answer["errmsg"] == "ok"
    schedule_id = answer["schedule_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", schedule_id)

    got = await get(http, fake, token, [schedule_id])
    assert got["errcode"] == 0
    assert got["errmsg"] == "ok"
    expected = doc_schedule()
    expected["schedule_id"] = schedule_id
    expected["attendees"] = [{**a, "response_status": 0} for a in expected["attendees"]]
    expected["reminders"]["exclude_time_list"] = []
    expected["status"] = 0
    assert got["schedule_list"] == [expected]


async def test_add_fills_documented_defaults(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    schedule_id = (await add(http, fake, token, {"start_time": 10, "end_time": 20}))["schedule_id"]
    [got] = (await get(http, fake, token, [schedule_id]))["schedule_list"]
    assert got == {
        "schedule_id": schedule_id,
        "admins": [],
        "attendees": [],
        "summary": "",
        "description": "",
        "reminders": {
            "is_remind": 0,
            "is_repeat": 0,
            "remind_before_event_secs": 0,
            "remind_time_diffs": [],
            "repeat_type": 0,
            "repeat_until": 0,
            "is_custom_repeat": 0,
            "repeat_interval": 0,
            "repeat_day_of_week": [],
            "repeat_day_of_month": [],
            "timezone": 8,
            "exclude_time_list": [],
        },
        "location": "",
        "cal_id": fake.default_cal_id(),
        "start_time": 10,
        "end_time": 20,
        "status": 0,
        "is_whole_day": 0,
    }


async def test_add_null_and_empty_cal_id_mean_default(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    schedule = {"start_time": 1, "end_time": 1, "cal_id": "", "summary": None, "reminders": None}
    schedule_id = (await add(http, fake, token, schedule))["schedule_id"]
    stored = fake.store.get_schedule(schedule_id)
    assert stored is not None
    assert stored["cal_id"] == fake.default_cal_id()
    assert stored["summary"] == ""


async def test_schedule_ids_are_deterministic(http: aiohttp.ClientSession) -> None:
    ids: list[list[str]] = []
    for _ in range(2):
        async with serve(seed=42) as fake:
            token = await token_of(http, fake)
            ids.append(
                [
                    (await add(http, fake, token, {"start_time": 1, "end_time": 2}))["schedule_id"]
                    for _ in range(3)
                ]
            )
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 3
    async with serve(seed=43) as other:
        token = await token_of(http, other)
        assert (await add(http, other, token, {"start_time": 1, "end_time": 2}))[
            "schedule_id"
        ] != ids[0][0]


Mutation = Callable[[JSON], None]


def _set(key: str, value: Any) -> Mutation:
    def mutate(schedule: JSON) -> None:
        schedule[key] = value

    return mutate


def _rem(key: str, value: Any) -> Mutation:
    def mutate(schedule: JSON) -> None:
        schedule["reminders"][key] = value

    return mutate


def _delete(key: str) -> Mutation:
    def mutate(schedule: JSON) -> None:
        del schedule[key]

    return mutate


def _many_attendees(n: int) -> Mutation:
    def mutate(schedule: JSON) -> None:
        schedule["attendees"] = [{"userid": f"u{i}"} for i in range(n)]
        schedule["admins"] = []

    return mutate


def _attendee(value: Any) -> Mutation:
    def mutate(schedule: JSON) -> None:
        schedule["attendees"].append(value)

    return mutate


def _whole_day(flag: int, diffs: list[int]) -> Mutation:
    def mutate(schedule: JSON) -> None:
        schedule["is_whole_day"] = flag
        schedule["reminders"]["remind_time_diffs"] = diffs

    return mutate


INVALID_SCHEDULES: list[tuple[str, Mutation, int]] = [
    ("organizer", _set("organizer", "userid1"), 90493),
    ("readonly", _set("readonly", 1), 90493),
    ("no start_time", _delete("start_time"), 40058),
    ("no end_time", _delete("end_time"), 40058),
    ("start_time string", _set("start_time", "1571274600"), 40058),
    ("start_time float", _set("start_time", 1571274600.5), 40058),
    ("start_time bool", _set("start_time", True), 40058),
    ("start_time negative", _set("start_time", -1), 40058),
    ("end_time over uint32", _set("end_time", 2**32), 40058),
    ("end before start", _set("end_time", 1571274599), 40058),
    ("is_whole_day 2", _set("is_whole_day", 2), 40058),
    ("1001 attendees", _many_attendees(1001), 90464),
    ("attendee without userid", _attendee({}), 40058),
    ("attendee empty userid", _attendee({"userid": ""}), 40058),
    ("attendee userid 65 bytes", _attendee({"userid": "a" * 65}), 40058),
    ("attendee userid 22 CJK chars", _attendee({"userid": "测" * 22}), 40058),
    ("attendee not an object", _attendee("userid3"), 40058),
    ("attendees not a list", _set("attendees", {"userid": "x"}), 40058),
    ("4 admins", _set("admins", ["userid2", "admin1", "admin2", "admin1"]), 40058),
    ("admin not an attendee", _set("admins", ["userid2", "stranger"]), 90492),
    ("summary 129 chars", _set("summary", "x" * 129), 40058),
    ("summary not a string", _set("summary", 5), 40058),
    ("description 1001 chars", _set("description", "描" * 1001), 40058),
    ("location 129 chars", _set("location", "地" * 129), 40058),
    ("cal_id 65 bytes", _set("cal_id", "c" * 65), 40058),
    ("unknown cal_id", _set("cal_id", "wcUNKNOWN"), 90457),
    ("reminders not an object", _set("reminders", [1]), 40058),
    ("remind_before_event_secs 60", _rem("remind_before_event_secs", 60), 90471),
    ("remind_time_diffs 60", _rem("remind_time_diffs", [0, 60]), 90704),
    ("remind_time_diffs 32400 not whole day", _whole_day(0, [32400]), 90704),
    ("remind_time_diffs -604800 not whole day", _whole_day(0, [-604800]), 90704),
    ("repeat_type 3", _rem("repeat_type", 3), 90465),
    ("timezone 13", _rem("timezone", 13), 90480),
    ("timezone -13", _rem("timezone", -13), 90480),
    ("repeat_day_of_month 0", _rem("repeat_day_of_month", [0]), 90487),
    ("repeat_day_of_month 32", _rem("repeat_day_of_month", [10, 32]), 90487),
    ("repeat_day_of_week 8", _rem("repeat_day_of_week", [8]), 40058),
    ("repeat_day_of_week 0", _rem("repeat_day_of_week", [0]), 40058),
    ("custom repeat without interval", _rem("repeat_interval", None), 90486),
    ("custom repeat interval 0", _rem("repeat_interval", 0), 90486),
    ("repeat_until negative", _rem("repeat_until", -5), 40058),
    ("is_remind 2", _rem("is_remind", 2), 40058),
]


@pytest.mark.parametrize(
    ("mutate", "errcode"),
    [pytest.param(m, code, id=name) for name, m, code in INVALID_SCHEDULES],
)
async def test_add_validation(
    http: aiohttp.ClientSession, fake: FakeWeCom, mutate: Mutation, errcode: int
) -> None:
    token = await token_of(http, fake)
    schedule = doc_schedule()
    mutate(schedule)
    answer = await add(http, fake, token, schedule)
    assert answer["errcode"] == errcode, answer
    assert errcode_of_errmsg(answer) == errcode
    assert "schedule_id" not in answer
    assert fake.store.schedule_count() == 0


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_many_attendees(1000), id="1000 attendees"),
        pytest.param(_attendee({"userid": "a" * 64}), id="userid 64 bytes"),
        pytest.param(_set("summary", "题" * 128), id="summary 128 chars"),
        pytest.param(_set("description", "d" * 1000), id="description 1000 chars"),
        pytest.param(_set("location", "l" * 128), id="location 128 chars"),
        pytest.param(_set("end_time", 1571274600), id="end == start"),
        pytest.param(_whole_day(1, [32400, -172800, -604800]), id="whole-day diffs"),
        pytest.param(_rem("timezone", -12), id="timezone -12"),
        pytest.param(_set("organizer", None), id="organizer null"),
        pytest.param(_rem("is_custom_repeat", 0), id="no custom repeat"),
    ],
)
async def test_add_accepts_limits(
    http: aiohttp.ClientSession, fake: FakeWeCom, mutate: Mutation
) -> None:
    token = await token_of(http, fake)
    schedule = doc_schedule()
    mutate(schedule)
    assert (await add(http, fake, token, schedule))["errcode"] == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, 40058),
        ({"schedule": None}, 40058),
        ({"schedule": [1]}, 40058),
        ({"schedule": {"start_time": 1, "end_time": 2}, "agentid": "x"}, 40058),
    ],
)
async def test_add_body_errors(
    http: aiohttp.ClientSession, fake: FakeWeCom, body: JSON, errcode: int
) -> None:
    token = await token_of(http, fake)
    assert (await call(http, fake, ADD, body, token))["errcode"] == errcode


async def test_add_first_problem_is_reported(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    schedule = doc_schedule()
    schedule["end_time"] = 0  # 40058, checked before ...
    schedule["reminders"]["timezone"] = 99  # ... 90480
    assert (await add(http, fake, token, schedule))["errcode"] == 40058


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({}, 90462),
        ({"schedule_id_list": []}, 90462),
        ({"schedule_id_list": None}, 90462),
        ({"schedule_id_list": "abc"}, 40058),
        ({"schedule_id_list": [1]}, 40058),
        ({"schedule_id_list": [f"{i:032x}" for i in range(1001)]}, 40058),
    ],
)
async def test_get_errors(
    http: aiohttp.ClientSession, fake: FakeWeCom, body: JSON, errcode: int
) -> None:
    token = await token_of(http, fake)
    answer = await call(http, fake, GET, body, token)
    assert answer["errcode"] == errcode
    assert "schedule_list" not in answer


async def test_get_order_unknown_duplicates_and_other_corps(http: aiohttp.ClientSession) -> None:
    async with serve(corps={"wwa": "sa", "wwb": "sb"}) as fake:
        mine = fake.seed_schedules([{"start_time": i, "end_time": i + 1} for i in range(3)])
        [theirs] = fake.seed_schedules([{"start_time": 0, "end_time": 1}], corp_id="wwb")
        token = await token_of(http, fake, "wwa")
        ids = [mine[2], "f" * 32, mine[0], theirs, mine[2], mine[1]]
        answer = await get(http, fake, token, ids)
        assert answer["errcode"] == 0
        assert [s["schedule_id"] for s in answer["schedule_list"]] == [mine[2], mine[0], mine[1]]
        token_b = await token_of(http, fake, "wwb")
        answer = await get(http, fake, token_b, [theirs, *mine])
        assert [s["schedule_id"] for s in answer["schedule_list"]] == [theirs]


async def test_get_1000_ids(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    ids = fake.seed_schedules({"start_time": i, "end_time": i} for i in range(12_000))
    assert fake.store.schedule_count() == 12_000
    token = await token_of(http, fake)
    answer = await get(http, fake, token, ids[-1000:])
    assert [s["schedule_id"] for s in answer["schedule_list"]] == ids[-1000:]
    assert answer["schedule_list"][0]["start_time"] == 11_000


async def test_cancelled_schedule_is_returned_with_status_1(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    schedule_id = (await add(http, fake, token, doc_schedule()))["schedule_id"]
    fake.store.cancel_schedule(schedule_id)
    [got] = (await get(http, fake, token, [schedule_id]))["schedule_list"]
    assert got["status"] == 1
    [seeded] = fake.seed_schedules([{"start_time": 1, "end_time": 2, "status": 1}])
    [got] = (await get(http, fake, token, [seeded]))["schedule_list"]
    assert got["status"] == 1


async def test_store_helpers(fake: FakeWeCom) -> None:
    cal_id = fake.store.add_calendar(summary="team", color="#FF0000")
    [sid] = fake.seed_schedules(
        [{"start_time": 1, "end_time": 2, "cal_id": cal_id, "attendees": [{"userid": "u"}]}]
    )
    fake.store.set_response_status(sid, "u", 2)
    stored = fake.store.get_schedule(sid)
    assert stored is not None
    assert stored["attendees"] == [{"userid": "u", "response_status": 2}]
    stored["summary"] = "mutating a copy"
    assert fake.store.schedules()[0]["summary"] == ""
    calendar = fake.store.get_calendar(cal_id)
    assert calendar is not None
    assert calendar["summary"] == "team"
    with pytest.raises(ValueError, match="not a calendar"):
        fake.seed_schedules([{"start_time": 1, "end_time": 2, "cal_id": "wcNOPE"}])
    with pytest.raises(ValueError, match="already exists"):
        fake.seed_schedules([{"start_time": 1, "end_time": 2, "schedule_id": sid}])


# --- request log ------------------------------------------------------------------------------


async def test_request_log_never_holds_secrets(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    await add(http, fake, token, doc_schedule())
    await get(http, fake, token, ["x"])
    await get(http, fake, "bogus" + token, ["x"])
    await gettoken(http, fake, secret="wrong-" + fake.corp_secret)
    dump = repr(fake.requests)
    assert token not in dump
    assert fake.corp_secret not in dump
    assert [(r.method, r.path, r.errcode, r.http_status) for r in fake.requests] == [
        ("GET", "gettoken", 0, 200),
        ("POST", ADD, 0, 200),
        ("POST", GET, 0, 200),
        ("POST", GET, 40014, 200),
        ("GET", "gettoken", 40001, 200),
    ]
    add_record = fake.requests[1]
    assert add_record.corp_id == fake.corp_id
    assert add_record.body == {"schedule": doc_schedule()}
    assert add_record.done
    assert fake.requests[0].body is None
    assert fake.calls(GET) == 2
    assert fake.calls("/cgi-bin/oa/schedule/get") == 2
    assert fake.calls() == 5
    assert fake.answered(40014) == 1
    fake.clear_requests()
    assert fake.calls() == 0


async def test_record_bodies_off(http: aiohttp.ClientSession) -> None:
    async with serve(record_bodies=False) as fake:
        token = await token_of(http, fake)
        await get(http, fake, token, ["x"])
        assert fake.requests[-1].body is None


# --- faults -----------------------------------------------------------------------------------


async def test_fault_errcode(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    fake.faults.errcode(-1, times=2, path=GET)
    fake.faults.errcode(6000, "data version conflict (test)", path="/cgi-bin/" + ADD)
    assert fake.faults.pending == 3
    first = await get(http, fake, token, ["x"])
    assert first["errcode"] == -1
    assert errcode_of_errmsg(first) == -1
    assert (await get(http, fake, token, ["x"]))["errcode"] == -1
    assert (await get(http, fake, token, ["x"]))["errcode"] == 0
    answer = await add(http, fake, token, doc_schedule())
    assert answer == {"errcode": 6000, "errmsg": "data version conflict (test)"}
    assert fake.store.schedule_count() == 0  # not handled
    assert fake.faults.pending == 0
    assert fake.faults.fired["errcode:-1"] == 2
    assert fake.requests[1].faults == ("errcode:-1",)


async def test_fault_without_path_spares_gettoken(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    fake.faults.errcode(40014)
    token = await token_of(http, fake)  # not hit
    assert (await get(http, fake, token, ["x"]))["errcode"] == 40014
    fake.faults.errcode(-1, path="gettoken")
    assert (await gettoken(http, fake))["errcode"] == -1
    assert (await gettoken(http, fake))["errcode"] == 0


async def test_fault_until_cleared(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    fake.faults.errcode(-1, times=None)
    for _ in range(3):
        assert (await get(http, fake, token, ["x"]))["errcode"] == -1
    fake.faults.clear()
    assert (await get(http, fake, token, ["x"]))["errcode"] == 0


async def test_fault_http_status(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    fake.faults.http_status(502, times=2)
    fake.faults.http_status(503, path=GET)
    url = f"{fake.base_url}/cgi-bin/{GET}"
    statuses = []
    for _ in range(4):
        async with http.post(url, params={"access_token": token}, json={"x": 1}) as resp:
            statuses.append(resp.status)
            if resp.status != 200:
                assert resp.content_type == "text/html"
                assert f"<h1>{resp.status} " in await resp.text()
    assert statuses == [502, 502, 503, 200]
    assert [r.errcode for r in fake.requests[1:]] == [None, None, None, 90462]


async def test_fault_drop_before(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    fake.faults.drop(path=ADD)
    with pytest.raises(aiohttp.ClientConnectionError):
        await add(http, fake, token, doc_schedule())
    assert fake.store.schedule_count() == 0
    assert fake.requests[-1].dropped
    assert fake.requests[-1].http_status is None
    assert (await add(http, fake, token, doc_schedule()))["errcode"] == 0


async def test_fault_drop_after_takes_effect(http: aiohttp.ClientSession, fake: FakeWeCom) -> None:
    token = await token_of(http, fake)
    fake.faults.drop(after=True)
    with pytest.raises(aiohttp.ClientConnectionError):
        await add(http, fake, token, doc_schedule())
    assert fake.store.schedule_count() == 1
    record = fake.requests[-1]
    assert record.dropped
    assert record.errcode == 0


async def test_fault_latency_before(http: aiohttp.ClientSession) -> None:
    gate = GatedSleep()
    async with serve(sleep=gate) as fake:
        token = await token_of(http, fake)
        fake.faults.latency(2.5, path=ADD)
        task = asyncio.create_task(add(http, fake, token, doc_schedule()))
        await gate.wait_entered(1)
        assert gate.calls == [2.5]
        assert fake.store.schedule_count() == 0  # not handled yet
        gate.released.set()
        assert (await task)["errcode"] == 0
        assert fake.store.schedule_count() == 1


async def test_fault_latency_after_is_late_but_effective(http: aiohttp.ClientSession) -> None:
    gate = GatedSleep()
    async with serve(sleep=gate) as fake:
        token = await token_of(http, fake)
        fake.faults.latency(30, after=True, path=ADD)
        with pytest.raises(asyncio.TimeoutError):
            await call(http, fake, ADD, {"schedule": doc_schedule()}, token, timeout=0.2)
        await gate.wait_entered(1)
        assert fake.store.schedule_count() == 1  # the call took effect
        assert fake.requests[-1].errcode == 0
        gate.released.set()
        # The client retries: a second schedule (what an idempotency-unaware client causes).
        assert (await add(http, fake, token, doc_schedule()))["errcode"] == 0
        assert fake.calls(ADD) == 2


async def test_scripted_after_faults_wait_for_a_handled_call(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    fake.faults.errcode(-1)
    fake.faults.drop(after=True)
    assert (await get(http, fake, token, ["x"]))["errcode"] == -1
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, fake, token, ["x"])
    assert fake.faults.pending == 0


def _outcome(exc: BaseException | None, answer: JSON | None) -> str:
    if exc is not None:
        return type(exc).__name__
    assert answer is not None
    return str(answer["errcode"])


async def _soak_outcomes(http: aiohttp.ClientSession, profile: FaultProfile) -> list[str]:
    outcomes = []
    async with serve(fault_profile=profile, sleep=instant_sleep) as fake:
        token = await token_of(http, fake)
        for _ in range(60):
            url = f"{fake.base_url}/cgi-bin/{GET}"
            try:
                async with http.post(
                    url, params={"access_token": token}, json={"schedule_id_list": ["x"]}
                ) as resp:
                    if resp.status != 200:
                        outcomes.append(f"http{resp.status}")
                        continue
                    answer = await resp.json()
            except aiohttp.ClientConnectionError as exc:
                outcomes.append(_outcome(exc, None))
                continue
            outcomes.append(_outcome(None, answer))
            if answer["errcode"] == 40014:
                token = await token_of(http, fake)
        labels = [label for r in fake.requests for label in r.faults]
        assert fake.faults.fired["latency"] == labels.count("latency") > 0
    return outcomes


async def test_random_faults_are_deterministic(http: aiohttp.ClientSession) -> None:
    profile = FaultProfile(
        seed=7,
        busy_rate=0.15,
        http_502_rate=0.1,
        http_503_rate=0.1,
        drop_rate=0.1,
        drop_after_rate=0.05,
        slow_rate=0.1,
        slow_seconds=5.0,
        token_invalidation_rate=0.05,
    )
    first = await _soak_outcomes(http, profile)
    assert first == await _soak_outcomes(http, profile)
    assert {"-1", "http502", "http503", "ServerDisconnectedError", "0", "40014"} <= set(first)
    other = await _soak_outcomes(http, FaultProfile(**{**_fields(profile), "seed": 8}))
    assert other != first


def _fields(profile: FaultProfile) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in FaultProfile.__dataclass_fields__}


def test_fault_profile_validation() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultProfile(busy_rate=1.5)
    with pytest.raises(ValueError, match="more than 1"):
        FaultProfile(busy_rate=0.6, drop_rate=0.6)


# --- quota ------------------------------------------------------------------------------------


async def test_quota_minute_block(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with serve(clock=clock, quota=Quota(per_minute=5, per_hour=None)) as fake:
        token = await token_of(http, fake)
        codes = []
        for _ in range(6):
            codes.append((await get(http, fake, token, ["x"]))["errcode"])
            clock.advance(1)
        assert codes == [0, 0, 0, 0, 0, 45009]  # the 6th call at t=5 exceeds; blocked until 65
        assert fake.quota_blocked_until(GET) == clock.now - 1 + 60
        # Other APIs and gettoken are not affected.
        assert (await add(http, fake, token, {"start_time": 1, "end_time": 2}))["errcode"] == 0
        for _ in range(10):
            assert (await gettoken(http, fake))["errcode"] == 0
        # Blocked: the window has slid past the first calls, but the block lasts 60 s.
        clock.advance(58)  # t=64
        assert (await get(http, fake, token, ["x"]))["errcode"] == 45009
        clock.advance(1)  # t=65: block over; blocked calls did not count
        assert [(await get(http, fake, token, ["x"]))["errcode"] for _ in range(6)] == [
            0,
            0,
            0,
            0,
            0,
            45009,
        ]
        assert fake.quota_exceeded_count == 3
        assert fake.answered(45009, GET) == 3
        # GET arrivals: t=0,1,2,3,4,5 then 64, then six at 65 (rejected calls count too).
        assert fake.max_calls_in_window(GET) == 7
        assert fake.max_calls_in_window(GET, seconds=1) == 6
        assert fake.max_calls_in_window(GET, seconds=2) == 7


async def test_quota_sliding_window_without_block(
    http: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with serve(clock=clock, quota=Quota(per_minute=3, per_hour=None)) as fake:
        token = await token_of(http, fake)
        for _ in range(3):
            assert (await get(http, fake, token, ["x"]))["errcode"] == 0
            clock.advance(20)
        # t=60: the call at t=0 has left the window.
        assert (await get(http, fake, token, ["x"]))["errcode"] == 0
        assert fake.max_calls_in_window(GET) == 3


async def test_quota_hour_block(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with serve(clock=clock, quota=Quota(per_minute=5, per_hour=8)) as fake:
        fake.token_ttl = 100_000
        token = await token_of(http, fake)
        codes = []
        for _ in range(9):
            codes.append((await get(http, fake, token, ["x"]))["errcode"])
            clock.advance(61)
        assert codes == [0] * 8 + [45009]
        exceeded_at = clock.now - 61
        assert fake.quota_blocked_until(GET) == exceeded_at + 3600
        clock.set(exceeded_at + 3599)
        assert (await get(http, fake, token, ["x"]))["errcode"] == 45009
        clock.set(exceeded_at + 3600)
        assert (await get(http, fake, token, ["x"]))["errcode"] == 0


async def test_quota_is_per_corp(http: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with serve(
        clock=clock, corps={"wwa": "sa", "wwb": "sb"}, quota=Quota(per_minute=1)
    ) as fake:
        token_a, token_b = await token_of(http, fake, "wwa"), await token_of(http, fake, "wwb")
        assert (await get(http, fake, token_a, ["x"]))["errcode"] == 0
        assert (await get(http, fake, token_a, ["x"]))["errcode"] == 45009
        assert (await get(http, fake, token_b, ["x"]))["errcode"] == 0
        assert fake.max_calls_in_window(GET, corp_id="wwa") == 2
        assert fake.max_calls_in_window(GET) == 3


async def test_quota_disabled(http: aiohttp.ClientSession) -> None:
    async with serve(quota=None) as fake:
        token = await token_of(http, fake)
        for _ in range(20):
            assert (await get(http, fake, token, ["x"]))["errcode"] == 0
        assert fake.quota_exceeded_count == 0
        assert fake.quota_blocked_until(GET) is None


# --- concurrency ------------------------------------------------------------------------------


async def test_concurrency_limit(http: aiohttp.ClientSession) -> None:
    gate = GatedSleep()
    async with serve(max_concurrency=2, sleep=gate) as fake:
        token = await token_of(http, fake)
        fake.faults.latency(1.0, times=2, path=GET)
        slow = [asyncio.create_task(get(http, fake, token, ["x"])) for _ in range(2)]
        await gate.wait_entered(2)
        assert fake.in_flight(GET) == 2
        answer = await get(http, fake, token, ["x"])
        assert answer["errcode"] == 45033
        assert errcode_of_errmsg(answer) == 45033
        # Another API is not limited.
        assert (await add(http, fake, token, {"start_time": 1, "end_time": 2}))["errcode"] == 0
        gate.released.set()
        assert [(await t)["errcode"] for t in slow] == [0, 0]
        assert (await get(http, fake, token, ["x"]))["errcode"] == 0
        assert fake.concurrency_exceeded_count == 1
        assert fake.peak_concurrency(GET) == 3
        assert fake.peak_concurrency(ADD) == 1
        assert fake.in_flight(GET) == 0


async def test_peak_concurrency_without_limit(http: aiohttp.ClientSession) -> None:
    gate = GatedSleep()
    async with serve(sleep=gate) as fake:
        token = await token_of(http, fake)
        fake.faults.latency(1.0, times=5)
        tasks = [asyncio.create_task(get(http, fake, token, ["x"])) for _ in range(5)]
        await gate.wait_entered(5)
        gate.released.set()
        assert [(await t)["errcode"] for t in tasks] == [0] * 5
        assert fake.peak_concurrency(GET) == 5
        assert fake.peak_concurrency(GET, corp_id=fake.corp_id) == 5
        assert fake.peak_concurrency(GET, corp_id="wwother") == 0
        assert fake.peak_concurrency("gettoken") == 1


async def test_a_client_that_goes_away_is_recorded_without_a_traceback(
    fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = fake.base_url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /cgi-bin/{GET}?access_token=x HTTP/1.1\r\nHost: {host}\r\n"
        'Content-Length: 1000\r\n\r\n{"schedule_id_list": ['.encode()
    )
    await writer.drain()
    for _ in range(400):
        if fake.requests:
            break
        await asyncio.sleep(0.01)
    writer.close()  # before the body is whole: the fake is still reading it
    await writer.wait_closed()
    for _ in range(400):
        if fake.requests[-1].done:
            break
        await asyncio.sleep(0.01)
    record = fake.requests[-1]
    assert record.client_gone
    assert record.http_status is None
    assert not record.dropped  # the fake did not drop it: the client went away
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_body_over_the_size_limit_is_recorded_as_413(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    token = await token_of(http, fake)
    big = b'{"schedule_id_list": ["' + b"x" * CLIENT_MAX_SIZE + b'"]}'
    async with http.post(
        f"{fake.base_url}/cgi-bin/{GET}", params={"access_token": token}, data=io.BytesIO(big)
    ) as resp:
        assert resp.status == 413
    record = fake.requests[-1]
    assert (record.path, record.http_status, record.errcode) == (GET, 413, None)


async def test_close_cancels_calls_in_flight(http: aiohttp.ClientSession) -> None:
    gate = GatedSleep()
    fake = FakeWeCom(sleep=gate)
    await fake.start()
    token = await token_of(http, fake)
    fake.faults.latency(3600)
    task = asyncio.create_task(get(http, fake, token, ["x"]))
    await gate.wait_entered(1)
    await asyncio.wait_for(fake.close(), 5)
    with pytest.raises(aiohttp.ClientError):
        await task


# --- standalone entry point -------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
async def test_standalone_entry_point(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wecom_async.testing",
        "--corp-id",
        "wwcli",
        "--corp-secret",
        "cli-secret",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        lines = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode() for _ in range(4)]
        printed = dict(line.split(":", 1) for line in lines)
        base_url = printed["base_url"].strip()
        assert printed["corp_id"].strip() == "wwcli"
        assert printed["corp_secret"].strip() == "cli-secret"
        params = {"corpid": "wwcli", "corpsecret": "cli-secret"}
        async with http.get(f"{base_url}/cgi-bin/gettoken", params=params) as resp:
            assert (await resp.json())["errcode"] == 0
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

"""The client through its public API, against the fake WeCom server on loopback."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from wecom_async import (
    AccessToken,
    AccessTokenError,
    APIConnectionError,
    APITimeoutError,
    Attendee,
    HTTPStatusError,
    InvalidCredentialsError,
    MemoryTokenStore,
    NotFoundError,
    RateLimits,
    Reminders,
    RepeatType,
    ResponseStatus,
    RetryPolicy,
    Schedule,
    ScheduleStatus,
    ServerBusyError,
    SessionPool,
    WeComClient,
    _transport,
)
from wecom_async import client as client_module
from wecom_async.models import ExcludeTime
from wecom_async.testing import FakeClock, FakeWeCom

from .conftest import RecordingSleep

DOCS_REMINDERS = Reminders(
    is_remind=True,
    remind_before_event_secs=3600,
    remind_time_diffs=(0, -3600),
    is_repeat=True,
    repeat_type=RepeatType.WORKDAYS,
    repeat_until=1606976813,
    is_custom_repeat=True,
    repeat_interval=1,
    repeat_day_of_week=(3, 7),
    repeat_day_of_month=(10, 21),
    timezone=8,
)


def connect(fake: FakeWeCom, **kwargs: object) -> WeComClient:
    return WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        **kwargs,  # type: ignore[arg-type]
    )


# --- schedule/add and schedule/get ------------------------------------------------------------


async def test_every_field_round_trips(client: WeComClient, fake: FakeWeCom) -> None:
    cal_id = fake.store.add_calendar(fake.corp_id)
    schedule_id = await client.schedules.add(
        start_time=1571274600,
        end_time=1571320210,
        is_whole_day=True,
        admins=["admin1", "admin2"],
        attendees=["admin1", Attendee("admin2"), "userid2"],
        summary="需求评审会议",
        description="2.0版本需求初步评审",
        reminders=DOCS_REMINDERS,
        location="广州国际媒体港10楼1005会议室",
        cal_id=cal_id,
        agentid=1000014,
    )
    assert len(schedule_id) == 32
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule == Schedule(
        schedule_id=schedule_id,
        start_time=1571274600,
        end_time=1571320210,
        admins=("admin1", "admin2"),
        attendees=(Attendee("admin1"), Attendee("admin2"), Attendee("userid2")),
        summary="需求评审会议",
        description="2.0版本需求初步评审",
        reminders=DOCS_REMINDERS,
        location="广州国际媒体港10楼1005会议室",
        cal_id=cal_id,
        status=ScheduleStatus.NORMAL,
        is_whole_day=True,
    )
    sent = [r.body for r in fake.requests if r.path == "oa/schedule/add"]
    assert sent[0] is not None
    assert sent[0]["agentid"] == 1000014
    assert sent[0]["schedule"]["attendees"] == [
        {"userid": "admin1"},
        {"userid": "admin2"},
        {"userid": "userid2"},
    ]


async def test_add_sends_only_what_was_set_and_accepts_aware_datetimes(
    client: WeComClient, fake: FakeWeCom
) -> None:
    tz8 = timezone(timedelta(hours=8))
    schedule_id = await client.schedules.add(
        start_time=datetime(2024, 5, 1, 9, 0, tzinfo=tz8),
        end_time=datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc),
    )
    [body] = [r.body for r in fake.requests if r.path == "oa/schedule/add"]
    assert body == {"schedule": {"start_time": 1714525200, "end_time": 1714528800}}
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule.start == datetime(2024, 5, 1, 9, 0, tzinfo=tz8)
    assert schedule.end.hour == 10  # shown in the schedule's timezone, UTC+8 by default
    assert schedule.cal_id == fake.default_cal_id()
    assert schedule.reminders == Reminders()


async def test_get_returns_cancelled_and_leaves_out_unknown_ids(
    client: WeComClient, fake: FakeWeCom
) -> None:
    ids = fake.seed_schedules(
        [
            {"start_time": 100, "end_time": 200, "summary": "a"},
            {
                "start_time": 100,
                "end_time": 200,
                "summary": "b",
                "status": 1,
                "attendees": [{"userid": "u", "response_status": 2}],
                "reminders": {"is_repeat": 1, "exclude_time_list": [{"start_time": 150}]},
            },
        ]
    )
    schedules = await client.schedules.get([ids[1], "no-such-id", ids[0]])
    assert [s.schedule_id for s in schedules] == [ids[1], ids[0]]
    cancelled = schedules[0]
    assert cancelled.is_cancelled
    assert cancelled.attendees == (Attendee("u", ResponseStatus.ACCEPTED),)
    assert cancelled.reminders.exclude_time_list == (ExcludeTime(150),)
    assert not schedules[1].is_cancelled


async def test_api_errors_are_typed(client: WeComClient, fake: FakeWeCom) -> None:
    fake.faults.errcode(90461, path="oa/schedule/get")
    with pytest.raises(NotFoundError) as info:
        await client.schedules.get(["x"])
    assert info.value.errcode == 90461
    assert info.value.path == "oa/schedule/get"
    # The fake validates like WeCom: a cal_id it does not know is 90457.
    with pytest.raises(NotFoundError) as info:
        await client.schedules.add(start_time=1, end_time=2, cal_id="not-a-calendar")
    assert info.value.errcode == 90457


# --- access tokens ----------------------------------------------------------------------------


async def test_one_gettoken_for_a_thousand_concurrent_first_calls(
    client: WeComClient, fake: FakeWeCom
) -> None:
    [schedule_id] = fake.seed_schedules([{"start_time": 1, "end_time": 2}])
    results = await asyncio.gather(*(client.schedules.get([schedule_id]) for _ in range(1000)))
    assert all(r[0].schedule_id == schedule_id for r in results)
    assert fake.gettoken_calls == 1
    assert client.tokens.fetches == 1


@pytest.mark.parametrize("errcode", [40014, 42001])
async def test_rejected_token_is_refreshed_once_and_the_call_resent(
    client: WeComClient, fake: FakeWeCom, errcode: int
) -> None:
    await client.schedules.add(start_time=1, end_time=2)
    fake.faults.errcode(errcode, path="oa/schedule/add")
    await client.schedules.add(start_time=1, end_time=2)
    assert fake.gettoken_calls == 2
    assert fake.store.schedule_count() == 2
    # A second rejection in a row is a retry under the policy, not a loop.
    fake.faults.errcode(errcode, times=2, path="oa/schedule/add")
    with pytest.raises(AccessTokenError):
        await client.schedules.add(start_time=1, end_time=2, max_retries=0)
    assert fake.gettoken_calls == 3
    fake.faults.errcode(errcode, times=5, path="oa/schedule/add")
    with pytest.raises(AccessTokenError):
        await client.schedules.add(start_time=1, end_time=2)  # 1 resend + 3 retries
    # one fetch for the token the previous call dropped, then one per rejection but the last
    assert fake.gettoken_calls == 3 + 1 + 4
    assert fake.store.schedule_count() == 2


async def test_revoked_token_is_replaced_for_every_concurrent_call(
    client: WeComClient, fake: FakeWeCom
) -> None:
    [schedule_id] = fake.seed_schedules([{"start_time": 1, "end_time": 2}])
    await client.schedules.get([schedule_id])
    fake.invalidate_tokens()
    await asyncio.gather(*(client.schedules.get([schedule_id]) for _ in range(100)))
    assert fake.gettoken_calls == 2
    assert fake.answered(40014) >= 1


async def test_expired_token_is_refetched_before_use() -> None:
    clock = FakeClock()
    async with (
        FakeWeCom(clock=clock, token_ttl=7200) as fake,
        connect(fake, clock=clock) as client,
    ):
        await client.schedules.add(start_time=1, end_time=2)
        clock.advance(7200 - 301)
        await client.schedules.add(start_time=1, end_time=2)
        assert fake.gettoken_calls == 1
        clock.advance(2)  # within the 300 s margin: refreshed before WeCom expires it
        await client.schedules.add(start_time=1, end_time=2)
        assert fake.gettoken_calls == 2
        assert fake.answered(42001) == 0


async def test_transient_gettoken_failures_are_retried_even_for_add(
    client: WeComClient, fake: FakeWeCom, sleep: RecordingSleep
) -> None:
    fake.faults.errcode(-1, times=1, path="gettoken")
    fake.faults.http_status(502, times=1, path="gettoken")
    await client.schedules.add(start_time=1, end_time=2)
    assert fake.gettoken_calls == 3
    assert fake.store.schedule_count() == 1
    assert len(sleep.delays) == 2


async def test_a_failing_gettoken_is_retried_once_for_all_waiting_calls(
    client: WeComClient, fake: FakeWeCom, sleep: RecordingSleep
) -> None:
    fake.faults.errcode(-1, times=2, path="gettoken")
    results = await asyncio.gather(*(client.schedules.get(["x"]) for _ in range(200)))
    assert results == [[]] * 200
    assert fake.gettoken_calls == 3  # one fetch and two retries, shared by all 200 calls
    assert len(sleep.delays) == 2


async def test_gettoken_that_keeps_failing_fails_every_waiting_call_once(
    client: WeComClient, fake: FakeWeCom
) -> None:
    fake.faults.errcode(-1, times=None, path="gettoken")
    results = await asyncio.gather(
        *(client.schedules.get(["x"]) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(r, ServerBusyError) for r in results)
    assert fake.gettoken_calls == 4  # 1 + max_retries, not 4 per call
    assert fake.calls("oa/schedule/get") == 0


async def test_remembered_wrong_secret_is_raised_fresh_each_time(fake: FakeWeCom) -> None:
    async with WeComClient(
        corp_id=fake.corp_id, corp_secret="wrong", base_url=fake.base_url
    ) as client:
        errors = []
        for _ in range(3):
            with pytest.raises(InvalidCredentialsError) as info:
                await client.schedules.get(["x"])
            errors.append(info.value)
    assert len({id(e) for e in errors}) == 3
    depth = len(traceback.extract_tb(errors[-1].__traceback__))
    assert depth < 20
    assert fake.gettoken_calls == 1


async def test_a_slow_store_cannot_hand_back_a_revoked_token(fake: FakeWeCom) -> None:
    class SlowStore(MemoryTokenStore):
        async def get(self, key: str) -> AccessToken | None:
            await asyncio.sleep(0.01)
            return await super().get(key)

        async def invalidate(self, key: str, value: str) -> None:
            await asyncio.sleep(0.01)
            await super().invalidate(key, value)

    async with connect(fake, token_store=SlowStore(), max_retries=0) as client:
        await client.schedules.get(["x"])
        fake.invalidate_tokens()
        results = await asyncio.gather(
            *(client.schedules.get(["x"]) for _ in range(20)), return_exceptions=True
        )
    assert results == [[]] * 20


async def test_wrong_secret_fails_fast_without_looping(fake: FakeWeCom) -> None:
    async with WeComClient(
        corp_id=fake.corp_id, corp_secret="wrong", base_url=fake.base_url
    ) as client:
        results = await asyncio.gather(
            *(client.schedules.get(["x"]) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, InvalidCredentialsError) for r in results)
        error = results[0]
        assert isinstance(error, InvalidCredentialsError)
        assert error.errcode == 40001
        assert "check corp_id and corp_secret" in str(error)
        with pytest.raises(InvalidCredentialsError):
            await client.schedules.get(["x"])
    assert fake.gettoken_calls == 1
    assert fake.calls("oa/schedule/get") == 0


# --- retries ----------------------------------------------------------------------------------


async def test_busy_answers_are_retried_with_backoff(
    client: WeComClient, fake: FakeWeCom, sleep: RecordingSleep
) -> None:
    fake.faults.errcode(-1, times=2, path="oa/schedule/add")
    await client.schedules.add(start_time=1, end_time=2)
    assert fake.store.schedule_count() == 1
    assert len(sleep.delays) == 2
    assert 0.25 <= sleep.delays[0] <= 0.5 < sleep.delays[1] <= 1.0
    fake.faults.errcode(-1, times=4, path="oa/schedule/add")
    with pytest.raises(ServerBusyError):
        await client.schedules.add(start_time=1, end_time=2)
    assert fake.calls("oa/schedule/add") == 3 + 4


async def test_max_retries_per_call_and_with_options(client: WeComClient, fake: FakeWeCom) -> None:
    fake.faults.errcode(-1, times=1)
    with pytest.raises(ServerBusyError):
        await client.schedules.get(["x"], max_retries=0)
    fake.faults.errcode(-1, times=1)
    with pytest.raises(ServerBusyError):
        await client.with_options(max_retries=0).schedules.get(["x"])
    fake.faults.errcode(-1, times=5)
    patient = client.with_options(retry=RetryPolicy(max_retries=5))
    assert await patient.schedules.get(["x"]) == []


async def test_gateway_errors_are_retried_for_reads_only(
    client: WeComClient, fake: FakeWeCom
) -> None:
    fake.faults.http_status(502, times=2, path="oa/schedule/get")
    assert await client.schedules.get(["x"]) == []
    assert fake.calls("oa/schedule/get") == 3
    fake.faults.http_status(503, path="oa/schedule/add")
    with pytest.raises(HTTPStatusError) as info:
        await client.schedules.add(start_time=1, end_time=2)
    assert info.value.status == 503
    assert fake.calls("oa/schedule/add") == 1


async def test_add_is_not_resent_after_a_read_timeout(hanging_fake: FakeWeCom) -> None:
    """The server stored the schedule but never answers: exactly one schedule exists."""
    fake = hanging_fake
    async with connect(fake, timeout=0.2) as client:
        await client.tokens.get()  # (gettoken has its own default timeout)
        fake.faults.latency(60, path="oa/schedule/add", after=True)
        with pytest.raises(APITimeoutError) as info:
            await asyncio.wait_for(client.schedules.add(start_time=1, end_time=2), 20)
        assert info.value.request_sent
        assert info.value.path == "oa/schedule/add"
        assert fake.calls("oa/schedule/add") == 1
        assert fake.store.schedule_count() == 1


async def test_add_is_not_resent_after_a_dropped_connection(
    client: WeComClient, fake: FakeWeCom
) -> None:
    fake.faults.drop(path="oa/schedule/add", after=True)
    with pytest.raises(APIConnectionError) as info:
        await client.schedules.add(start_time=1, end_time=2)
    assert info.value.request_sent
    assert fake.store.schedule_count() == 1
    # A read is resent after the same failure.
    [schedule_id] = [s["schedule_id"] for s in fake.store.schedules()]
    fake.faults.drop(path="oa/schedule/get")
    [schedule] = await client.schedules.get([schedule_id])
    assert schedule.schedule_id == schedule_id


async def test_per_call_timeout(hanging_fake: FakeWeCom) -> None:
    fake = hanging_fake
    async with connect(fake, timeout=30) as client:
        await client.tokens.get()  # the timeouts below are the get's, not gettoken's
        fake.faults.latency(60, times=2, path="oa/schedule/get")
        # wait_for: the client's 30 s would still end in an APITimeoutError, but only after 20 s.
        with pytest.raises(APITimeoutError) as info:
            await asyncio.wait_for(client.schedules.get(["x"], timeout=0.2, max_retries=0), 20)
        assert info.value.path == "oa/schedule/get"
        derived = client.with_options(timeout=0.2, max_retries=0)
        with pytest.raises(APITimeoutError) as info:
            await asyncio.wait_for(derived.schedules.get(["x"]), 20)
        assert info.value.path == "oa/schedule/get"
        assert fake.calls("oa/schedule/get") == 2  # max_retries=0: nothing resent


async def test_connection_refused_is_retried_even_for_add(sleep: RecordingSleep) -> None:
    async with WeComClient(
        corp_id="c", corp_secret="s", base_url="http://127.0.0.1:9", sleep=sleep
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.request("oa/schedule/add", {}, max_retries=2)
        assert not info.value.request_sent
        assert "gettoken" in str(info.value)


# --- escape hatch -----------------------------------------------------------------------------


async def test_request_escape_hatch(client: WeComClient, fake: FakeWeCom) -> None:
    [schedule_id] = fake.seed_schedules([{"start_time": 1, "end_time": 2, "summary": "x"}])
    answer = await client.request("/oa/schedule/get", {"schedule_id_list": [schedule_id]})
    assert answer["errcode"] == 0
    assert answer["schedule_list"][0]["summary"] == "x"
    fake.faults.errcode(90461)
    with pytest.raises(NotFoundError):
        await client.request("oa/schedule/get", {"schedule_id_list": ["x"]})


# --- sessions ---------------------------------------------------------------------------------


async def test_client_closes_only_what_it_opened(fake: FakeWeCom) -> None:
    async with connect(fake) as client:
        await client.schedules.get(["x"])
        own_session = client._core.session()
    assert own_session.closed

    async with aiohttp.ClientSession() as borrowed:
        async with connect(fake, session=borrowed) as client:
            await client.schedules.get(["x"])
        assert not borrowed.closed
        async with connect(fake, session=borrowed) as client:
            await client.schedules.get(["x"])

    async with SessionPool() as pool:
        clients = [connect(fake, pool=pool) for _ in range(3)]
        sessions = set()
        for c in clients:
            await c.schedules.get(["x"])
            sessions.add(id(c._core.session()))
            await c.close()
        assert not pool.closed
        assert len(sessions) == 1
    assert pool.closed


async def test_the_pool_keeps_no_cookies_between_corps() -> None:
    """A cookie set in one corp's answer is never sent with the next call (of any corp)."""
    seen: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Cookie"))
        if request.path.endswith("gettoken"):
            answer = {"errcode": 0, "errmsg": "ok", "access_token": "t", "expires_in": 7200}
        else:
            answer = {"errcode": 0, "errmsg": "ok"}
        response = web.json_response(answer)
        response.set_cookie("session", "corp-a")
        return response

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", handler)
    app.router.add_post("/cgi-bin/anything", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with SessionPool() as pool:
            for corp in ("corp-a", "corp-b"):
                client = WeComClient(
                    corp_id=corp, corp_secret="s", base_url=f"http://127.0.0.1:{port}", pool=pool
                )
                assert await client.request("anything", {}) == {"errcode": 0, "errmsg": "ok"}
    finally:
        await runner.cleanup()
    assert seen == [None, None, None, None]


async def test_client_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="required"):
        WeComClient(corp_id="", corp_secret="s")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="not both"):
            WeComClient(corp_id="c", corp_secret="s", session=session, pool=SessionPool())


# --- secrets ----------------------------------------------------------------------------------


def everything_printed(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + repr(error.__cause__)


async def test_secrets_never_show(
    hanging_fake: FakeWeCom, caplog: pytest.LogCaptureFixture, sleep: RecordingSleep
) -> None:
    fake = hanging_fake
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    async with connect(fake, sleep=sleep) as client:
        texts.append(repr(client))
        await client.schedules.add(start_time=1, end_time=2)
        token = client._core.tokens._current
        assert token is not None
        texts.append(repr(token))
        texts.append(repr(client.tokens))
        failures: list[BaseException] = []
        faults = fake.faults
        get = "oa/schedule/get"
        injections: list[Callable[[], None]] = [
            lambda: faults.latency(60, path=get),  # never answers: the timeout fires
            lambda: faults.errcode(-1, path=get),
            lambda: faults.drop(path=get),
            lambda: faults.http_status(502, path=get),
        ]
        for inject in injections:
            inject()
            try:
                await client.schedules.get(["x"], max_retries=0, timeout=1)
            except Exception as exc:
                failures.append(exc)
        assert [type(e) for e in failures] == [
            APITimeoutError,
            ServerBusyError,
            APIConnectionError,
            HTTPStatusError,
        ]
        texts.extend(everything_printed(e) for e in failures)
        fake.faults.errcode(-1, times=3, path="oa/schedule/get")
        await client.schedules.get(["x"])  # retries are logged at debug level
    async with WeComClient(
        corp_id=fake.corp_id, corp_secret="wrong-secret-123", base_url=fake.base_url
    ) as wrong:
        with pytest.raises(InvalidCredentialsError) as info:
            await wrong.schedules.get(["x"])
        texts.append(everything_printed(info.value))
    async with WeComClient(
        corp_id="c", corp_secret="refused-secret-456", base_url="http://127.0.0.1:9", sleep=sleep
    ) as refused:
        with pytest.raises(APIConnectionError) as conn_info:
            await refused.schedules.get(["x"])
        texts.append(everything_printed(conn_info.value))
    texts.append(caplog.text)
    assert "retry 1/3 of oa/schedule/get" in caplog.text
    everything = "\n".join(texts)
    for secret in (fake.corp_secret, token.value, "wrong-secret-123", "refused-secret-456"):
        assert secret not in everything
    assert "timeout" in everything


# --- scheduling -------------------------------------------------------------------------------


async def test_freed_slots_send_the_next_requests_before_an_answer_is_decoded(
    fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers that arrive together free their slots, and the calls waiting for those slots
    send their requests, before any of the answers is decoded (decoding 1000 schedules takes
    milliseconds: the next requests should be on their way to WeCom meanwhile)."""
    real_send = _transport.send
    answers, both_waiting = asyncio.Event(), asyncio.Event()
    sent: list[str] = []

    async def send(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if kwargs["path"] == "gettoken":
            return await real_send(*args, **kwargs)
        sent.append(kwargs["path"])
        if len(sent) <= 2:
            if len(sent) == 2:
                both_waiting.set()
            await answers.wait()  # the first two answers arrive in the same loop turn
        else:
            await asyncio.sleep(0)  # a request always waits for the network at least once
        return 200, b'{"errcode":0,"errmsg":"ok"}'

    monkeypatch.setattr(client_module, "send", send)
    sends_seen_by_decode: list[int] = []

    def decode(status: int, body: bytes) -> int:
        sends_seen_by_decode.append(len(sent))
        return status

    async with connect(fake, rate_limits=RateLimits(max_concurrency=2)) as client:
        await client.tokens.get()
        calls = [
            asyncio.ensure_future(client._call("x", b"{}", decode, idempotent=True))
            for _ in range(4)
        ]
        await both_waiting.wait()
        answers.set()
        assert await asyncio.gather(*calls) == [200] * 4
    assert sends_seen_by_decode == [4, 4, 4, 4]

"""Access tokens where the real API differs from a naive fake: rollover, timeouts, revocation under
contention, and the credential errcodes.

WeCom's gettoken answers the current token while it is valid, with the whole seconds it has left
(0 in its last second); the fake does the same, so these run against it on loopback.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from wecom_async import (
    APITimeoutError,
    ClientClosedError,
    InvalidCredentialsError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimits,
    ResponseDecodeError,
    ResponseTooLargeError,
    WeComClient,
    error_class_for,
)
from wecom_async._tokens import MemoryTokenStore, TokenManager
from wecom_async.testing import FakeClock, FakeWeCom, FaultProfile

from .conftest import Hang, RecordingSleep

GET = "oa/schedule/get"


def connect(fake: FakeWeCom, **kwargs: object) -> WeComClient:
    return WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        **kwargs,  # type: ignore[arg-type]
    )


# --- 1. rollover --------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", [0.0, 0.3, 0.9])
async def test_no_call_fails_across_rollovers_and_each_costs_at_most_two_gettokens(
    phase: float,
) -> None:
    """Calls through the last minutes of three tokens' lives, every second, then every 0.1 s
    around the expiry, from a start at a fraction of a second (so that gettoken's rounded-down
    ``expires_in`` matters)."""
    clock = FakeClock(1_700_000_000.0 + phase)
    sleep = RecordingSleep()
    async with (
        FakeWeCom(clock=clock, token_ttl=7200) as fake,
        connect(fake, clock=clock, sleep=sleep, rate_limits=RateLimits.disabled()) as client,
    ):
        [schedule_id] = fake.seed_schedules([{"start_time": 1, "end_time": 2}])
        steps = [1.0] * 390 + [0.1] * 200  # from 400 s before the expiry to 10 s after it
        for rollover in range(3):
            await client.schedules.get([schedule_id])
            issued = fake.tokens_issued
            before = fake.gettoken_calls
            clock.advance(7200 - 400)
            for step in steps:
                [schedule] = await client.schedules.get([schedule_id])
                assert schedule.schedule_id == schedule_id
                clock.advance(step)
            assert fake.tokens_issued == issued + 1, rollover
            assert fake.gettoken_calls - before <= 2, (rollover, fake.gettoken_calls - before)
        # Nothing failed, and nothing was retried under the policy (a 42001 resend is not).
        assert sleep.delays == []
        assert fake.answered(42001) <= 3


def manager(
    answers: list[tuple[str, object]], clock: FakeClock, *, refresh_margin: float = 300.0
) -> TokenManager:
    async def fetch(timeout: float | None) -> tuple[str, int]:
        value, expires_in = answers.pop(0)
        return value, expires_in  # type: ignore[return-value]

    return TokenManager(
        key="k",
        fetch=fetch,
        store=MemoryTokenStore(),
        clock=clock,
        refresh_margin=refresh_margin,
    )


async def test_a_token_answered_with_no_whole_second_left_is_used_not_rejected() -> None:
    clock = FakeClock()
    tokens = manager([("t1", 0), ("t2", 7200)], clock)
    assert await tokens.get() == "t1"
    clock.advance(0.9)  # it may live up to a second: expires_in is rounded down
    assert tokens.cached() == "t1"
    clock.advance(0.2)
    assert await tokens.get() == "t2"
    assert tokens.fetches == 2


async def test_the_refresh_margin_does_not_shrink_into_a_fetch_storm() -> None:
    clock = FakeClock()
    # What WeCom answers: the same token, with what it has left, until it expires.
    tokens = manager([("t1", 7200), ("t1", 300), ("t2", 7200)], clock)
    assert await tokens.get() == "t1"
    clock.advance(7200 - 300)
    assert await tokens.get() == "t1"  # the early refresh gets the same token back...
    for _ in range(300):
        clock.advance(1)
        assert tokens.cached() == "t1"  # ...which is then used to its end, without refetching
    assert tokens.fetches == 2
    clock.advance(1)
    assert await tokens.get() == "t2"
    assert tokens.fetches == 3


async def test_a_margin_under_a_second_uses_the_token_to_its_end() -> None:
    """Refetching in the token's last second would get it back (expires_in 0): one more call."""
    clock = FakeClock()
    tokens = manager([("t1", 7200), ("t2", 7200)], clock, refresh_margin=0.5)
    assert await tokens.get() == "t1"
    clock.advance(7200.9)
    assert tokens.cached() == "t1"
    clock.advance(0.2)
    assert await tokens.get() == "t2"
    assert tokens.fetches == 2


@pytest.mark.parametrize("expires_in", [10**50, 10**400])
async def test_a_huge_expires_in_is_clamped_to_the_documented_lifetime(expires_in: int) -> None:
    clock = FakeClock()
    tokens = manager([("t1", expires_in), ("t2", 7200)], clock)
    assert await tokens.get() == "t1"
    clock.advance(7200 - 300)
    assert await tokens.get() == "t2"


@pytest.mark.parametrize("expires_in", [-1, "7200", 7200.0, True, None])
async def test_an_absurd_expires_in_is_a_typed_error(expires_in: object) -> None:
    tokens = manager([("t1", expires_in), ("t2", 7200)], FakeClock())
    with pytest.raises(ResponseDecodeError):
        await tokens.get()
    assert await tokens.get() == "t2"  # not remembered: the next call fetches again


@pytest.mark.parametrize(
    ("wire", "accepted"),
    [(b"-5", False), (b'"soon"', False), (b"1e999", False), (b"1" + b"0" * 400, True)],
)
async def test_absurd_expires_in_on_the_wire(wire: bytes, accepted: bool) -> None:
    async def gettoken(request: web.Request) -> web.Response:
        body = b'{"errcode":0,"errmsg":"ok","access_token":"t","expires_in":' + wire + b"}"
        return web.Response(body=body, content_type="application/json")

    async def get(request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "errmsg": "ok", "schedule_list": []})

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    app.router.add_post("/cgi-bin/oa/schedule/get", get)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with WeComClient(
            corp_id="c", corp_secret="s", base_url=f"http://127.0.0.1:{port}"
        ) as client:
            if accepted:
                assert await client.schedules.get(["x"]) == []
            else:
                with pytest.raises(ResponseDecodeError):
                    await client.schedules.get(["x"])
    finally:
        await runner.cleanup()


TOKEN = "tok-0123456789-never-shown"


def _chain(error: BaseException | None) -> list[BaseException]:
    """The error and every exception chained to it, shown or not (``from None`` keeps
    ``__context__``: error reporters and debuggers still reach it)."""
    seen: list[BaseException] = []
    while error is not None and all(error is not s for s in seen):
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"errcode":0,"access_token":"TOKEN","expires_in":"TOKEN"}', ResponseDecodeError),
        (b'{"errcode":0,"access_token":"TOKEN",', ResponseDecodeError),
        (
            b'{"errcode":0,"access_token":"TOKEN","x":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
            ResponseDecodeError,
        ),
        (b'{"errcode":0,"access_token":"TOKEN","x":"' + b"a" * 5000 + b'"}', ResponseTooLargeError),
    ],
    ids=["wrong type", "cut off", "nested", "too large"],
)
async def test_a_broken_gettoken_answer_is_typed_and_never_carries_the_token(
    body: bytes, error: type[ResponseDecodeError], caplog: pytest.LogCaptureFixture
) -> None:
    """Also bounded by the client's ``max_response_bytes`` (not the default 64 MiB)."""
    body = body.replace(b"TOKEN", TOKEN.encode())

    async def gettoken(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    caplog.set_level("DEBUG")
    try:
        async with WeComClient(
            corp_id="c",
            corp_secret="s3cr3t-value",
            base_url=f"http://127.0.0.1:{port}",
            max_response_bytes=1000 if error is ResponseTooLargeError else 1_000_000,
        ) as client:
            with pytest.raises(error) as info:
                await client.schedules.get(["x"])
    finally:
        await runner.cleanup()
    assert info.value.path == "gettoken"
    assert "undecodable response on gettoken: undecodable" not in str(info.value)
    if isinstance(info.value, ResponseTooLargeError):
        assert info.value.limit == 1000
    for shown in _chain(info.value):
        text = f"{shown!s} {shown!r} {getattr(shown, 'excerpt', b'')!r} {shown.args!r}"
        assert TOKEN not in text, type(shown)
        assert "s3cr3t" not in text, type(shown)
    assert TOKEN not in caplog.text
    assert "s3cr3t" not in caplog.text


# --- 2. the token fetch obeys the caller's timeout -------------------------------------------


async def test_a_hanging_gettoken_fails_a_call_within_its_timeout() -> None:
    hang = Hang()
    async with FakeWeCom(sleep=hang) as fake:
        fake.faults.latency(60, path="gettoken", times=None)
        try:
            async with connect(fake, timeout=1, sleep=RecordingSleep()) as client:
                # 20 s: far beyond 1 s on a loaded machine, well below the 30 s default.
                with pytest.raises(APITimeoutError) as info:
                    await asyncio.wait_for(client.schedules.get(["x"]), 20)
                assert info.value.path == "gettoken"
            async with connect(fake, sleep=RecordingSleep()) as client:
                with pytest.raises(APITimeoutError):
                    await asyncio.wait_for(client.schedules.get(["x"], timeout=1), 20)
        finally:
            fake.faults.clear()
            hang.release()


async def test_a_write_waiting_for_gettoken_when_the_client_closes_was_not_sent() -> None:
    hang = Hang()
    async with FakeWeCom(sleep=hang) as fake:
        fake.faults.latency(60, path="gettoken")
        try:
            client = connect(fake, sleep=RecordingSleep())
            add = asyncio.ensure_future(client.schedules.add(start_time=1, end_time=2))
            await hang.entered.wait()  # its gettoken is in flight
            await client.close()
            with pytest.raises(ClientClosedError) as info:
                await asyncio.wait_for(add, 20)
        finally:
            hang.release()
    assert not info.value.request_sent  # the add itself never left: safe to send again
    assert "not sent" in str(info.value)
    assert fake.calls("oa/schedule/add") == 0


async def test_a_shared_fetch_does_not_hold_a_waiter_beyond_its_own_timeout() -> None:
    hang = Hang()
    async with FakeWeCom(sleep=hang) as fake:
        fake.faults.latency(60, path="gettoken", times=1)
        async with connect(fake, sleep=RecordingSleep()) as client:
            patient = asyncio.ensure_future(client.schedules.get(["x"], timeout=120))
            try:
                await hang.entered.wait()  # its fetch (with a 120 s timeout) is under way
                with pytest.raises(APITimeoutError):
                    await asyncio.wait_for(client.schedules.get(["x"], timeout=1), 20)
                assert not patient.done()  # the shared fetch goes on for the patient call
                hang.release()
                assert await patient == []  # and serves it
                assert fake.gettoken_calls == 1
            finally:
                hang.release()
                patient.cancel()


async def test_a_retried_fetch_takes_the_most_patient_waiters_timeout() -> None:
    """An impatient call (1 s) starts the fetch; a patient one (120 s) joins it. The first
    attempt hangs; the retry takes 1.5 s, too long for the first call, not for the second."""
    release = asyncio.Event()
    arrived = asyncio.Event()

    async def latency(seconds: float) -> None:
        if not arrived.is_set():
            arrived.set()
            await release.wait()
        else:
            await asyncio.sleep(1.5)

    async with FakeWeCom(sleep=latency) as fake:
        fake.faults.latency(60, path="gettoken", times=None)
        async with connect(fake, sleep=RecordingSleep()) as client:
            impatient = asyncio.ensure_future(client.schedules.get(["x"], timeout=1))
            await arrived.wait()  # its gettoken attempt (1 s) is under way: now the patient call
            patient = asyncio.ensure_future(client.schedules.get(["x"], timeout=120))
            try:
                with pytest.raises(APITimeoutError):
                    await asyncio.wait_for(impatient, 20)
                assert await asyncio.wait_for(patient, 60) == []
                assert fake.gettoken_calls == 2
            finally:
                release.set()
                patient.cancel()
            fake.faults.clear()


# --- 3. the token is read after the limiter's slot is granted --------------------------------


async def test_bulk_fetch_loses_no_chunk_while_tokens_are_revoked_under_contention() -> None:
    # Calls wait for one slot at a time; now and then WeCom revokes the token as a call arrives
    # (that call answers 40014). A call must not send a token read before its long wait.
    profile = FaultProfile(seed=7, token_invalidation_rate=0.05, paths=[GET])
    sleep = RecordingSleep()
    async with (
        FakeWeCom() as fake,
        connect(fake, rate_limits=RateLimits(max_concurrency=1), sleep=sleep) as client,
    ):
        ids = fake.seed_schedules([{"start_time": 1, "end_time": 2}] * 2000)
        fake.faults.set_profile(profile)
        result = await client.schedules.get_many(ids, chunk_size=10, concurrency=40)
        revocations = fake.faults.fired["invalidate_tokens"]
        rejected = fake.answered(40014, GET)
    assert [s.schedule_id for s in result.schedules] == ids
    assert result.failures == []
    assert revocations >= 5  # the run did meet revocations
    # Each revocation costs the call it hit and at most the one sent before its answer came
    # back, not every call that was waiting with the old token.
    assert rejected <= 2 * revocations, (rejected, revocations)


# --- 4. credential errcodes and the schedule/calendar registry ------------------------------


async def test_invalid_secret_40091_fails_fast_and_is_remembered() -> None:
    async with FakeWeCom() as fake:
        fake.faults.errcode(40091, path="gettoken", times=None)
        async with connect(fake, sleep=RecordingSleep()) as client:
            results = await asyncio.gather(
                *(client.schedules.get(["x"]) for _ in range(20)), return_exceptions=True
            )
            assert all(isinstance(r, InvalidCredentialsError) for r in results), results
            with pytest.raises(InvalidCredentialsError) as info:
                await client.schedules.get(["x"])
            assert info.value.errcode == 40091
        assert fake.gettoken_calls == 1  # not retried, and remembered: no IP block


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (40091, InvalidCredentialsError),
        (90479, PermissionDeniedError),
        *(
            (code, InvalidRequestError)
            for code in (
                90463,
                90467,
                90468,
                90474,
                90475,
                90477,
                90481,
                90483,
                *range(90488, 90492),
                *range(90494, 90500),
                90705,
                90706,
                90707,
                90710,
            )
        ),
    ],
)
def test_schedule_family_errcodes_are_registered(errcode: int, cls: type[Exception]) -> None:
    assert error_class_for(errcode) is cls

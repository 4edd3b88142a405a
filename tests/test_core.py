"""Pure logic: answer decoding and error mapping, retry decisions, the token manager."""

from __future__ import annotations

import asyncio
import pickle
import traceback

import aiohttp
import pytest
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from wecom_async import (
    AccessTokenError,
    APIConnectionError,
    APITimeoutError,
    ConcurrencyLimitError,
    DataVersionConflictError,
    FrequencyLimitError,
    HTTPStatusError,
    InvalidCredentialsError,
    InvalidRequestError,
    MemoryTokenStore,
    NotFoundError,
    PermissionDeniedError,
    ResourceDeletedError,
    ResponseDecodeError,
    RetryPolicy,
    ServerBusyError,
    WeComAPIError,
    error_class_for,
)
from wecom_async._sansio import api_url, decode_json, decode_response, gettoken_url
from wecom_async._tokens import TokenManager, token_key
from wecom_async._transport import _wrap, send
from wecom_async.models import AddScheduleResponse

from .conftest import RecordingSleep

# --- decoding and error mapping ---------------------------------------------------------------


def test_success_decodes_into_the_model() -> None:
    answer = decode_response(
        200, b'{"errcode":0,"errmsg":"ok","schedule_id":"abc"}', AddScheduleResponse, "p"
    )
    assert answer.schedule_id == "abc"


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (-1, ServerBusyError),
        (6000, DataVersionConflictError),
        (40001, InvalidCredentialsError),
        (40013, InvalidCredentialsError),
        (40014, AccessTokenError),
        (41001, AccessTokenError),
        (42001, AccessTokenError),
        (45009, FrequencyLimitError),
        (45033, ConcurrencyLimitError),
        (48002, PermissionDeniedError),
        (60020, PermissionDeniedError),
        (90466, PermissionDeniedError),
        (90457, NotFoundError),
        (90461, NotFoundError),
        (90459, ResourceDeletedError),
        (90460, ResourceDeletedError),
        (40058, InvalidRequestError),
        (90493, InvalidRequestError),
        (123456, WeComAPIError),
    ],
)
def test_errcode_maps_to_its_class(errcode: int, cls: type[WeComAPIError]) -> None:
    body = b'{"errcode":%d,"errmsg":"something, hint: [x]"}' % errcode
    with pytest.raises(WeComAPIError) as info:
        decode_response(200, body, AddScheduleResponse, "oa/schedule/add")
    error = info.value
    assert type(error) is cls
    assert error_class_for(errcode) is cls
    assert (error.errcode, error.errmsg, error.path) == (
        errcode,
        "something, hint: [x]",
        "oa/schedule/add",
    )
    assert f"errcode {errcode} on oa/schedule/add" in str(error)
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.errcode, again.path) == (cls, errcode, "oa/schedule/add")
    # The dict path maps errors the same way.
    with pytest.raises(cls):
        decode_json(200, body, path="x")


def test_error_answer_with_a_payload_of_the_wrong_shape_still_maps_the_errcode() -> None:
    body = b'{"errcode":-1,"errmsg":"busy","schedule_id":12}'
    with pytest.raises(ServerBusyError):
        decode_response(200, body, AddScheduleResponse, "p")


@pytest.mark.parametrize("body", [b"<html>bad gateway</html>", b"", b"[1,2]", b'{"errcode":"x"}'])
def test_undecodable_answers(body: bytes) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        decode_response(200, body, AddScheduleResponse, "oa/schedule/add")
    assert info.value.excerpt == body[:200]
    with pytest.raises(ResponseDecodeError):
        decode_json(200, body, path="oa/schedule/add")


def test_http_status_other_than_200() -> None:
    with pytest.raises(HTTPStatusError) as info:
        decode_response(502, b"<html>", AddScheduleResponse, "oa/schedule/get")
    assert info.value.status == 502
    assert str(info.value) == "HTTP 502 on oa/schedule/get"


def test_urls_escape_and_carry_credentials() -> None:
    url = api_url("http://h", "oa/schedule/get", "a+b/c")
    assert str(url) == "http://h/cgi-bin/oa/schedule/get?access_token=a%2Bb%2Fc"
    url = gettoken_url("http://h", "ww1", "s&x")
    assert url.query == {"corpid": "ww1", "corpsecret": "s&x"}


# --- retry decisions ----------------------------------------------------------------------------


def policy(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(random=lambda: 0.0, **kwargs)  # type: ignore[arg-type]


def api_error(errcode: int) -> WeComAPIError:
    return error_class_for(errcode)(errcode, "m", path="p")


def test_backoff_grows_exponentially_and_is_capped_with_jitter() -> None:
    p = policy(backoff_initial=0.5, backoff_max=3.0)
    assert [p.backoff(n) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    jittered = RetryPolicy(backoff_initial=1.0, jitter=0.5, random=lambda: 1.0)
    assert jittered.backoff(0) == 0.5


def test_busy_and_version_conflict_are_retried_up_to_max_retries() -> None:
    p = policy(max_retries=3)
    for errcode in (-1, 6000):
        delays = [p.delay_for(api_error(errcode), n, idempotent=False) for n in range(4)]
        assert delays == [0.5, 1.0, 2.0, None]


@pytest.mark.parametrize("errcode", [40001, 40058, 48002, 90461, 123])
def test_final_errcodes_are_not_retried(errcode: int) -> None:
    assert policy().delay_for(api_error(errcode), 0, idempotent=True) is None


def test_rate_limit_answers() -> None:
    p = policy()
    # 45009: wait out WeCom's block (the minute window), even with the limiter disabled.
    assert p.delay_for(api_error(45009), 0, idempotent=False) == 60.0
    assert p.delay_for(api_error(45033), 1, idempotent=False) == 1.0


def test_transport_failures_are_retried_only_when_safe() -> None:
    p = policy()
    before_send = APIConnectionError("refused", path="p", request_sent=False)
    after_send = APITimeoutError("read timeout", path="p", request_sent=True)
    gateway = HTTPStatusError(502, path="p")
    # Reads may always be resent.
    for error in (before_send, after_send, gateway):
        assert p.delay_for(error, 0, idempotent=True) == 0.5
    # schedule/add: only when the request cannot have left.
    assert p.delay_for(before_send, 0, idempotent=False) == 0.5
    assert p.delay_for(after_send, 0, idempotent=False) is None
    assert p.delay_for(gateway, 0, idempotent=False) is None
    # ...unless the caller opts in.
    unsafe = policy(retry_unsafe=True)
    assert unsafe.delay_for(after_send, 0, idempotent=False) == 0.5
    assert p.delay_for(HTTPStatusError(404, path="p"), 0, idempotent=True) is None


def test_backoff_does_not_overflow_for_huge_retry_counts() -> None:
    assert policy(backoff_max=8.0).backoff(5000) == 8.0


def test_zero_retries_never_retries() -> None:
    assert policy(max_retries=0).delay_for(api_error(-1), 0, idempotent=True) is None


# --- token manager --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manager(
    fetch_results: list[object], clock: FakeClock, *, max_retries: int = 0
) -> tuple[TokenManager, list[int]]:
    calls: list[int] = []

    async def fetch(timeout: float | None) -> tuple[str, int]:
        calls.append(1)
        await asyncio.sleep(0)
        result = fetch_results.pop(0)
        if isinstance(result, BaseException):
            raise result
        assert isinstance(result, tuple)
        return result

    return (
        TokenManager(
            key="k",
            fetch=fetch,
            store=MemoryTokenStore(),
            clock=clock,
            retry=policy(max_retries=max_retries),
            sleep=RecordingSleep(),
        ),
        calls,
    )


async def test_single_flight_and_expiry_with_margin() -> None:
    clock = FakeClock()
    tokens, calls = manager([("t1", 7200), ("t2", 7200)], clock)
    values = await asyncio.gather(*(tokens.get() for _ in range(1000)))
    assert set(values) == {"t1"}
    assert len(calls) == 1
    clock.now += 7200 - 300 - 1  # still inside expires_in minus the 300 s margin
    assert await tokens.get() == "t1"
    clock.now += 2
    assert await tokens.get() == "t2"
    assert len(calls) == 2
    assert tokens.fetches == 2


async def test_cached_gives_only_a_fresh_token_without_fetching() -> None:
    clock = FakeClock()
    tokens, calls = manager([("t1", 7200), ("t2", 7200)], clock)
    assert tokens.cached() == ""  # nothing yet, and asking fetches nothing
    assert calls == []
    assert await tokens.get() == "t1"
    assert tokens.cached() == "t1"
    await tokens.invalidate("t1")
    assert tokens.cached() == ""
    assert await tokens.get() == "t2"
    clock.now += 7200 - 300  # the refresh margin reached: no longer fresh
    assert tokens.cached() == ""
    assert len(calls) == 2


async def test_invalidate_only_drops_the_rejected_token() -> None:
    clock = FakeClock()
    tokens, calls = manager([("t1", 7200), ("t2", 7200)], clock)
    assert await tokens.get() == "t1"
    await tokens.invalidate("t1")
    assert await tokens.get() == "t2"
    # A late 40014 for the old token must not throw away the new one.
    await tokens.invalidate("t1")
    assert await tokens.get() == "t2"
    assert len(calls) == 2


async def test_a_failed_fetch_fails_every_waiter_once() -> None:
    clock = FakeClock()
    wrong_secret = InvalidCredentialsError(40001, "invalid credential", path="gettoken")
    tokens, calls = manager([wrong_secret, ("t", 7200)], clock)
    results = await asyncio.gather(*(tokens.get() for _ in range(50)), return_exceptions=True)
    assert all(r is wrong_secret for r in results)
    assert len(calls) == 1
    # A wrong secret is remembered for a while: no gettoken storm.
    with pytest.raises(InvalidCredentialsError):
        await tokens.get()
    assert len(calls) == 1
    clock.now += 61
    assert await tokens.get() == "t"


async def test_transient_fetch_errors_are_retried_by_the_manager() -> None:
    clock = FakeClock()
    busy = ServerBusyError(-1, "busy", path="gettoken")
    tokens, calls = manager([busy, busy, ("t", 7200)], clock, max_retries=2)
    values = await asyncio.gather(*(tokens.get() for _ in range(100)))
    assert set(values) == {"t"}
    assert len(calls) == 3


async def test_other_fetch_errors_are_not_remembered() -> None:
    clock = FakeClock()
    tokens, calls = manager([ServerBusyError(-1, "busy", path="gettoken"), ("t", 7200)], clock)
    with pytest.raises(ServerBusyError):
        await tokens.get()
    assert await tokens.get() == "t"
    assert len(calls) == 2


async def test_store_shares_tokens_between_managers_and_hides_the_secret() -> None:
    clock = FakeClock()
    store = MemoryTokenStore()
    key = token_key("corp", "my-secret-value")
    assert "my-secret-value" not in key

    async def fetch(timeout: float | None) -> tuple[str, int]:
        return "shared-token", 7200

    first = TokenManager(key=key, fetch=fetch, store=store, clock=clock)
    second = TokenManager(key=key, fetch=fetch, store=store, clock=clock)
    assert await first.get() == "shared-token"
    assert await second.get() == "shared-token"
    assert (first.fetches, second.fetches) == (1, 0)
    stored = await store.get(key)
    assert stored is not None
    assert "shared-token" not in repr(stored)


# --- transport errors carry no secret -------------------------------------------------------------


def test_transport_errors_are_scrubbed_of_secrets() -> None:
    url = "http://127.0.0.1/cgi-bin/oa/schedule/get?access_token=TOKEN123"
    timeout = aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}")
    error, cause = _wrap(timeout, "oa/schedule/get", ["TOKEN123", "SECRET"])
    assert isinstance(error, APITimeoutError)
    assert not error.request_sent
    assert cause is timeout
    assert "TOKEN123" not in str(error) + str(cause) + repr(cause)
    assert "access_token=***" in str(cause)

    info = aiohttp.RequestInfo(
        yarl.URL(url), "POST", CIMultiDictProxy(CIMultiDict()), yarl.URL(url)
    )
    response_error = aiohttp.ClientResponseError(info, (), status=500, message="boom")
    assert "TOKEN123" in str(response_error)
    error, cause = _wrap(response_error, "oa/schedule/get", ["TOKEN123"])
    # Its URL lives in an attribute that str() prints: it is not chained at all.
    assert cause is None
    assert "TOKEN123" not in str(error)
    assert error.request_sent


def test_errors_survive_pickling() -> None:
    errors: list[Exception] = [
        APIConnectionError("refused", path="p", request_sent=False),
        APITimeoutError("timeout", path="p", request_sent=True),
        HTTPStatusError(502, path="p"),
        ResponseDecodeError("bad", path="p", excerpt=b"<html>"),
    ]
    for error in errors:
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert str(again) == str(error)
        assert vars(again) == vars(error)


def test_url_encoded_secrets_are_scrubbed_and_no_raw_context_is_kept() -> None:
    token = "ab/cd+ef=="
    encoded = "ab%2Fcd%2Bef%3D%3D"
    raw = aiohttp.ConnectionTimeoutError(
        f"Connection timeout to host http://h/cgi-bin/x?access_token={encoded}"
    )
    error, cause = _wrap(raw, "x", [token])
    assert encoded not in str(error) + str(cause)
    assert token not in str(error) + str(cause)


async def test_send_raises_without_the_raw_aiohttp_error_as_context() -> None:
    """A server that breaks HTTP: aiohttp's error shows the URL with the token."""

    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(broken, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    token = "TOKEN-XYZ"
    try:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(APIConnectionError) as info:
                await send(
                    session,
                    "POST",
                    api_url(f"http://127.0.0.1:{port}", "oa/schedule/get", token),
                    b"{}",
                    timeout=aiohttp.ClientTimeout(total=5),
                    path="oa/schedule/get",
                    secrets=[token],
                )
    finally:
        server.close()
        await server.wait_closed()
    error = info.value
    assert error.__context__ is None or token not in repr(error.__context__)
    chain = "".join(traceback.format_exception(error))
    assert token not in chain

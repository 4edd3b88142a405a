"""``WeComClient``: lifecycle, session, tokens, and the one path every call takes."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload

import aiohttp
import attrs
from yarl import URL

from . import _converter, _sansio, _telemetry
from ._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT
from ._logfields import fields
from ._ratelimit import APILimiter, RateLimits, Slot, limiter_for
from ._retry import CallStats, RetryPolicy
from ._telemetry import CallRecord, telemetry_for
from ._tokens import MemoryTokenStore, TokenManager, TokenStore, token_key
from ._transport import SessionPool, send
from .errors import (
    AccessTokenError,
    APIConnectionError,
    ClientClosedError,
    ConcurrencyLimitError,
    FrequencyLimitError,
    HTTPStatusError,
    ResponseDecodeError,
    UnexpectedError,
    WeComAPIError,
    WeComError,
)
from .models._validation import Checker
from .resources.calendars import Calendars
from .resources.schedules import Schedules

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from redis.asyncio import Redis

    from ._redis import RedisCoordinator

__all__ = ["WeComClient"]

CLIENT_CLOSED = "this WeComClient is closed; create a new one"

#: What ``request()`` takes as a path: segments of letters, digits, ``_`` and ``-`` (as WeCom's
#: are), between optional slashes. The path goes into the URL as it is (before the token): a
#: space, ``?``, ``#``, ``..`` or a line break would change the request, or where it goes.
_API_PATH = re.compile(r"/*[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*/*")

logger = logging.getLogger("wecom_async")

R = TypeVar("R", bound=_sansio.HasErrcode)
T = TypeVar("T")

#: Turns an answer's HTTP status and body into a result or a typed error.
Decode = Callable[[int, bytes], T]

#: What ``timeout=`` accepts: seconds for each HTTP attempt, or an ``aiohttp.ClientTimeout``.
TimeoutLike = float | aiohttp.ClientTimeout


def _as_timeout(value: TimeoutLike) -> aiohttp.ClientTimeout:
    if isinstance(value, aiohttp.ClientTimeout):
        return value
    return attrs.evolve(DEFAULT_TIMEOUT, total=float(value))


@attrs.frozen(slots=True)
class _TokenResponse:
    errcode: int = 0
    errmsg: str = ""
    access_token: str = attrs.field(default="", repr=False)
    expires_in: int = 0


@attrs.frozen(slots=True)
class _Options:
    """What ``with_options()`` and per-call arguments can override."""

    timeout: aiohttp.ClientTimeout
    retry: RetryPolicy

    def override(
        self, *, timeout: TimeoutLike | None = None, max_retries: int | None = None
    ) -> _Options:
        if timeout is None and max_retries is None:
            return self
        # Checked here, before anything is sent: a wrong type would otherwise fail deep in the
        # retry loop (a TypeError), or be taken as it is (a negative timeout, 1.5 retries).
        check = Checker()
        check.call_options(timeout, max_retries)
        check.raise_if_any("call options")
        return _Options(
            timeout=self.timeout if timeout is None else _as_timeout(timeout),
            retry=self.retry
            if max_retries is None
            else attrs.evolve(self.retry, max_retries=max_retries),
        )


class _TokenSource(Protocol):
    """Where a client gets its access tokens when not from ``gettoken`` with its secret.

    A :class:`~wecom_async.SuiteProvider` gives its clients one (``service/get_corp_token``).
    """

    @property
    def key(self) -> str:
        """The :class:`TokenStore` key of the tokens (never containing a secret)."""

    @property
    def third_party(self) -> bool:
        """Whether the tokens are a third-party (suite) app's: schedules then need ``cal_id``."""

    async def fetch(self, session: aiohttp.ClientSession, timeout: float | None) -> tuple[str, int]:
        """A fresh token and its ``expires_in``, fetched within ``timeout`` seconds."""


class _Core:
    """What a client and the clients derived by ``with_options()`` share."""

    def __init__(
        self,
        *,
        corp_id: str,
        corp_secret: str,
        base_url: str,
        session: aiohttp.ClientSession | None,
        pool: SessionPool | None,
        token_store: TokenStore,
        clock: Callable[[], float],
        refresh_margin: float,
        rate_limits: RateLimits,
        retry: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        max_response_bytes: int,
        coordinator: RedisCoordinator | None,
        token_source: _TokenSource | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.corp_id = corp_id
        #: OpenTelemetry spans and metrics; ``None`` without opentelemetry-api (then no cost).
        self.telemetry = telemetry_for(corp_id, tracer_provider, meter_provider, clock)
        self.max_response_bytes = max_response_bytes
        self.coordinator = coordinator
        #: ``limiter_for`` or, with ``redis=``, the coordinator's (limits shared through Redis).
        self.limiter_for = limiter_for if coordinator is None else coordinator.limiter_for
        self.rate_limits = rate_limits
        self.sleep = sleep
        self.corp_secret = corp_secret
        self.base_url = base_url.rstrip("/")
        self.borrowed_session = session
        self.owns_pool = pool is None and session is None
        #: Set by ``close()``: every call from then on raises ClientClosedError.
        self.closed = False
        self.pool = pool if pool is not None else SessionPool()
        self.token_source = token_source
        #: A third-party (suite) app's client: WeCom's rules for those apply (cal_id).
        self.third_party = token_source is not None and token_source.third_party
        self.tokens = TokenManager(
            key=token_key(corp_id, corp_secret) if token_source is None else token_source.key,
            api="gettoken" if token_source is None else "service/get_corp_token",
            corp_id=corp_id,
            fetch=self.fetch_token if token_source is None else self.fetch_from_source,
            store=token_store,
            clock=clock,
            refresh_margin=refresh_margin,
            retry=retry,
            sleep=sleep,
        )
        self.gettoken_timeout = DEFAULT_TIMEOUT
        # Tokenized URLs are built once per (token, path) and reused until the token changes.
        self._url_token = ""
        self._urls: dict[str, URL] = {}

    def session(self) -> aiohttp.ClientSession:
        if self.closed:
            raise ClientClosedError(CLIENT_CLOSED)
        if self.borrowed_session is not None:
            return self.borrowed_session
        return self.pool.session()

    def limiter(self, path: str) -> APILimiter:
        """The rate limiter of ``path`` for this corp in the running loop (shared by clients)."""
        return self.limiter_for(self.corp_id, path, self.rate_limits)

    def url(self, path: str, token: str) -> URL:
        if token != self._url_token:
            self._urls.clear()
            self._url_token = token
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = _sansio.api_url(self.base_url, path, token)
        return url

    async def fetch_from_source(self, timeout: float | None = None) -> tuple[str, int]:
        """A token from the client's :class:`_TokenSource`, instead of gettoken."""
        assert self.token_source is not None
        fetch = self.token_source.fetch(self.session(), timeout)
        if self.telemetry is not None and self.telemetry.enabled():
            return await self.telemetry.token_fetch("service/get_corp_token", fetch)
        return await fetch

    async def fetch_token(self, timeout: float | None = None) -> tuple[str, int]:
        """Call gettoken, within ``timeout`` seconds (that of the call needing the token)."""
        if self.telemetry is not None and self.telemetry.enabled():
            return await self.telemetry.token_fetch("gettoken", self._gettoken(timeout))
        return await self._gettoken(timeout)

    async def _gettoken(self, timeout: float | None) -> tuple[str, int]:
        url = _sansio.gettoken_url(self.base_url, self.corp_id, self.corp_secret)
        logger.debug(
            "fetching an access token for corp %s",
            self.corp_id,
            extra=fields(api="gettoken", corp_id=self.corp_id),
        )
        status, body = await send(
            self.session(),
            "GET",
            url,
            None,
            timeout=self.gettoken_timeout
            if timeout is None
            else attrs.evolve(self.gettoken_timeout, total=timeout),
            path="gettoken",
            secrets=(self.corp_secret,),
            max_bytes=self.max_response_bytes,
        )
        try:
            answer = _sansio.decode_response(status, body, _TokenResponse, "gettoken")
        except ResponseDecodeError as exc:
            message = exc.message
        else:
            message = ""
        if message:
            # The body may hold a token: keep no excerpt of it, not even in the __context__ that
            # ``from None`` would keep (hence raised outside the except block).
            raise ResponseDecodeError(message, path="gettoken")
        if not answer.access_token:
            raise ResponseDecodeError("gettoken answered without a token", path="gettoken")
        # expires_in may be 0: WeCom answers its current token while it is valid, with the whole
        # seconds it has left. The token manager checks and clamps it.
        return answer.access_token, answer.expires_in


class WeComClient:
    """An asyncio client for one WeCom app (corp ID + secret).

    Calls are rate-limited per (corp, API path) by ``rate_limits`` (WeCom's documented quotas by
    default) and retried by ``retry`` (see :class:`RetryPolicy`); ``max_retries`` is a shortcut
    for changing only the retry count. ``sleep`` is what backoff awaits (injectable for tests).

    ``async with WeComClient(...) as client:`` closes what the client opened. By default the
    client owns an aiohttp session (through its own :class:`SessionPool`); given ``session=`` or
    ``pool=``, it borrows them and never closes them, so many clients (one per corp or app) can
    share connections.

    ``timeout`` (seconds, or an ``aiohttp.ClientTimeout``) bounds each HTTP attempt; retries,
    their backoff and rate-limiter waits come on top. For a deadline over a whole call, wrap it
    in ``asyncio.timeout(...)``. Every endpoint also takes ``timeout=`` per call, and
    :meth:`with_options` derives a client with other defaults.
    ``token_store`` keeps access tokens (in memory by default); ``clock`` is the wall clock used
    for token expiry (injectable for tests). ``max_response_bytes`` bounds every answer read
    (decompressed; 64 MiB by default): a larger one fails the call with
    :class:`~wecom_async.ResponseTooLargeError`, having used at most that much memory.

    ``redis`` (a URL such as ``"redis://127.0.0.1:6379/0"``, or a ``redis.asyncio.Redis`` the
    client borrows and never closes) shares the quotas, the concurrency cap, cool-downs and the
    access token with every process passing the same Redis (``pip install
    'wecom-async[redis]'``); ``redis_key_prefix`` is prepended to every key. While Redis is
    unavailable the client limits locally to ``1/RateLimits.share`` of the quotas.

    ``_token_source`` is internal: :class:`~wecom_async.SuiteProvider` gives its clients one,
    which fetches their tokens through the suite instead of ``gettoken``.
    """

    schedules: Schedules
    calendars: Calendars

    def __init__(
        self,
        *,
        corp_id: str,
        corp_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        pool: SessionPool | None = None,
        token_store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        token_refresh_margin: float = 300.0,
        rate_limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        max_retries: int | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        redis: str | Redis | None = None,
        redis_key_prefix: str = "",
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        _token_source: _TokenSource | None = None,
    ) -> None:
        _check_arguments(
            corp_id,
            corp_secret,
            base_url,
            session,
            pool,
            timeout=timeout,
            max_retries=max_retries,
            token_refresh_margin=token_refresh_margin,
            max_response_bytes=max_response_bytes,
            redis=redis,
            redis_key_prefix=redis_key_prefix,
            retry=retry,
            rate_limits=rate_limits,
            token_store=token_store,
            clock=clock,
            sleep=sleep,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        coordinator = None
        if redis is not None:
            from ._redis import RedisCoordinator  # imports redis-py: only when asked for

            coordinator = RedisCoordinator(redis, key_prefix=redis_key_prefix)
            if token_store is None:
                token_store = coordinator.token_store()
        options = _Options(
            timeout=_as_timeout(timeout), retry=retry if retry is not None else RetryPolicy()
        ).override(max_retries=max_retries)
        self._core = _Core(
            corp_id=corp_id,
            corp_secret=corp_secret,
            base_url=base_url,
            session=session,
            pool=pool,
            token_store=token_store if token_store is not None else MemoryTokenStore(),
            clock=clock,
            refresh_margin=token_refresh_margin,
            rate_limits=rate_limits if rate_limits is not None else RateLimits(),
            retry=options.retry,
            sleep=sleep,
            max_response_bytes=max_response_bytes,
            coordinator=coordinator,
            token_source=_token_source,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self._options = options
        self._derived = False
        self.schedules = Schedules(self)
        self.calendars = Calendars(self)

    def __repr__(self) -> str:
        coordinator = self._core.coordinator
        shared = "" if coordinator is None else f", redis={coordinator.where!r}"  # no password
        return (
            f"WeComClient(corp_id={self._core.corp_id!r}, base_url={self._core.base_url!r}{shared})"
        )

    @property
    def corp_id(self) -> str:
        return self._core.corp_id

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def tokens(self) -> TokenManager:
        """The access-token manager (``fetches`` counts gettoken calls)."""
        return self._core.tokens

    @property
    def third_party(self) -> bool:
        """Whether this is a third-party (suite) app's client (from ``SuiteProvider.client``)."""
        return self._core.third_party

    def with_options(
        self,
        *,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> WeComClient:
        """A client sharing this one's session, tokens and limiters, with other defaults.

        ``retry`` replaces the retry policy; ``max_retries`` changes only its retry count.
        The derived client owns nothing: closing it does nothing; close the original.
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            check = Checker()
            check.add("retry", f"must be a RetryPolicy, got {type(retry).__name__}")
            check.raise_if_any("with_options() arguments")
        derived = object.__new__(WeComClient)
        derived._core = self._core
        options = self._options if retry is None else attrs.evolve(self._options, retry=retry)
        derived._options = options.override(timeout=timeout, max_retries=max_retries)
        derived._derived = True
        derived.schedules = Schedules(derived)
        derived.calendars = Calendars(derived)
        return derived

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (on this client, or the one it was derived from)."""
        return self._core.closed

    async def close(self) -> None:
        """Close the client, and what it opened (never a borrowed session, pool or Redis).

        Calls made afterwards raise :class:`~wecom_async.ClientClosedError`, and so do calls
        in flight on the session it closes (with ``request_sent=True``: the request may have
        reached WeCom). A bulk fetch running meanwhile keeps what it fetched and reports the
        rest failed. A closed client cannot be reopened. A client from :meth:`with_options`
        closes nothing.
        """
        if self._derived:
            return
        core = self._core
        core.closed = True
        if core.coordinator is not None:
            await core.coordinator.close()
        if core.owns_pool:
            await core.pool.close()

    async def __aenter__(self) -> WeComClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- calls ----------------------------------------------------------------------------------

    @overload
    async def request(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> dict[str, Any]: ...

    @overload
    async def request(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        response_model: type[R],
        idempotent: bool = False,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> R: ...

    async def request(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        response_model: type[R] | None = None,
        idempotent: bool = False,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
    ) -> dict[str, Any] | R:
        """Call any API path (``"oa/schedule/get"``) that has no method yet.

        ``body`` is sent as JSON; the answer is returned as a dict, or decoded into
        ``response_model`` (an attrs class with ``errcode``/``errmsg``). errcode ≠ 0 raises
        as for every other call. Pass ``idempotent=True`` for reads, so that failures after the
        request may have reached WeCom (timeouts, resets, 5xx) are retried too.
        """
        if not (type(path) is str and _API_PATH.fullmatch(path)) or not (
            body is None or isinstance(body, Mapping)
        ):
            _check_request_arguments(path, body)
        path = path.strip("/")
        data = _converter.encode(dict(body or {}))
        decode: Decode[Any] = (
            partial(_sansio.decode_json, path=path)
            if response_model is None
            else _sansio.model_decoder(response_model, path)
        )
        result: dict[str, Any] | R = await self._call(
            path, data, decode, idempotent=idempotent, timeout=timeout, max_retries=max_retries
        )
        return result

    def _call_model(
        self,
        path: str,
        request: object,
        response_model: type[R],
        *,
        idempotent: bool,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        stats: CallStats | None = None,
    ) -> Coroutine[Any, Any, R]:
        """Encode a request model, send it to ``path`` and decode the answer into a model.

        A plain function returning :meth:`_call`'s coroutine: one coroutine frame less on
        every call, and on every resumption of it.
        """
        return self._call(
            path,
            _converter.encode(request),
            _sansio.model_decoder(response_model, path),
            idempotent=idempotent,
            timeout=timeout,
            max_retries=max_retries,
            stats=stats,
        )

    async def _call(
        self,
        path: str,
        body: bytes,
        decode: Decode[T],
        *,
        idempotent: bool,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        stats: CallStats | None = None,
        _record: CallRecord | None = None,
    ) -> T:
        """POST ``body`` to ``path`` and return ``decode(status, body)`` of the answer.

        Every attempt, retries included, takes a slot of the API's rate limiter, and reads the
        token only once the slot is granted. A 40014/42001 answer (token revoked, or expired
        early or in the last second of its life) invalidates the token and resends at once: WeCom
        rejected the call before acting on it. A second one (the new token revoked too) is a
        retry under the policy, like every other failure.

        With OpenTelemetry, the call runs in a span (``_telemetry``), measured in ``_record``.
        """
        telemetry = self._core.telemetry
        if telemetry is not None and _record is None and telemetry.enabled():
            return await telemetry.call(
                path,
                lambda record: self._call(
                    path,
                    body,
                    decode,
                    idempotent=idempotent,
                    timeout=timeout,
                    max_retries=max_retries,
                    stats=stats,
                    _record=record,
                ),
            )
        options = self._options
        if timeout is not None or max_retries is not None:
            options = options.override(timeout=timeout, max_retries=max_retries)
        policy = options.retry
        core = self._core
        limiter = core.limiter_for(core.corp_id, path, core.rate_limits)  # core.limiter(path)
        tokens = core.tokens
        token_refreshed = False
        retry_number = 0
        while True:
            slot: Slot | None = None
            token = ""
            try:
                if not tokens.cached():
                    # Wait for a token before taking a slot: a slot is not held idle for it.
                    # The fetch obeys this call's timeout (gettoken is one more HTTP attempt).
                    await tokens.get(options.timeout.total)
                # acquire/release rather than ``async with``: one coroutine less per attempt.
                if _record is None:
                    slot = await Slot(limiter).acquire()
                else:
                    waited = time.perf_counter()
                    slot = await Slot(limiter).acquire()
                    _record.limiter_wait += time.perf_counter() - waited
                if telemetry is not None:
                    # Counted even while no SDK is configured: the quota gauge of one set up
                    # later then shows the whole current minute and hour.
                    telemetry.count_attempt(path)
                try:
                    # Read the token only now: waiting for the slot may have taken long enough
                    # for the token read before to be revoked and replaced. When the current one
                    # was dropped meanwhile, the slot waits for the new one (a shared fetch of
                    # gettoken, which has its own quota).
                    token = tokens.cached() or await tokens.get(options.timeout.total)
                    if stats is not None:
                        stats.calls += 1
                    status, raw = await send(
                        core.session(),
                        "POST",
                        core.url(path, token),
                        body,
                        timeout=options.timeout,
                        path=path,
                        secrets=(token, core.corp_secret),
                        max_bytes=core.max_response_bytes,
                    )
                finally:
                    handed = slot.release()
                if handed or limiter.waiting:
                    # Calls wait for slots: let the next requests leave before this answer
                    # takes milliseconds to decode (bulk fetches overlap decoding with WeCom's
                    # latency this way). Two turns: in the first, the calls whose answers
                    # arrived with this one free their slots too; in the second, every call
                    # handed one of those slots sends its request.
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                result = decode(status, raw)
            except (WeComAPIError, APIConnectionError, HTTPStatusError) as exc:
                if slot is None or not token:
                    # gettoken failed after the token manager's own retries (shared by every
                    # waiting call, so that a failing gettoken is not hammered once per call).
                    raise
                if isinstance(exc, AccessTokenError) and exc.errcode != 41001:
                    await tokens.invalidate(token)
                    if not token_refreshed:
                        logger.debug(
                            "errcode %s on %s: new token, resending",
                            exc.errcode,
                            path,
                            extra=fields(
                                api=path,
                                errcode=exc.errcode,
                                retry=retry_number,
                                corp_id=core.corp_id,
                            ),
                        )
                        token_refreshed = True
                        if _record is not None:
                            _record.token_refreshed(exc.errcode)
                        continue
                    delay = policy.delay_for(exc, retry_number, idempotent=idempotent)
                else:
                    if isinstance(exc, FrequencyLimitError):
                        limiter.cool_down(policy.frequency_block_seconds, slot)
                    elif isinstance(exc, ConcurrencyLimitError):
                        limiter.on_concurrency_limited(slot)
                    delay = policy.delay_for(exc, retry_number, idempotent=idempotent)
                if delay is None:
                    raise
                retry_number += 1
                if stats is not None:
                    stats.retries += 1
                if _record is not None:
                    _record.retried(retry_number, exc, delay)
                logger.debug(
                    "retry %d/%d of %s in %.2f s after %s",
                    retry_number,
                    policy.max_retries,
                    path,
                    delay,
                    _describe(exc),
                    extra=fields(
                        api=path,
                        errcode=getattr(exc, "errcode", None),
                        retry=retry_number,
                        corp_id=core.corp_id,
                    ),
                )
                await core.sleep(delay)
                continue
            except ClientClosedError as exc:
                if token or not exc.request_sent:
                    raise
                # Closed while this call waited for gettoken: its own request was never sent
                # (safe to send again, even a write).
                raise ClientClosedError(
                    "the client was closed while the call waited for an access token; its "
                    "request was not sent",
                    request_sent=False,
                ) from exc
            except WeComError:
                raise
            except Exception as exc:
                # A bug, ours or in injected code (a token store that fails, a response_model
                # that raises): typed like every failure, the original kept as ``__cause__``, as
                # a bulk fetch reports it. (CancelledError and KeyboardInterrupt are no
                # ``Exception``: they pass unchanged.)
                raise UnexpectedError(exc, path=path) from exc
            limiter.on_success()
            return result


def _check_arguments(
    corp_id: object,
    corp_secret: object,
    base_url: object,
    session: object,
    pool: object,
    *,
    timeout: object,
    max_retries: object,
    token_refresh_margin: object,
    max_response_bytes: object,
    redis: object,
    redis_key_prefix: object,
    retry: object,
    rate_limits: object,
    token_store: object,
    clock: object,
    sleep: object,
    tracer_provider: object = None,
    meter_provider: object = None,
) -> None:
    """Raise :class:`ValidationError` naming every constructor argument that is wrong.

    A ``ValidationError`` (a ``ValueError`` too) like every other argument check: nothing was
    sent. The secret's value never appears in a message, only its type.
    """
    check = Checker()
    for name, value in (("corp_id", corp_id), ("corp_secret", corp_secret)):
        if value is None or value == "":
            check.add(name, "required (a non-empty string)")
        elif not isinstance(value, str):
            check.add(name, f"must be a string, got {type(value).__name__}")
    if not isinstance(base_url, str):
        check.add("base_url", f"must be a string, got {type(base_url).__name__}")
    else:
        try:
            url = URL(base_url)
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            check.add(
                "base_url",
                "must be an absolute http(s) URL such as 'https://qyapi.weixin.qq.com', "
                f"got {base_url!r}",
            )
    if session is not None and pool is not None:
        check.add("session", "pass session= or pool=, not both")
    if timeout is None:
        check.add("timeout", "must be seconds > 0 or an aiohttp.ClientTimeout, got None")
    check.call_options(timeout, max_retries)
    if not (
        isinstance(token_refresh_margin, (int, float))
        and not isinstance(token_refresh_margin, bool)
        and 0 <= token_refresh_margin < float("inf")
    ):
        check.add("token_refresh_margin", f"must be seconds ≥ 0, got {token_refresh_margin!r}")
    if (
        not isinstance(max_response_bytes, int)
        or isinstance(max_response_bytes, bool)
        or max_response_bytes < 1
    ):
        check.add("max_response_bytes", f"must be a positive integer, got {max_response_bytes!r}")
    if not isinstance(redis_key_prefix, str):
        check.add("redis_key_prefix", f"must be a string, got {type(redis_key_prefix).__name__}")
    elif redis_key_prefix and redis is None:
        check.add("redis_key_prefix", "is only used with redis=")
    # The wrong object here would fail only at the first call, as an AttributeError.
    for name, value, kind in (
        ("retry", retry, RetryPolicy),
        ("rate_limits", rate_limits, RateLimits),
    ):
        if value is not None and not isinstance(value, kind):
            check.add(name, f"must be a {kind.__name__}, got {type(value).__name__}")
    if token_store is not None and not all(
        callable(getattr(token_store, method, None)) for method in ("get", "set", "invalidate")
    ):
        check.add("token_store", f"must be a TokenStore, got {type(token_store).__name__}")
    for name, value in (("clock", clock), ("sleep", sleep)):
        if not callable(value):
            check.add(name, f"must be a function, got {type(value).__name__}")
    if tracer_provider is not None or meter_provider is not None:
        _check_providers(check, tracer_provider, meter_provider)
    check.raise_if_any("WeComClient arguments")


def _check_providers(check: Checker, tracer_provider: object, meter_provider: object) -> None:
    """Check ``tracer_provider=``/``meter_provider=`` (imports OpenTelemetry: only when given)."""
    if not _telemetry.available():
        for name, value in (
            ("tracer_provider", tracer_provider),
            ("meter_provider", meter_provider),
        ):
            if value is not None:
                check.add(name, "needs opentelemetry-api: pip install 'wecom-async[otel]'")
        return
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    for name, value, kind in (
        ("tracer_provider", tracer_provider, TracerProvider),
        ("meter_provider", meter_provider, MeterProvider),
    ):
        if value is not None and not isinstance(value, kind):
            check.add(name, f"must be an opentelemetry {kind.__name__}, got {type(value).__name__}")


def _check_request_arguments(path: object, body: object) -> None:
    """Raise :class:`ValidationError` for a ``request()`` path or body of the wrong kind."""
    check = Checker()
    if not isinstance(path, str) or not _API_PATH.fullmatch(path):
        check.add(
            "path",
            "must be an API path such as 'oa/schedule/get' (letters, digits, _ and - between "
            f"slashes), got {path!r}",
        )
    if body is not None and not isinstance(body, Mapping):
        check.add("body", f"must be a mapping (a JSON object), got {type(body).__name__}")
    check.raise_if_any("request() arguments")


def _describe(exc: BaseException) -> str:
    """A one-line description of a failure, safe to log (our messages carry no secrets)."""
    return f"{type(exc).__name__}: {exc}"

"""``WeComClient``: lifecycle, session, tokens, and the one path every call takes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

import aiohttp
import attrs
from yarl import URL

from . import _converter, _sansio
from ._constants import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from ._ratelimit import APILimiter, RateLimits, Slot, limiter_for
from ._retry import CallStats, RetryPolicy
from ._tokens import MemoryTokenStore, TokenManager, TokenStore, token_key
from ._transport import SessionPool, send
from .errors import (
    AccessTokenError,
    APIConnectionError,
    ConcurrencyLimitError,
    FrequencyLimitError,
    HTTPStatusError,
    ResponseDecodeError,
    WeComAPIError,
)
from .resources.calendars import Calendars
from .resources.schedules import Schedules

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ._redis import RedisCoordinator

__all__ = ["WeComClient"]

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
        return _Options(
            timeout=self.timeout if timeout is None else _as_timeout(timeout),
            retry=self.retry
            if max_retries is None
            else attrs.evolve(self.retry, max_retries=max_retries),
        )


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
        coordinator: RedisCoordinator | None,
    ) -> None:
        self.corp_id = corp_id
        self.coordinator = coordinator
        #: ``limiter_for`` or, with ``redis=``, the coordinator's (limits shared through Redis).
        self.limiter_for = limiter_for if coordinator is None else coordinator.limiter_for
        self.rate_limits = rate_limits
        self.sleep = sleep
        self.corp_secret = corp_secret
        self.base_url = base_url.rstrip("/")
        self.borrowed_session = session
        self.owns_pool = pool is None and session is None
        self.pool = pool if pool is not None else SessionPool()
        self.tokens = TokenManager(
            key=token_key(corp_id, corp_secret),
            fetch=self.fetch_token,
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

    async def fetch_token(self) -> tuple[str, int]:
        url = _sansio.gettoken_url(self.base_url, self.corp_id, self.corp_secret)
        logger.debug("fetching an access token for corp %s", self.corp_id)
        status, body = await send(
            self.session(),
            "GET",
            url,
            None,
            timeout=self.gettoken_timeout,
            path="gettoken",
            secrets=(self.corp_secret,),
        )
        try:
            answer = _sansio.decode_response(status, body, _TokenResponse, "gettoken")
        except ResponseDecodeError as exc:
            # The body may hold a token: keep no excerpt of it.
            raise ResponseDecodeError(str(exc), path="gettoken") from None
        if not answer.access_token or answer.expires_in <= 0:
            raise ResponseDecodeError("gettoken answered without a token", path="gettoken")
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
    for token expiry (injectable for tests).

    ``redis`` (a URL such as ``"redis://127.0.0.1:6379/0"``, or a ``redis.asyncio.Redis`` the
    client borrows and never closes) shares the quotas, the concurrency cap, cool-downs and the
    access token with every process passing the same Redis (``pip install
    'wecom-async[redis]'``); ``redis_key_prefix`` is prepended to every key. While Redis is
    unavailable the client limits locally to ``1/RateLimits.share`` of the quotas.
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
        redis: str | Redis | None = None,
        redis_key_prefix: str = "",
    ) -> None:
        if not corp_id or not corp_secret:
            raise ValueError("corp_id and corp_secret are required")
        if session is not None and pool is not None:
            raise ValueError("pass session= or pool=, not both")
        coordinator = None
        if redis is None and redis_key_prefix:
            raise ValueError("redis_key_prefix is only used with redis=")
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
            coordinator=coordinator,
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
        derived = object.__new__(WeComClient)
        derived._core = self._core
        options = self._options if retry is None else attrs.evolve(self._options, retry=retry)
        derived._options = options.override(timeout=timeout, max_retries=max_retries)
        derived._derived = True
        derived.schedules = Schedules(derived)
        derived.calendars = Calendars(derived)
        return derived

    # --- lifecycle ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Close what this client opened (never a borrowed session, pool or Redis)."""
        if self._derived:
            return
        if self._core.coordinator is not None:
            await self._core.coordinator.close()
        if self._core.owns_pool:
            await self._core.pool.close()

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
    ) -> T:
        """POST ``body`` to ``path`` and return ``decode(status, body)`` of the answer.

        Every attempt, retries included, takes a slot of the API's rate limiter. A 40014/42001
        answer (token revoked or expired early) invalidates the token and resends at once: WeCom
        rejected the call before acting on it. A second one (the new token revoked too) is a
        retry under the policy, like every other failure.
        """
        options = self._options
        if timeout is not None or max_retries is not None:
            options = options.override(timeout=timeout, max_retries=max_retries)
        policy = options.retry
        core = self._core
        limiter = core.limiter_for(core.corp_id, path, core.rate_limits)  # core.limiter(path)
        tokens = core.tokens
        token = ""
        token_refreshed = False
        retry_number = 0
        while True:
            slot: Slot | None = None
            try:
                token = tokens.cached() or await tokens.get()
                # acquire/release rather than ``async with``: one coroutine less per attempt.
                slot = await Slot(limiter).acquire()
                try:
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
                if slot is None:
                    # gettoken failed after the token manager's own retries (shared by every
                    # waiting call, so that a failing gettoken is not hammered once per call).
                    raise
                if isinstance(exc, AccessTokenError) and exc.errcode != 41001:
                    await tokens.invalidate(token)
                    if not token_refreshed:
                        logger.debug("errcode %s on %s: new token, resending", exc.errcode, path)
                        token_refreshed = True
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
                logger.debug(
                    "retry %d/%d of %s in %.2f s after %s",
                    retry_number,
                    policy.max_retries,
                    path,
                    delay,
                    _describe(exc),
                )
                await core.sleep(delay)
                continue
            limiter.on_success()
            return result


def _describe(exc: BaseException) -> str:
    """A one-line description of a failure, safe to log (our messages carry no secrets)."""
    return f"{type(exc).__name__}: {exc}"

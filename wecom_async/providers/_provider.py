"""``SuiteProvider``: a service provider's suite, its suite token, and one client per corp."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
import attrs
from yarl import URL

from .. import _converter, _sansio
from .._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT
from .._logfields import fields
from .._ratelimit import RateLimits
from .._retry import RetryPolicy
from .._tokens import MemoryTokenStore, TokenManager, TokenStore
from .._transport import SessionPool, send
from ..client import TimeoutLike, WeComClient, _as_timeout, _check_arguments
from ..errors import (
    ClientClosedError,
    ResponseDecodeError,
    SuiteAccessTokenError,
    SuiteTicketMissingError,
)
from ..models._validation import Checker

if TYPE_CHECKING:
    from aiohttp import web
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from redis.asyncio import Redis

    from .._redis import RedisCoordinator
    from ..callbacks import CallbackASGIApp, CallbackEvent, CallbackReceiver

__all__ = ["AuthorizedCorp", "SuiteProvider"]

logger = logging.getLogger("wecom_async")

R = TypeVar("R", bound=_sansio.HasErrcode)
T = TypeVar("T")

PATH_SUITE_TOKEN = "service/get_suite_token"
PATH_CORP_TOKEN = "service/get_corp_token"
PATH_PERMANENT_CODE = {"v1": "service/get_permanent_code", "v2": "service/v2/get_permanent_code"}

_NO_TICKET = (
    "no suite ticket yet: WeCom pushes one to the suite's command callback every 10 minutes "
    "(serve provider.callback_app()), or pass the last one to provider.set_suite_ticket()"
)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


@attrs.frozen(slots=True)
class _SuiteTokenResponse:
    errcode: int = 0
    errmsg: str = ""
    suite_access_token: str = attrs.field(default="", repr=False)
    expires_in: int = 0


@attrs.frozen(slots=True)
class _CorpTokenResponse:
    errcode: int = 0
    errmsg: str = ""
    access_token: str = attrs.field(default="", repr=False)
    expires_in: int = 0


@attrs.frozen(slots=True)
class AuthorizedCorp:
    """A corp that authorised the suite: what ``service/get_permanent_code`` answered.

    Keep ``permanent_code`` (it never expires, and WeCom gives it only once) next to
    ``corp_id``: ``provider.client(corp.corp_id, corp.permanent_code)``. ``agentid`` is the
    app's agent ID in that corp (the first of ``auth_info.agent``), ``raw`` the whole answer
    without its access token. ``repr`` shows neither the code nor ``raw``.
    """

    corp_id: str
    corp_name: str
    permanent_code: str = attrs.field(repr=False)
    agentid: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


class _SuiteCorpTokens:
    """A third-party client's token source (``client._TokenSource``): service/get_corp_token."""

    third_party = True

    def __init__(self, provider: SuiteProvider, corp_id: str, permanent_code: str) -> None:
        self._provider = provider
        self._corp_id = corp_id
        self._permanent_code = permanent_code
        # The suite is in the key: two suites installed in one corp have two tokens.
        self.key = f"wecom:suite:{provider.suite_id}:corp_token:{corp_id}:{_digest(permanent_code)}"

    def __repr__(self) -> str:
        return f"_SuiteCorpTokens(corp_id={self._corp_id!r})"

    async def fetch(self, session: aiohttp.ClientSession, timeout: float | None) -> tuple[str, int]:
        body = {"auth_corpid": self._corp_id, "permanent_code": self._permanent_code}
        logger.debug(
            "fetching an access token for corp %s through the suite",
            self._corp_id,
            extra=fields(api=PATH_CORP_TOKEN, corp_id=self._corp_id),
        )
        answer = await self._provider._with_suite_token(
            lambda suite_token: self._provider._post(
                session,
                PATH_CORP_TOKEN,
                suite_token,
                body,
                _CorpTokenResponse,
                timeout,
                (self._permanent_code,),
            ),
            timeout,
        )
        if not answer.access_token:
            raise ResponseDecodeError("answered without a token", path=PATH_CORP_TOKEN)
        return answer.access_token, answer.expires_in


class SuiteProvider:
    """A service provider's third-party app (suite), installed in any number of corps.

    ``suite_id``, ``suite_secret``, ``token`` and ``encoding_aes_key`` are the suite's values in
    the provider console (服务商管理后台 → 应用管理 → the app: SuiteID, Secret, and the command
    callback's Token and EncodingAESKey). WeCom pushes a suite ticket to the command callback
    every 10 minutes (serve :meth:`callback_app`, or pass the last one received to
    :meth:`set_suite_ticket` / ``suite_ticket=``); the provider exchanges it for the
    ``suite_access_token`` (``service/get_suite_token``), cached in ``token_store`` and fetched
    once for all concurrent callers, refreshed before it expires and re-fetched once when WeCom
    answers it invalid or expired (40082, 42009).

    :meth:`client` gives the :class:`~wecom_async.WeComClient` of an authorised corp, getting
    its access tokens through ``service/get_corp_token``; :meth:`custom_app_client` that of a
    custom-developed app (代开发), through ``gettoken`` with the permanent code as secret. All
    share one :class:`~wecom_async.SessionPool` (``pool=``, or the provider's own) and the
    provider's options (``timeout``, ``retry``, ``rate_limits``, ``tracer_provider``… as for
    ``WeComClient``).
    ``redis`` shares tokens, quotas and the concurrency cap through Redis as for ``WeComClient``
    (one Redis connection pool for the provider and all its clients). ``async with`` or
    :meth:`close` closes the clients and what the provider opened.
    """

    def __init__(
        self,
        *,
        suite_id: str,
        suite_secret: str,
        token: str,
        encoding_aes_key: str,
        suite_ticket: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: TimeoutLike = DEFAULT_TIMEOUT,
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
        permanent_code_api: Literal["v1", "v2"] = "v1",
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        check = Checker()
        for name, value in (
            ("suite_id", suite_id),
            ("suite_secret", suite_secret),
            ("token", token),
            ("encoding_aes_key", encoding_aes_key),
        ):
            if not isinstance(value, str) or not value:
                check.add(name, "required (a non-empty string)")
        if suite_ticket is not None and (not isinstance(suite_ticket, str) or not suite_ticket):
            check.add("suite_ticket", "must be a non-empty string or None")
        if permanent_code_api not in PATH_PERMANENT_CODE:
            check.add("permanent_code_api", f"must be 'v1' or 'v2', got {permanent_code_api!r}")
        check.raise_if_any("SuiteProvider arguments")
        # The options the clients get, checked now rather than at the first client.
        _check_arguments(
            "corp",
            "secret",
            base_url,
            None,
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
        self.suite_id = suite_id
        self._suite_secret = suite_secret
        self._token = token
        self._encoding_aes_key = encoding_aes_key
        self._ticket = suite_ticket or ""
        #: The TimeStamp of the ticket in force, when it came through the callback.
        self._ticket_time = 0
        self._base_url = base_url.rstrip("/")
        self._timeout = _as_timeout(timeout)
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else SessionPool()
        self._coordinator: RedisCoordinator | None = None
        if redis is not None:
            from .._redis import RedisCoordinator  # imports redis-py: only when asked for

            self._coordinator = RedisCoordinator(redis, key_prefix=redis_key_prefix)
            if token_store is None:
                token_store = self._coordinator.token_store()
        self._token_store = token_store if token_store is not None else MemoryTokenStore()
        retry = retry if retry is not None else RetryPolicy()
        if max_retries is not None:
            retry = attrs.evolve(retry, max_retries=max_retries)
        self._client_options: dict[str, Any] = {
            "base_url": base_url,
            "timeout": timeout,
            "pool": self._pool,
            "token_store": self._token_store,
            "clock": clock,
            "token_refresh_margin": token_refresh_margin,
            "rate_limits": rate_limits,
            "retry": retry,
            "sleep": sleep,
            "max_response_bytes": max_response_bytes,
            # Every client borrows the provider's Redis connection pool.
            "redis": None if self._coordinator is None else self._coordinator.redis,
            "redis_key_prefix": redis_key_prefix,
            "tracer_provider": tracer_provider,
            "meter_provider": meter_provider,
        }
        self._max_response_bytes = max_response_bytes
        self._permanent_code_path = PATH_PERMANENT_CODE[permanent_code_api]
        #: The suite_access_token (``fetches`` counts get_suite_token calls).
        self.suite_tokens = TokenManager(
            key=f"wecom:suite_token:{suite_id}:{_digest(suite_secret)}",
            fetch=self._fetch_suite_token,
            store=self._token_store,
            clock=clock,
            refresh_margin=token_refresh_margin,
            retry=retry,
            sleep=sleep,
            api=PATH_SUITE_TOKEN,
        )
        self._clients: dict[str, tuple[str, WeComClient]] = {}
        self._custom_clients: dict[str, tuple[str, WeComClient]] = {}
        #: Clients replaced (a new permanent code) or forgotten: closed with the provider.
        self._retired: list[WeComClient] = []
        #: create_auth messages whose code was exchanged but not yet handed to on_authorized:
        #: an auth code works once, so a handler retry must not exchange it again.
        self._exchanged: dict[str, AuthorizedCorp] = {}
        self._closed = False

    def __repr__(self) -> str:
        ticket = "yes" if self._ticket else "no"
        return (
            f"SuiteProvider(suite_id={self.suite_id!r}, corps={len(self._clients)}, "
            f"suite_ticket={ticket})"
        )

    # --- the suite ticket and token ---------------------------------------------------------

    @property
    def has_suite_ticket(self) -> bool:
        return bool(self._ticket)

    def set_suite_ticket(self, ticket: str) -> None:
        """Use ``ticket`` for the next ``get_suite_token`` (the latest WeCom pushed).

        Calls in flight and the suite token in force are not affected: the ticket is only used
        to fetch the next suite token. A remembered 40085 (stale ticket) is forgotten.
        """
        if not isinstance(ticket, str) or not ticket:
            check = Checker()
            check.add("ticket", "must be a non-empty string")
            check.raise_if_any("set_suite_ticket() arguments")
        self._ticket = ticket
        # A 40085 (stale ticket) is remembered by the suite token and by each corp's token that
        # failed through it: the new ticket may cure it.
        self.suite_tokens.forget_failure()
        for _, client in self._clients.values():
            client.tokens.forget_failure()

    async def _fetch_suite_token(self, timeout: float | None) -> tuple[str, int]:
        ticket = self._ticket
        if not ticket:
            raise SuiteTicketMissingError(_NO_TICKET)
        body = {
            "suite_id": self.suite_id,
            "suite_secret": self._suite_secret,
            "suite_ticket": ticket,
        }
        logger.debug(
            "fetching the suite_access_token of suite %s",
            self.suite_id,
            extra=fields(api=PATH_SUITE_TOKEN),
        )
        answer = await self._post(
            self._session(), PATH_SUITE_TOKEN, "", body, _SuiteTokenResponse, timeout, ()
        )
        if not answer.suite_access_token:
            raise ResponseDecodeError("answered without a token", path=PATH_SUITE_TOKEN)
        return answer.suite_access_token, answer.expires_in

    async def _with_suite_token(
        self, call: Callable[[str], Awaitable[T]], timeout: float | None
    ) -> T:
        """``call(suite_access_token)``; once more with a new suite token if WeCom answers the
        one used invalid or expired (40082, 42009: rejected before acting, safe to resend)."""
        suite_token = await self.suite_tokens.get(timeout)
        try:
            return await call(suite_token)
        except SuiteAccessTokenError as exc:
            if exc.errcode == 41022:
                raise
            logger.debug(
                "errcode %s: new suite_access_token, resending",
                exc.errcode,
                extra=fields(errcode=exc.errcode),
            )
            # Dropped only if still the current one: a burst of calls answered 42009 with the
            # same token causes one get_suite_token.
            await self.suite_tokens.invalidate(suite_token)
        return await call(await self.suite_tokens.get(timeout))

    def _session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this SuiteProvider is closed; create a new one")
        return self._pool.session()

    async def _post(
        self,
        session: aiohttp.ClientSession,
        path: str,
        suite_token: str,
        body: Mapping[str, Any],
        model: type[R],
        timeout: float | None,
        secrets: tuple[str, ...],
    ) -> R:
        """POST ``body`` to a ``service/`` path (with ``?suite_access_token=`` if given)."""
        url = f"{self._base_url}{_sansio.API_PREFIX}{path}"
        if suite_token:
            url += f"?suite_access_token={quote(suite_token, safe='')}"
        status, raw = await send(
            session,
            "POST",
            URL(url, encoded=True),
            _converter.encode(dict(body)),
            timeout=self._timeout
            if timeout is None
            else attrs.evolve(self._timeout, total=timeout),
            path=path,
            secrets=(suite_token, self._suite_secret, self._ticket, *secrets),
            max_bytes=self._max_response_bytes,
        )
        try:
            answer = _sansio.decode_response(status, raw, model, path)
        except ResponseDecodeError as exc:
            message = exc.message
        else:
            return answer
        # The body may hold a token or a permanent code: keep no excerpt of it, not even in the
        # __context__ (hence raised outside the except block).
        raise ResponseDecodeError(message, path=path)

    # --- authorisations ---------------------------------------------------------------------

    async def get_permanent_code(self, auth_code: str) -> AuthorizedCorp:
        """Exchange a ``create_auth`` message's ``auth_code`` for the corp's permanent code.

        An auth code works once and for 10 minutes: the request is never resent once it may
        have reached WeCom (but is, with a new suite token, after a 40082/42009).
        """
        if not isinstance(auth_code, str) or not auth_code:
            check = Checker()
            check.add("auth_code", "must be a non-empty string")
            check.raise_if_any("get_permanent_code() arguments")
        path = self._permanent_code_path
        session = self._session()
        data = await self._with_suite_token(
            lambda suite_token: self._post_json(session, path, suite_token, auth_code),
            None,
        )
        corp_info = data.get("auth_corp_info")
        corp_id = corp_info.get("corpid") if isinstance(corp_info, dict) else None
        permanent_code = data.get("permanent_code")
        if not isinstance(corp_id, str) or not isinstance(permanent_code, str) or not corp_id:
            raise ResponseDecodeError(
                "answered without auth_corp_info.corpid or permanent_code", path=path
            )
        assert isinstance(corp_info, dict)
        agentid = None
        auth_info = data.get("auth_info")
        agents = auth_info.get("agent") if isinstance(auth_info, dict) else None
        if isinstance(agents, list) and agents and isinstance(agents[0], dict):
            value = agents[0].get("agentid")
            agentid = value if isinstance(value, int) and not isinstance(value, bool) else None
        raw = {k: v for k, v in data.items() if k not in ("access_token", "expires_in")}
        return AuthorizedCorp(
            corp_id=corp_id,
            corp_name=str(corp_info.get("corp_name", "")),
            permanent_code=permanent_code,
            agentid=agentid,
            raw=raw,
        )

    async def _post_json(
        self, session: aiohttp.ClientSession, path: str, suite_token: str, auth_code: str
    ) -> dict[str, Any]:
        url = f"{self._base_url}{_sansio.API_PREFIX}{path}"
        url += f"?suite_access_token={quote(suite_token, safe='')}"
        status, raw = await send(
            session,
            "POST",
            URL(url, encoded=True),
            _converter.encode({"auth_code": auth_code}),
            timeout=self._timeout,
            path=path,
            secrets=(suite_token, self._suite_secret, self._ticket, auth_code),
            max_bytes=self._max_response_bytes,
        )
        try:
            return _sansio.decode_json(status, raw, path=path)
        except ResponseDecodeError as exc:
            message = exc.message
        raise ResponseDecodeError(message, path=path)

    # --- clients ------------------------------------------------------------------------------

    def client(self, auth_corpid: str, permanent_code: str) -> WeComClient:
        """The client of corp ``auth_corpid`` (the same object for the same corp and code).

        Its access tokens come from ``service/get_corp_token`` (one fetch per token lifetime,
        however many calls ask at once). It follows WeCom's third-party rules:
        ``schedules.add`` needs ``cal_id``. A new permanent code (the corp authorised again)
        gives a new client; the old one is closed with the provider.
        """
        return self._cached(self._clients, auth_corpid, permanent_code, third_party=True)

    def custom_app_client(self, auth_corpid: str, permanent_code: str) -> WeComClient:
        """The client of a custom-developed app (代开发) in corp ``auth_corpid``.

        Such an app gets its tokens from ``gettoken`` with the corp ID and its permanent code
        as the secret; it is this corp's own app for the schedule rules. The same as
        ``WeComClient(corp_id=auth_corpid, corp_secret=permanent_code)``, sharing the
        provider's pool and options, cached per corp.
        """
        return self._cached(self._custom_clients, auth_corpid, permanent_code, third_party=False)

    def _cached(
        self,
        cache: dict[str, tuple[str, WeComClient]],
        corp_id: str,
        permanent_code: str,
        *,
        third_party: bool,
    ) -> WeComClient:
        check = Checker()
        for name, value in (("auth_corpid", corp_id), ("permanent_code", permanent_code)):
            if not isinstance(value, str) or not value:
                check.add(name, "required (a non-empty string)")
        check.raise_if_any("client() arguments")
        if self._closed:
            raise ClientClosedError("this SuiteProvider is closed; create a new one")
        digest = _digest(permanent_code)
        cached = cache.get(corp_id)
        if cached is not None:
            if cached[0] == digest and not cached[1].closed:
                return cached[1]
            self._retired.append(cached[1])
        source = _SuiteCorpTokens(self, corp_id, permanent_code) if third_party else None
        client = WeComClient(
            corp_id=corp_id,
            corp_secret=permanent_code,
            _token_source=source,
            **self._client_options,
        )
        cache[corp_id] = (digest, client)
        return client

    async def forget(self, auth_corpid: str) -> None:
        """Close and drop the clients of ``auth_corpid`` (it cancelled the authorisation).

        Calls made with them afterwards raise :class:`~wecom_async.ClientClosedError`; calls in
        flight finish. :meth:`client` gives a new one if the corp authorises the app again.
        """
        for cache in (self._clients, self._custom_clients):
            cached = cache.pop(auth_corpid, None)
            if cached is not None:
                client = cached[1]
                token = client.tokens.cached()
                if token:
                    await client.tokens.invalidate(token)
                await client.close()

    # --- the command callback -----------------------------------------------------------------

    def callback_receiver(self) -> CallbackReceiver:
        """The sans-I/O core of the command callback (receive_id = the suite ID)."""
        from ..callbacks import CallbackCrypto, CallbackReceiver, parse_suite_event

        crypto = CallbackCrypto(
            token=self._token, encoding_aes_key=self._encoding_aes_key, receive_id=self.suite_id
        )
        return CallbackReceiver(crypto, parse=parse_suite_event)

    def callback_app(
        self,
        *,
        on_authorized: Callable[[AuthorizedCorp], Awaitable[None]],
        on_event: Callable[[CallbackEvent], Awaitable[None]] | None = None,
        path: str = "/wecom/suite/callback",
        drain_timeout: float | None = 30.0,
    ) -> web.Application:
        """An aiohttp app serving the suite's command callback at ``path``.

        ``suite_ticket`` sets the ticket (a redelivered older one is ignored); ``create_auth``
        exchanges the auth code (:meth:`get_permanent_code`) and awaits
        ``on_authorized(corp)``: store ``corp.permanent_code`` there, WeCom sends it only once;
        ``cancel_auth`` :meth:`forget` s the corp's clients. Then every message, typed
        (:class:`~wecom_async.callbacks.SuiteTicket`, ``CreateAuth``, ``ChangeAuth``,
        ``CancelAuth``, ``UnknownSuiteEvent``) goes to ``on_event``. Handlers run in the
        background with the dispatcher's retries (an auth code is exchanged once, even then).
        Needs the ``callbacks`` extra.
        """
        from ..callbacks import CallbackDispatcher, callback_app

        dispatcher = CallbackDispatcher(self._handler(on_authorized, on_event))
        return callback_app(
            self.callback_receiver(), dispatcher, path=path, drain_timeout=drain_timeout
        )

    def callback_asgi(
        self,
        *,
        on_authorized: Callable[[AuthorizedCorp], Awaitable[None]],
        on_event: Callable[[CallbackEvent], Awaitable[None]] | None = None,
        drain_timeout: float | None = 30.0,
    ) -> CallbackASGIApp:
        """:meth:`callback_app` as an ASGI app (mount it at the command callback's URL)."""
        from ..callbacks import CallbackASGIApp, CallbackDispatcher

        dispatcher = CallbackDispatcher(self._handler(on_authorized, on_event))
        return CallbackASGIApp(self.callback_receiver(), dispatcher, drain_timeout=drain_timeout)

    def _handler(
        self,
        on_authorized: Callable[[AuthorizedCorp], Awaitable[None]],
        on_event: Callable[[CallbackEvent], Awaitable[None]] | None,
    ) -> Callable[[CallbackEvent], Awaitable[None]]:
        from ..callbacks import CancelAuth, CreateAuth, SuiteTicket, UnknownSuiteEvent

        async def handle(event: CallbackEvent) -> None:
            if isinstance(event, SuiteTicket):
                if event.suite_id != self.suite_id:
                    logger.warning(
                        "suite_ticket of another suite ignored: %s", event.suite_id, extra=fields()
                    )
                elif event.timestamp >= self._ticket_time:
                    self.set_suite_ticket(event.suite_ticket)
                    self._ticket_time = event.timestamp
            elif isinstance(event, CreateAuth):
                corp = self._exchanged.get(event.auth_code)
                if corp is None:
                    corp = self._exchanged[event.auth_code] = await self.get_permanent_code(
                        event.auth_code
                    )
                await on_authorized(corp)
                del self._exchanged[event.auth_code]
            elif isinstance(event, CancelAuth):
                await self.forget(event.auth_corp_id)
            elif isinstance(event, UnknownSuiteEvent):
                logger.info(
                    "command callback InfoType %r has no class", event.info_type, extra=fields()
                )
            if on_event is not None:
                await on_event(event)

        return handle

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Close every client handed out, then what the provider opened (never a borrowed pool
        or Redis). Calls made afterwards raise :class:`~wecom_async.ClientClosedError`."""
        self._closed = True
        clients = [c for cache in (self._clients, self._custom_clients) for _, c in cache.values()]
        for client in (*clients, *self._retired):
            await client.close()
        self._clients.clear()
        self._custom_clients.clear()
        self._retired.clear()
        if self._coordinator is not None:
            await self._coordinator.close()
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self) -> SuiteProvider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

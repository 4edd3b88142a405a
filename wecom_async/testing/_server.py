"""The fake WeCom server: an aiohttp application and the common layer of every call.

A call to ``/cgi-bin/<path>`` goes through, in this order:

1. logging (``fake.requests``) and in-flight counting per (corp, path);
2. scripted/random faults that act before handling (latency, dropped connection, HTTP error
   page, injected errcode; see ``_faults``);
3. for ``gettoken``: credential check and token issue; for the other APIs: access token check
   (41001 missing, 40014 unknown or invalidated, 42001 expired), method check (43002 unless
   POST), body parsing (47001 unless a JSON object), quota (45009, see ``_quota``), concurrency
   limit (45033), then the endpoint handler;
4. faults that act after handling (late answer, dropped connection).

Every answer is HTTP 200 JSON ``{"errcode": …, "errmsg": …, …}`` unless a fault says otherwise.

Assumptions (the docs are silent):

* A path under ``/cgi-bin/`` that the fake does not implement answers HTTP 404 with a small HTML
  page (the real server's answer to unknown URLs is undocumented; a 404 makes a wrong URL obvious
  instead of disguising it as an API error). No fault applies to it; it is logged.
* ``gettoken`` accepts any HTTP method; missing ``corpid`` → 41002, unknown corpid → 40013,
  missing ``corpsecret`` → 41004, wrong secret → 40001.
* Another method than POST on an API path answers 43002 "require POST method" (after the token
  check).
* "In flight" means received and not yet answered (including injected latency), counted per
  (corp of the token, path) as soon as the request arrives (also calls that end up rejected).
  The concurrency limit answers 45033 to a call that, when it arrived, found ``max_concurrency``
  calls already in flight; that answer comes at the API layer (after the token and quota checks,
  so such a call still counts against the quota). ``gettoken`` is subject to
  neither the quota nor the concurrency limit (its peak concurrency is recorded).
* Faults that answer instead of handling (drop, HTTP error page, injected errcode) do not count
  against the quota.
* The provider endpoints ``service/…`` (see ``_providers``) take no access token; like
  ``gettoken`` they are subject to neither the quota nor the concurrency limit. They need POST
  (43002) and a JSON object body (47001), checked before their own checks.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from ._callbacks import CallbackSubscription, FakeCallbacks
from ._clock import Clock
from ._context import Handler, HandlerContext
from ._endpoints import DEFAULT_ENDPOINTS
from ._errors import FakeAPIError
from ._faults import FaultPlan, FaultProfile, Faults, html_error_page, normalize_path
from ._log import RequestRecord
from ._providers import (
    GET_CORP_TOKEN,
    GET_SUITE_TOKEN,
    SERVICE_PATHS,
    FakeAuthorization,
    FakeProviders,
    FakeSuite,
    SuiteMessage,
)
from ._quota import DEFAULT_QUOTA, Quota, QuotaTracker
from ._store import JSONObject, Store
from ._tokens import TokenRegistry

__all__ = ["FAKE_WECOM_KEY", "FakeWeCom"]

GETTOKEN = "gettoken"
#: Body size the fake accepts (a 1000-attendee schedule is ~40 KB).
CLIENT_MAX_SIZE = 8 * 1024 * 1024

Sleep = Callable[[float], Awaitable[Any]]


class FakeWeCom:
    """An in-process fake of the WeCom server API, listening on loopback.

    >>> async with FakeWeCom() as fake:  # doctest: +SKIP
    ...     fake.base_url, fake.corp_id, fake.corp_secret

    Keyword arguments:

    * *corps*: corp_id → secret. Default: one corp ``"wwfake…"`` (from *seed*) with a random
      secret. The first corp is "the default corp" of every ``corp_id=None`` argument.
    * *token_ttl*: lifetime of access tokens in seconds (``expires_in``).
    * *clock*: the time source (token expiry, quota windows, request times); pass a
      :class:`~wecom_async.testing.FakeClock` to move time without sleeping.
    * *seed*: makes corp, calendar and schedule IDs deterministic.
    * *host*, *port*: where :meth:`start` listens (port 0 = a free port).
    * *quota*: per (corp, API path) frequency limits; ``None`` disables them.
    * *max_concurrency*: answer 45033 to a call arriving while this many calls of the same
      (corp, path) are in flight; ``None`` (default) = no limit (WeCom publishes no number).
    * *fault_profile*: random faults from the start (see :meth:`Faults.set_profile`).
    * *record_bodies*: keep parsed request bodies in the request log (turn off for long soaks).
    * *sleep*: the coroutine injected latencies wait with (default :func:`asyncio.sleep`).

    The application is :attr:`app`; it can also be served by another runner (pytest-aiohttp),
    then :attr:`base_url` is unknown to the fake and :meth:`start` is not used.
    """

    def __init__(
        self,
        *,
        corps: Mapping[str, str] | None = None,
        token_ttl: int = 7200,
        clock: Clock = time.time,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        quota: Quota | None = DEFAULT_QUOTA,
        max_concurrency: int | None = None,
        fault_profile: FaultProfile | None = None,
        record_bodies: bool = True,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.clock = clock
        self.host = host
        self.port = port
        self.max_concurrency = max_concurrency
        self.record_bodies = record_bodies
        self._sleep = sleep
        #: The corps' calendars and schedules.
        self.store = Store(seed=seed, clock=clock)
        if corps is None:
            corps = {self.store.new_corp_id(): secrets.token_urlsafe(32)}
        if not corps:
            raise ValueError("corps must not be empty")
        self._secrets = dict(corps)
        for corp_id in self._secrets:
            self.store.add_corp(corp_id)
        self._tokens = TokenRegistry(ttl=token_ttl, clock=clock)
        #: Service providers: suites, tickets, authorised corps (see :meth:`add_suite`).
        self.providers = FakeProviders(self.store, self._tokens, clock)
        #: Fault injection (scripted and random).
        self.faults = Faults(fault_profile)
        self._quota = QuotaTracker(quota) if quota is not None else None
        #: Every request received, in arrival order.
        self.requests: list[RequestRecord] = []
        #: The endpoint table (API path → handler); add or replace entries to extend the fake.
        self.endpoints: dict[str, Handler] = dict(DEFAULT_ENDPOINTS)
        self._in_flight: dict[tuple[str, str], int] = {}
        self._peak: dict[tuple[str, str], int] = {}
        self._concurrency_rejected = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Callback subscriptions and deliveries (see :meth:`subscribe_callbacks`).
        self.callbacks = FakeCallbacks(self.store, clock, sleep)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

        #: The aiohttp application serving the API under ``/cgi-bin/``.
        self.app = web.Application(client_max_size=CLIENT_MAX_SIZE)
        self.app[FAKE_WECOM_KEY] = self
        self.app.router.add_route("*", "/cgi-bin/{path:.+}", self._handle)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on *host*:*port*; afterwards :attr:`base_url` is known."""
        if self._runner is not None:
            raise RuntimeError("FakeWeCom already started")
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        if ":" in host:
            host = f"[{host}]"
        self._base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop listening; calls still in flight are cancelled, and so are callback deliveries
        still running (recorded as failures; :meth:`drain_callbacks` first to wait for them).
        Idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for task in list(self._tasks):
            task.cancel()
        await runner.cleanup()
        await self.callbacks.aclose()

    async def __aenter__(self) -> FakeWeCom:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<FakeWeCom {self._base_url or 'not listening'} corps={list(self._secrets)}>"

    # --- what a client needs ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``"http://127.0.0.1:PORT"`` (clients append ``/cgi-bin/…``). Known once started."""
        if self._base_url is None:
            raise RuntimeError("FakeWeCom is not listening: use 'async with' or start()")
        return self._base_url

    @property
    def corp_id(self) -> str:
        """The default (first) corp."""
        return next(iter(self._secrets))

    @property
    def corp_secret(self) -> str:
        """The secret of the default corp."""
        return self._secrets[self.corp_id]

    @property
    def corps(self) -> dict[str, str]:
        """corp_id → secret of every corp (a copy)."""
        return dict(self._secrets)

    def default_cal_id(self, corp_id: str | None = None) -> str:
        """The default calendar of *corp_id* (where add puts schedules without ``cal_id``)."""
        return self.store.default_cal_id(corp_id)

    def seed_schedules(
        self, schedules: Iterable[Mapping[str, Any]], *, corp_id: str | None = None
    ) -> list[str]:
        """Store schedules directly (see :meth:`Store.seed_schedules`); return their IDs."""
        return self.store.seed_schedules(schedules, corp_id=corp_id)

    # --- callbacks ---------------------------------------------------------------------------

    def subscribe_callbacks(
        self,
        url: str,
        *,
        token: str,
        encoding_aes_key: str,
        corp_id: str | None = None,
        retries: int = 3,
        retry_delay: float = 1.0,
        timeout: float = 5.0,
        duplicate: float = 0.0,
        max_delay: float = 0.0,
        seed: int | None = None,
    ) -> CallbackSubscription:
        """POST WeCom's encrypted event to *url* after each change made through the API.

        *token* and *encoding_aes_key* are the values of the app's callback settings; the
        receive ID is *corp_id* (default corp). A failed delivery (connection error, no answer
        within *timeout*, HTTP status other than 200) is retried *retries* times,
        *retry_delay* seconds apart (with the fake's *sleep*), then recorded in the returned
        subscription's ``failures``. Faults: *duplicate* (probability that an event is
        delivered twice), *max_delay* (random delay before an event's first attempt, which
        reorders events). One subscription per corp: subscribing again replaces it. Needs the
        ``callbacks`` extra (``cryptography``). See
        :mod:`wecom_async.testing._callbacks` for which call sends which event.
        """
        return self.callbacks.subscribe(
            url,
            corp_id=corp_id or self.corp_id,
            token=token,
            encoding_aes_key=encoding_aes_key,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
            duplicate=duplicate,
            max_delay=max_delay,
            seed=seed,
        )

    async def drain_callbacks(self) -> None:
        """Wait until every callback delivery started so far was delivered or given up."""
        await self.callbacks.drain()

    @property
    def callbacks_sent(self) -> int:
        """Events (and suite messages) delivered (answered 200) to the subscribed URLs,
        duplicates not counted."""
        return sum(s.stats.delivered for s in self.callbacks.all_subscriptions())

    @property
    def callbacks_failed(self) -> int:
        """Events given up after the retries (see each subscription's ``failures``)."""
        return sum(s.stats.failed for s in self.callbacks.all_subscriptions())

    # --- tokens -------------------------------------------------------------------------------

    @property
    def token_ttl(self) -> int:
        """Lifetime of tokens issued from now on (seconds)."""
        return self._tokens.ttl

    @token_ttl.setter
    def token_ttl(self, ttl: int) -> None:
        self._tokens.ttl = ttl
        self.providers.suite_tokens.ttl = ttl

    def invalidate_tokens(self, corp_id: str | None = None) -> int:
        """Revoke the current token of *corp_id* (all corps if None): its next use answers 40014
        and the next gettoken issues a new token. Return how many tokens were revoked."""
        return self._tokens.invalidate(corp_id)

    @property
    def tokens_issued(self) -> int:
        """How many distinct access tokens gettoken has issued."""
        return self._tokens.issued

    # --- service providers ------------------------------------------------------------------

    def add_suite(
        self,
        suite_id: str | None = None,
        suite_secret: str | None = None,
        *,
        token: str | None = None,
        encoding_aes_key: str | None = None,
        custom_app: bool = False,
    ) -> FakeSuite:
        """Register a service provider's suite (random values for those not given); return it.

        Its ``suite_id``, ``suite_secret``, ``token`` and ``encoding_aes_key`` are what the
        provider console shows. *custom_app*: a template of custom-developed apps (代开发), whose
        permanent codes ``gettoken`` also accepts as the corp's secret.
        """
        return self.providers.add_suite(
            suite_id,
            suite_secret,
            token=token,
            encoding_aes_key=encoding_aes_key,
            custom_app=custom_app,
        )

    def suite(self, suite_id: str) -> FakeSuite:
        """The suite *suite_id* (``KeyError`` if unknown)."""
        return self.providers.suite(suite_id)

    def subscribe_suite_callbacks(
        self,
        url: str,
        *,
        suite_id: str,
        retries: int = 3,
        retry_delay: float = 1.0,
        timeout: float = 5.0,
        duplicate: float = 0.0,
        max_delay: float = 0.0,
        seed: int | None = None,
    ) -> CallbackSubscription:
        """POST the suite's command-callback messages (``InfoType``) to *url*, encrypted with
        the suite's token and key, receive ID = *suite_id*. Retries and faults as in
        :meth:`subscribe_callbacks`; subscribing again replaces the subscription."""
        suite = self.providers.suite(suite_id)
        return self.callbacks.subscribe(
            url,
            corp_id=suite_id,
            token=suite.token,
            encoding_aes_key=suite.encoding_aes_key,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
            duplicate=duplicate,
            max_delay=max_delay,
            seed=seed,
            suite=True,
        )

    def new_suite_ticket(self, suite_id: str) -> str:
        """Issue a new suite ticket (valid 1800 s by the fake's clock) without sending it."""
        return self.providers.new_ticket(suite_id)

    def push_suite_ticket(self, suite_id: str) -> str:
        """Issue a new suite ticket and send it (``InfoType`` ``suite_ticket``) to the suite's
        command callback, as WeCom does every 10 minutes; return it."""
        ticket = self.providers.new_ticket(suite_id)
        self._send_suite(suite_id, "suite_ticket", ("SuiteTicket", ticket))
        return ticket

    def authorize_corp(
        self, suite_id: str, corp_id: str | None = None, *, state: str = "", notify: bool = True
    ) -> FakeAuthorization:
        """Install suite *suite_id* in *corp_id* (a new corp, with its own data, if None).

        Return the authorisation (``corp_id``, ``auth_code``, ``permanent_code``). With
        *notify*, send ``create_auth`` (``AuthCode``, ``State``) to the suite's command
        callback; the auth code is exchanged through ``service/get_permanent_code``.
        """
        auth = self.providers.authorize(suite_id, corp_id, state)
        if notify:
            self._send_suite(
                suite_id, "create_auth", ("AuthCode", auth.auth_code), ("State", state)
            )
        return auth

    def authorization(self, suite_id: str, corp_id: str) -> FakeAuthorization:
        """The latest authorisation of *suite_id* by *corp_id* (``KeyError`` if none)."""
        return self.providers.authorization(suite_id, corp_id)

    def change_auth(self, suite_id: str, corp_id: str, *, state: str = "") -> None:
        """Send ``change_auth`` for *corp_id* (the admin changed the app's permissions)."""
        self.providers.authorization(suite_id, corp_id)
        self._send_suite(suite_id, "change_auth", ("AuthCorpId", corp_id), ("State", state))

    def cancel_auth(self, suite_id: str, corp_id: str, *, notify: bool = True) -> None:
        """*corp_id* uninstalls the suite: its permanent code is refused from now on (40084),
        its token for this suite is invalidated (40014); with *notify*, ``cancel_auth`` is sent
        to the suite's command callback."""
        self.providers.cancel(suite_id, corp_id)
        if notify:
            self._send_suite(suite_id, "cancel_auth", ("AuthCorpId", corp_id))

    def invalidate_suite_tokens(self, suite_id: str | None = None) -> int:
        """Revoke the suite access token of *suite_id* (every suite if None): its next use
        answers 40082. Return how many were revoked."""
        return self.providers.suite_tokens.invalidate(suite_id)

    @property
    def suite_token_calls(self) -> int:
        """How many ``service/get_suite_token`` requests were received."""
        return self.calls(GET_SUITE_TOKEN)

    def corp_token_calls(self, corp_id: str | None = None) -> int:
        """How many ``service/get_corp_token`` requests were received for *corp_id* (all if
        None)."""
        return self.calls(GET_CORP_TOKEN, corp_id=corp_id)

    def _send_suite(self, suite_id: str, info_type: str, *fields: tuple[str, str]) -> None:
        message = SuiteMessage(info_type, suite_id, int(self.clock()), fields)
        self.callbacks.send_suite_message(message)

    # --- observations -------------------------------------------------------------------------

    def calls(self, path: str | None = None, *, corp_id: str | None = None) -> int:
        """How many requests were received for *path* (any path if None), whatever the answer."""
        return sum(1 for _ in self._records(path, corp_id))

    @property
    def gettoken_calls(self) -> int:
        """How many gettoken requests were received."""
        return self.calls(GETTOKEN)

    def answered(self, errcode: int, path: str | None = None, *, corp_id: str | None = None) -> int:
        """How many calls to *path* (any if None) were answered (or computed) with *errcode*."""
        return sum(1 for r in self._records(path, corp_id) if r.errcode == errcode)

    def clear_requests(self) -> None:
        """Forget the request log (counters of quota and concurrency are kept)."""
        self.requests.clear()

    @property
    def quota_exceeded_count(self) -> int:
        """How many calls the quota answered 45009 (over the quota or blocked; not injected)."""
        return 0 if self._quota is None else self._quota.rejected

    @property
    def concurrency_exceeded_count(self) -> int:
        """How many calls the concurrency limit answered 45033."""
        return self._concurrency_rejected

    def quota_blocked_until(self, path: str, *, corp_id: str | None = None) -> float | None:
        """Clock time until which *path* is blocked for *corp_id* (None if it never was)."""
        if self._quota is None:
            return None
        key = (corp_id or self.corp_id, normalize_path(path))
        return self._quota.blocked_until(key)

    def max_calls_in_window(
        self, path: str, *, seconds: float = 60.0, corp_id: str | None = None
    ) -> int:
        """The most requests for *path* received within any *seconds*-long window.

        Computed from the arrival times in the request log (every request counts, also those
        answered with an error); calls at ``t1`` and ``t2`` share a window when
        ``t2 - t1 < seconds``, as in the quota. *corp_id* None = all corps together.
        """
        times = sorted(r.time for r in self._records(path, corp_id))
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def peak_concurrency(self, path: str, *, corp_id: str | None = None) -> int:
        """The most calls of *path* in flight at once for *corp_id* (the max over corps if None)."""
        path = normalize_path(path)
        return max(
            (n for (c, p), n in self._peak.items() if p == path and corp_id in (None, c)),
            default=0,
        )

    def in_flight(self, path: str, *, corp_id: str | None = None) -> int:
        """How many calls of *path* are in flight now (all corps if *corp_id* is None)."""
        path = normalize_path(path)
        return sum(n for (c, p), n in self._in_flight.items() if p == path and corp_id in (None, c))

    def _records(self, path: str | None, corp_id: str | None) -> Iterable[RequestRecord]:
        want = None if path is None else normalize_path(path)
        for record in self.requests:
            if (want is None or record.path == want) and (
                corp_id is None or record.corp_id == corp_id
            ):
                yield record

    # --- the common layer -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.match_info["path"])
        now = self.clock()
        is_gettoken = path == GETTOKEN
        suite_hint = None
        if is_gettoken:
            corp_hint = request.query.get("corpid")
            if corp_hint not in self._secrets and corp_hint not in self.store.corp_ids:
                corp_hint = None
        elif path in SERVICE_PATHS:
            corp_hint = None  # set from the body (see FakeProviders.note)
        else:
            token = request.query.get("access_token")
            corp_hint = self._tokens.peek_corp(token)
            suite_hint = self._tokens.peek_app(token) or None
        record = RequestRecord(request.method, path, corp_hint, now, suite_id=suite_hint)
        self.requests.append(record)

        if not is_gettoken and path not in self.endpoints and path not in SERVICE_PATHS:
            record.http_status = 404
            return _html_response(404)

        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        key = None if corp_hint is None else (corp_hint, path)
        over_limit = False
        if key is not None:
            n = self._in_flight.get(key, 0)
            limit = self.max_concurrency
            over_limit = limit is not None and not is_gettoken and n >= limit
            self._in_flight[key] = n = n + 1
            if n > self._peak.get(key, 0):
                self._peak[key] = n
        try:
            return await self._process(request, record, is_gettoken, over_limit)
        except web.HTTPException as exc:
            # aiohttp's own answer, such as 413 for a body over client_max_size (request.read)
            record.http_status = exc.status
            raise
        except ConnectionResetError:
            # The client went away before its answer (aiohttp: "Connection lost" while the body
            # was awaited): a normal event, not a server error to log with a traceback. The
            # response returned is never sent (aiohttp sees the closed connection).
            record.client_gone = True
            return web.Response(status=204)
        except Exception:
            record.http_status = 500  # a bug in a handler: aiohttp answers 500 and logs it
            raise
        finally:
            if key is not None:
                self._in_flight[key] -= 1
            if task is not None:
                self._tasks.discard(task)

    async def _process(
        self,
        request: web.Request,
        record: RequestRecord,
        is_gettoken: bool,
        over_limit: bool,
    ) -> web.StreamResponse:
        plan = self.faults.plan(record.path)
        record.faults = tuple(plan.labels)
        if plan.latency_before:
            await self._sleep(plan.latency_before)

        body = None
        is_service = record.path in SERVICE_PATHS
        if not is_gettoken:
            body = _parse_body(await request.read())
            if is_service:
                self.providers.note(record, request.query, body)
                if not self.record_bodies:
                    record.body = None
            elif self.record_bodies:
                record.body = body

        if plan.drop_before:
            return _drop(request, record)
        if plan.http_status is not None:
            record.http_status = plan.http_status
            return _html_response(plan.http_status, plan.http_body)

        if plan.invalidate_tokens and record.corp_id is not None:
            self._tokens.invalidate(record.corp_id)
        try:
            if plan.errcode is not None:
                raise FakeAPIError(plan.errcode, plan.errmsg, verbatim=plan.errmsg is not None)
            if is_gettoken:
                result = self._gettoken(request)
            elif is_service:
                result = self._service(request, record, body)
            else:
                result = self._call_api(request, record, body, over_limit)
            answer: JSONObject = {"errcode": 0, "errmsg": "ok", **result}
        except FakeAPIError as exc:
            answer = {"errcode": exc.errcode, "errmsg": exc.wire_errmsg(now=self.clock())}
        payload = orjson.dumps(answer)
        record.errcode = answer["errcode"]
        return await self._answer(request, record, plan, payload)

    async def _answer(
        self, request: web.Request, record: RequestRecord, plan: FaultPlan, payload: bytes
    ) -> web.StreamResponse:
        if plan.latency_after:
            await self._sleep(plan.latency_after)
        if plan.drop_after:
            return _drop(request, record)
        record.http_status = 200
        return web.Response(body=payload, content_type="application/json", charset="utf-8")

    def _gettoken(self, request: web.Request) -> JSONObject:
        corp_id = request.query.get("corpid")
        secret = request.query.get("corpsecret")
        if not corp_id:
            raise FakeAPIError(41002)
        own_secret = self._secrets.get(corp_id)
        if own_secret is None and corp_id not in self.store.corp_ids:
            raise FakeAPIError(40013)
        if not secret:
            raise FakeAPIError(41004)
        if own_secret is not None and secrets.compare_digest(secret, own_secret):
            token, expires_in = self._tokens.issue(corp_id)
        else:
            # a custom-developed app (代开发): the corp's permanent code is the secret
            app = self.providers.custom_app_of(corp_id, secret)
            if app is None:
                raise FakeAPIError(40001)
            token, expires_in = self._tokens.issue(corp_id, app)
        return {"access_token": token, "expires_in": expires_in}

    def _service(
        self, request: web.Request, record: RequestRecord, body: JSONObject | None
    ) -> JSONObject:
        if request.method != "POST":
            raise FakeAPIError(43002)
        if body is None:
            raise FakeAPIError(47001)
        return self.providers.handle(record, request.query, body)

    def _call_api(
        self,
        request: web.Request,
        record: RequestRecord,
        body: JSONObject | None,
        over_limit: bool,
    ) -> JSONObject:
        corp_id, app = self._tokens.resolve_app(request.query.get("access_token"))
        if request.method != "POST":
            raise FakeAPIError(43002)
        if body is None:
            raise FakeAPIError(47001)
        if self._quota is not None:
            self._quota.admit((corp_id, record.path), self.clock())
        if over_limit:
            self._concurrency_rejected += 1
            raise FakeAPIError(45033)
        handler = self.endpoints[record.path]
        context = HandlerContext(
            corp_id, record.path, self.store, self.clock, self.providers.is_third_party(app)
        )
        result = handler(context, body)
        self.callbacks.after_call(corp_id, record.path, body, result)
        return result


#: Where :class:`FakeWeCom` puts itself in its ``app`` (``app[FAKE_WECOM_KEY]``).
FAKE_WECOM_KEY = web.AppKey("wecom_async.testing.fake", FakeWeCom)


def _parse_body(raw: bytes) -> JSONObject | None:
    """The body as a JSON object, or None (empty, not JSON, not an object)."""
    if not raw:
        return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _html_response(status: int, body: str | None = None) -> web.Response:
    return web.Response(
        status=status,
        text=html_error_page(status) if body is None else body,
        content_type="text/html",
    )


def _drop(request: web.Request, record: RequestRecord) -> web.StreamResponse:
    """Close the connection without answering.

    The transport is aborted, so aiohttp's attempt to write the returned response fails with a
    ConnectionError, which it treats as a client disconnection (nothing is sent, nothing logged).
    """
    record.dropped = True
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=204)

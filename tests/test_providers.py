"""SuiteProvider against the fake server: suite ticket and token, per-corp clients through
get_corp_token, the command callback, provider errcodes, third-party rules, 代开发 apps, and no
secret in logs, reprs, errors or URLs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from wecom_async import (
    APIConnectionError,
    AuthorizedCorp,
    ClientClosedError,
    InvalidPermanentCodeError,
    InvalidRequestError,
    InvalidSuiteCredentialsError,
    RetryPolicy,
    SessionPool,
    SuiteAccessTokenError,
    SuiteProvider,
    SuiteTicketMissingError,
    ValidationError,
    WeComAPIError,
    WeComClient,
    error_class_for,
)
from wecom_async.callbacks import (
    CALLBACK_DISPATCHER,
    CallbackCrypto,
    CallbackEvent,
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    SuiteTicket,
    UnknownSuiteEvent,
    build_suite_event_xml,
    parse_suite_event,
)
from wecom_async.testing import FakeSuite, FakeWeCom, RedisServer

START, END = 1_800_000_000, 1_800_003_600


def make_provider(fake: FakeWeCom, suite: FakeSuite, **kwargs: object) -> SuiteProvider:
    return SuiteProvider(
        suite_id=suite.suite_id,
        suite_secret=suite.suite_secret,
        token=suite.token,
        encoding_aes_key=suite.encoding_aes_key,
        base_url=fake.base_url,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def suite(fake: FakeWeCom) -> FakeSuite:
    return fake.add_suite()


@pytest.fixture
async def provider(fake: FakeWeCom, suite: FakeSuite) -> AsyncIterator[SuiteProvider]:
    async with make_provider(fake, suite) as p:
        yield p


async def test_a_call_before_any_ticket_is_a_typed_error_and_sends_nothing(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    client = provider.client(auth.corp_id, auth.permanent_code)
    with pytest.raises(SuiteTicketMissingError, match="no suite ticket yet"):
        await client.schedules.get(["x"])
    assert fake.suite_token_calls == 0
    assert fake.corp_token_calls() == 0
    assert fake.calls("oa/schedule/get") == 0
    assert not provider.has_suite_ticket
    # Once the ticket is there, the same client works.
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    assert await client.schedules.get(["x"]) == []


async def test_corps_share_one_suite_token_and_one_pool_each_corp_its_token(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    auths = [fake.authorize_corp(suite.suite_id, notify=False) for _ in range(5)]
    clients = [provider.client(a.corp_id, a.permanent_code) for a in auths]
    assert all(
        provider.client(a.corp_id, a.permanent_code) is c
        for a, c in zip(auths, clients, strict=True)
    )
    assert len({id(c._core.pool) for c in clients}) == 1
    assert all(c.third_party for c in clients)

    async def add(client: WeComClient, auth_corp: str, n: int) -> str:
        cal_id = fake.default_cal_id(auth_corp)
        return await client.schedules.add(
            start_time=START, end_time=END, summary=f"{auth_corp}-{n}", cal_id=cal_id
        )

    # Concurrent first calls: 4 per corp, all waiting for the same tokens.
    ids = await asyncio.gather(
        *(add(c, a.corp_id, n) for a, c in zip(auths, clients, strict=True) for n in range(4))
    )
    assert len(set(ids)) == 20
    assert fake.suite_token_calls == 1
    assert provider.suite_tokens.fetches == 1
    for auth, client in zip(auths, clients, strict=True):
        assert fake.corp_token_calls(auth.corp_id) == 1
        assert client.tokens.fetches == 1
    # Each corp sees its own schedules only.
    for i, (auth, client) in enumerate(zip(auths, clients, strict=True)):
        mine = ids[i * 4 : i * 4 + 4]
        got = await client.schedules.get(ids)
        assert sorted(s.schedule_id for s in got) == sorted(mine)
        assert {s.summary.split("-")[0] for s in got if s.summary} == {auth.corp_id}


async def test_a_new_ticket_while_calls_run_changes_nothing_and_42009_refreshes_once(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    client = provider.client(auth.corp_id, auth.permanent_code)
    fake.faults.latency(0.2, path="oa/schedule/get")
    calls = [asyncio.ensure_future(client.schedules.get(["x"])) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert fake.calls("oa/schedule/get") >= 1  # in flight
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    assert await asyncio.gather(*calls) == [[], [], []]
    assert fake.suite_token_calls == 1
    assert fake.corp_token_calls() == 1
    # The suite token expires mid-run: the corp token fetch is answered 42009, the suite
    # token is fetched again once (with the new ticket) and the fetch resent.
    fake.faults.errcode(42009, path="service/get_corp_token")
    fake.invalidate_tokens(auth.corp_id)
    assert await asyncio.gather(*(client.schedules.get(["x"]) for _ in range(3))) == [[], [], []]
    assert fake.suite_token_calls == 2
    assert fake.corp_token_calls() == 3  # the first, the one answered 42009, its resend
    # A second 42009 right after the refresh is raised, typed: no loop.
    fake.faults.errcode(42009, times=2, path="service/get_corp_token")
    fake.invalidate_tokens(auth.corp_id)
    with pytest.raises(SuiteAccessTokenError) as caught:
        await client.schedules.get(["x"])
    assert caught.value.errcode == 42009
    assert fake.suite_token_calls == 3
    # 40082 (the suite token revoked) is handled the same way.
    fake.invalidate_suite_tokens(suite.suite_id)
    fake.invalidate_tokens(auth.corp_id)
    assert await client.schedules.get(["x"]) == []
    assert fake.suite_token_calls == 4


async def test_an_invalid_permanent_code_fails_fast_and_is_remembered(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    client = provider.client(auth.corp_id, "not-" + auth.permanent_code)
    with pytest.raises(InvalidPermanentCodeError) as caught:
        await client.schedules.get(["x"])
    assert caught.value.errcode == 40084
    with pytest.raises(InvalidPermanentCodeError):
        await client.schedules.get(["x"])
    assert fake.corp_token_calls() == 1  # no retry, and not asked again meanwhile
    # The corp cancels: its token is revoked (40014), the refetch answers 40084.
    good = provider.client(auth.corp_id, auth.permanent_code)
    assert good is not client
    assert await good.schedules.get(["x"]) == []
    fake.cancel_auth(suite.suite_id, auth.corp_id, notify=False)
    with pytest.raises(InvalidPermanentCodeError):
        await good.schedules.get(["x"])


async def test_a_wrong_suite_secret_or_stale_ticket_is_typed_and_a_new_ticket_clears_it(
    fake: FakeWeCom, suite: FakeSuite
) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    wrong = SuiteProvider(
        suite_id=suite.suite_id,
        suite_secret="wrong",
        token=suite.token,
        encoding_aes_key=suite.encoding_aes_key,
        base_url=fake.base_url,
        suite_ticket=fake.new_suite_ticket(suite.suite_id),
    )
    async with wrong:
        with pytest.raises(InvalidSuiteCredentialsError) as caught:
            await wrong.client(auth.corp_id, auth.permanent_code).schedules.get(["x"])
        assert caught.value.errcode == 40080
    async with make_provider(fake, suite, suite_ticket="stale") as provider:
        client = provider.client(auth.corp_id, auth.permanent_code)
        for _ in range(2):
            with pytest.raises(InvalidSuiteCredentialsError) as caught:
                await client.schedules.get(["x"])
            assert caught.value.errcode == 40085
        assert fake.suite_token_calls == 2  # the wrong secret's, and one for the stale ticket
        provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
        assert await client.schedules.get(["x"]) == []


async def test_third_party_add_without_cal_id_is_refused_with_nothing_sent(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    client = provider.client(auth.corp_id, auth.permanent_code)
    with pytest.raises(ValidationError) as caught:
        await client.schedules.add(start_time=START, end_time=END, summary="s", agentid=1000001)
    assert caught.value.paths == ("schedule.cal_id",)
    with pytest.raises(ValidationError):
        await client.with_options(timeout=5).schedules.add(start_time=START, end_time=END)
    assert fake.calls("oa/schedule/add") == 0
    assert fake.suite_token_calls == 0  # refused before even a token was needed
    # With cal_id (and the old multi-app suites' agentid) it is sent.
    cal_id = fake.default_cal_id(auth.corp_id)
    schedule_id = await client.schedules.add(
        start_time=START, end_time=END, cal_id=cal_id, agentid=1000001
    )
    assert schedule_id
    assert fake.calls("oa/schedule/add") == 1


async def test_own_app_add_without_cal_id_is_unchanged(client: WeComClient) -> None:
    assert not client.third_party
    assert await client.schedules.add(start_time=START, end_time=END, summary="s")


async def test_custom_developed_app_is_a_plain_client_with_the_permanent_code(
    fake: FakeWeCom,
) -> None:
    template = fake.add_suite(custom_app=True)
    auth = fake.authorize_corp(template.suite_id, notify=False)
    async with WeComClient(
        corp_id=auth.corp_id, corp_secret=auth.permanent_code, base_url=fake.base_url
    ) as plain:
        assert not plain.third_party
        assert await plain.schedules.add(start_time=START, end_time=END)  # no cal_id needed
    async with make_provider(fake, template) as provider:
        client = provider.custom_app_client(auth.corp_id, auth.permanent_code)
        assert provider.custom_app_client(auth.corp_id, auth.permanent_code) is client
        assert not client.third_party
        assert await client.schedules.add(start_time=START, end_time=END)
        assert fake.calls("gettoken") == 2
        assert fake.suite_token_calls == 0  # no ticket needed for gettoken
    assert client.closed


class Received:
    def __init__(self) -> None:
        self.corps: list[AuthorizedCorp] = []
        self.events: list[CallbackEvent] = []
        self.fail_once = False

    async def on_authorized(self, corp: AuthorizedCorp) -> None:
        if self.fail_once:
            self.fail_once = False
            raise RuntimeError("store down")
        self.corps.append(corp)

    async def on_event(self, event: CallbackEvent) -> None:
        self.events.append(event)


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/wecom/suite/callback"


async def test_the_command_callback_takes_tickets_and_authorisations(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    received = Received()
    app = provider.callback_app(on_authorized=received.on_authorized, on_event=received.on_event)
    dispatcher = app[CALLBACK_DISPATCHER]
    dispatcher.retry_delay = 0.0
    runner, url = await serve(app)
    try:
        fake.subscribe_suite_callbacks(url, suite_id=suite.suite_id, retry_delay=0.01)
        fake.push_suite_ticket(suite.suite_id)
        await fake.drain_callbacks()
        await dispatcher.drain()
        assert provider.has_suite_ticket
        # create_auth: the code is exchanged once, even when the store fails the first time.
        received.fail_once = True
        auth = fake.authorize_corp(suite.suite_id, state="s1")
        await fake.drain_callbacks()
        await dispatcher.drain()
        assert [c.corp_id for c in received.corps] == [auth.corp_id]
        corp = received.corps[0]
        assert corp.permanent_code == auth.permanent_code
        assert corp.agentid == auth.agentid
        assert "access_token" not in corp.raw
        assert fake.calls("service/get_permanent_code") == 1
        client = provider.client(corp.corp_id, corp.permanent_code)
        assert await client.schedules.get(["x"]) == []
        fake.change_auth(suite.suite_id, auth.corp_id, state="s2")
        fake.cancel_auth(suite.suite_id, auth.corp_id)
        await fake.drain_callbacks()
        await dispatcher.drain()
        kinds = [type(e) for e in received.events]
        assert kinds == [SuiteTicket, CreateAuth, ChangeAuth, CancelAuth]
        assert received.events[2] == ChangeAuth(
            to_user_name=suite.suite_id,
            create_time=received.events[2].create_time,
            auth_corp_id=auth.corp_id,
            state="s2",
        )
        # cancel_auth closed the corp's client: a typed error, nothing sent.
        sent = fake.calls()
        with pytest.raises(ClientClosedError):
            await client.schedules.get(["x"])
        assert fake.calls() == sent
        assert provider.client(corp.corp_id, corp.permanent_code) is not client
        assert not dispatcher.failed
    finally:
        await runner.cleanup()


async def test_unknown_info_types_are_kept_and_old_tickets_do_not_win(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    received = Received()
    app = provider.callback_app(on_authorized=received.on_authorized, on_event=received.on_event)
    runner, url = await serve(app)
    crypto = CallbackCrypto(
        token=suite.token, encoding_aes_key=suite.encoding_aes_key, receive_id=suite.suite_id
    )
    unknown = (
        f"<xml><SuiteId>{suite.suite_id}</SuiteId><InfoType>reset_permanent_code</InfoType>"
        "<TimeStamp>1700000000</TimeStamp><AuthCorpId>wwx</AuthCorpId></xml>"
    ).encode()
    newer = SuiteTicket(to_user_name=suite.suite_id, create_time=2000, suite_ticket="newer")
    older = SuiteTicket(to_user_name=suite.suite_id, create_time=1000, suite_ticket="older")
    try:
        async with aiohttp.ClientSession() as http:
            for n, xml in enumerate(
                (unknown, build_suite_event_xml(newer), build_suite_event_xml(older))
            ):
                query, body = crypto.encrypt_request(xml, timestamp="1700000000", nonce=f"n{n}")
                async with http.post(url, params=query, data=body) as resp:
                    assert resp.status == 200
                    assert await resp.text() == "success"
        await app[CALLBACK_DISPATCHER].drain()
    finally:
        await runner.cleanup()
    first = received.events[0]
    assert isinstance(first, UnknownSuiteEvent)
    assert first.info_type == "reset_permanent_code"
    assert first.get("AuthCorpId") == "wwx"
    assert first.xml == unknown
    assert provider._ticket == "newer"
    assert parse_suite_event(build_suite_event_xml(newer)) == newer


async def test_no_secret_in_logs_reprs_errors_or_urls(
    fake: FakeWeCom, suite: FakeSuite, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ticket = fake.new_suite_ticket(suite.suite_id)
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    texts: list[str] = []
    async with make_provider(fake, suite, suite_ticket=ticket, max_retries=0) as provider:
        client = provider.client(auth.corp_id, auth.permanent_code)
        # The connection drops under get_corp_token, whose URL holds the suite token.
        fake.faults.drop(path="service/get_corp_token")
        with pytest.raises(APIConnectionError) as caught:
            await client.schedules.get(["x"])
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__)]
        assert await client.schedules.get(["x"]) == []
        suite_token = provider.suite_tokens.cached()
        corp_token = client.tokens.cached()
        assert suite_token
        assert corp_token
        corp = await provider.get_permanent_code(fake.authorize_corp(suite.suite_id).auth_code)
        texts += [repr(provider), repr(client), repr(corp), repr(provider.suite_tokens)]
        texts += [repr(parse_suite_event(build_suite_event_xml(e))) for e in events(suite)]
    texts.append(caplog.text)
    text = "\n".join(texts)
    assert "service/get_corp_token" in text  # the errors are there, described by path
    for secret in (
        suite.suite_secret,
        ticket,
        auth.permanent_code,
        corp.permanent_code,
        suite_token,
        corp_token,
        "TICKET-SECRET",
        "CODE-SECRET",
    ):
        assert secret not in text


def events(suite: FakeSuite) -> list[SuiteTicket | CreateAuth]:
    return [
        SuiteTicket(to_user_name=suite.suite_id, create_time=1, suite_ticket="TICKET-SECRET"),
        CreateAuth(to_user_name=suite.suite_id, create_time=1, auth_code="CODE-SECRET"),
    ]


async def test_closing_the_provider_closes_its_clients(fake: FakeWeCom, suite: FakeSuite) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    provider = make_provider(fake, suite, suite_ticket=fake.new_suite_ticket(suite.suite_id))
    client = provider.client(auth.corp_id, auth.permanent_code)
    old = provider.client("wwother", "code")
    replaced = provider.client("wwother", "code2")
    assert replaced is not old
    await provider.close()
    assert client.closed
    assert old.closed
    assert replaced.closed
    with pytest.raises(ClientClosedError):
        provider.client(auth.corp_id, auth.permanent_code)
    with pytest.raises(ClientClosedError):
        await client.schedules.get(["x"])


def test_arguments_are_checked() -> None:
    with pytest.raises(ValidationError) as caught:
        SuiteProvider(suite_id="", suite_secret=1, token="t", encoding_aes_key="")  # type: ignore[arg-type]
    assert set(caught.value.paths) == {"suite_id", "suite_secret", "encoding_aes_key"}
    with pytest.raises(ValidationError) as caught:
        SuiteProvider(
            suite_id="s", suite_secret="x", token="t", encoding_aes_key="k", base_url="nope"
        )
    assert caught.value.paths == ("base_url",)


class TracedPool(SessionPool):
    """A pool whose session fails every request to a ``service/`` path with an aiohttp error
    that shows the URL (aiohttp does so for some errors): the error must be scrubbed."""

    def __init__(self) -> None:
        super().__init__()
        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(self._fail_showing_the_url)
        self.traced: aiohttp.ClientSession | None = None
        self._trace = trace

    async def _fail_showing_the_url(
        self, _: aiohttp.ClientSession, __: object, params: aiohttp.TraceRequestEndParams
    ) -> None:
        if "get_corp_token" in str(params.url):
            raise aiohttp.InvalidURL(params.url)

    def session(self) -> aiohttp.ClientSession:
        if self.traced is None:
            self.traced = aiohttp.ClientSession(trace_configs=[self._trace])
        return self.traced


async def test_an_error_showing_the_url_keeps_no_suite_token(
    fake: FakeWeCom, suite: FakeSuite
) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    pool = TracedPool()
    ticket = fake.new_suite_ticket(suite.suite_id)
    try:
        async with make_provider(
            fake, suite, suite_ticket=ticket, pool=pool, max_retries=0
        ) as provider:
            with pytest.raises(APIConnectionError) as caught:
                await provider.client(auth.corp_id, auth.permanent_code).schedules.get(["x"])
            suite_token = provider.suite_tokens.cached()
    finally:
        assert pool.traced is not None
        await pool.traced.close()
    assert suite_token
    assert "get_corp_token" in str(caught.value)
    error: BaseException | None = caught.value
    while error is not None:
        for secret in (suite_token, auth.permanent_code, ticket, suite.suite_secret):
            assert secret not in f"{error!s} {error!r} {error.args!r}", type(error)
        error = error.__cause__ or error.__context__


async def test_two_processes_share_the_suite_and_corp_tokens_through_redis(
    fake: FakeWeCom, suite: FakeSuite, redis_server: RedisServer
) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    ticket = fake.new_suite_ticket(suite.suite_id)
    providers = [
        make_provider(fake, suite, suite_ticket=ticket, redis=redis_server.url) for _ in range(2)
    ]
    try:
        for provider in providers:
            client = provider.client(auth.corp_id, auth.permanent_code)
            assert await client.schedules.get(["x"]) == []
            assert repr(client).endswith(f"redis={redis_server.url!r})")
    finally:
        for provider in providers:
            await provider.close()
    # The second "process" found both tokens in Redis.
    assert fake.suite_token_calls == 1
    assert fake.corp_token_calls() == 1
    assert providers[1].suite_tokens.fetches == 0


async def test_the_asgi_app_takes_the_ticket_too(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    received = Received()
    asgi = provider.callback_asgi(on_authorized=received.on_authorized)
    crypto = CallbackCrypto(
        token=suite.token, encoding_aes_key=suite.encoding_aes_key, receive_id=suite.suite_id
    )
    ticket = fake.new_suite_ticket(suite.suite_id)
    xml = build_suite_event_xml(
        SuiteTicket(to_user_name=suite.suite_id, create_time=1, suite_ticket=ticket)
    )
    query, body = crypto.encrypt_request(xml, timestamp="1", nonce="n")
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, object]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": "POST", "query_string": urlencode(query).encode()}
    await asgi(scope, receive, send)
    await asgi.dispatcher.drain()
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"success"
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    assert await provider.client(auth.corp_id, auth.permanent_code).schedules.get(["x"]) == []
    assert fake.suite_token_calls == 1


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (40080, InvalidSuiteCredentialsError),
        (40083, InvalidSuiteCredentialsError),
        (40085, InvalidSuiteCredentialsError),
        (40084, InvalidPermanentCodeError),
        (40082, SuiteAccessTokenError),
        (41022, SuiteAccessTokenError),
        (42009, SuiteAccessTokenError),
        (40078, InvalidRequestError),
        (41026, InvalidRequestError),
    ],
)
def test_provider_errcodes_are_registered(errcode: int, cls: type[WeComAPIError]) -> None:
    assert error_class_for(errcode) is cls
    # Failing fast: never retried by the policy.
    assert RetryPolicy().delay_for(cls(errcode, "", path="p"), 0, idempotent=True) is None


@pytest.mark.parametrize("api", ["v1", "v2"])
async def test_get_permanent_code_v1_and_v2(fake: FakeWeCom, suite: FakeSuite, api: str) -> None:
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    ticket = fake.new_suite_ticket(suite.suite_id)
    async with make_provider(fake, suite, suite_ticket=ticket, permanent_code_api=api) as provider:
        corp = await provider.get_permanent_code(auth.auth_code)
        assert (corp.corp_id, corp.permanent_code, corp.agentid) == (
            auth.corp_id,
            auth.permanent_code,
            auth.agentid,
        )
        assert corp.raw["permanent_code"] == auth.permanent_code
        assert fake.calls(f"service/{'v2/' if api == 'v2' else ''}get_permanent_code") == 1
        # An auth code works once: the second exchange is refused, typed.
        with pytest.raises(InvalidRequestError) as caught:
            await provider.get_permanent_code(auth.auth_code)
        assert caught.value.errcode == 40078


async def test_a_store_that_keeps_failing_loses_no_permanent_code(
    fake: FakeWeCom, suite: FakeSuite, provider: SuiteProvider
) -> None:
    received = Received()
    app = provider.callback_app(on_authorized=received.on_authorized)
    dispatcher = app[CALLBACK_DISPATCHER]
    dispatcher.retries = 0
    runner, url = await serve(app)
    try:
        provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
        fake.subscribe_suite_callbacks(url, suite_id=suite.suite_id)
        received.fail_once = True
        auth = fake.authorize_corp(suite.suite_id)
        await fake.drain_callbacks()
        await dispatcher.drain()
        assert len(dispatcher.failed) == 1
        assert received.corps == []
        assert dispatcher.retry_failed() == 1
        await dispatcher.drain()
    finally:
        await runner.cleanup()
    assert [c.permanent_code for c in received.corps] == [auth.permanent_code]
    assert fake.calls("service/get_permanent_code") == 1

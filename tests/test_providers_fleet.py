"""A service provider's fleet against the fake server, through the public API: one suite installed
in many corps, token calls counted, corps' data kept apart, cancelled authorisations, suite ticket
rotation while calls run, a suite token expiring mid-run, the third-party ``cal_id`` rule, and no
secret in the fake's log, reprs or the client's logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from wecom_async import (
    InvalidPermanentCodeError,
    SuiteProvider,
    ValidationError,
    WeComClient,
    WeComError,
)
from wecom_async.callbacks import CallbackEvent, SuiteTicket
from wecom_async.providers import AuthorizedCorp
from wecom_async.testing import FakeAuthorization, FakeClock, FakeSuite, FakeWeCom

T0 = 1_800_000_000
CORPS = 50
CONCURRENT = 20
GET_CORP_TOKEN = "service/get_corp_token"


class Gate:
    """The fake's ``sleep``: latency faults last until :meth:`open` (no real time involved)."""

    def __init__(self) -> None:
        self.waiting = 0
        self._open = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waiting += 1
        await self._open.wait()

    def open(self) -> None:
        self._open.set()


async def wait_until(condition: Callable[[], bool]) -> None:
    """Wait (event-loop turns, bounded generously) until *condition* holds."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not reached within 30 s")


def provider_for(fake: FakeWeCom, suite: FakeSuite, **kwargs: Any) -> SuiteProvider:
    return SuiteProvider(
        suite_id=suite.suite_id,
        suite_secret=suite.suite_secret,
        token=suite.token,
        encoding_aes_key=suite.encoding_aes_key,
        base_url=fake.base_url,
        **kwargs,
    )


async def add_own(client: WeComClient, corp_id: str, cal_id: str, n: int) -> list[str]:
    """*n* concurrent adds, each schedule's summary naming its corp."""
    return list(
        await asyncio.gather(
            *(
                client.schedules.add(
                    start_time=T0 + i * 3600,
                    end_time=T0 + i * 3600 + 1800,
                    summary=f"{corp_id}#{i}",
                    cal_id=cal_id,
                )
                for i in range(n)
            )
        )
    )


async def test_fifty_corps_token_calls_data_apart_and_cancelled_auth(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = FakeClock()
    async with FakeWeCom(clock=clock) as fake:
        suite = fake.add_suite()
        auths = [fake.authorize_corp(suite.suite_id, notify=False) for _ in range(CORPS)]
        async with provider_for(
            fake, suite, clock=clock, suite_ticket=fake.new_suite_ticket(suite.suite_id)
        ) as provider:
            clients = [provider.client(a.corp_id, a.permanent_code) for a in auths]
            assert provider.client(auths[0].corp_id, auths[0].permanent_code) is clients[0]
            # Every corp starts with CONCURRENT concurrent first calls (all need a token).
            ids = await asyncio.gather(
                *(
                    add_own(c, a.corp_id, fake.default_cal_id(a.corp_id), CONCURRENT)
                    for c, a in zip(clients, auths, strict=True)
                )
            )
            first_suite, first_corp = fake.suite_token_calls, fake.corp_token_calls()
            assert first_suite == 1
            assert provider.suite_tokens.fetches == 1
            assert [fake.corp_token_calls(a.corp_id) for a in auths] == [1] * CORPS
            assert [c.tokens.fetches for c in clients] == [1] * CORPS

            # Each corp's client sees only its own schedules, even asked for every ID.
            everything = [sid for corp_ids in ids for sid in corp_ids]
            for client, auth, own in zip(clients, auths, ids, strict=True):
                result = await client.schedules.get_many(everything)
                assert sorted(s.schedule_id for s in result.schedules) == sorted(own)
                assert {s.summary.split("#")[0] for s in result.schedules} == {auth.corp_id}
                assert fake.store.schedule_count(auth.corp_id) == CONCURRENT

            # A token lifetime later (with the ticket WeCom pushed meanwhile): one more of each.
            clock.advance(7200)
            provider.set_suite_ticket(fake.new_suite_ticket(suite.suite_id))
            await asyncio.gather(
                *(
                    c.schedules.get(own[:5])
                    for c, own in zip(clients, ids, strict=True)
                    for _ in range(CONCURRENT)
                )
            )
            assert fake.suite_token_calls == 2
            assert [fake.corp_token_calls(a.corp_id) for a in auths] == [2] * CORPS

            # The first corp uninstalls the app: its client fails, typed, the others go on.
            gone = auths[0]
            fake.cancel_auth(suite.suite_id, gone.corp_id, notify=False)
            for _ in range(2):
                with pytest.raises(InvalidPermanentCodeError) as caught:
                    await clients[0].schedules.get(ids[0][:1])
                assert caught.value.errcode == 40084
                assert gone.permanent_code not in f"{caught.value}{caught.value!r}"
            # refused once by get_corp_token, then remembered: no loop on the dead code
            assert fake.corp_token_calls(gone.corp_id) == 3
            assert fake.answered(40084, GET_CORP_TOKEN) == 1
            others = await asyncio.gather(
                *(c.schedules.get(o[:1]) for c, o in zip(clients[1:], ids[1:], strict=True))
            )
            assert all(len(found) == 1 for found in others)
            assert fake.suite_token_calls == 2
    with capsys.disabled():
        print(
            f"\n50-corp fleet: get_suite_token {first_suite} (then 2 after a token lifetime), "
            f"get_corp_token {first_corp} for {CORPS} corps x {CONCURRENT} concurrent first "
            f"calls (then {2 * CORPS}), add calls {CORPS * CONCURRENT}"
        )


class SuiteCallback:
    """The provider's command callback (``provider.callback_app``) served on loopback."""

    def __init__(self, provider: SuiteProvider) -> None:
        self.provider = provider
        self.tickets: list[str] = []
        self.authorized: list[AuthorizedCorp] = []
        self.events: list[CallbackEvent] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def on_authorized(self, corp: AuthorizedCorp) -> None:
        self.authorized.append(corp)

    async def on_event(self, event: CallbackEvent) -> None:
        self.events.append(event)
        if isinstance(event, SuiteTicket):
            self.tickets.append(event.suite_ticket)

    async def start(self) -> None:
        app = self.provider.callback_app(on_authorized=self.on_authorized, on_event=self.on_event)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/wecom/suite/callback"

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
async def gated_fake() -> AsyncIterator[tuple[FakeWeCom, FakeClock, Gate]]:
    clock, gate = FakeClock(), Gate()
    async with FakeWeCom(clock=clock, sleep=gate) as fake:
        try:
            yield fake, clock, gate
        finally:
            gate.open()


async def test_ticket_rotation_in_flight_and_suite_token_expiring_mid_run(
    gated_fake: tuple[FakeWeCom, FakeClock, Gate],
) -> None:
    fake, clock, gate = gated_fake
    suite = fake.add_suite()
    auths = [fake.authorize_corp(suite.suite_id, notify=False) for _ in range(10)]
    # The provider runs on real time: the fake's clock alone moves, so WeCom (the fake) finds
    # the tokens expired while the provider still trusts them (the reactive path: 42001, 42009).
    async with provider_for(fake, suite) as provider:
        callback = SuiteCallback(provider)
        await callback.start()
        try:
            fake.subscribe_suite_callbacks(callback.url, suite_id=suite.suite_id)
            first = fake.push_suite_ticket(suite.suite_id)
            await wait_until(lambda: callback.tickets == [first])
            clients = [provider.client(a.corp_id, a.permanent_code) for a in auths]
            cal_ids = [fake.default_cal_id(a.corp_id) for a in auths]
            own = await asyncio.gather(
                *(
                    add_own(c, a.corp_id, cal, 3)
                    for c, a, cal in zip(clients, auths, cal_ids, strict=True)
                )
            )
            assert fake.suite_token_calls == 1
            assert fake.corp_token_calls() == len(auths)

            # Calls held in flight by the fake while a new ticket arrives through the callback.
            fake.faults.latency(1.0, times=None, path="oa/schedule/get")
            in_flight = [
                asyncio.ensure_future(c.schedules.get(ids))
                for c, ids in zip(clients, own, strict=True)
                for _ in range(5)
            ]
            await wait_until(lambda: gate.waiting == len(in_flight))
            second = fake.push_suite_ticket(suite.suite_id)
            await wait_until(lambda: callback.tickets == [first, second])
            gate.open()
            results = await asyncio.gather(*in_flight)
            assert [sorted(s.schedule_id for s in r) for r in results] == [
                sorted(ids) for ids in own for _ in range(5)
            ]
            assert fake.suite_token_calls == 1  # the ticket is for the next suite token only
            assert fake.corp_token_calls() == len(auths)
            fake.faults.clear()

            # Every token expires on WeCom's side; WeCom pushed a fresh ticket meanwhile.
            clock.advance(7200)
            third = fake.push_suite_ticket(suite.suite_id)
            await wait_until(lambda: callback.tickets[-1:] == [third])
            results = await asyncio.gather(
                *(
                    c.schedules.get(ids)
                    for c, ids in zip(clients, own, strict=True)
                    for _ in range(5)
                )
            )
            assert all(len(r) == 3 for r in results)
            # the suite token was refreshed once, with the newest ticket, for all ten corps
            assert fake.suite_token_calls == 2
            assert fake.answered(0, "service/get_suite_token") == 2
            assert fake.answered(42009, GET_CORP_TOKEN) >= 1
            for auth in auths:
                # one token per corp at start; after expiry one refused (42009) at most, one issued
                assert fake.answered(0, GET_CORP_TOKEN, corp_id=auth.corp_id) == 2
                assert fake.corp_token_calls(auth.corp_id) <= 3
        finally:
            await callback.close()


async def test_third_party_add_without_cal_id_is_refused_with_nothing_sent() -> None:
    async with FakeWeCom() as fake:
        suite = fake.add_suite()
        custom = fake.add_suite(custom_app=True)
        auth = fake.authorize_corp(suite.suite_id, notify=False)
        made = fake.authorize_corp(custom.suite_id, notify=False)
        async with provider_for(
            fake, suite, suite_ticket=fake.new_suite_ticket(suite.suite_id)
        ) as provider:
            client = provider.client(auth.corp_id, auth.permanent_code)
            with pytest.raises(ValidationError) as caught:
                await client.schedules.add(start_time=T0, end_time=T0 + 3600, agentid=1000001)
            assert "cal_id" in str(caught.value)
            assert fake.requests == []  # not even a token was fetched
            # with cal_id (and the old suites' agentid) it goes through
            cal_id = fake.default_cal_id(auth.corp_id)
            await client.schedules.add(
                start_time=T0, end_time=T0 + 3600, cal_id=cal_id, agentid=1000001
            )
            assert fake.requests[-1].body is not None
            assert fake.requests[-1].body["agentid"] == 1000001
            # a custom-developed app (代开发) and the corp's own app keep today's behaviour
            custom_client = provider.custom_app_client(made.corp_id, made.permanent_code)
            await custom_client.schedules.add(start_time=T0, end_time=T0 + 3600)
        async with WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as own:
            await own.schedules.add(start_time=T0, end_time=T0 + 3600)
        assert fake.answered(40058) == 0
        assert fake.store.schedule_count(made.corp_id) == 1


async def test_no_provider_secret_in_fake_log_reprs_or_client_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    async with FakeWeCom(clock=clock) as fake:
        suite = fake.add_suite()
        async with provider_for(fake, suite) as provider:
            callback = SuiteCallback(provider)
            await callback.start()
            try:
                fake.subscribe_suite_callbacks(callback.url, suite_id=suite.suite_id)
                ticket = fake.push_suite_ticket(suite.suite_id)
                await wait_until(lambda: bool(callback.tickets))
                auth: FakeAuthorization = fake.authorize_corp(suite.suite_id, state="s")
                await wait_until(lambda: bool(callback.authorized))
                corp = callback.authorized[0]
                assert corp.corp_id == auth.corp_id
                assert corp.permanent_code == auth.permanent_code
                client = provider.client(corp.corp_id, corp.permanent_code)
                await client.schedules.add(
                    start_time=T0, end_time=T0 + 3600, cal_id=fake.default_cal_id(corp.corp_id)
                )
                corp_token = client.tokens.cached()
                suite_token = provider.suite_tokens.cached()
                fake.cancel_auth(suite.suite_id, corp.corp_id)
                await wait_until(lambda: len(callback.events) == 3)
                with pytest.raises(WeComError) as caught:
                    await client.schedules.get(["x"])
                texts = [
                    repr(fake.requests),
                    repr(fake),
                    repr(fake.suite(suite.suite_id)),
                    repr(auth),
                    repr(fake.callbacks.suite_subscriptions),
                    repr(provider),
                    repr(client),
                    repr(corp),
                    repr(callback.events),
                    f"{caught.value}{caught.value!r}",
                    caplog.text,
                ]
            finally:
                await callback.close()
    secrets = {
        "suite_secret": suite.suite_secret,
        "ticket": ticket,
        "permanent_code": auth.permanent_code,
        "auth_code": auth.auth_code,
        "suite_token": suite_token,
        "corp_token": corp_token,
        "encoding_aes_key": suite.encoding_aes_key,
    }
    assert all(secrets.values())
    assert "get_corp_token" in caplog.text or "corp" in caplog.text  # logging did happen
    for name, secret in secrets.items():
        for text in texts:
            assert secret is not None
            assert secret not in text, name

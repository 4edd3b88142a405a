"""The fake server's service-provider side, driven over raw HTTP: suite tokens, permanent codes,
corp tokens, their errcodes, per-corp data, the suite's encrypted command callback, and no
secret in the request log or reprs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from wecom_async.callbacks import CallbackCrypto
from wecom_async.callbacks._xml import parse_fields
from wecom_async.testing import FakeAuthorization, FakeClock, FakeSuite, FakeWeCom

JSON = dict[str, Any]
SCHEDULE = {"start_time": 1_800_000_000, "end_time": 1_800_003_600, "summary": "s"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def fake(clock: FakeClock) -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(clock=clock) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(
    http: aiohttp.ClientSession, fake: FakeWeCom, path: str, body: JSON, **query: str
) -> JSON:
    async with http.post(f"{fake.base_url}/cgi-bin/{path}", params=query, json=body) as resp:
        assert resp.status == 200
        answer: JSON = await resp.json()
        return answer


async def suite_token(http: aiohttp.ClientSession, fake: FakeWeCom, suite: FakeSuite) -> str:
    ticket = fake.new_suite_ticket(suite.suite_id)
    answer = await post(
        http,
        fake,
        "service/get_suite_token",
        {"suite_id": suite.suite_id, "suite_secret": suite.suite_secret, "suite_ticket": ticket},
    )
    assert answer["errcode"] == 0, answer
    token: str = answer["suite_access_token"]
    return token


async def corp_token(
    http: aiohttp.ClientSession, fake: FakeWeCom, stoken: str, auth: FakeAuthorization
) -> JSON:
    return await post(
        http,
        fake,
        "service/get_corp_token",
        {"auth_corpid": auth.corp_id, "permanent_code": auth.permanent_code},
        suite_access_token=stoken,
    )


async def test_get_suite_token_checks_and_reuses_the_token(
    http: aiohttp.ClientSession, fake: FakeWeCom, clock: FakeClock
) -> None:
    suite = fake.add_suite()
    ticket = fake.new_suite_ticket(suite.suite_id)
    good = {"suite_id": suite.suite_id, "suite_secret": suite.suite_secret, "suite_ticket": ticket}
    cases: list[tuple[JSON, int]] = [
        ({**good, "suite_id": ""}, 41021),
        ({**good, "suite_id": "wwnosuch"}, 40083),
        ({k: v for k, v in good.items() if k != "suite_secret"}, 41024),
        ({**good, "suite_secret": "wrong"}, 40080),
        ({k: v for k, v in good.items() if k != "suite_ticket"}, 41023),
        ({**good, "suite_ticket": "never-issued"}, 40085),
    ]
    for body, errcode in cases:
        answer = await post(http, fake, "service/get_suite_token", body)
        assert answer["errcode"] == errcode, (body.keys(), answer)
        assert "suite_access_token" not in answer
    first = await post(http, fake, "service/get_suite_token", good)
    assert first["errcode"] == 0
    assert first["expires_in"] == 7200
    # a newer ticket: the older one stays valid until its 1800 s are over; same token meanwhile
    clock.advance(1000)
    newer = fake.new_suite_ticket(suite.suite_id)
    again = await post(http, fake, "service/get_suite_token", good)
    assert again["suite_access_token"] == first["suite_access_token"]
    assert again["expires_in"] == 6200
    clock.advance(800)  # the first ticket is 1800 s old now
    assert (await post(http, fake, "service/get_suite_token", good))["errcode"] == 40085
    answer = await post(http, fake, "service/get_suite_token", {**good, "suite_ticket": newer})
    assert answer["errcode"] == 0
    assert fake.suite_token_calls == len(cases) + 4
    assert fake.requests[-1].suite_id == suite.suite_id


async def test_get_corp_token_errcodes_and_cancelled_authorisation(
    http: aiohttp.ClientSession, fake: FakeWeCom, clock: FakeClock
) -> None:
    suite, other = fake.add_suite(), fake.add_suite()
    auth = fake.authorize_corp(suite.suite_id)
    other_auth = fake.authorize_corp(other.suite_id, auth.corp_id)
    stoken = await suite_token(http, fake, suite)
    body = {"auth_corpid": auth.corp_id, "permanent_code": auth.permanent_code}
    path = "service/get_corp_token"
    assert (await post(http, fake, path, body))["errcode"] == 41022
    assert (await post(http, fake, path, body, suite_access_token="nope"))["errcode"] == 40082
    for wrong, errcode in [
        ({**body, "permanent_code": "wrong"}, 40084),
        ({**body, "permanent_code": other_auth.permanent_code}, 40084),  # another suite's code
        ({"permanent_code": auth.permanent_code}, 41002),
        ({"auth_corpid": auth.corp_id}, 41025),
    ]:
        answer = await post(http, fake, path, wrong, suite_access_token=stoken)
        assert answer["errcode"] == errcode
        assert "access_token" not in answer
    answer = await corp_token(http, fake, stoken, auth)
    assert answer["errcode"] == 0
    assert answer["expires_in"] == 7200
    token = answer["access_token"]
    assert (await corp_token(http, fake, stoken, auth))["access_token"] == token
    assert fake.corp_token_calls(auth.corp_id) == 7  # every call naming that corp
    assert fake.corp_token_calls() == 8

    add = {"schedule": {**SCHEDULE, "cal_id": fake.default_cal_id(auth.corp_id)}}
    assert (await post(http, fake, "oa/schedule/add", add, access_token=token))["errcode"] == 0
    fake.cancel_auth(suite.suite_id, auth.corp_id)
    assert (await post(http, fake, "oa/schedule/add", add, access_token=token))["errcode"] == 40014
    assert (await corp_token(http, fake, stoken, auth))["errcode"] == 40084
    # the other suite's authorisation of the same corp is untouched
    assert (await corp_token(http, fake, await suite_token(http, fake, other), other_auth))[
        "errcode"
    ] == 0

    fake.invalidate_suite_tokens(suite.suite_id)
    assert (await corp_token(http, fake, stoken, auth))["errcode"] == 40082
    stoken = await suite_token(http, fake, suite)
    clock.advance(7200)
    assert (await corp_token(http, fake, stoken, auth))["errcode"] == 42009


async def test_permanent_code_exchange_v1_and_v2_single_use(
    http: aiohttp.ClientSession, fake: FakeWeCom, clock: FakeClock
) -> None:
    suite = fake.add_suite()
    a, b, c = (fake.authorize_corp(suite.suite_id) for _ in range(3))
    stoken = await suite_token(http, fake, suite)
    v1 = await post(
        http,
        fake,
        "service/get_permanent_code",
        {"auth_code": a.auth_code},
        suite_access_token=stoken,
    )
    assert v1["errcode"] == 0
    assert v1["permanent_code"] == a.permanent_code
    assert v1["auth_corp_info"]["corpid"] == a.corp_id
    assert v1["auth_info"]["agent"][0]["agentid"] == a.agentid
    assert v1["access_token"] == (await corp_token(http, fake, stoken, a))["access_token"]
    assert fake.requests[-2].corp_id == a.corp_id
    again = await post(
        http,
        fake,
        "service/get_permanent_code",
        {"auth_code": a.auth_code},
        suite_access_token=stoken,
    )
    assert again["errcode"] == 40078  # used once already
    v2 = await post(
        http,
        fake,
        "service/v2/get_permanent_code",
        {"auth_code": b.auth_code},
        suite_access_token=stoken,
    )
    assert v2["errcode"] == 0
    assert v2["permanent_code"] == b.permanent_code
    assert "access_token" not in v2
    clock.advance(600)
    late = await post(
        http,
        fake,
        "service/get_permanent_code",
        {"auth_code": c.auth_code},
        suite_access_token=stoken,
    )
    assert late["errcode"] == 40078


async def test_corp_data_apart_and_third_party_cal_id_rule(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    suite = fake.add_suite()
    a, b = fake.authorize_corp(suite.suite_id), fake.authorize_corp(suite.suite_id)
    stoken = await suite_token(http, fake, suite)
    token_a = (await corp_token(http, fake, stoken, a))["access_token"]
    token_b = (await corp_token(http, fake, stoken, b))["access_token"]
    assert token_a != token_b
    cal_a = fake.default_cal_id(a.corp_id)
    no_cal = await post(http, fake, "oa/schedule/add", {"schedule": SCHEDULE}, access_token=token_a)
    assert no_cal["errcode"] == 40058
    assert "cal_id" in no_cal["errmsg"]
    added = await post(
        http,
        fake,
        "oa/schedule/add",
        {"schedule": {**SCHEDULE, "cal_id": cal_a}},
        access_token=token_a,
    )
    schedule_id = added["schedule_id"]
    assert fake.requests[-1].suite_id == suite.suite_id
    get = {"schedule_id_list": [schedule_id]}
    mine = await post(http, fake, "oa/schedule/get", get, access_token=token_a)
    assert [s["schedule_id"] for s in mine["schedule_list"]] == [schedule_id]
    theirs = await post(http, fake, "oa/schedule/get", get, access_token=token_b)
    assert theirs["errcode"] == 0
    assert theirs["schedule_list"] == []
    by_cal = await post(
        http, fake, "oa/schedule/get_by_calendar", {"cal_id": cal_a}, access_token=token_b
    )
    assert by_cal["errcode"] != 0
    assert fake.store.schedule_count(b.corp_id) == 0


async def test_own_app_custom_app_and_suite_tokens_are_distinct(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    suite = fake.add_suite()
    custom = fake.add_suite(custom_app=True)
    third = fake.authorize_corp(suite.suite_id, fake.corp_id)  # the fake's own corp installs it
    made = fake.authorize_corp(custom.suite_id)
    own = await get(http, fake, fake.corp_id, fake.corp_secret)
    stoken = await suite_token(http, fake, suite)
    via_suite = (await corp_token(http, fake, stoken, third))["access_token"]
    assert own["access_token"] != via_suite
    # 代开发: gettoken with the authorising corp and the permanent code as secret
    custom_token = await get(http, fake, made.corp_id, made.permanent_code)
    assert custom_token["errcode"] == 0
    assert (await get(http, fake, made.corp_id, "wrong"))["errcode"] == 40001
    # a third-party app's permanent code is no gettoken secret
    assert (await get(http, fake, third.corp_id, third.permanent_code))["errcode"] == 40001
    # a custom app may add without cal_id (default calendar): it is no third-party app
    answer = await post(
        http,
        fake,
        "oa/schedule/add",
        {"schedule": SCHEDULE},
        access_token=custom_token["access_token"],
    )
    assert answer["errcode"] == 0
    # cancelling the third-party app leaves the corp's own app working
    fake.cancel_auth(suite.suite_id, fake.corp_id)
    answer = await post(
        http, fake, "oa/schedule/add", {"schedule": SCHEDULE}, access_token=own["access_token"]
    )
    assert answer["errcode"] == 0


async def get(http: aiohttp.ClientSession, fake: FakeWeCom, corp_id: str, secret: str) -> JSON:
    params = {"corpid": corp_id, "corpsecret": secret}
    async with http.get(f"{fake.base_url}/cgi-bin/gettoken", params=params) as resp:
        answer: JSON = await resp.json()
        return answer


class SuiteReceiver:
    """Records the suite callback POSTs; answers ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.query), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200, text="success")

    def messages(self, suite: FakeSuite) -> list[dict[str, str]]:
        crypto = CallbackCrypto(
            token=suite.token, encoding_aes_key=suite.encoding_aes_key, receive_id=suite.suite_id
        )
        return [
            dict(
                parse_fields(
                    crypto.decrypt(
                        msg_signature=q["msg_signature"],
                        timestamp=q["timestamp"],
                        nonce=q["nonce"],
                        body=body,
                    )
                )
            )
            for q, body in self.requests
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[SuiteReceiver]:
    server = SuiteReceiver()
    app = web.Application()
    app.router.add_post("/suite", server.handle)
    server.runner = web.AppRunner(app, access_log=None)
    await server.runner.setup()
    site = web.TCPSite(server.runner, "127.0.0.1", 0)
    await site.start()
    host, port = server.runner.addresses[0][:2]
    server.url = f"http://{host}:{port}/suite"
    yield server
    await server.runner.cleanup()


async def instant(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_suite_callbacks_are_encrypted_info_type_messages(
    receiver: SuiteReceiver, clock: FakeClock
) -> None:
    async with FakeWeCom(clock=clock, sleep=instant) as fake:
        suite = fake.add_suite()
        fake.subscribe_suite_callbacks(receiver.url, suite_id=suite.suite_id, retries=2)
        receiver.statuses = [500, 503]  # the first message gets through on its third POST
        ticket = fake.push_suite_ticket(suite.suite_id)
        await fake.drain_callbacks()
        auth = fake.authorize_corp(suite.suite_id, state="from-install-link")
        await fake.drain_callbacks()
        fake.change_auth(suite.suite_id, auth.corp_id)
        await fake.drain_callbacks()
        fake.cancel_auth(suite.suite_id, auth.corp_id)
        await fake.drain_callbacks()
        assert fake.callbacks_sent == 4
        assert fake.callbacks_failed == 0
        subscription = fake.callbacks.suite_subscriptions[suite.suite_id]
        assert subscription.stats.retries == 2
    messages = receiver.messages(suite)
    assert len(messages) == 6
    messages = messages[2:]
    assert [m["InfoType"] for m in messages] == [
        "suite_ticket",
        "create_auth",
        "change_auth",
        "cancel_auth",
    ]
    assert all(m["SuiteId"] == suite.suite_id for m in messages)
    assert all(m["TimeStamp"] == str(int(clock.now)) for m in messages)
    assert messages[0]["SuiteTicket"] == ticket
    assert messages[1]["AuthCode"] == auth.auth_code
    assert messages[1]["State"] == "from-install-link"
    assert messages[2]["AuthCorpId"] == messages[3]["AuthCorpId"] == auth.corp_id
    # the outer XML names the suite as receiver
    assert (
        f"<ToUserName><![CDATA[{suite.suite_id}]]></ToUserName>".encode() in receiver.requests[0][1]
    )


async def test_no_provider_secret_in_the_request_log_or_reprs(
    http: aiohttp.ClientSession, fake: FakeWeCom
) -> None:
    suite = fake.add_suite()
    auth = fake.authorize_corp(suite.suite_id)
    stoken = await suite_token(http, fake, suite)
    await post(
        http,
        fake,
        "service/get_permanent_code",
        {"auth_code": auth.auth_code},
        suite_access_token=stoken,
    )
    token = (await corp_token(http, fake, stoken, auth))["access_token"]
    await post(
        http,
        fake,
        "oa/schedule/add",
        {"schedule": {**SCHEDULE, "cal_id": fake.default_cal_id(auth.corp_id)}},
        access_token=token,
    )
    secrets = [
        suite.suite_secret,
        suite.latest_ticket,
        suite.token,
        suite.encoding_aes_key,
        auth.permanent_code,
        auth.auth_code,
        stoken,
        token,
    ]
    assert all(secrets)
    log = (
        repr(fake.requests)
        + repr(fake)
        + repr(suite)
        + repr(auth)
        + repr(fake.suite(suite.suite_id))
    )
    assert fake.requests[0].body == {
        "suite_id": suite.suite_id,
        "suite_secret": "<hidden>",
        "suite_ticket": "<hidden>",
    }
    for secret in secrets:
        assert secret is not None
        assert secret not in log

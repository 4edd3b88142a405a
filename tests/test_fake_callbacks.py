"""The fake server's callbacks: which change sends which event, encrypted as WeCom does, retried,
duplicated, reordered, and never slowing the API call."""

from __future__ import annotations

import asyncio
import base64
import os
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from wecom_async import WeComClient
from wecom_async.callbacks import (
    CalendarEvent,
    CallbackCrypto,
    CallbackEvent,
    ScheduleEvent,
    parse_event,
)
from wecom_async.testing import FakeWeCom

TOKEN = "callback-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
T0 = 1_704_261_600


class Receiver:
    """A loopback HTTP server that records what it receives and answers ``statuses`` in turn
    (then 200), once ``gate`` is open (it is, unless a test clears it)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.query), body))
        await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="success")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/cb", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/cb"

    def events(self, corp_id: str) -> list[CallbackEvent]:
        crypto = CallbackCrypto(token=TOKEN, encoding_aes_key=AES_KEY, receive_id=corp_id)
        return [
            parse_event(
                crypto.decrypt(
                    msg_signature=query["msg_signature"],
                    timestamp=query["timestamp"],
                    nonce=query["nonce"],
                    body=body,
                )
            )
            for query, body in self.requests
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    server.gate.set()
    assert server.runner is not None
    await server.runner.cleanup()


def summary(events: list[CallbackEvent]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for event in events:
        if isinstance(event, ScheduleEvent):
            out[(event.event, event.schedule_id)] += 1
        else:
            assert isinstance(event, CalendarEvent)
            out[(event.event, event.cal_id)] += 1
    return out


async def test_each_change_through_the_api_posts_its_event(
    fake: FakeWeCom, client: WeComClient, receiver: Receiver
) -> None:
    subscription = fake.subscribe_callbacks(receiver.url, token=TOKEN, encoding_aes_key=AES_KEY)
    cal_id = (await client.calendars.add(summary="team", color="#FF3030")).cal_id
    a = await client.schedules.add(start_time=T0, end_time=T0 + 3600, cal_id=cal_id)
    b = await client.schedules.add(start_time=T0, end_time=T0 + 3600, cal_id=cal_id)
    await client.schedules.update(a, start_time=T0, end_time=T0 + 7200)
    await client.schedules.add_attendees(a, ["u1", "u2"])
    await client.schedules.remove_attendees(a, ["u1"])
    await client.schedules.delete(b)
    await client.schedules.get([a, b])  # reads send nothing
    await client.calendars.update(cal_id, summary="team 2", color="#FF3030")
    await client.calendars.delete(cal_id)
    await fake.drain_callbacks()
    events = receiver.events(fake.corp_id)
    assert summary(events) == Counter(
        {
            ("add_schedule", a): 1,
            ("add_schedule", b): 1,
            ("modify_schedule", a): 3,
            ("delete_schedule", b): 1,
            ("modify_calendar", cal_id): 1,
            ("delete_calendar", cal_id): 1,
        }
    )
    assert {e.to_user_name for e in events} == {fake.corp_id}
    assert all(isinstance(e, ScheduleEvent) and e.cal_id == cal_id for e in events[:6])
    assert fake.callbacks_sent == 8
    assert subscription.stats.posts == 8
    assert fake.callbacks_failed == 0


async def test_delivery_does_not_delay_the_api_answer(
    fake: FakeWeCom, client: WeComClient, receiver: Receiver
) -> None:
    receiver.gate.clear()  # the receiver does not answer until the API call was answered
    fake.subscribe_callbacks(receiver.url, token=TOKEN, encoding_aes_key=AES_KEY)
    await client.schedules.add(start_time=T0, end_time=T0 + 3600)
    assert fake.callbacks.pending == 1  # answered while the delivery is still running
    receiver.gate.set()
    await fake.drain_callbacks()
    assert fake.callbacks_sent == 1


async def test_failed_deliveries_are_retried_three_times_then_recorded(
    fake: FakeWeCom, client: WeComClient, receiver: Receiver
) -> None:
    subscription = fake.subscribe_callbacks(
        receiver.url, token=TOKEN, encoding_aes_key=AES_KEY, retry_delay=0.01
    )
    receiver.statuses = [500, 502]
    await client.schedules.add(start_time=T0, end_time=T0 + 3600)
    await fake.drain_callbacks()
    assert (subscription.stats.posts, subscription.stats.retries) == (3, 2)
    assert fake.callbacks_sent == 1
    receiver.statuses = [503] * 4
    schedule_id = await client.schedules.add(start_time=T0, end_time=T0 + 3600)
    await fake.drain_callbacks()
    assert subscription.stats.posts == 3 + 4
    assert fake.callbacks_failed == 1
    [failure] = subscription.failures
    assert failure.error == "HTTP 503"
    assert isinstance(failure.event, ScheduleEvent)
    assert failure.event.schedule_id == schedule_id


async def test_a_receiver_that_is_down_gets_retries_then_the_event_is_recorded(
    fake: FakeWeCom, client: WeComClient, receiver: Receiver
) -> None:
    assert receiver.runner is not None
    await receiver.runner.cleanup()  # nothing listens there any more
    subscription = fake.subscribe_callbacks(
        receiver.url, token=TOKEN, encoding_aes_key=AES_KEY, retry_delay=0.01
    )
    await client.schedules.add(start_time=T0, end_time=T0 + 3600)
    await fake.drain_callbacks()
    assert subscription.stats.posts == 4
    assert fake.callbacks_failed == 1
    assert "Connect" in subscription.failures[0].error


async def test_duplicates_and_reordering(receiver: Receiver) -> None:
    # The deliveries' random delays start once the 20 schedules are added: however slow the
    # machine, they overlap (and reorder the events) instead of each ending before the next add.
    added = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await added.wait()
        await asyncio.sleep(seconds)

    async with (
        FakeWeCom(sleep=sleep) as fake,
        WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client,
    ):
        subscription = fake.subscribe_callbacks(
            receiver.url,
            token=TOKEN,
            encoding_aes_key=AES_KEY,
            duplicate=1.0,
            max_delay=0.2,
            seed=3,
        )
        ids = [await client.schedules.add(start_time=T0, end_time=T0 + 3600) for _ in range(20)]
        added.set()
        await fake.drain_callbacks()
    assert subscription.stats.duplicates == 20
    bodies = Counter(body for _, body in receiver.requests)
    assert sorted(bodies.values()) == [2] * 20  # each event sent twice, identically
    arrived = list(dict.fromkeys(e.schedule_id for e in receiver.events(fake.corp_id)))  # type: ignore[attr-defined]
    assert sorted(arrived) == sorted(ids)
    assert arrived != ids  # the delays reordered them


async def test_closing_the_fake_cancels_and_records_deliveries(
    client: WeComClient, receiver: Receiver
) -> None:
    receiver.gate.clear()  # the delivery is still running when the fake closes
    async with FakeWeCom() as fake:
        subscription = fake.subscribe_callbacks(receiver.url, token=TOKEN, encoding_aes_key=AES_KEY)
        async with WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as own:
            await own.schedules.add(start_time=T0, end_time=T0 + 3600)
    assert fake.callbacks.pending == 0
    assert fake.callbacks_failed == 1
    assert "cancelled" in subscription.failures[0].error

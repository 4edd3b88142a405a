"""Callbacks from the fake server: the encrypted event POSTs WeCom sends after each change.

``fake.subscribe_callbacks(url, token=…, encoding_aes_key=…)`` makes the fake POST, after each
schedule or calendar change made through its API, the event WeCom would send, encrypted and
signed (``msg_signature``, ``timestamp``, ``nonce`` in the query string) with
:class:`wecom_async.callbacks.CallbackCrypto`. Deliveries run in background tasks owned by the
fake, so the API call that caused them is answered first.

Which change sends which event (assumptions: the docs list the events, not what triggers them):

* ``oa/schedule/add`` → ``add_schedule`` (the event of page 93651);
* ``update``, ``add_attendees``, ``del_attendees``, and ``del`` of some occurrences →
  ``modify_schedule``; an update that splits a recurring schedule also sends ``modify_schedule``
  for the new schedule;
* ``del`` that cancels the schedule → ``delete_schedule``;
* ``oa/calendar/update`` → ``modify_calendar``; ``oa/calendar/del`` → ``delete_calendar`` only
  (not one event per cancelled schedule); ``oa/calendar/add`` → nothing.

Like WeCom, a delivery that fails (connection error, no answer within ``timeout``, an HTTP
status other than 200) is retried ``retries`` times (3), ``retry_delay`` seconds apart; then it
is given up and recorded in ``failures``. Faults: ``duplicate`` (probability that an event is
delivered twice), ``max_delay`` (a random delay before each event's first attempt, which
reorders events). A receiver that is down is simply one that does not answer.

Service providers: ``fake.subscribe_suite_callbacks(url, suite_id=…)`` is a suite's command
callback (receive ID = suite ID, the suite's token and key); it gets the ``InfoType`` messages
(``suite_ticket``, ``create_auth``, ``change_auth``, ``cancel_auth``: :class:`SuiteMessage`)
with the same retries and faults.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs

from ._clock import Clock
from ._store import JSONObject, Store

if TYPE_CHECKING:
    from ..callbacks import CallbackCrypto, CallbackEvent
    from ._providers import SuiteMessage

__all__ = ["CallbackStats", "CallbackSubscription", "FailedCallback", "FakeCallbacks"]

Sleep = Callable[[float], Awaitable[Any]]

_SCHEDULE_WRITES = frozenset(
    {
        "oa/schedule/add",
        "oa/schedule/update",
        "oa/schedule/del",
        "oa/schedule/add_attendees",
        "oa/schedule/del_attendees",
    }
)
_CALENDAR_WRITES = frozenset({"oa/calendar/update", "oa/calendar/del"})


@attrs.frozen
class FailedCallback:
    """An event (or a suite's message) the fake gave up delivering, and the last error."""

    event: CallbackEvent | SuiteMessage
    error: str


@attrs.define
class CallbackStats:
    """Counters of one subscription."""

    #: Events emitted (one per change).
    events: int = 0
    #: Events delivered (answered 200), duplicates not counted again.
    delivered: int = 0
    #: Extra deliveries of an event (the ``duplicate`` fault).
    duplicates: int = 0
    #: HTTP POSTs made (retries and duplicates included).
    posts: int = 0
    #: POSTs that failed and were retried.
    retries: int = 0
    #: Events given up after the retries (see ``failures``).
    failed: int = 0


class CallbackSubscription:
    """Where one corp's events (or one suite's messages) go, how, and what happened to them.

    ``corp_id`` is the receive ID: the corp, or the suite ID of a suite's command callback.
    """

    def __init__(
        self,
        url: str,
        crypto: CallbackCrypto,
        corp_id: str,
        *,
        retries: int,
        retry_delay: float,
        timeout: float,
        duplicate: float,
        max_delay: float,
        seed: int | None,
        sleep: Sleep,
    ) -> None:
        self.url = url
        self.corp_id = corp_id
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        #: Probability that an event is delivered twice (set it any time).
        self.duplicate = duplicate
        #: Longest random delay before an event's first attempt (reorders events).
        self.max_delay = max_delay
        self.stats = CallbackStats()
        self.failures: list[FailedCallback] = []
        self._crypto = crypto
        self._random = random.Random(seed)
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<CallbackSubscription {self.url} corp={self.corp_id} {self.stats}>"

    async def deliver(self, event: CallbackEvent | SuiteMessage) -> None:
        from ..callbacks import build_event_xml
        from ._providers import SuiteMessage

        delay = self._random.uniform(0, self.max_delay) if self.max_delay else 0.0
        copies = 2 if self.duplicate and self._random.random() < self.duplicate else 1
        timestamp = str(int(event.create_time))
        xml = event.to_xml() if isinstance(event, SuiteMessage) else build_event_xml(event)
        query, body = self._crypto.encrypt_request(
            xml, timestamp=timestamp, nonce=secrets.token_hex(8)
        )
        try:
            if delay:
                await self._sleep(delay)
            await self._deliver(event, query, body, copies)
        except asyncio.CancelledError:
            self.stats.failed += 1
            self.failures.append(FailedCallback(event, "cancelled: the fake server was closed"))
            raise

    async def _deliver(
        self, event: CallbackEvent | SuiteMessage, query: dict[str, str], body: bytes, copies: int
    ) -> None:
        for copy in range(copies):
            if await self._post(event, query, body):
                if copy:
                    self.stats.duplicates += 1
                else:
                    self.stats.delivered += 1
            elif not copy:
                return  # given up (recorded); no duplicate of an undelivered event

    async def _post(
        self, event: CallbackEvent | SuiteMessage, query: dict[str, str], body: bytes
    ) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats.retries += 1
                await self._sleep(self.retry_delay)
            self.stats.posts += 1
            try:
                async with self._session.post(
                    self.url,
                    params=query,
                    data=body,
                    headers={"Content-Type": "text/xml"},
                ) as response:
                    await response.read()
                    if response.status == 200:
                        return True
                    error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
        self.stats.failed += 1
        self.failures.append(FailedCallback(event, error))
        return False

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class FakeCallbacks:
    """The fake's subscriptions and delivery tasks (``FakeWeCom`` owns one)."""

    def __init__(self, store: Store, clock: Clock, sleep: Sleep) -> None:
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self.subscriptions: dict[str, CallbackSubscription] = {}
        #: suite ID → the suite's command callback subscription.
        self.suite_subscriptions: dict[str, CallbackSubscription] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(
        self,
        url: str,
        *,
        corp_id: str,
        token: str,
        encoding_aes_key: str,
        retries: int,
        retry_delay: float,
        timeout: float,
        duplicate: float,
        max_delay: float,
        seed: int | None,
        suite: bool = False,
    ) -> CallbackSubscription:
        """Subscribe *url* for *corp_id*'s events, or (*suite*) for suite *corp_id*'s messages."""
        from ..callbacks import CallbackCrypto

        crypto = CallbackCrypto(token=token, encoding_aes_key=encoding_aes_key, receive_id=corp_id)
        subscription = CallbackSubscription(
            url,
            crypto,
            corp_id,
            retries=retries,
            retry_delay=retry_delay,
            timeout=timeout,
            duplicate=duplicate,
            max_delay=max_delay,
            seed=seed,
            sleep=self._sleep,
        )
        (self.suite_subscriptions if suite else self.subscriptions)[corp_id] = subscription
        return subscription

    def send_suite_message(self, message: SuiteMessage) -> bool:
        """Deliver *message* to its suite's command callback; False without a subscription."""
        subscription = self.suite_subscriptions.get(message.suite_id)
        if subscription is None:
            return False
        self._start(subscription, message)
        return True

    def _start(
        self, subscription: CallbackSubscription, event: CallbackEvent | SuiteMessage
    ) -> None:
        subscription.stats.events += 1
        task = asyncio.ensure_future(subscription.deliver(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def after_call(self, corp_id: str, path: str, body: JSONObject, result: JSONObject) -> None:
        """Send the events of a successful API call (no-op without a subscription)."""
        subscription = self.subscriptions.get(corp_id)
        if subscription is None or (path not in _SCHEDULE_WRITES and path not in _CALENDAR_WRITES):
            return
        for event in self._events(corp_id, path, body, result):
            self._start(subscription, event)

    def _events(
        self, corp_id: str, path: str, body: JSONObject, result: JSONObject
    ) -> list[CallbackEvent]:
        from ..callbacks import (
            CalendarDeleted,
            CalendarModified,
            ScheduleAdded,
            ScheduleDeleted,
            ScheduleModified,
        )

        common: dict[str, Any] = {
            "to_user_name": corp_id,
            "from_user_name": "sys",
            "create_time": int(self._clock()),
        }
        if path in _CALENDAR_WRITES:
            if path == "oa/calendar/del":
                return [CalendarDeleted(cal_id=body["cal_id"], **common)]
            return [CalendarModified(cal_id=body["calendar"]["cal_id"], **common)]
        if path == "oa/schedule/add":
            ids = [result["schedule_id"]]
        elif path == "oa/schedule/update":
            ids = list(dict.fromkeys([body["schedule"]["schedule_id"], result["schedule_id"]]))
        else:
            ids = [body["schedule_id"]]
        events: list[CallbackEvent] = []
        for schedule_id in ids:
            record = self._store.schedule_record(corp_id, schedule_id)
            assert record is not None  # the call succeeded on it
            cal_id = record.data["cal_id"]
            if path == "oa/schedule/add":
                events.append(ScheduleAdded(cal_id=cal_id, schedule_id=schedule_id, **common))
            elif path == "oa/schedule/del" and record.data["status"] == 1:
                events.append(ScheduleDeleted(cal_id=cal_id, schedule_id=schedule_id, **common))
            else:
                events.append(ScheduleModified(cal_id=cal_id, schedule_id=schedule_id, **common))
        return events

    def all_subscriptions(self) -> list[CallbackSubscription]:
        """The corps' subscriptions, then the suites'."""
        return [*self.subscriptions.values(), *self.suite_subscriptions.values()]

    @property
    def pending(self) -> int:
        """Deliveries still running."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every delivery started so far has ended (delivered or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def aclose(self) -> None:
        """Cancel the deliveries still running (each recorded as a failure) and close."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for subscription in self.all_subscriptions():
            await subscription.aclose()

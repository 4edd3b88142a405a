"""A fake WeCom (企业微信) server for tests: ``async with FakeWeCom() as fake: …``.

It listens on loopback and speaks the wire format of the real API (``/cgi-bin/gettoken``, the
schedule endpoints ``oa/schedule/add``, ``get``, ``update``, ``del``, ``add_attendees``,
``del_attendees``, ``get_by_calendar`` and the calendar endpoints ``oa/calendar/add``,
``update``, ``get``, ``del``), so this package's client and other WeCom SDKs can be pointed at
``fake.base_url`` with ``fake.corp_id``/``fake.corp_secret``.
Test knobs: the request log (``fake.requests``), token control, scripted and random faults
(``fake.faults``), quotas (45009) and a concurrency limit (45033) on an injectable clock, and
WeCom's encrypted callbacks after each change (``fake.subscribe_callbacks``).
Service providers: suites (``fake.add_suite``), suite tickets, authorised corps
(``fake.authorize_corp``, ``cancel_auth``), the ``service/get_suite_token``,
``get_permanent_code`` and ``get_corp_token`` endpoints and the suite's command callback
(``fake.subscribe_suite_callbacks``).

Run it standalone with ``python -m wecom_async.testing --port 8080``.

:class:`RedisServer` runs a throw-away ``redis-server`` on loopback, for tests of a fleet of
processes sharing their limits through Redis (``WeComClient(..., redis=server.url)``).
"""

from __future__ import annotations

from ._callbacks import CallbackStats, CallbackSubscription, FailedCallback
from ._clock import Clock, FakeClock
from ._context import Handler, HandlerContext
from ._errors import FakeAPIError
from ._faults import FaultProfile, Faults
from ._log import RequestRecord
from ._providers import FakeAuthorization, FakeSuite, SuiteMessage
from ._quota import Quota
from ._redis_server import RedisServer, RedisServerError
from ._server import FAKE_WECOM_KEY, FakeWeCom
from ._store import Store

__all__ = [
    "FAKE_WECOM_KEY",
    "CallbackStats",
    "CallbackSubscription",
    "Clock",
    "FailedCallback",
    "FakeAPIError",
    "FakeAuthorization",
    "FakeClock",
    "FakeSuite",
    "FakeWeCom",
    "FaultProfile",
    "Faults",
    "Handler",
    "HandlerContext",
    "Quota",
    "RedisServer",
    "RedisServerError",
    "RequestRecord",
    "Store",
    "SuiteMessage",
]

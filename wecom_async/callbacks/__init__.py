"""WeCom schedule/calendar callbacks: crypto, typed events, the receiver (aiohttp, ASGI, sans-I/O).

Needs the ``callbacks`` extra (``pip install 'wecom-async[callbacks]'``, for ``cryptography``);
``import wecom_async`` alone never imports it.
"""

from __future__ import annotations

try:
    import cryptography  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..errors import ExtraNotInstalledError

    raise ExtraNotInstalledError(
        "wecom_async.callbacks needs the 'callbacks' extra: pip install 'wecom-async[callbacks]'"
    ) from exc

from ..errors import CallbackPayloadError, CallbackVerificationError
from ._aiohttp import CALLBACK_DISPATCHER, CALLBACK_RECEIVER, callback_app
from ._asgi import CallbackASGIApp
from ._crypto import CallbackCrypto
from ._dispatch import CallbackDispatcher, EventHandler, FailedDelivery
from ._events import (
    CalendarDeleted,
    CalendarEvent,
    CalendarModified,
    CallbackEvent,
    ScheduleAdded,
    ScheduleDeleted,
    ScheduleEvent,
    ScheduleModified,
    ScheduleResponded,
    UnknownEvent,
    build_event_xml,
    parse_event,
)
from ._feed import (
    CalendarChange,
    FeedClosedError,
    FeedStats,
    ScheduleChange,
    ScheduleChangeFeed,
    reconcile,
)
from ._sansio import CallbackReceiver, CallbackResponse
from ._suite import (
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    SuiteEvent,
    SuiteTicket,
    UnknownSuiteEvent,
    build_suite_event_xml,
    parse_suite_event,
)
from ._xml import MAX_BODY_BYTES

__all__ = [
    "CALLBACK_DISPATCHER",
    "CALLBACK_RECEIVER",
    "MAX_BODY_BYTES",
    "CalendarChange",
    "CalendarDeleted",
    "CalendarEvent",
    "CalendarModified",
    "CallbackASGIApp",
    "CallbackCrypto",
    "CallbackDispatcher",
    "CallbackEvent",
    "CallbackPayloadError",
    "CallbackReceiver",
    "CallbackResponse",
    "CallbackVerificationError",
    "CancelAuth",
    "ChangeAuth",
    "CreateAuth",
    "EventHandler",
    "FailedDelivery",
    "FeedClosedError",
    "FeedStats",
    "ScheduleAdded",
    "ScheduleChange",
    "ScheduleChangeFeed",
    "ScheduleDeleted",
    "ScheduleEvent",
    "ScheduleModified",
    "ScheduleResponded",
    "SuiteEvent",
    "SuiteTicket",
    "UnknownEvent",
    "UnknownSuiteEvent",
    "build_event_xml",
    "build_suite_event_xml",
    "callback_app",
    "parse_event",
    "parse_suite_event",
    "reconcile",
]

"""Delivery of callback events to the user's handler, off the answer's path.

Each event runs ``on_event`` in its own task, started in arrival order, so a slow handler never
delays WeCom's answer. A handler that raises is retried (``retries`` times, with a doubling
delay); an event whose handler still fails is logged at ERROR with the event and kept in
:attr:`CallbackDispatcher.failed`: never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

import attrs

from .._logfields import fields
from ..errors import Problem, ValidationError
from ._events import CallbackEvent
from ._sansio import CallbackReceiver, CallbackResponse

__all__ = ["CallbackDispatcher", "EventHandler", "FailedDelivery", "respond"]

logger = logging.getLogger("wecom_async.callbacks")

#: What ``on_event`` is: an async function of one event.
EventHandler = Callable[[CallbackEvent], Awaitable[None]]


@attrs.frozen
class FailedDelivery:
    """An event whose handler failed every attempt (or that was pending at close)."""

    event: CallbackEvent
    error: BaseException


class CallbackDispatcher:
    """Runs ``on_event`` for each submitted event in the background, with retries.

    ``max_pending`` bounds the events in flight (running, or waiting to retry): at that bound
    :meth:`submit` refuses, and the receiver answers 503 so that WeCom delivers it again later.
    ``failed`` keeps the last ``max_failed`` failed deliveries (each is also logged at ERROR
    with the event). ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        on_event: EventHandler,
        *,
        retries: int = 3,
        retry_delay: float = 0.5,
        max_pending: int = 10_000,
        max_failed: int = 10_000,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        problems = []
        if not callable(on_event):
            problems.append(Problem("on_event", "must be an async function of one event"))
        if type(retries) is not int or retries < 0:
            problems.append(Problem("retries", "must be an int >= 0"))
        if (
            not isinstance(retry_delay, (int, float))
            or isinstance(retry_delay, bool)
            or not (retry_delay >= 0)
        ):
            problems.append(Problem("retry_delay", "must be a number >= 0 (seconds)"))
        for name, value in (("max_pending", max_pending), ("max_failed", max_failed)):
            if type(value) is not int or value < 1:
                problems.append(Problem(name, "must be an int >= 1"))
        if problems:
            raise ValidationError(problems, model="CallbackDispatcher")
        self._on_event = on_event
        self.retries = retries
        self.retry_delay = float(retry_delay)
        self.max_pending = max_pending
        self._sleep = sleep
        self._tasks: dict[asyncio.Task[None], CallbackEvent] = {}
        self._cancelled_at_close: set[asyncio.Task[None]] = set()
        self._closed = False
        #: Deliveries that failed every attempt, oldest first (bounded by ``max_failed``).
        self.failed: deque[FailedDelivery] = deque(maxlen=max_failed)
        #: Events whose handler returned (on some attempt).
        self.delivered = 0

    @property
    def pending(self) -> int:
        """Events in flight: handler running or waiting to retry."""
        return len(self._tasks)

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, event: CallbackEvent) -> bool:
        """Start delivering ``event``; False (nothing started) when closed or ``max_pending`` full.

        Call it from the event loop's thread, in a running loop.
        """
        if self._closed or len(self._tasks) >= self.max_pending:
            return False
        task = asyncio.get_running_loop().create_task(self._deliver(event))
        self._tasks[task] = event
        task.add_done_callback(self._done)
        return True

    async def _deliver(self, event: CallbackEvent) -> None:
        attempt = 0
        while True:
            try:
                await self._on_event(event)
            except Exception as exc:
                if attempt >= self.retries:
                    self._fail(event, exc, f"handler failed {attempt + 1} time(s)")
                    return
                delay = self.retry_delay * 2**attempt
                attempt += 1
                logger.warning(
                    "callback handler failed on %r (%s: %s); retry %d/%d in %.1f s",
                    event,
                    type(exc).__name__,
                    exc,
                    attempt,
                    self.retries,
                    delay,
                    extra=fields(retry=attempt),
                )
                await self._sleep(delay)
            else:
                self.delivered += 1
                return

    def _done(self, task: asyncio.Task[None]) -> None:
        event = self._tasks.pop(task)
        if task in self._cancelled_at_close:
            self._cancelled_at_close.discard(task)
        elif task.cancelled():
            # A CancelledError from the handler itself (we did not cancel it): not delivered.
            self._fail(event, asyncio.CancelledError("handler cancelled"), "handler cancelled")

    def _fail(self, event: CallbackEvent, error: BaseException, why: str) -> None:
        logger.error(
            "callback event NOT delivered (%s): %r", why, event, exc_info=error, extra=fields()
        )
        self.failed.append(FailedDelivery(event, error))

    def retry_failed(self) -> int:
        """Submit the events in :attr:`failed` again, oldest first; how many were resubmitted.

        Those that do not fit (``max_pending``, or closed) stay in :attr:`failed`.
        """
        resubmitted = 0
        while self.failed and self.submit(self.failed[0].event):
            self.failed.popleft()
            resubmitted += 1
        return resubmitted

    async def drain(self) -> None:
        """Wait until no event is in flight (including those submitted meanwhile)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def aclose(self, *, timeout: float | None = 30.0) -> None:
        """Refuse new events, wait up to ``timeout`` s for those in flight, then cancel the rest.

        A cancelled delivery is logged at ERROR and kept in :attr:`failed`, like a failed one.
        """
        self._closed = True
        if not self._tasks:
            return
        _, still = await asyncio.wait(list(self._tasks), timeout=timeout)
        for task, event in list(self._tasks.items()):  # in arrival order
            if task not in still:
                continue
            self._cancelled_at_close.add(task)
            task.cancel()
            self._fail(event, asyncio.CancelledError("receiver closed"), "still pending at close")
        if still:
            await asyncio.wait(still)


def respond(
    receiver: CallbackReceiver,
    dispatcher: CallbackDispatcher,
    method: str,
    query: Mapping[str, str],
    body: bytes,
) -> CallbackResponse:
    """The adapters' common step: the receiver's answer, its events handed to the dispatcher.

    An event the dispatcher refuses (closed, or ``max_pending`` in flight) is forgotten by the
    receiver and answered 503, so WeCom's redelivery is accepted later: nothing is lost here.
    """
    response = receiver.handle(method, query, body)
    for event in response.events:
        if not dispatcher.submit(event):
            receiver.forget(event)
            logger.warning(
                "callback answered 503 (%d events in flight, closed=%s); WeCom will redeliver %r",
                dispatcher.pending,
                dispatcher.closed,
                event,
                extra=fields(),
            )
            return CallbackResponse(503, (*response.headers, ("Retry-After", "1")), b"busy")
    return response

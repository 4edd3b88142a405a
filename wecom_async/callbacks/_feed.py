"""The change feed: callback events in, fetched schedules out, debounced and batched.

WeCom's callbacks only say *which* schedule or calendar changed. :class:`ScheduleChangeFeed`
collects those IDs and fetches them with the bulk fetcher (``schedule/get``, 1000 IDs a call),
so that a mirror receives whole schedules:

* **Debounced**: an ID waits ``debounce`` seconds from its first event; more events for it in
  that window join it (they cost no fetch). An event that arrives while its ID is being fetched
  opens a new window, so the last state yielded was always fetched after the last event.
* **Kinds**: ``"upserted"`` (a live schedule), ``"deleted"`` (cancelled, i.e. returned with
  status 1, or no longer returned by WeCom: then ``schedule`` is None), ``"failed"`` (fetching
  still failed after ``max_attempts``: ``error`` says why; the ID is handed over, never dropped).
  Calendar events give :class:`CalendarChange` (re-list that calendar, or drop it).
* **Bounded**: at most ``max_pending`` IDs wait; then :meth:`~ScheduleChangeFeed.put` waits
  (backpressure) and the oldest IDs are fetched before their window ends (a second after their
  first event at the earliest). Nothing is dropped.
* **Retried**: a chunk that fails after the client's own retries is tried again after
  ``retry_backoff`` seconds (doubling, at most ``max_backoff``); once the client is closed,
  its IDs are ``"failed"`` at once.
* **Interrupted**: leaving the ``async for``, or a timeout cancelling it, loses nothing: the
  next iteration goes on with what was not yielded.
* **Closing**: after :meth:`~ScheduleChangeFeed.close`, the iteration fetches every pending ID
  at once, finishes the retries, yields the rest and ends.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable, Iterable, MutableMapping
from contextlib import aclosing, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import attrs

from .._logfields import fields
from ..batching import DEFAULT_CONCURRENCY, ChunkFailure
from ..errors import ClientClosedError, WeComError
from ..models.schedule import MAX_IDS_PER_GET, Schedule
from ._events import CalendarDeleted, CalendarEvent, CallbackEvent, ScheduleEvent

if TYPE_CHECKING:
    from ..client import WeComClient

__all__ = [
    "CalendarChange",
    "FeedClosedError",
    "FeedStats",
    "ScheduleChange",
    "ScheduleChangeFeed",
    "reconcile",
]

_log = logging.getLogger("wecom_async.callbacks")

ChangeKind = Literal["upserted", "deleted", "failed"]
#: The resolution of an event's ``CreateTime`` (seconds).
_SAME_SECOND = 1.0
CalendarChangeKind = Literal["modified", "deleted"]


@attrs.frozen(slots=True)
class ScheduleChange:
    """One schedule's new state.

    ``kind`` is ``"upserted"`` (``schedule`` is the live schedule), ``"deleted"`` (``schedule``
    is the cancelled schedule, status 1, or None when WeCom no longer returns the ID) or
    ``"failed"`` (it could not be fetched: ``error`` says why; fetch it again later).
    ``cal_id`` is the schedule's calendar (from the event when nothing was fetched).
    """

    schedule_id: str
    cal_id: str
    kind: ChangeKind
    schedule: Schedule | None = None
    error: WeComError | None = None


@attrs.frozen(slots=True)
class CalendarChange:
    """A calendar changed (``"modified"``: re-list it if you mirror it) or was deleted
    (``"deleted"``: its schedules are cancelled with it)."""

    cal_id: str
    kind: CalendarChangeKind


Change = ScheduleChange | CalendarChange


class FeedClosedError(WeComError):
    """The feed was closed: it takes no more events (the event was not taken)."""


@attrs.define
class FeedStats:
    """Counters of a feed (for monitoring and tests)."""

    #: Events put (all kinds).
    events: int = 0
    #: Schedule events that joined an ID already waiting: they cost no fetch.
    folded: int = 0
    #: Events naming no schedule or calendar (unknown event types): logged, not fetched.
    ignored: int = 0
    #: IDs sent to schedule/get (a retried ID counts again).
    fetched_ids: int = 0
    #: schedule/get calls made, the client's retries included.
    fetch_calls: int = 0
    #: Chunk failures the feed retried itself.
    retries: int = 0
    upserted: int = 0
    deleted: int = 0
    failed: int = 0
    calendar_changes: int = 0
    #: Changes yielded by :meth:`ScheduleChangeFeed.reconcile`.
    reconciled: int = 0


class _Group:
    """IDs to retry at the same time (one failed chunk)."""

    __slots__ = ("due", "ids", "seq")

    def __init__(self, due: float, seq: int, ids: dict[str, str]) -> None:
        self.due = due
        self.seq = seq
        self.ids = ids

    def __lt__(self, other: _Group) -> bool:
        return (self.due, self.seq) < (other.due, other.seq)


class ScheduleChangeFeed:
    """Turn callback events into fetched schedule changes (see the module docstring).

    >>> async with ScheduleChangeFeed(client) as feed:  # doctest: +SKIP
    ...     app = callback_app(crypto, feed.put)       # events in
    ...     async for change in feed:                  # changes out
    ...         mirror.apply(change)

    Iterate it from one task; :meth:`put` may be called from any number of tasks. The
    iteration drives the fetching (nothing is fetched while nobody iterates: then events
    wait, and :meth:`put` waits once ``max_pending`` IDs do). It ends after :meth:`close`,
    once everything pending was yielded.

    Options: ``debounce`` (seconds an ID waits for more events, from its first one),
    ``max_pending`` (IDs and calendars waiting at most), ``chunk_size`` and ``concurrency``
    (passed to the bulk fetcher), ``max_attempts`` (fetches of a failing chunk before its IDs
    are yielded as ``"failed"``), ``retry_backoff`` and ``max_backoff`` (seconds between those
    attempts), ``clock`` (monotonic seconds; default the event loop's clock).
    """

    def __init__(
        self,
        client: WeComClient,
        *,
        debounce: float = 1.0,
        max_pending: int = 100_000,
        chunk_size: int = MAX_IDS_PER_GET,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = 5,
        retry_backoff: float = 1.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if debounce < 0:
            raise ValueError(f"debounce must be at least 0, got {debounce}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        if not 1 <= chunk_size <= MAX_IDS_PER_GET:
            raise ValueError(f"chunk_size must be within 1…{MAX_IDS_PER_GET}, got {chunk_size}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if retry_backoff < 0 or max_backoff < 0:
            raise ValueError("retry_backoff and max_backoff must be at least 0")
        self._client = client
        self.debounce = debounce
        self.max_pending = max_pending
        self._chunk_size = chunk_size
        self._concurrency = concurrency
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self.stats = FeedStats()
        # schedule ID -> (due, cal_id), in due order (every window is `debounce` long).
        self._pending: OrderedDict[str, tuple[float, str]] = OrderedDict()
        # cal_id -> (due, kind), in due order.
        self._calendars: OrderedDict[str, tuple[float, CalendarChangeKind]] = OrderedDict()
        # IDs waiting to be fetched again: ID -> cal_id, and their groups by due time.
        self._retrying: dict[str, str] = {}
        self._retry_heap: list[_Group] = []
        self._attempts: dict[str, int] = {}
        # Changes from reconcile(), waiting for the iteration.
        self._ready: deque[ScheduleChange] = deque()
        self._wake = asyncio.Event()
        self._space = asyncio.Event()
        self._seq = itertools.count()
        self._closed = False
        self._generator: AsyncGenerator[Change, None] | None = None
        # Entries due before this (clock) time are fetched now (see flush()).
        self._flush_due = float("-inf")

    def __repr__(self) -> str:
        return (
            f"<ScheduleChangeFeed pending={self.pending} debounce={self.debounce} "
            f"closed={self._closed}>"
        )

    # --- in -------------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Schedule IDs and calendars waiting (to be fetched, retried or yielded)."""
        return len(self._pending) + len(self._retrying) + len(self._calendars) + len(self._ready)

    @property
    def _full(self) -> bool:
        return self.pending >= self.max_pending

    @property
    def closed(self) -> bool:
        return self._closed

    async def put(self, event: CallbackEvent) -> None:
        """Take a callback event (the ``on_event`` of the receiver).

        Waits while ``max_pending`` IDs are waiting and the event's ID is not among them.
        Raises :class:`FeedClosedError` once the feed is closed.
        """
        if isinstance(event, ScheduleEvent):
            await self._put_schedule(event.schedule_id, event.cal_id)
        elif isinstance(event, CalendarEvent):
            kind: CalendarChangeKind = (
                "deleted" if isinstance(event, CalendarDeleted) else "modified"
            )
            await self._put_calendar(event.cal_id, kind)
        else:
            self._check_open()
            self.stats.events += 1
            self.stats.ignored += 1
            _log.info(
                "change feed: ignored %r (it names no schedule or calendar)", event, extra=fields()
            )

    def _check_open(self) -> None:
        if self._closed:
            raise FeedClosedError("the change feed is closed: it takes no more events")

    async def _wait_for_space(self, known: bool) -> None:
        while not known and self._full:
            self._check_open()
            self._space.clear()
            self._wake.set()  # the iteration fetches the oldest IDs early
            await self._space.wait()
        self._check_open()

    async def _put_schedule(self, schedule_id: str, cal_id: str) -> None:
        if not schedule_id:
            self._check_open()
            self.stats.events += 1
            self.stats.ignored += 1
            _log.warning(
                "change feed: ignored a schedule event without a ScheduleId", extra=fields()
            )
            return
        await self._wait_for_space(schedule_id in self._pending or schedule_id in self._retrying)
        self.stats.events += 1
        if schedule_id in self._pending or schedule_id in self._retrying:
            self.stats.folded += 1  # its window is open (or its retry is due later): joins it
            return
        self._pending[schedule_id] = (self._now() + self.debounce, cal_id)
        self._wake.set()

    async def _put_calendar(self, cal_id: str, kind: CalendarChangeKind) -> None:
        known = self._calendars.get(cal_id)
        await self._wait_for_space(known is not None)
        self.stats.events += 1
        known = self._calendars.get(cal_id)
        if known is not None:
            if kind == "deleted":  # a deletion wins over a modification
                self._calendars[cal_id] = (known[0], kind)
            return
        self._calendars[cal_id] = (self._now() + self.debounce, kind)
        self._wake.set()

    # --- lifecycle ------------------------------------------------------------------------------

    def flush(self) -> None:
        """End the window of everything pending now: it is fetched without waiting."""
        self._flush_due = self._now() + self.debounce
        self._wake.set()

    def close(self) -> None:
        """Take no more events; the iteration fetches what is pending now, yields it and ends."""
        self._closed = True
        self._wake.set()
        self._space.set()

    async def abandon(self) -> list[Change]:
        """Stop at once: close, and return what was not yielded instead of fetching it.

        Each schedule ID still waiting comes back as a ``"failed"`` change (``error`` is a
        :class:`FeedClosedError`), each calendar as its :class:`CalendarChange`, so that the
        caller can record them (e.g. fetch them at the next start). Call it once nothing
        iterates the feed (cancel the task that did first).
        """
        self.close()
        if self._generator is not None:
            await self._generator.aclose()  # a batch being fetched goes back to the pending IDs
        error = FeedClosedError("abandoned before it was fetched")
        left: list[Change] = list(self._ready)
        left += [CalendarChange(cal_id, kind) for cal_id, (_, kind) in self._calendars.items()]
        ids = {**{i: cal_id for i, (_, cal_id) in self._pending.items()}, **self._retrying}
        left += [ScheduleChange(i, cal_id, "failed", error=error) for i, cal_id in ids.items()]
        self.stats.failed += len(ids)
        self._ready.clear()
        self._calendars.clear()
        self._pending.clear()
        self._retrying.clear()
        self._retry_heap.clear()
        self._attempts.clear()
        return left

    async def __aenter__(self) -> ScheduleChangeFeed:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- out ------------------------------------------------------------------------------------

    def __aiter__(self) -> ScheduleChangeFeed:
        return self

    async def __anext__(self) -> Change:
        # One generator for the feed's life: leaving an `async for` and starting another one
        # goes on where the first stopped (a batch being fetched is not lost).
        generator = self._generator
        if generator is None:
            generator = self._generator = self._changes()
        try:
            return await anext(generator)
        except StopAsyncIteration:
            raise
        except BaseException:
            if getattr(generator, "ag_frame", None) is None:
                # The generator ended with it (e.g. a timeout cancelled the wait). Its state is
                # the feed's (a batch being fetched went back to the pending IDs): the next call
                # starts a new one, instead of ending the feed with IDs still waiting.
                self._generator = None
            raise

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def _changes(self) -> AsyncGenerator[Change, None]:
        while True:
            while self._ready:
                change = self._ready.popleft()
                self._space.set()
                yield change
            now = self._now()
            # One at a time: a calendar leaves the feed only as it is yielded (abandon() after
            # leaving the loop between two of them returns the rest).
            while (cal_change := self._due_calendar(now)) is not None:
                self.stats.calendar_changes += 1
                yield cal_change
            batch = self._due_schedules(now)
            if batch:
                async with aclosing(self._fetch(batch)) as fetched:
                    async for change in fetched:
                        yield change
                continue
            if self._ready:
                continue
            next_due = self._next_due()
            if next_due is None and self._closed:
                return
            self._wake.clear()
            timeout = None if next_due is None else max(0.0, next_due - self._now())
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _next_due(self) -> float | None:
        dues = []
        if self._pending:
            due = self._pending[next(iter(self._pending))][0]
            dues.append(due - self._early if self._full else due)
        if self._calendars:
            dues.append(self._calendars[next(iter(self._calendars))][0])
        if self._retry_heap:
            dues.append(self._retry_heap[0].due)
        if not dues:
            return None
        due = min(dues)
        if self._closed and (self._pending or self._calendars):
            return self._now()
        return self._now() if due <= self._flush_due else due

    @property
    def _early(self) -> float:
        """How long before its window ends a full feed may fetch an ID: not within a second of
        its first event. A second change in that second sends an event equal to the first
        (``CreateTime`` has a one-second resolution), which the receiver drops as a redelivery:
        a fetch in that second could miss it for good."""
        return self.debounce - min(self.debounce, _SAME_SECOND)

    def _due_calendar(self, now: float) -> CalendarChange | None:
        calendars = self._calendars
        if not calendars:
            return None
        cal_id = next(iter(calendars))
        when, kind = calendars[cal_id]
        if when > max(now, self._flush_due) and not self._closed and not self._full:
            return None
        del calendars[cal_id]
        self._space.set()
        return CalendarChange(cal_id, kind)

    def _due_schedules(self, now: float) -> dict[str, str]:
        """IDs to fetch now: due retries, then IDs whose window ended (all of them once
        closed, the oldest ones a second after their first event when the feed is full), one
        batch at most."""
        limit = self._chunk_size * self._concurrency
        batch: dict[str, str] = {}
        heap = self._retry_heap
        while heap and heap[0].due <= now and len(batch) < limit:
            group = heapq.heappop(heap)
            for schedule_id in group.ids:
                cal_id = self._retrying.pop(schedule_id, None)
                if cal_id is not None:
                    batch[schedule_id] = cal_id
        pending = self._pending
        until = max(now, self._flush_due)
        if self._full:
            until = max(until, now + self._early)
        while pending and len(batch) < limit:
            schedule_id = next(iter(pending))
            when, cal_id = pending[schedule_id]
            if when > until and not self._closed:
                break
            del pending[schedule_id]
            batch[schedule_id] = cal_id
        if batch:
            self._space.set()
        return batch

    async def _fetch(self, batch: dict[str, str]) -> AsyncGenerator[ScheduleChange, None]:
        stats = self.stats
        undelivered = dict(batch)
        stream = self._client.schedules.iter_many(
            list(batch),
            chunk_size=self._chunk_size,
            concurrency=self._concurrency,
            ordered=False,
            on_error="collect",
        )
        stats.fetched_ids += len(batch)
        calls_before = 0
        try:
            async with stream:
                async for chunk in stream.chunks():
                    calls = stream.progress().calls
                    stats.fetch_calls += calls - calls_before
                    calls_before = calls
                    for schedule in chunk.schedules:
                        schedule_id = schedule.schedule_id
                        self._attempts.pop(schedule_id, None)
                        del undelivered[schedule_id]
                        if schedule.is_cancelled:
                            stats.deleted += 1
                            yield ScheduleChange(schedule_id, schedule.cal_id, "deleted", schedule)
                        else:
                            stats.upserted += 1
                            yield ScheduleChange(schedule_id, schedule.cal_id, "upserted", schedule)
                    for schedule_id in chunk.missing:
                        self._attempts.pop(schedule_id, None)
                        stats.deleted += 1
                        yield ScheduleChange(schedule_id, undelivered.pop(schedule_id), "deleted")
                    if chunk.failure is not None:
                        for change in self._failed(chunk.failure, undelivered):
                            yield change
        finally:
            stats.fetch_calls += stream.progress().calls - calls_before
            if undelivered:
                # The iteration stopped mid-batch (or a failed ID waits for its retry): what
                # was not yielded is fetched again, first.
                self._requeue(undelivered)

    def _failed(
        self, failure: ChunkFailure, undelivered: dict[str, str]
    ) -> Iterable[ScheduleChange]:
        retry: dict[str, str] = {}
        # A closed client never fetches again, and a schedule too large alone never fits: their
        # IDs fail now, not after every backoff.
        final = isinstance(failure.error, ClientClosedError) or failure.too_large_alone
        for schedule_id in failure.ids:
            cal_id = undelivered[schedule_id]
            attempts = self._attempts.get(schedule_id, 0) + 1
            if attempts < self._max_attempts and not final:
                self._attempts[schedule_id] = attempts
                retry[schedule_id] = cal_id
                continue
            self._attempts.pop(schedule_id, None)
            del undelivered[schedule_id]
            self.stats.failed += 1
            yield ScheduleChange(schedule_id, cal_id, "failed", error=failure.error)
        if retry:
            self.stats.retries += 1
            attempt = max(self._attempts[i] for i in retry)
            delay = min(self._max_backoff, self._retry_backoff * 2 ** (attempt - 1))
            _log.warning(
                "change feed: fetching %d schedule(s) failed (%s: %s); retrying in %.1f s",
                len(retry),
                type(failure.error).__name__,
                failure.error,
                delay,
                extra=fields(),
            )
            for schedule_id in retry:
                del undelivered[schedule_id]
                # An event that came meanwhile joins the retry (fetched after it anyway).
                self._pending.pop(schedule_id, None)
                self._retrying[schedule_id] = retry[schedule_id]
            heapq.heappush(self._retry_heap, _Group(self._now() + delay, next(self._seq), retry))
            self._wake.set()

    def _requeue(self, ids: dict[str, str]) -> None:
        now = self._now()
        fresh = [(i, (now, c)) for i, c in ids.items() if i not in self._retrying]
        for schedule_id, _ in fresh:
            self._pending.pop(schedule_id, None)
        self._pending = OrderedDict([*fresh, *self._pending.items()])
        self._wake.set()

    # --- reconcile ------------------------------------------------------------------------------

    async def reconcile(
        self, cal_ids: Iterable[str], *, offsets: MutableMapping[str, int] | None = None
    ) -> MutableMapping[str, int]:
        """List ``cal_ids`` (see :func:`reconcile`) into this feed's iteration; return offsets.

        Waits while the feed holds ``max_pending`` items; raises :class:`FeedClosedError` if
        the feed is closed meanwhile (the offsets then stand after the last change taken).
        """
        offsets = {} if offsets is None else offsets
        async with aclosing(reconcile(self._client, cal_ids, offsets=offsets)) as changes:
            async for change in changes:
                await self._wait_for_space(False)
                self._ready.append(change)
                self.stats.reconciled += 1
                self._wake.set()
        return offsets


async def reconcile(
    client: WeComClient,
    cal_ids: Iterable[str],
    *,
    offsets: MutableMapping[str, int] | None = None,
) -> AsyncGenerator[ScheduleChange, None]:
    """Every schedule of ``cal_ids`` (calendars this app created), as changes.

    WeCom sends callbacks only for schedules this app created; schedules that people add to
    the app's calendars, and changes WeCom does not report, are only seen by listing the
    calendars (``schedule/get_by_calendar``). Each schedule comes as ``"upserted"``, or
    ``"deleted"`` when cancelled. ``offsets`` (cal_id → position, updated in place after each
    change is taken) makes it resumable: a calendar is listed from its saved offset, so only
    the schedules added since come (WeCom appends new ones). Pass no offsets, or 0, for a full
    re-list, which also sees changes to older schedules. Delivery is at least once: the change
    being handled when the loop stops comes again next time.
    """
    positions: MutableMapping[str, int] = {} if offsets is None else offsets
    for cal_id in cal_ids:
        listing = client.schedules.list_by_calendar(cal_id, offset=positions.get(cal_id, 0))
        async for schedule in listing:
            kind: ChangeKind = "deleted" if schedule.is_cancelled else "upserted"
            yield ScheduleChange(schedule.schedule_id, cal_id, kind, schedule)
            positions[cal_id] = listing.offset
        positions[cal_id] = listing.offset

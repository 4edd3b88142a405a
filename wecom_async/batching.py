"""Bulk fetching: any number of schedule IDs, in chunks, concurrently, nothing lost.

schedule/get takes at most 1000 IDs a call. :func:`iter_schedules` reads IDs from any iterable
or async iterable, drops duplicates and empty IDs, cuts chunks of up to ``chunk_size`` and keeps
at most ``concurrency`` chunks in flight (each call also goes through the client's rate limiter
and retry policy). Results come out chunk by chunk, in input order by default, so memory stays
flat however many IDs go in.

Every ID ends in exactly one place: a returned schedule, ``missing`` (WeCom did not return it),
or a failed chunk (after the retry policy gave up). With ``on_error="raise"`` (the default) the
first failure stops reading new IDs, the chunks already in flight are finished and delivered,
and :class:`BulkFetchError` then carries every failed chunk's IDs and cause. With
``on_error="collect"`` failures are recorded and the run goes on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Literal

import attrs

from .errors import WeComError
from .models.schedule import MAX_IDS_PER_GET, Schedule

if TYPE_CHECKING:
    from ._retry import CallStats
    from .client import TimeoutLike
    from .resources.schedules import Schedules

__all__ = [
    "BulkFetchError",
    "BulkProgress",
    "BulkResult",
    "ChunkFailure",
    "ChunkResult",
    "ScheduleStream",
]

#: Default chunks in flight at once: about WeCom's concurrency cap per API.
DEFAULT_CONCURRENCY = 8

OnError = Literal["raise", "collect"]
IDs = Iterable[str] | AsyncIterable[str]


@attrs.frozen(slots=True)
class ChunkFailure:
    """A chunk that still failed after retries: its IDs and why."""

    ids: tuple[str, ...]
    error: BaseException


@attrs.frozen(slots=True)
class ChunkResult:
    """One chunk's outcome: the schedules returned (in request order) and the IDs not returned."""

    ids: tuple[str, ...]
    schedules: tuple[Schedule, ...] = ()
    missing: tuple[str, ...] = ()
    failure: ChunkFailure | None = None


@attrs.frozen(slots=True)
class BulkProgress:
    """Where a bulk fetch stands; passed to the ``progress`` callback after each chunk."""

    chunks_done: int
    ids_done: int
    schedules: int
    missing: int
    failed_ids: int
    calls: int
    retries: int
    duplicates: int


@attrs.frozen(slots=True)
class BulkResult:
    """The outcome of :meth:`Schedules.get_many`.

    ``schedules`` are in first-seen input order, each once; ``missing`` are the IDs WeCom did not
    return; ``failures`` are chunks that failed after retries (only with ``on_error="collect"``).
    """

    schedules: list[Schedule]
    missing: list[str]
    failures: list[ChunkFailure]
    progress: BulkProgress

    @property
    def failed_ids(self) -> list[str]:
        return [i for f in self.failures for i in f.ids]


class BulkFetchError(WeComError):
    """Chunks failed after retries. Nothing is dropped silently:

    ``failures`` lists each failed chunk's IDs and cause (the first cause is also
    ``__cause__``), ``failed_ids`` all of them, and ``partial`` what was fetched (a
    :class:`BulkResult` from ``get_many``; None from a stream, which already yielded it).
    """

    def __init__(self, failures: list[ChunkFailure], *, partial: BulkResult | None = None) -> None:
        self.failures = failures
        self.partial = partial
        first = failures[0].error
        count = sum(len(f.ids) for f in failures)
        super().__init__(
            f"{len(failures)} chunk(s) of schedule/get failed after retries ({count} IDs); "
            f"first cause: {type(first).__name__}: {first}"
        )

    @property
    def failed_ids(self) -> list[str]:
        return [i for f in self.failures for i in f.ids]


class _Counters:
    __slots__ = (
        "chunks_done",
        "duplicates",
        "failed_ids",
        "ids_done",
        "missing",
        "schedules",
        "stats",
    )

    def __init__(self, stats: CallStats) -> None:
        self.stats = stats
        self.chunks_done = self.ids_done = self.schedules = self.missing = 0
        self.failed_ids = self.duplicates = 0

    def snapshot(self) -> BulkProgress:
        return BulkProgress(
            chunks_done=self.chunks_done,
            ids_done=self.ids_done,
            schedules=self.schedules,
            missing=self.missing,
            failed_ids=self.failed_ids,
            calls=self.stats.calls,
            retries=self.stats.retries,
            duplicates=self.duplicates,
        )


class ScheduleStream:
    """An async iterator of schedules from a bulk fetch (``client.schedules.iter_many``).

    Iterate it for :class:`Schedule` objects, or call :meth:`chunks` instead for
    :class:`ChunkResult` objects. While and after iterating, ``missing`` lists the IDs WeCom did
    not return, ``failures`` the failed chunks (``on_error="collect"``), and :meth:`progress`
    the counts. It can be iterated once.
    """

    def __init__(
        self,
        schedules: Schedules,
        ids: IDs,
        *,
        chunk_size: int,
        concurrency: int,
        ordered: bool,
        on_error: OnError,
        progress: Callable[[BulkProgress], None] | None,
        timeout: TimeoutLike | None,
        max_retries: int | None,
        stats: CallStats,
    ) -> None:
        if not 1 <= chunk_size <= MAX_IDS_PER_GET:
            raise ValueError(f"chunk_size must be within 1…{MAX_IDS_PER_GET}, got {chunk_size}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if on_error not in ("raise", "collect"):
            raise ValueError(f"on_error must be 'raise' or 'collect', got {on_error!r}")
        self._schedules = schedules
        self._ids = ids
        self._chunk_size = chunk_size
        self._concurrency = concurrency
        self._ordered = ordered
        self._on_error = on_error
        self._progress = progress
        self._timeout = timeout
        self._max_retries = max_retries
        self._stats = stats
        self._counters = _Counters(stats)
        self._started = False
        self.missing: list[str] = []
        self.failures: list[ChunkFailure] = []
        #: Most chunks that were in flight at once (for tests and tuning).
        self.peak_in_flight = 0

    def progress(self) -> BulkProgress:
        return self._counters.snapshot()

    def __aiter__(self) -> AsyncIterator[Schedule]:
        return self._schedules_iter()

    async def _schedules_iter(self) -> AsyncIterator[Schedule]:
        async for chunk in self.chunks():
            for schedule in chunk.schedules:
                yield schedule

    async def chunks(self) -> AsyncIterator[ChunkResult]:
        """The fetch chunk by chunk; raises :class:`BulkFetchError` at the end on failures."""
        if self._started:
            raise RuntimeError("a ScheduleStream can be iterated once")
        self._started = True
        in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]]
        in_flight = deque() if self._ordered else set()
        source = _chunked(self._ids, self._chunk_size, self._counters)
        try:
            async for chunk_ids in source:
                task = asyncio.ensure_future(self._fetch(chunk_ids))
                if isinstance(in_flight, deque):
                    in_flight.append(task)
                else:
                    in_flight.add(task)
                self.peak_in_flight = max(self.peak_in_flight, len(in_flight))
                while len(in_flight) >= self._concurrency:
                    yield await self._next_done(in_flight)
                if self.failures and self._on_error == "raise":
                    break
            while in_flight:
                yield await self._next_done(in_flight)
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            await _aclose(source)
        if self.failures and self._on_error == "raise":
            raise BulkFetchError(self.failures) from self.failures[0].error

    async def _next_done(
        self, in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]]
    ) -> ChunkResult:
        if isinstance(in_flight, deque):
            result = await in_flight[0]
            in_flight.popleft()
        else:
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            task = done.pop()
            in_flight.discard(task)
            result = task.result()
        self._account(result)
        return result

    def _account(self, result: ChunkResult) -> None:
        counters = self._counters
        counters.chunks_done += 1
        counters.ids_done += len(result.ids)
        counters.schedules += len(result.schedules)
        counters.missing += len(result.missing)
        self.missing.extend(result.missing)
        if result.failure is not None:
            counters.failed_ids += len(result.failure.ids)
            self.failures.append(result.failure)
        if self._progress is not None:
            self._progress(counters.snapshot())

    async def _fetch(self, ids: tuple[str, ...]) -> ChunkResult:
        # An empty ID would make WeCom reject the whole call: it is reported missing instead.
        sendable = tuple(i for i in ids if i)
        if not sendable:
            return ChunkResult(ids, missing=ids)
        try:
            found = await self._schedules._get_chunk(
                sendable, timeout=self._timeout, max_retries=self._max_retries, stats=self._stats
            )
        except (WeComError, asyncio.TimeoutError) as exc:
            unsendable = tuple(i for i in ids if not i)
            return ChunkResult(ids, missing=unsendable, failure=ChunkFailure(sendable, exc))
        by_id = {s.schedule_id: s for s in found}
        ordered = tuple(by_id[i] for i in ids if i in by_id)
        missing = tuple(i for i in ids if i not in by_id)
        return ChunkResult(ids, ordered, missing)


async def _chunked(ids: IDs, size: int, counters: _Counters) -> AsyncIterator[tuple[str, ...]]:
    """Chunks of distinct IDs, from a sync or async iterable."""
    seen: set[str] = set()
    chunk: list[str] = []

    def take(schedule_id: str) -> bool:
        if schedule_id in seen:
            counters.duplicates += 1
            return False
        seen.add(schedule_id)
        chunk.append(schedule_id)
        return len(chunk) >= size

    if isinstance(ids, AsyncIterable):
        async for schedule_id in ids:
            if take(schedule_id):
                yield tuple(chunk)
                chunk.clear()
    else:
        for schedule_id in ids:
            if take(schedule_id):
                yield tuple(chunk)
                chunk.clear()
                # Let the fetches run between chunks even when the source never awaits.
                await asyncio.sleep(0)
    if chunk:
        yield tuple(chunk)


async def _aclose(generator: AsyncIterator[tuple[str, ...]]) -> None:
    aclose = getattr(generator, "aclose", None)
    if aclose is not None:
        await aclose()

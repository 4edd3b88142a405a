"""Bulk fetching: any number of schedule IDs, in chunks, concurrently, nothing lost.

schedule/get takes at most 1000 IDs a call. :func:`iter_schedules` reads IDs from any iterable
or async iterable, drops duplicates and empty IDs, cuts chunks of up to ``chunk_size`` and
fetches at most ``concurrency`` chunks at once (each call also goes through the client's rate
limiter and retry policy). Results come out chunk by chunk, in input order by default, so
memory stays flat however many IDs go in (the IDs seen are kept compactly: see
:class:`_Seen`). In input order, a chunk that finished before an earlier one is held until
its turn (at most ``concurrency`` of them), and fetching goes on meanwhile: one slow chunk does
not stall the others.

Every ID ends in exactly one place: a returned schedule, ``missing`` (WeCom did not return it),
or a failed chunk (after the retry policy gave up), whatever the chunk raised: an exception that
is not a :class:`WeComError` is wrapped in :class:`UnexpectedError`. (An exception from the
``progress`` callback is the caller's own: it propagates unchanged and ends the run.) Once the
client is closed, every chunk not yet fetched fails at once with :class:`ClientClosedError`.
With ``on_error="raise"`` (the default) the first failure stops reading new IDs, the chunks
already in flight are finished and delivered, and :class:`BulkFetchError` then carries every
failed chunk's IDs and cause. With ``on_error="collect"`` failures are recorded and the run
goes on.
"""

from __future__ import annotations

import asyncio
import binascii
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import nullcontext
from itertools import islice
from operator import attrgetter
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .errors import ClientClosedError, ResponseTooLargeError, UnexpectedError, WeComError
from .models._common import reject_str
from .models.schedule import MAX_IDS_PER_GET, Schedule

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from ._retry import CallStats
    from ._telemetry import Telemetry
    from .client import TimeoutLike
    from .resources.schedules import Schedules

#: The path of a bulk fetch's calls (``resources.schedules.PATH_GET``, not imported at run time).
_PATH_GET = "oa/schedule/get"

__all__ = [
    "BulkFetchError",
    "BulkProgress",
    "BulkResult",
    "ChunkFailure",
    "ChunkResult",
    "ScheduleStream",
]

#: Default chunks being fetched at once. Above the rate limiter's default cap of 10 requests in
#: flight (about WeCom's concurrency limit per API): the others wait at the limiter, ready to
#: take a freed slot at once while the answer that freed it is decoded. (With 8, at 50 ms per
#: call, a 100,000-ID fetch took 0.98 s; with 16, 0.62–0.71 s.)
DEFAULT_CONCURRENCY = 16

OnError = Literal["raise", "collect"]
IDs = Iterable[str] | AsyncIterable[str]


@attrs.frozen(slots=True)
class ChunkFailure:
    """A chunk that still failed after retries: its IDs and why."""

    ids: tuple[str, ...]
    error: WeComError

    @property
    def too_large_alone(self) -> bool:
        """One schedule whose answer alone is over ``max_response_bytes`` (a bulk fetch splits
        chunks down to such an ID): fetching it again can only fail the same way."""
        return isinstance(self.error, ResponseTooLargeError) and len(self.ids) == 1


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
    #: Chunks cut in two because an answer was over ``max_response_bytes`` (see ``_get_parts``).
    splits: int = 0


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
    """A bulk fetch could not finish. Nothing is dropped silently:

    ``failures`` lists each chunk that failed after retries, with its IDs and cause;
    ``failed_ids`` has all of them. ``source_error`` is set when reading the IDs themselves
    failed (the IDs read before it were still fetched). ``partial`` is what was fetched (a
    :class:`BulkResult` from ``get_many``; None from a stream, which already yielded it). The
    first cause is also ``__cause__``.
    """

    def __init__(
        self,
        failures: list[ChunkFailure],
        *,
        source_error: BaseException | None = None,
        partial: BulkResult | None = None,
    ) -> None:
        self.failures = failures
        self.source_error = source_error
        self.partial = partial
        parts = []
        if source_error is not None:
            parts.append(f"reading the IDs failed: {type(source_error).__name__}: {source_error}")
        if failures:
            first = failures[0].error
            count = sum(len(f.ids) for f in failures)
            parts.append(
                f"{len(failures)} chunk(s) of schedule/get failed after retries ({count} IDs); "
                f"first cause: {type(first).__name__}: {first}"
            )
        super().__init__("; ".join(parts))

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_bulk_error, (self.failures, self.source_error, self.partial))

    @property
    def failed_ids(self) -> list[str]:
        return [i for f in self.failures for i in f.ids]


def _rebuild_bulk_error(
    failures: list[ChunkFailure], source_error: BaseException | None, partial: BulkResult | None
) -> BulkFetchError:
    return BulkFetchError(failures, source_error=source_error, partial=partial)


class _Counters:
    __slots__ = (
        "chunks_done",
        "duplicates",
        "failed_ids",
        "ids_done",
        "missing",
        "schedules",
        "splits",
        "stats",
    )

    def __init__(self, stats: CallStats) -> None:
        self.stats = stats
        self.chunks_done = self.ids_done = self.schedules = self.missing = 0
        self.failed_ids = self.duplicates = self.splits = 0

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
            splits=self.splits,
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
        reject_str("schedule_ids", ids)
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
        self._generator: AsyncGenerator[ChunkResult, None] | None = None
        #: With OpenTelemetry: the bulk fetch's span, parent of its calls' spans.
        #: Set when iteration starts, if telemetry records by then.
        self._telemetry: Telemetry | None = None
        self._span: Span | None = None
        # Set when the run ends: from then on, chunks are cancelled on purpose.
        self._stopping = False
        # Set once a schedule was too large alone: no more splitting (see _get_parts).
        self._oversized = False
        self.missing: list[str] = []
        self.failures: list[ChunkFailure] = []
        #: Most chunks that were in flight at once (for tests and tuning).
        self.peak_in_flight = 0

    def progress(self) -> BulkProgress:
        return self._counters.snapshot()

    def __aiter__(self) -> AsyncIterator[Schedule]:
        return self._schedules_iter()

    async def __aenter__(self) -> ScheduleStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: cancel the chunks in flight and release their limiter slots.

        ``async with client.schedules.iter_many(ids) as stream:`` calls it on leaving, so that
        breaking out of the loop does not leave calls running until garbage collection.
        """
        generator = self._generator
        if generator is not None:
            await generator.aclose()

    async def _schedules_iter(self) -> AsyncIterator[Schedule]:
        async for chunk in self.chunks():
            for schedule in chunk.schedules:
                yield schedule

    def chunks(self) -> AsyncIterator[ChunkResult]:
        """The fetch chunk by chunk, as :class:`ChunkResult` objects.

        At the end it raises :class:`BulkFetchError` if a chunk failed (``on_error="raise"``)
        or reading the IDs failed; the chunks in flight at that moment are delivered first.
        """
        if self._generator is not None:
            raise RuntimeError("a ScheduleStream can be iterated once")
        telemetry = self._schedules._client._core.telemetry
        if telemetry is not None and telemetry.enabled():
            # Decided now, not when the stream was made: an SDK may have been set up since.
            self._telemetry = telemetry
            self._generator = self._run_traced()
        else:
            self._generator = self._run()
        return self._generator

    async def _run_traced(self) -> AsyncGenerator[ChunkResult, None]:
        """:meth:`_run` in a span (``wecom bulk <path>``) over the spans of its calls."""
        assert self._telemetry is not None
        self._span = span = self._telemetry.start_bulk(_PATH_GET, f"bulk {_PATH_GET}")
        error: str | None = None
        run = self._run()
        try:
            async for result in run:
                yield result
        except GeneratorExit:
            raise  # the caller stopped early: not a failure
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            # Left early (aclose): the run stops its chunks now, not at garbage collection.
            await run.aclose()
            counters = self._counters
            if error is None and self.failures:
                error = BulkFetchError.__name__  # on_error="collect": failed, not raised
            self._telemetry.end_bulk(
                span,
                ids=counters.ids_done,
                chunks=counters.chunks_done,
                failed_ids=counters.failed_ids,
                splits=counters.splits,
                error=error,
            )

    async def _run(self) -> AsyncGenerator[ChunkResult, None]:
        ordered = self._ordered
        in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]]
        in_flight = deque() if ordered else set()
        # Ordered: finished chunks wait for the earlier ones, at most `concurrency` of them, so
        # that one slow chunk does not stop the others from being fetched.
        held_at_most = 2 * self._concurrency if ordered else self._concurrency
        source = _chunked(self._ids, self._chunk_size, self._counters)
        next_chunk: asyncio.Task[tuple[str, ...]] | None = None
        source_done = False
        source_error: Exception | None = None
        stop_on_failure = self._on_error == "raise"
        try:
            while not (self.failures and stop_on_failure):
                if in_flight and _first_done(in_flight):
                    yield self._pop_done(in_flight)
                    continue
                running = [task for task in in_flight if not task.done()]
                if (
                    next_chunk is None
                    and not source_done
                    and len(running) < self._concurrency
                    and len(in_flight) < held_at_most
                ):
                    next_chunk = asyncio.ensure_future(_next(source))
                waits: set[asyncio.Future[Any]] = set(running)
                if next_chunk is not None:
                    waits.add(next_chunk)
                if not waits:
                    break  # the source is done and everything was delivered
                # Any chunk finishing frees a place for the next one, even while the first
                # chunk (which must be delivered first) is still running; a slow source does
                # not hold back what was already fetched.
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if next_chunk is None or not next_chunk.done():
                    continue
                try:
                    chunk_ids = next_chunk.result()
                except StopAsyncIteration:
                    source_done = True
                    continue
                except Exception as exc:
                    source_error = exc
                    break
                finally:
                    next_chunk = None
                task = asyncio.ensure_future(self._fetch(chunk_ids))
                if isinstance(in_flight, deque):
                    in_flight.append(task)
                else:
                    in_flight.add(task)
                self.peak_in_flight = max(self.peak_in_flight, len(running) + 1)
            while in_flight:
                yield await self._next_done(in_flight)
        finally:
            self._stopping = True
            pending: list[asyncio.Future[Any]] = [*in_flight]
            if next_chunk is not None:
                pending.append(next_chunk)
            for future in pending:
                future.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
            await source.aclose()
        failures = self.failures if stop_on_failure else []
        if source_error is not None or failures:
            cause = source_error if source_error is not None else failures[0].error
            raise BulkFetchError(failures, source_error=source_error) from cause

    def _pop_done(
        self, in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]]
    ) -> ChunkResult:
        """The next deliverable result, which :func:`_first_done` said is there."""
        if isinstance(in_flight, deque):
            task = in_flight.popleft()
        else:
            task = next(t for t in in_flight if t.done())
            in_flight.discard(task)
        result = task.result()
        self._account(result)
        return result

    async def _next_done(
        self, in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]]
    ) -> ChunkResult:
        if isinstance(in_flight, deque):
            await asyncio.wait({in_flight[0]})
        else:
            await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        return self._pop_done(in_flight)

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
        sendable = ids if all(ids) else tuple(filter(None, ids))
        if not sendable:
            return ChunkResult(ids, missing=ids)
        # (IDs asked, schedules answered) of every call that succeeded: one, unless an answer
        # was too large and the chunk was split.
        parts: list[tuple[tuple[str, ...], tuple[Schedule, ...]]] = []
        try:
            if self._schedules._client.closed:
                # Fails at once, without taking a limiter slot and a token for nothing.
                raise ClientClosedError("the client was closed during the bulk fetch")
            oversized = await self._get_parts(sendable, parts)
            if oversized is not None:
                raise oversized
        except (Exception, asyncio.CancelledError) as exc:
            # Whatever a chunk raises, its IDs are reported failed, never lost with the run.
            # Anything but a WeComError is a bug somewhere (ours, or in code we call: a token
            # store, an injected sleep): wrapped, so that failures are always WeComErrors, with
            # the original as the cause. Only the stream cancels chunks, as it stops: a
            # CancelledError before that came from below, and is such a bug too.
            # (KeyboardInterrupt, SystemExit go through.)
            if isinstance(exc, asyncio.CancelledError) and self._stopping:
                raise
            error = exc if isinstance(exc, WeComError) else _unexpected(exc)
            unsendable = tuple(i for i in ids if not i)
            if not parts:
                return ChunkResult(ids, missing=unsendable, failure=ChunkFailure(sendable, error))
            # Part of a split chunk was fetched: that part is delivered, the rest failed (with
            # the error that stopped the chunk, or that of the schedule too large alone).
            asked = {i for part_ids, _ in parts for i in part_ids}
            found = [s for _, part in parts for s in part]
            fetched = tuple(i for i in sendable if i in asked)
            ordered, missing = _in_request_order(fetched, found)
            failed = tuple(i for i in sendable if i not in asked)
            return ChunkResult(
                ids, ordered, unsendable + missing, failure=ChunkFailure(failed, error)
            )
        found_all = parts[0][1] if len(parts) == 1 else tuple(s for _, p in parts for s in p)
        if sendable is ids and tuple(map(_schedule_id, found_all)) == ids:
            return ChunkResult(ids, found_all, ())  # every ID found, in request order
        ordered, missing = _in_request_order(ids, found_all)
        return ChunkResult(ids, ordered, missing)

    async def _get_parts(
        self, ids: tuple[str, ...], parts: list[tuple[tuple[str, ...], tuple[Schedule, ...]]]
    ) -> ResponseTooLargeError | None:
        """Fetch ``ids`` into ``parts``; a schedule/get answer over ``max_response_bytes``
        splits them. Returns the error of a schedule too large alone, if one was met.

        The same IDs would get the same too-large answer again, so they are fetched in two
        halves, and so on down to single IDs. Real schedules are far below the 64 MiB default
        (1000 attendees of 64-byte IDs: ~0.1 MB), so a schedule too large alone means a limit
        set too low or a server answering junk: that ID fails, its siblings are still fetched,
        and from then on this stream splits no more (a too-large answer fails its part and
        stops the chunk). A server answering nothing but huge answers so costs about
        ``2·log2(chunk_size)`` calls per chunk in flight when the first single ID fails, then
        one per chunk, instead of ``2·chunk_size`` per chunk.
        Each half is a call of its own, under the rate limits and retry policy; any other
        failure stops the chunk.
        """
        telemetry, span = self._telemetry, self._span
        # With a bulk span: the parent of this call's span, which carries this part's size.
        scope = (
            nullcontext()
            if span is None or telemetry is None
            else telemetry.in_bulk(span, len(ids))
        )
        try:
            with scope:
                found = await self._schedules._get_chunk(
                    ids, timeout=self._timeout, max_retries=self._max_retries, stats=self._stats
                )
        except ResponseTooLargeError as exc:
            # Only schedule/get's own answer: a huge gettoken answer is no reason to split.
            if exc.path != _PATH_GET or self._oversized:
                raise
            if len(ids) == 1:
                self._oversized = True
                return exc
            self._counters.splits += 1
            half = len(ids) // 2
            first = await self._get_parts(ids[:half], parts)
            second = await self._get_parts(ids[half:], parts)
            return first or second
        parts.append((ids, found))
        return None


def _in_request_order(
    ids: tuple[str, ...], found: Iterable[Schedule]
) -> tuple[tuple[Schedule, ...], tuple[str, ...]]:
    """The schedules of ``found`` in the order of ``ids``, and the IDs not among them."""
    by_id = {s.schedule_id: s for s in found}
    ordered = tuple(by_id[i] for i in ids if i in by_id)
    missing = tuple(i for i in ids if i not in by_id)
    return ordered, missing


#: Distinct IDs kept as a set of strings (~120 bytes each) before switching to packed keys.
COMPACT_AFTER = 1 << 17
_BUCKETS = 1 << 16


class _Seen:
    """The IDs taken so far, exactly: a set of strings at first, packed bytes once there are many.

    A set of a million 32-character IDs costs ~120 MB (a str object and a set slot each). From
    :data:`COMPACT_AFTER` IDs on, each ID is kept as a key of ~24 bytes instead: its base64
    decoding when it is canonical base64 (WeCom's IDs, 32 letters and digits, are), else its
    UTF-8 bytes. Keys are appended to ``bytes`` buckets chosen by the ID's ``hash()``, one table
    of buckets per (kind of key, key length), so that every bucket is a row of fixed-width keys.

    Exact, not probabilistic: the key is a one-to-one function of the ID within its kind, and
    kinds and lengths have tables of their own, so two different IDs never have the same key in
    the same table. An ID is reported as seen only when a key equal to its own starts at a
    multiple of the key width in its bucket, i.e. when that very ID was recorded; and a recorded
    ID is always found, since equal strings have equal hashes within a process. The hash only
    spreads the keys over buckets: a hash collision costs a longer search, never a wrong answer.
    """

    __slots__ = ("_ids", "_tables")

    def __init__(self) -> None:
        self._ids: set[str] | None = set()
        self._tables: dict[tuple[bool, int], list[bytes]] = {}

    def take(self, block: list[str]) -> list[str]:
        """The IDs of *block* not taken before, each once, in first-seen order; now taken."""
        fresh = dict.fromkeys(block)
        ids = self._ids
        if ids is None:
            return [i for i in fresh if self._add(i)]
        # De-duplicated in C (a Python step per ID cost ~0.7 ms per 1000-ID chunk).
        new = list(fresh) if ids.isdisjoint(fresh) else [i for i in fresh if i not in ids]
        ids.update(new)
        if len(ids) >= COMPACT_AFTER:
            self._ids = None
            for schedule_id in ids:
                self._add(schedule_id)
        return new

    def _add(self, schedule_id: str) -> bool:
        """Record one ID in packed form; False if it was recorded before."""
        key = _packed(schedule_id)
        packed = key is not None
        if key is None:
            key = schedule_id.encode("utf-8", "surrogatepass")
        table = self._tables.get((packed, len(key)))
        if table is None:
            table = self._tables[packed, len(key)] = [b""] * _BUCKETS
        index = hash(schedule_id) & (_BUCKETS - 1)
        bucket = table[index]
        if key:
            start = bucket.find(key)
            while start >= 0:
                if start % len(key) == 0:
                    return False
                start = bucket.find(key, start + 1)
        elif bucket:  # the empty ID: its table holds nothing but a marker
            return False
        table[index] = bucket + key if key else b"\0"
        return True


def _packed(schedule_id: str) -> bytes | None:
    """The base64 decoding of an ID that is canonical base64, else None.

    Only an ID that encoding the decoded bytes gives back exactly: the ID is then a function
    of its key, so two different IDs never share a key.
    """
    if not schedule_id.isascii():
        return None
    try:
        key = binascii.a2b_base64(schedule_id)
    except binascii.Error:
        return None
    return key if binascii.b2a_base64(key, newline=False) == schedule_id.encode() else None


async def _chunked(
    ids: IDs, size: int, counters: _Counters
) -> AsyncGenerator[tuple[str, ...], None]:
    """Chunks of distinct IDs, from a sync or async iterable."""
    seen = _Seen()
    chunk: list[str] = []

    def take_block(block: list[str]) -> None:
        new = seen.take(block)
        chunk.extend(new)
        counters.duplicates += len(block) - len(new)

    try:
        if isinstance(ids, AsyncIterable):
            async for schedule_id in ids:
                take_block([schedule_id])
                if len(chunk) >= size:
                    yield tuple(chunk)
                    chunk.clear()
        else:
            source = iter(ids)
            block: list[str] = []
            while True:
                # Read just what the chunk lacks: the source is never read further ahead.
                block.clear()
                try:
                    block.extend(islice(source, size - len(chunk)))
                finally:
                    take_block(block)  # on a failing source too: what it gave is fetched
                if not block:
                    break
                if len(chunk) >= size:
                    yield tuple(chunk)
                    chunk.clear()
                    # Let the fetches run between chunks even when the source never awaits.
                    await asyncio.sleep(0)
    except Exception:
        # The IDs read before the source failed are still fetched, then the error goes on.
        if chunk:
            yield tuple(chunk)
        raise
    if chunk:
        yield tuple(chunk)


_schedule_id = attrgetter("schedule_id")


def _unexpected(exc: BaseException) -> UnexpectedError:
    error = UnexpectedError(exc, path="oa/schedule/get")
    error.__cause__ = exc
    return error


async def _next(source: AsyncGenerator[tuple[str, ...], None]) -> tuple[str, ...]:
    return await anext(source)


def _first_done(
    in_flight: deque[asyncio.Task[ChunkResult]] | set[asyncio.Task[ChunkResult]],
) -> bool:
    """Whether the next result can be delivered without waiting."""
    if isinstance(in_flight, deque):
        return in_flight[0].done()
    return any(task.done() for task in in_flight)

"""Optional OpenTelemetry traces and metrics (``pip install 'wecom-async[otel]'``).

Without ``opentelemetry-api`` installed, :func:`telemetry_for` returns ``None`` and nothing else
happens: the client's hot path checks that one attribute. With it installed, every client gets a
:class:`Telemetry` from the global providers (or those given to ``WeComClient``). While no SDK
is configured (OpenTelemetry's global providers are still its proxies, or no-op providers: they
record nothing), :meth:`Telemetry.enabled` is false and calls run without spans or metrics:
~20 µs less per call. It turns true, for good, once a real global provider is set, whenever
that happens; a bulk fetch decides when its iteration starts. Attempts are counted for the
quota gauge either way.

Nothing secret is recorded: spans and metrics carry the API path, the corp ID and errcodes,
never a URL (which holds the access token), a token, a secret or a request body.
"""

from __future__ import annotations

import contextvars
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ._version import __version__

try:
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode
except ImportError:  # the otel extra is not installed: telemetry is off
    _trace = None  # type: ignore[assignment]
    _metrics = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from opentelemetry.trace import Span, TracerProvider

__all__ = ["CallRecord", "Telemetry", "available", "telemetry_for"]

T = TypeVar("T")

_SCOPE = "wecom_async"

#: The size of the bulk-fetch chunk a ``schedule/get`` call carries (set in its chunk's task).
chunk_size: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "wecom_async_chunk_size", default=None
)


def available() -> bool:
    """Whether ``opentelemetry-api`` is installed."""
    return _trace is not None


class CallRecord:
    """What one API call measures while it runs (retries, limiter wait), and its span."""

    __slots__ = ("limiter_wait", "retries", "span")

    def __init__(self) -> None:
        self.limiter_wait = 0.0
        self.retries = 0
        self.span: Span | None = None

    def retried(self, retry: int, exc: BaseException, delay: float) -> None:
        """A span event ``wecom.retry``: why the attempt failed, and the wait before the next."""
        self.retries = retry
        if self.span is not None:
            attributes: dict[str, str | int | float] = {
                "wecom.retry": retry,
                "error.type": type(exc).__name__,
                "wecom.retry.delay": delay,
            }
            errcode = _errcode(exc)
            if errcode is not None:
                attributes["wecom.errcode"] = errcode
            self.span.add_event("wecom.retry", attributes)

    def token_refreshed(self, errcode: int) -> None:
        """A span event ``wecom.token_refresh``: the token was rejected; a new one, resent."""
        if self.span is not None:
            self.span.add_event("wecom.token_refresh", {"wecom.errcode": errcode})


def _errcode(exc: BaseException) -> int | None:
    errcode = getattr(exc, "errcode", None)
    return errcode if type(errcode) is int else None


class _Instruments:
    """The instruments of one meter provider, shared by every client using it.

    OpenTelemetry keeps the first instrument of a name per meter: a second client creating its
    own would lose its quota callback. The quota gauge reads every live client's windows.
    """

    def __init__(self, meter_provider: MeterProvider | None) -> None:
        assert _metrics is not None
        meter = _metrics.get_meter(_SCOPE, __version__, meter_provider)
        self.calls = meter.create_counter(
            "wecom.client.calls", unit="{call}", description="API calls, by API and errcode"
        )
        self.duration = meter.create_histogram(
            "wecom.client.call.duration",
            unit="s",
            description="Duration of API calls, retries and limiter waits included",
        )
        self.retries = meter.create_counter(
            "wecom.client.retries", unit="{retry}", description="Attempts resent after a failure"
        )
        self.limiter_wait = meter.create_histogram(
            "wecom.client.limiter.wait",
            unit="s",
            description="Time a call waited for rate-limiter slots",
        )
        self.in_flight = meter.create_up_down_counter(
            "wecom.client.calls_in_flight", unit="{call}", description="API calls running now"
        )
        self.gettoken = meter.create_counter(
            "wecom.client.gettoken",
            unit="{call}",
            description="Access-token fetches (gettoken, or get_corp_token through a suite)",
        )
        self.clients: weakref.WeakSet[Telemetry] = weakref.WeakSet()
        meter.create_observable_gauge(
            "wecom.client.quota.used",
            callbacks=[self._observe_quota],
            unit="{call}",
            description="Calls sent per corp and API in the current quota window (minute, hour)",
        )

    def _observe_quota(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        # Clients of one corp share its quota: their counts add up.
        used: dict[tuple[str, str, str], int] = {}
        for client in list(self.clients):
            for key, count in client.quota_used():
                used[key] = used.get(key, 0) + count
        for (corp_id, path, window), count in used.items():
            yield Observation(
                count, {"wecom.api": path, "wecom.corp_id": corp_id, "wecom.quota.window": window}
            )


_instruments_lock = threading.Lock()
_global_instruments: list[_Instruments] = []
_instruments: weakref.WeakKeyDictionary[MeterProvider, _Instruments] = weakref.WeakKeyDictionary()


def _instruments_for(meter_provider: MeterProvider | None) -> _Instruments:
    with _instruments_lock:
        if meter_provider is None:
            if not _global_instruments:
                _global_instruments.append(_Instruments(None))
            return _global_instruments[0]
        found = _instruments.get(meter_provider)
        if found is None:
            found = _instruments[meter_provider] = _Instruments(meter_provider)
        return found


def _recording(tracer_provider: object, meter_provider: object) -> bool:
    """Whether either provider records anything.

    Neither does while it is one of OpenTelemetry's global proxies (which delegate to nothing
    until a real provider is set) or a no-op provider. The tracer's proxy type is public; the
    meter's (``_ProxyMeterProvider``) is not, so it is known by its name: were it renamed, this
    says "recording" and telemetry merely stays on.
    """
    assert _trace is not None
    assert _metrics is not None
    tracer_idle = isinstance(tracer_provider, (ProxyTracerProvider, _trace.NoOpTracerProvider))
    meter_idle = (
        isinstance(meter_provider, _metrics.NoOpMeterProvider)
        or type(meter_provider).__name__ == "_ProxyMeterProvider"
    )
    return not (tracer_idle and meter_idle)


def _provider_slots() -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The module namespaces where OpenTelemetry keeps its global providers (``None`` until
    set), to check them per call in ~0.1 µs; ``None`` if this version keeps them elsewhere."""
    if _trace is None:
        return None
    try:
        from opentelemetry.metrics import _internal as metrics_internal
    except ImportError:
        return None
    trace_globals, meter_globals = vars(_trace), vars(metrics_internal)
    if "_TRACER_PROVIDER" not in trace_globals or "_METER_PROVIDER" not in meter_globals:
        return None
    return trace_globals, meter_globals


_SLOTS = _provider_slots()


def _global_state() -> tuple[bool, bool]:
    """``(recording, final)`` of the global providers.

    ``final`` once nothing can change any more: a recording provider is set, or both are set
    (OpenTelemetry sets each global provider once). The public getters cost ~2 µs (they also
    load a provider named by ``OTEL_PYTHON_TRACER_PROVIDER``/``…_METER_PROVIDER``); while
    neither provider is set, OpenTelemetry's module globals tell in ~0.1 µs.
    """
    assert _trace is not None
    assert _metrics is not None
    both_set = False
    if _SLOTS is not None:
        tracer_provider = _SLOTS[0]["_TRACER_PROVIDER"]
        meter_provider = _SLOTS[1]["_METER_PROVIDER"]
        if tracer_provider is None and meter_provider is None:
            return False, False
        both_set = tracer_provider is not None and meter_provider is not None
    recording = _recording(_trace.get_tracer_provider(), _metrics.get_meter_provider())
    return recording, recording or both_set


class Telemetry:
    """The tracer and instruments of one client (and those derived from it)."""

    def __init__(
        self,
        corp_id: str,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        clock: Callable[[], float],
    ) -> None:
        assert _trace is not None
        self.corp_id = corp_id
        #: True once spans and metrics go somewhere: providers given to the client, or a real
        #: global provider set (a provider cannot be unset: it stays true).
        # (Providers named by environment variables are loaded by get_tracer/get_meter below.)
        self._enabled = tracer_provider is not None or meter_provider is not None
        #: Whether ``_enabled`` can no longer change (see :func:`_global_state`).
        self._decided = self._enabled
        #: The client's wall clock: quota windows are WeCom's minutes and hours.
        self._clock = clock
        self.tracer = _trace.get_tracer(_SCOPE, __version__, tracer_provider)
        instruments = _instruments_for(meter_provider)
        self.calls = instruments.calls
        self.duration = instruments.duration
        self.retries = instruments.retries
        self.limiter_wait = instruments.limiter_wait
        self.in_flight = instruments.in_flight
        self.gettoken = instruments.gettoken
        #: Attempts sent per API in the current minute and hour windows (fixed, by wall clock):
        #: path → (minute, attempts in it, hour, attempts in it) (minutes and hours since 1970).
        self._windows: dict[str, tuple[float, int, float, int]] = {}
        instruments.clients.add(self)

    def enabled(self) -> bool:
        """Whether spans and metrics are recorded (see the module's doc); checked per call."""
        if not self._decided:
            self._enabled, self._decided = _global_state()
        return self._enabled

    # --- quota windows --------------------------------------------------------------------

    def count_attempt(self, path: str) -> None:
        """Count one attempt at ``path`` in its minute and hour (on every call: kept cheap).

        One tuple replaced at once: the metric reader's thread never sees half an update.
        """
        minute = self._clock() // 60
        counts = self._windows.get(path)
        if counts is None:
            self._windows[path] = (minute, 1, minute // 60, 1)
        elif counts[0] == minute:
            self._windows[path] = (minute, counts[1] + 1, counts[2], counts[3] + 1)
        else:
            hour = minute // 60
            hour_used = counts[3] + 1 if counts[2] == hour else 1
            self._windows[path] = (minute, 1, hour, hour_used)

    def quota_used(self) -> Iterator[tuple[tuple[str, str, str], int]]:
        """``((corp ID, API, window), calls)`` of the current windows (0 once one is over)."""
        minute = self._clock() // 60
        for path, (start, used, hour_start, hour_used) in list(self._windows.items()):
            yield (self.corp_id, path, "minute"), used if minute == start else 0
            yield (self.corp_id, path, "hour"), hour_used if minute // 60 == hour_start else 0

    # --- spans ----------------------------------------------------------------------------

    async def call(
        self, path: str, run: Callable[[CallRecord], Awaitable[T]], *, bulk_chunk: bool = True
    ) -> T:
        """Run one API call (``run``) in a span ``wecom <path>``, and record its metrics."""
        record = CallRecord()
        attributes: dict[str, Any] = {"wecom.api": path, "wecom.corp_id": self.corp_id}
        size = chunk_size.get() if bulk_chunk else None
        if size is not None:
            attributes["wecom.chunk_size"] = size
        metric_attributes = {"wecom.api": path}
        self.in_flight.add(1, metric_attributes)
        started = time.perf_counter()
        errcode: int | None = 0
        with self.tracer.start_as_current_span(
            f"wecom {path}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            record.span = span
            try:
                result = await run(record)
            except BaseException as exc:
                errcode = _errcode(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.set_attribute("error.type", type(exc).__name__)
                raise
            finally:
                self.in_flight.add(-1, metric_attributes)
                span.set_attribute("wecom.retry_count", record.retries)
                span.set_attribute("wecom.limiter.wait", record.limiter_wait)
                outcome: dict[str, str | int] = dict(metric_attributes)
                if errcode is not None:
                    span.set_attribute("wecom.errcode", errcode)
                    outcome["wecom.errcode"] = errcode
                else:
                    outcome["error.type"] = "error"
                self.calls.add(1, outcome)
                self.duration.record(time.perf_counter() - started, outcome)
                self.limiter_wait.record(record.limiter_wait, metric_attributes)
                if record.retries:
                    self.retries.add(record.retries, metric_attributes)
            return result

    async def token_fetch(self, path: str, fetch: Awaitable[T]) -> T:
        """Run an access-token fetch in a span ``wecom <path>``; counts it."""
        self.gettoken.add(1, {"wecom.api": path})
        with self.tracer.start_as_current_span(
            f"wecom {path}",
            kind=SpanKind.CLIENT,
            attributes={"wecom.api": path, "wecom.corp_id": self.corp_id},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                result = await fetch
            except BaseException as exc:
                errcode = _errcode(exc)
                if errcode is not None:
                    span.set_attribute("wecom.errcode", errcode)
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            span.set_attribute("wecom.errcode", 0)
            return result

    def start_bulk(self, path: str, what: str) -> Span:
        """The parent span of a bulk fetch (ended by the caller with :meth:`end_bulk`)."""
        return self.tracer.start_span(
            f"wecom {what}",
            kind=SpanKind.INTERNAL,
            attributes={"wecom.api": path, "wecom.corp_id": self.corp_id},
        )

    @contextmanager
    def in_bulk(self, span: Span, size: int) -> Iterator[None]:
        """Make ``span`` the parent of the calls made inside (in one chunk's own task)."""
        token = chunk_size.set(size)
        try:
            with _trace.use_span(span, end_on_exit=False):
                yield
        finally:
            chunk_size.reset(token)

    @staticmethod
    def end_bulk(
        span: Span, *, ids: int, chunks: int, failed_ids: int, splits: int, error: str | None
    ) -> None:
        span.set_attribute("wecom.bulk.ids", ids)
        span.set_attribute("wecom.bulk.chunks", chunks)
        span.set_attribute("wecom.bulk.failed_ids", failed_ids)
        span.set_attribute("wecom.bulk.splits", splits)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()


def telemetry_for(
    corp_id: str,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    clock: Callable[[], float],
) -> Telemetry | None:
    """A client's :class:`Telemetry`, or ``None`` without ``opentelemetry-api``."""
    if _trace is None:
        return None
    return Telemetry(corp_id, tracer_provider, meter_provider, clock)

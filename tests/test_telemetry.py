"""OpenTelemetry: spans and metrics of a faulty run, exported in memory; no secret in them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.conftest import RecordingSleep
from wecom_async import RetryPolicy, SuiteProvider, ValidationError, WeComAPIError, WeComClient
from wecom_async._tokens import AccessToken, MemoryTokenStore
from wecom_async.testing import FakeWeCom

GET = "oa/schedule/get"


class RecordingTokenStore(MemoryTokenStore):
    """Keeps every access token the client stored: the test searches the export for each."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    async def set(self, key: str, token: AccessToken) -> None:
        self.seen.append(token.value)
        await super().set(key, token)


class Exported:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def exported() -> Iterator[Exported]:
    out = Exported()
    yield out
    out.tracer_provider.shutdown()
    out.meter_provider.shutdown()


def seed(fake: FakeWeCom, count: int) -> list[str]:
    return fake.seed_schedules(
        {"start_time": 1_700_000_000 + i, "end_time": 1_700_003_600 + i, "summary": f"s{i}"}
        for i in range(count)
    )


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def test_spans_and_metrics_of_a_faulty_run(fake: FakeWeCom, exported: Exported) -> None:
    store = RecordingTokenStore()
    sleep = RecordingSleep()
    ids = seed(fake, 250)
    async with WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        sleep=sleep,
        token_store=store,
        clock=lambda: 1_700_000_000.0,
        # A short cool-down after 45009 (the limiter waits it out for real).
        retry=RetryPolicy(frequency_block_seconds=0.05),
        tracer_provider=exported.tracer_provider,
        meter_provider=exported.meter_provider,
    ) as client:
        # 1. A read answered 502, then 45009, then the schedule: two retries.
        fake.faults.http_status(502, path=GET)
        fake.faults.errcode(45009, path=GET)
        assert [s.schedule_id for s in await client.schedules.get([ids[0]])] == [ids[0]]
        # 2. The token revoked: 40014, a new token (a second gettoken), resent.
        fake.invalidate_tokens()
        assert len(await client.schedules.get([ids[1]])) == 1
        # 3. A bulk fetch of 250 IDs in chunks of 100.
        result = await client.schedules.get_many(ids, chunk_size=100)
        assert len(result.schedules) == 250
        # 4. A call that fails: 48002 is not retried.
        fake.faults.errcode(48002, path=GET)
        with pytest.raises(WeComAPIError) as failed:
            await client.schedules.get([ids[2]])
        assert failed.value.errcode == 48002

    spans = list(exported.spans.get_finished_spans())
    by_id = {span.context.span_id: span for span in spans}
    calls = named(spans, f"wecom {GET}")
    tokens = named(spans, "wecom gettoken")
    (bulk,) = named(spans, f"wecom bulk {GET}")
    assert len(spans) == len(calls) + len(tokens) + 1  # nothing else
    assert len(calls) == 6  # two reads, three chunks, the failed read
    assert len(tokens) == 2  # the first token, and the one after 40014

    for span in (*calls, *tokens):
        assert span.kind is SpanKind.CLIENT
        assert span.attributes is not None
        assert span.attributes["wecom.corp_id"] == fake.corp_id
    first, refreshed, *chunks, failing = sorted(calls, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    first_attributes = dict(first.attributes)
    waited = first_attributes.pop("wecom.limiter.wait")
    assert first_attributes == {
        "wecom.api": GET,
        "wecom.corp_id": fake.corp_id,
        "wecom.errcode": 0,
        "wecom.retry_count": 2,
    }
    # The retry after 45009 waited for the limiter's cool-down.
    assert isinstance(waited, float)
    assert waited > 0
    assert first.status.status_code is StatusCode.UNSET
    # Each retry is an event: why, and how long the client waited before it.
    assert sleep.delays[1] == 0.05  # after 45009: the cool-down
    assert [(e.name, dict(e.attributes or {})) for e in first.events] == [
        (
            "wecom.retry",
            {
                "wecom.retry": 1,
                "error.type": "HTTPStatusError",
                "wecom.retry.delay": sleep.delays[0],
            },
        ),
        (
            "wecom.retry",
            {
                "wecom.retry": 2,
                "error.type": "FrequencyLimitError",
                "wecom.retry.delay": sleep.delays[1],
                "wecom.errcode": 45009,
            },
        ),
    ]
    assert [(e.name, dict(e.attributes or {})) for e in refreshed.events] == [
        ("wecom.token_refresh", {"wecom.errcode": 40014})
    ]
    assert refreshed.attributes is not None
    assert refreshed.attributes["wecom.errcode"] == 0
    assert refreshed.attributes["wecom.retry_count"] == 0  # a token refresh is no retry
    # Token fetches run inside the call that needed them.
    first_token, second_token = sorted(tokens, key=lambda s: s.start_time or 0)
    assert first_token.parent is not None
    assert first_token.parent.span_id == first.context.span_id
    assert second_token.parent is not None
    assert second_token.parent.span_id == refreshed.context.span_id
    for token_span in tokens:
        assert token_span.attributes is not None
        assert token_span.attributes["wecom.errcode"] == 0
    # The bulk fetch: a parent over its three chunk calls, which carry their sizes.
    assert bulk.parent is None
    assert bulk.attributes is not None
    assert bulk.attributes["wecom.bulk.ids"] == 250
    assert bulk.attributes["wecom.bulk.chunks"] == 3
    assert bulk.attributes["wecom.bulk.failed_ids"] == 0
    assert bulk.status.status_code is StatusCode.UNSET
    assert sorted(int(str(c.attributes["wecom.chunk_size"])) for c in chunks if c.attributes) == [
        50,
        100,
        100,
    ]
    for chunk in chunks:
        assert chunk.parent is not None
        assert by_id[chunk.parent.span_id] is bulk
    for lone in (first, refreshed, failing):
        assert lone.parent is None
        assert lone.attributes is not None
        assert "wecom.chunk_size" not in lone.attributes
    # The failed call: ERROR, with its errcode.
    assert failing.status.status_code is StatusCode.ERROR
    assert failing.attributes is not None
    assert failing.attributes["wecom.errcode"] == 48002
    assert failing.attributes["error.type"] == type(failed.value).__name__

    # Metrics.
    calls_by = {
        (p.attributes["wecom.api"], p.attributes["wecom.errcode"]): p.value
        for p in exported.points("wecom.client.calls")
    }
    assert calls_by == {(GET, 0): 5, (GET, 48002): 1}
    durations = exported.points("wecom.client.call.duration")
    assert sum(p.count for p in durations) == 6
    (retries,) = exported.points("wecom.client.retries")
    assert retries.value == 2
    assert dict(retries.attributes) == {"wecom.api": GET}
    (gettoken,) = exported.points("wecom.client.gettoken")
    assert gettoken.value == 2
    (in_flight,) = exported.points("wecom.client.calls_in_flight")
    assert in_flight.value == 0
    (waits,) = exported.points("wecom.client.limiter.wait")
    assert waits.count == 6
    assert waits.sum >= waited
    quota = {
        p.attributes["wecom.quota.window"]: p.value
        for p in exported.points("wecom.client.quota.used")
    }
    # Every attempt counts against the quota: 3 (502, 45009, ok), 2 (40014, resent), 3 chunks,
    # 1 (48002). The client's clock stands still: all of them in one minute window.
    assert fake.calls(GET) == 9
    assert quota == {"minute": 9, "hour": 9}

    # No secret anywhere in what was exported.
    assert len(store.seen) == 2
    dump = "\n".join(span.to_json() for span in spans)
    data = exported.metrics.get_metrics_data()
    assert data is not None
    dump += data.to_json()
    for secret in (fake.corp_secret, *store.seen):
        assert secret not in dump
    assert "access_token" not in dump
    assert fake.corp_id in dump  # the search does look at the attributes


def test_provider_arguments_are_checked() -> None:
    with pytest.raises(ValidationError) as raised:
        WeComClient(
            corp_id="ww1",
            corp_secret="s",
            tracer_provider=object(),  # type: ignore[arg-type]
            meter_provider="global",  # type: ignore[arg-type]
        )
    message = str(raised.value)
    assert "tracer_provider" in message
    assert "meter_provider" in message


#: Runs with opentelemetry made unimportable: the client works, and never imports it.
_NO_OTEL = textwrap.dedent(
    """
    import asyncio, sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ImportError(f"blocked: {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    import wecom_async
    from wecom_async.testing import FakeWeCom

    async def main():
        async with FakeWeCom() as fake, wecom_async.WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client:
            ids = fake.seed_schedules([{"start_time": 1700000000, "end_time": 1700003600}])
            assert len(await client.schedules.get(ids)) == 1
            assert len((await client.schedules.get_many(ids)).schedules) == 1
            assert client._core.telemetry is None
        try:
            wecom_async.WeComClient(corp_id="ww", corp_secret="s", tracer_provider=object())
        except wecom_async.ValidationError as exc:
            assert "wecom-async[otel]" in str(exc), exc
        else:
            raise AssertionError("tracer_provider accepted without opentelemetry")

    asyncio.run(main())
    print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
    """
)


def test_without_opentelemetry_nothing_is_imported() -> None:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-c", _NO_OTEL], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().replace("'", '"')) == []


# In a process of its own: OpenTelemetry's global providers can be set once per process.
_GLOBAL_SDK_LATE = textwrap.dedent(
    """
    import asyncio, json, sys
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    import wecom_async
    from wecom_async import _telemetry
    from wecom_async.testing import FakeWeCom

    entered = []
    real_call = _telemetry.Telemetry.call

    def call(self, path, run, **kwargs):
        entered.append(path)
        return real_call(self, path, run, **kwargs)

    _telemetry.Telemetry.call = call
    if sys.argv[1] == "public-api-only":
        _telemetry._SLOTS = None  # as if OpenTelemetry kept its providers elsewhere

    async def main():
        out = {}
        async with FakeWeCom() as fake, wecom_async.WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            clock=lambda: 1700000000.0,  # one quota minute and hour, whatever the wall clock
        ) as client:
            ids = fake.seed_schedules([{"start_time": 1700000000, "end_time": 1700003600}])
            await client.schedules.get(ids)
            await client.schedules.get_many(ids)
            out["before"] = {"enabled": client._core.telemetry.enabled(), "calls": list(entered)}
            made_before = client.schedules.iter_many(ids)  # iterated once the SDK is set up
            spans = InMemorySpanExporter()
            tracer_provider = TracerProvider()
            tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
            trace.set_tracer_provider(tracer_provider)
            reader = InMemoryMetricReader()
            metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
            await client.schedules.get(ids)
            await client.schedules.get_many(ids)
            async with made_before:
                assert [s.schedule_id async for s in made_before] == ids
            quota = {}
            for resource in reader.get_metrics_data().resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        if metric.name == "wecom.client.quota.used":
                            for point in metric.data.data_points:
                                window = point.attributes["wecom.quota.window"]
                                quota[window] = point.value
            finished = spans.get_finished_spans()
            bulk = {s.context.span_id for s in finished if s.name.startswith("wecom bulk")}
            out["after"] = {
                "enabled": client._core.telemetry.enabled(),
                "calls": list(entered),
                "spans": sorted(span.name for span in finished),
                # For each call's span: is a bulk fetch's span its parent?
                "in_bulk": sorted(
                    s.parent is not None and s.parent.span_id in bulk
                    for s in finished
                    if not s.name.startswith("wecom bulk")
                ),
                "quota": quota,
            }
        print(json.dumps(out))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("check", ["fast", "public-api-only"])
def test_no_sdk_means_no_span_work_until_one_is_set_globally(check: str) -> None:
    """With opentelemetry-api but no SDK, calls skip spans and metrics (they would go nowhere);
    an SDK set up later, while the client lives, gets everything from then on, and its quota
    gauge counts the calls made before it too."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for name in ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _GLOBAL_SDK_LATE, check],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["before"] == {"enabled": False, "calls": []}
    assert out["after"]["enabled"] is True
    assert out["after"]["calls"] == [GET, GET, GET]
    # A stream made before the SDK was set up, iterated after, has its bulk span too.
    assert out["after"]["spans"] == sorted(3 * [f"wecom {GET}"] + 2 * [f"wecom bulk {GET}"])
    assert out["after"]["in_bulk"] == [False, True, True]
    assert out["after"]["quota"] == {"minute": 5, "hour": 5}


_NO_OP_PROVIDERS = textwrap.dedent(
    """
    import asyncio, json
    from opentelemetry import metrics, trace
    import wecom_async
    from wecom_async import _telemetry
    from wecom_async.testing import FakeWeCom

    entered = []
    real_call = _telemetry.Telemetry.call

    def call(self, path, run, **kwargs):
        entered.append(path)
        return real_call(self, path, run, **kwargs)

    _telemetry.Telemetry.call = call
    trace.set_tracer_provider(trace.NoOpTracerProvider())

    async def main():
        async with FakeWeCom() as fake, wecom_async.WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client:
            ids = fake.seed_schedules([{"start_time": 1700000000, "end_time": 1700003600}])
            telemetry = client._core.telemetry
            await client.schedules.get(ids)
            half = [telemetry.enabled(), telemetry._decided]
            metrics.set_meter_provider(metrics.NoOpMeterProvider())
            await client.schedules.get_many(ids)
            print(json.dumps([entered, half, [telemetry.enabled(), telemetry._decided]]))

    asyncio.run(main())
    """
)


def test_no_op_providers_set_globally_record_nothing_and_cost_nothing() -> None:
    """Global no-op providers mean "no telemetry": calls skip spans and metrics, and once both
    are set (they cannot change then) the check is not even repeated."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    for name in ("OTEL_PYTHON_TRACER_PROVIDER", "OTEL_PYTHON_METER_PROVIDER"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", _NO_OP_PROVIDERS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    entered, half, both = json.loads(done.stdout)
    assert entered == []
    assert half == [False, False]  # a meter provider may still be set
    assert both == [False, True]


def test_a_provider_named_by_the_environment_is_used() -> None:
    """OTEL_PYTHON_TRACER_PROVIDER names the SDK's provider: spans are recorded from the first
    call, though no code set a provider."""
    script = textwrap.dedent(
        """
        import asyncio
        import wecom_async
        from wecom_async.testing import FakeWeCom

        async def main():
            async with FakeWeCom() as fake, wecom_async.WeComClient(
                corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
            ) as client:
                print(client._core.telemetry.enabled())

        asyncio.run(main())
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.getcwd(),
        "OTEL_PYTHON_TRACER_PROVIDER": "sdk_tracer_provider",
    }
    env.pop("OTEL_PYTHON_METER_PROVIDER", None)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


async def test_quota_gauge_adds_up_clients_of_a_corp_and_resets_per_window(
    fake: FakeWeCom, exported: Exported
) -> None:
    now = [1_700_000_000.0]
    now[0] -= now[0] % 3600  # the start of an hour
    ids = seed(fake, 1)

    def client() -> WeComClient:
        return WeComClient(
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            base_url=fake.base_url,
            clock=lambda: now[0],
            tracer_provider=exported.tracer_provider,
            meter_provider=exported.meter_provider,
        )

    def quota() -> dict[str, int]:
        return {
            str(p.attributes["wecom.quota.window"]): p.value
            for p in exported.points("wecom.client.quota.used")
            if p.attributes["wecom.api"] == GET and p.attributes["wecom.corp_id"] == fake.corp_id
        }

    async with client() as one, client() as two:
        await one.schedules.get(ids)
        await two.schedules.get(ids)
        await two.schedules.get(ids)
        assert quota() == {"minute": 3, "hour": 3}
        now[0] += 61  # the next minute, the same hour
        assert quota() == {"minute": 0, "hour": 3}
        await one.schedules.get(ids)
        assert quota() == {"minute": 1, "hour": 4}
        now[0] += 3600  # the next hour
        assert quota() == {"minute": 0, "hour": 0}
        await two.schedules.get(ids)
        assert quota() == {"minute": 1, "hour": 1}
        now[0] += 60
        await two.schedules.get(ids)
        assert quota() == {"minute": 1, "hour": 2}


async def test_a_suite_clients_token_comes_from_get_corp_token_in_a_span(
    fake: FakeWeCom, exported: Exported
) -> None:
    suite = fake.add_suite()
    auth = fake.authorize_corp(suite.suite_id, notify=False)
    async with SuiteProvider(
        suite_id=suite.suite_id,
        suite_secret=suite.suite_secret,
        token=suite.token,
        encoding_aes_key=suite.encoding_aes_key,
        base_url=fake.base_url,
        suite_ticket=fake.new_suite_ticket(suite.suite_id),
        tracer_provider=exported.tracer_provider,
        meter_provider=exported.meter_provider,
    ) as provider:
        client = provider.client(auth.corp_id, auth.permanent_code)
        assert await client.schedules.get(["nope"]) == []
        token = client.tokens.cached()
    spans = list(exported.spans.get_finished_spans())
    assert [span.name for span in spans] == ["wecom service/get_corp_token", f"wecom {GET}"]
    fetch, call = spans
    assert fetch.parent is not None
    assert fetch.parent.span_id == call.context.span_id
    assert fetch.attributes == {
        "wecom.api": "service/get_corp_token",
        "wecom.corp_id": auth.corp_id,
        "wecom.errcode": 0,
    }
    (count,) = exported.points("wecom.client.gettoken")
    assert count.value == 1
    assert dict(count.attributes) == {"wecom.api": "service/get_corp_token"}
    dump = "\n".join(span.to_json() for span in spans)
    assert token
    for secret in (token, auth.permanent_code, suite.suite_secret):
        assert secret not in dump


async def test_a_bulk_fetch_left_early_ends_its_span_unfailed(
    fake: FakeWeCom, exported: Exported
) -> None:
    ids = seed(fake, 30)
    async with WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        tracer_provider=exported.tracer_provider,
        meter_provider=exported.meter_provider,
    ) as client:
        async with client.schedules.iter_many(ids, chunk_size=10, concurrency=1) as stream:
            async for _ in stream:
                break
        assert client._core.limiter(GET).in_flight == 0
    (bulk,) = named(list(exported.spans.get_finished_spans()), f"wecom bulk {GET}")
    assert bulk.status.status_code is StatusCode.UNSET
    assert bulk.attributes is not None
    assert bulk.attributes["wecom.bulk.failed_ids"] == 0


async def test_a_split_chunks_calls_carry_their_own_sizes(
    fake: FakeWeCom, exported: Exported
) -> None:
    small = {"start_time": 1_700_000_000, "end_time": 1_700_003_600}
    ids = fake.seed_schedules([small, small, {**small, "description": "x" * 5000}, small])
    async with WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        max_response_bytes=4000,
        tracer_provider=exported.tracer_provider,
        meter_provider=exported.meter_provider,
    ) as client:
        result = await client.schedules.get_many(ids, on_error="collect")
    assert result.failed_ids == [ids[2]]
    spans = list(exported.spans.get_finished_spans())
    sizes = [(s.attributes or {}).get("wecom.chunk_size") for s in named(spans, f"wecom {GET}")]
    assert sizes == [4, 2, 2, 1, 1]  # the chunk, its halves, the second half's halves
    [bulk] = named(spans, f"wecom bulk {GET}")
    assert bulk.attributes is not None
    assert bulk.attributes["wecom.bulk.splits"] == 2

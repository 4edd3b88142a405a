"""The benchmark code still runs: every benchmark at toy sizes, and the pieces they rely on.

No timing is asserted here (ratios are ``nox -s bench``'s business): only that each benchmark
runs end to end, reports every row, and that its data and server are what they claim to be.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator

import orjson
import pytest

from benchmarks import __main__ as bench_main
from benchmarks._data import (
    ScheduleSource,
    add_kwargs,
    get_body,
    make_schedules,
    schedule_ids,
)
from benchmarks._harness import SMOKE, BenchResult
from benchmarks._report import render
from benchmarks._server import ServerInfo, build_fake
from benchmarks._virtual import run_on_fake_clock
from benchmarks.bench_limiter import max_in_window
from wecom_async import WeComClient
from wecom_async.testing import FakeWeCom, RedisServer

#: Benchmarks that need a redis-server (tested below, where its absence skips or fails like the
#: other Redis tests).
NEEDS_REDIS = ("B9",)


def _check_results(results: list[BenchResult], wanted: list[str]) -> None:
    assert [r.id for r in results] == wanted
    for result in results:
        assert result.rows, result.id
        for row in result.rows:
            assert math.isfinite(row.ours), (result.id, row.measure)
            assert row.target is None or math.isfinite(row.ratio), (result.id, row.measure)
    text = render(results, machine={"CPU": "x"}, command="test", started="now", seconds=1.0)
    for result in results:
        assert f"## {result.id}: " in text
    assert text.count("| measure |") == len(results)


def test_every_benchmark_runs_at_toy_sizes() -> None:
    wanted = [b for b in bench_main.BENCHMARKS if b not in NEEDS_REDIS]
    _check_results(bench_main.run_all(SMOKE, wanted, log=lambda _: None), wanted)


def test_the_redis_benchmark_runs_at_toy_sizes(redis_session: RedisServer) -> None:
    """B9 starts its own redis-server; the session's is asked for only to skip or fail alike."""
    results = bench_main.run_all(SMOKE, NEEDS_REDIS, log=lambda _: None)
    _check_results(results, list(NEEDS_REDIS))
    rows = {row.measure: row for row in results[0].rows}
    assert rows["Redis round trips per call (commands sent, MONITOR)"].ours > 0  # through Redis
    fleet_rows = [row for measure, row in rows.items() if "fleet" in measure]
    assert all(row.ours > 0 for row in fleet_rows)


def test_data_is_deterministic_and_sized_as_the_profiles_say() -> None:
    assert get_body(30, "light") == get_body(30, "light")
    for profile, (low, high), (min_size, max_size) in (
        ("light", (1, 6), (600, 950)),
        ("heavy", (5, 50), (1500, 2100)),
    ):
        schedules = make_schedules(400, profile)  # type: ignore[arg-type]
        attendees = [len(s["attendees"]) for s in schedules]
        assert min(attendees) >= low - 1  # (repeated names are merged)
        assert max(attendees) <= high
        size = len(get_body(400, profile)) / 400  # type: ignore[arg-type]
        assert min_size < size < max_size, (profile, size)
        recurring = [s for s in schedules if s["reminders"]["is_repeat"]]
        assert 0.3 < len(recurring) / len(schedules) < 0.5
        for s in recurring:
            rem = s["reminders"]
            for field in ("repeat_until", "repeat_interval", "exclude_time_list"):
                assert rem[field], field
            for field in ("repeat_day_of_week", "repeat_day_of_month"):
                assert rem[field], field
        assert any("会" in s["summary"] for s in schedules)
    ids = list(schedule_ids(10_000))
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_schedule_source_serves_any_id_deterministically() -> None:
    source = ScheduleSource("heavy")
    ids = [*schedule_ids(50), "ghost", 'needs "escaping"', "日程"]
    answer = orjson.loads(source.encode_list(ids))
    assert [s["schedule_id"] for s in answer] == ids
    assert answer[3] == source.schedule(ids[3]) == ScheduleSource("heavy").schedule(ids[3])
    assert answer[0] != answer[1]


@pytest.fixture
async def server() -> AsyncIterator[ServerInfo]:
    """The benchmark server's fake, in-process (the benchmarks run it as a subprocess)."""
    fake: FakeWeCom = build_fake("light", latency=0.001)
    async with fake:
        yield ServerInfo(
            base_url=fake.base_url,
            corp_id=fake.corp_id,
            corp_secret=fake.corp_secret,
            cal_id=fake.default_cal_id(),
            pid=0,
        )


async def test_the_client_reads_generated_schedules_and_adds(server: ServerInfo) -> None:
    ids = list(schedule_ids(2500))
    async with WeComClient(
        corp_id=server.corp_id, corp_secret=server.corp_secret, base_url=server.base_url
    ) as client:
        found = await client.schedules.get_many(ids)
        assert [s.schedule_id for s in found.schedules] == ids
        source = ScheduleSource("light")
        first = source.schedule(ids[0])
        assert found.schedules[0].summary == first["summary"]
        assert len(found.schedules[0].attendees) == len(first["attendees"])
        schedule = make_schedules(1, "light")[0]
        schedule_id = await client.schedules.add(**add_kwargs(schedule, cal_id=server.cal_id))
        assert len(schedule_id) == 32


def test_fake_clock_runs_hours_of_timers_at_once() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(asyncio.sleep(3600 * k) for k in range(1, 4)))
        return loop.time() - start

    elapsed = run_on_fake_clock(main())
    assert 3 * 3600 <= elapsed < 3 * 3600 + 1


def test_max_in_window_counts_closed_windows() -> None:
    assert max_in_window([], 60) == 0
    assert max_in_window([0.0, 60.0, 60.5, 200.0], 60) == 2
    rng = random.Random(5)
    times = sorted(rng.uniform(0, 500) for _ in range(300))
    brute = max(sum(1 for u in times if t <= u <= t + 30) for t in times)
    assert max_in_window(times, 30) == brute


def test_the_tables_benchmark_measures_parquet_and_csv_against_jsonl() -> None:
    (result,) = bench_main.run_all(SMOKE, ["B10"], log=lambda _: None)
    rows = {row.measure: row for row in result.rows}
    per = f"{SMOKE.table_schedules:,} light schedules"
    for fmt in ("Parquet", "CSV"):
        for what in ("time", "size"):
            row = rows[f"write {per} to {fmt} ÷ to JSONL: {what}"]
            assert row.ours > 0
            assert row.baseline is not None
            assert row.baseline > 0
            assert row.ratio == row.ours / row.baseline
    # Sizes are no timing: columnar and compressed, the same rows take less room than JSONL.
    assert rows[f"write {per} to Parquet ÷ to JSONL: size"].ratio < 0.5


def test_the_recurrence_benchmark_covers_every_rule_and_agrees() -> None:
    """B11's schedules use every repeat type and option; ours and its peer count alike."""
    from benchmarks import bench_recurrence
    from wecom_async import RepeatType

    schedules = bench_recurrence.make_recurring(200)
    rules = {(s.reminders.repeat_type, s.reminders.is_custom_repeat) for s in schedules}
    assert rules == {(t, c) for t in RepeatType for c in (False, True)}
    assert any(s.reminders.repeat_until for s in schedules)
    assert any(s.reminders.exclude_time_list for s in schedules)
    (result,) = bench_recurrence.run(SMOKE)
    (row,) = result.rows
    assert row.baseline is not None
    assert row.ratio > 0
    assert " occurrences)" in row.measure
    assert "(0 occurrences)" not in row.measure

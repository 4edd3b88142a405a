"""The README's main job: the demo on the embedded fake server (in-process; the CLI test runs it
as ``wecom-async demo``)."""

from __future__ import annotations

import io
import sys

import pytest
from rich.cells import cell_len
from rich.console import Console

from wecom_async._demo import demo_dataset, run_demo


async def test_demo_fetches_everything_it_created() -> None:
    out = io.StringIO()
    result = await run_demo(
        schedules=2400, added=20, latency=0.0, console=Console(file=out, width=100)
    )
    text = out.getvalue()
    assert result.fetched == 2420
    assert result.missing == ("unknown-id-1", "unknown-id-2")
    assert result.duplicates == 100
    assert result.retries == 3  # two "busy" answers and one HTTP 502, all retried
    assert result.calls == result.chunks + result.retries
    assert result.failed_ids == 0
    assert 0 < result.cancelled < result.fetched
    assert 0 < result.recurring < result.fetched
    assert "Schedules fetched   2,420" in text
    assert "A sample schedule" in text
    assert "By calendar" in text
    # The callbacks step: two schedules changed through the API, each event sent twice.
    assert result.callback_changes == ("upserted", "deleted")
    assert "6 encrypted POSTs" in text
    assert "2 changes fetched with 1 schedule/get call" in text


async def test_demo_without_the_callbacks_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wecom_async.callbacks", None)  # as if not installable
    out = io.StringIO()
    result = await run_demo(schedules=50, added=2, latency=0.0, console=Console(file=out))
    assert result.callback_changes == ()
    assert "pip install 'wecom-async[callbacks]'" in out.getvalue()


def test_demo_dataset_is_realistic_and_deterministic() -> None:
    data = list(demo_dataset(2000, cal_ids=("wcA", "wcB")))
    assert data == list(demo_dataset(2000, cal_ids=("wcA", "wcB")))
    assert {s["cal_id"] for s in data} == {"wcA", "wcB"}
    cancelled = sum(s["status"] == 1 for s in data)
    recurring = sum(s["reminders"].get("is_repeat", 0) for s in data)
    assert 50 < cancelled < 200
    assert 500 < recurring < 900
    assert all(s["admins"][0] == s["attendees"][0]["userid"] for s in data)
    assert all(s["end_time"] > s["start_time"] for s in data)
    assert any(ord(c) > 0x4E00 for c in data[0]["summary"])


async def test_demo_counts_ids_one_way_and_its_bar_fits_80_columns() -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, record=True)
    result = await run_demo(schedules=2400, added=20, latency=0.0, console=console)
    text = console.export_text()
    distinct = result.fetched + len(result.missing)
    assert distinct == 2422
    # The announcement, the bar and the summary count the same (distinct) IDs.
    assert f"Bulk-fetching {distinct:,} IDs (2 of them unknown) from a list of 2,522" in text
    last_frame = text.split("Summary")[0].rsplit("Fetching", 1)[1].splitlines()[0]
    assert f" {distinct:,}/{distinct:,} IDs 100% " in last_frame
    assert cell_len("⠋ Fetching" + last_frame.rstrip()) <= 80
    assert "━" in last_frame
    assert last_frame.rstrip().endswith(f"{result.calls} calls, {result.retries} retries")
    assert f"Schedules fetched   {result.fetched:,}" in text

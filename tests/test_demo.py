"""The README's main job: the demo on the embedded fake server."""

from __future__ import annotations

import io
import re

from wecom_async._demo import run_demo


async def test_demo_fetches_everything_it_created() -> None:
    out = io.StringIO()
    fetched = await run_demo(server_side=300, added=20, out=out)
    text = out.getvalue()
    assert fetched == 320
    assert "Schedules fetched:  320" in text
    missing = re.findall(r"Missing IDs:\s+(.*)", text)[0]
    assert sorted(missing.strip("[]").replace("'", "").split(", ")) == [
        "unknown-id-1",
        "unknown-id-2",
    ]
    assert "Duplicates dropped: 100" in text
    calls, retries = map(int, re.findall(r"Calls / retries:\s+(\d+) / (\d+)", text)[0])
    assert retries == 3
    assert calls == 1 + retries
    assert "A sample schedule:" in text

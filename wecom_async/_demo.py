"""The demo: what wecom_async does, on the embedded fake server, with no WeCom account.

It starts :class:`~wecom_async.testing.FakeWeCom` on loopback, creates schedules through the
client, stores a few thousand more on the server side (some cancelled), injects a few transient
faults, then bulk-fetches everything (plus a few unknown IDs) and prints a summary.
Only the public API is used.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import TextIO

from . import BulkProgress, Reminders, RepeatType, Schedule, WeComClient
from .testing import FakeWeCom

_SUMMARIES = (
    "需求评审会议",
    "周例会",
    "产品发布复盘",
    "客户拜访",
    "技术分享：异步编程",
    "1:1 沟通",
)
_PLACES = ("广州国际媒体港10楼1005会议室", "深圳总部 A 座 3 楼", "线上会议", "")


def _server_side_schedules(count: int, rng: random.Random) -> list[dict[str, object]]:
    start = 1_767_225_600  # 2026-01-01 08:00 +08:00
    schedules: list[dict[str, object]] = []
    for i in range(count):
        attendees = [f"user{rng.randrange(500):03d}" for _ in range(rng.randrange(1, 7))]
        begin = start + rng.randrange(0, 90) * 86400 + rng.randrange(0, 20) * 1800
        recurring = rng.random() < 0.4
        schedules.append(
            {
                "summary": f"{rng.choice(_SUMMARIES)} #{i}",
                "location": rng.choice(_PLACES),
                "start_time": begin,
                "end_time": begin + 3600,
                "attendees": [{"userid": a} for a in dict.fromkeys(attendees)],
                "admins": attendees[:1],
                "status": 1 if rng.random() < 0.05 else 0,
                "reminders": {
                    "is_remind": 1,
                    "remind_time_diffs": [-900],
                    "is_repeat": int(recurring),
                    "repeat_type": rng.choice([0, 1, 2, 7]) if recurring else 0,
                },
            }
        )
    return schedules


def _render(schedule: Schedule) -> str:
    lines = [
        f"  {schedule.summary}  [{schedule.schedule_id}]",
        f"    when:      {schedule.start:%Y-%m-%d %H:%M} – {schedule.end:%H:%M} "
        f"(UTC{schedule.reminders.timezone:+d})",
        f"    where:     {schedule.location or '—'}",
        f"    attendees: {', '.join(schedule.attendee_ids)}",
    ]
    if schedule.reminders.is_repeat:
        lines.append(f"    repeats:   {schedule.reminders.repeat_type.name.lower()}")
    if schedule.is_cancelled:
        lines.append("    status:    cancelled")
    return "\n".join(lines)


async def run_demo(*, server_side: int = 5000, added: int = 200, out: TextIO = sys.stdout) -> int:
    """Run the demo and print to ``out``; returns the number of schedules fetched."""
    rng = random.Random(7)

    def say(text: str = "") -> None:
        print(text, file=out, flush=True)

    async with FakeWeCom() as fake:
        say(f"Fake WeCom server listening at {fake.base_url} (corp {fake.corp_id})")
        async with WeComClient(
            corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
        ) as client:
            created = await asyncio.gather(
                *(
                    client.schedules.add(
                        start_time=1_767_600_000 + i * 3600,
                        end_time=1_767_603_600 + i * 3600,
                        summary=f"{_SUMMARIES[i % len(_SUMMARIES)]}（接口创建 {i}）",
                        attendees=["zhangsan", "lisi"],
                        admins=["zhangsan"],
                        reminders=Reminders(
                            is_remind=True,
                            remind_time_diffs=(-900, -3600),
                            is_repeat=i % 3 == 0,
                            repeat_type=RepeatType.WEEKLY,
                        ),
                    )
                    for i in range(added)
                )
            )
            say(f"Created {len(created)} schedules with client.schedules.add")
            seeded = fake.seed_schedules(_server_side_schedules(server_side, rng))
            say(f"Stored {len(seeded)} more on the server side")

            ids = [*created, *seeded, *seeded[:100], "unknown-id-1", "unknown-id-2"]
            rng.shuffle(ids)
            fake.faults.errcode(-1, times=2, path="oa/schedule/get")
            fake.faults.http_status(502, times=1, path="oa/schedule/get")

            def progress(p: BulkProgress) -> None:
                print(
                    f"\r  fetched {p.ids_done:>6} IDs in {p.calls} calls, {p.retries} retries",
                    end="",
                    file=out,
                    flush=True,
                )

            say(f"Bulk-fetching {len(ids)} IDs (with duplicates and unknown IDs)…")
            began = time.perf_counter()
            result = await client.schedules.get_many(ids, progress=progress)
            elapsed = time.perf_counter() - began
            say()
            cancelled = sum(s.is_cancelled for s in result.schedules)
            say()
            say(f"Schedules fetched:  {len(result.schedules)}")
            say(f"Cancelled:          {cancelled}")
            say(f"Missing IDs:        {result.missing}")
            say(f"Duplicates dropped: {result.progress.duplicates}")
            say(f"Calls / retries:    {result.progress.calls} / {result.progress.retries}")
            say(f"Throughput:         {len(result.schedules) / elapsed:,.0f} schedules/s")
            say("A sample schedule:")
            say(_render(result.schedules[0]))
            return len(result.schedules)


def main() -> None:
    asyncio.run(run_demo())

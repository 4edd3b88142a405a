"""Running a fleet of ``tests._fleet_worker`` processes against an in-process fake WeCom.

Shared by tests/test_fleet.py and benchmark B9 (``benchmarks/bench_redis.py``). :func:`fleet`
starts the fake with the quota and concurrency limit the fleet is configured with; every worker
still running at the end is killed, also when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from wecom_async._demo import demo_dataset
from wecom_async.testing import FakeWeCom, Quota

__all__ = ["PATH", "Fleet", "Worker", "answered_ok", "fleet"]

ROOT = Path(__file__).resolve().parent.parent
PATH = "oa/schedule/get"
#: Seconds a worker may take to start (imports, a busy machine) and to report after STOP.
START_TIMEOUT = 60.0
REPORT_TIMEOUT = 60.0


class Worker:
    """One ``tests._fleet_worker`` process; see that module for the protocol."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: Path) -> None:
        self.process = process
        self.stderr_path = stderr
        self.result: dict[str, Any] = {}
        self.stop_at = 0.0

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def warnings(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("WARNING ")]

    async def ready(self) -> None:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), START_TIMEOUT)
        assert line == b"ready\n", f"worker did not start: {line!r}\n{self.stderr}"

    async def go(self, start: float, stop: float) -> None:
        assert self.process.stdin is not None
        self.stop_at = stop
        self.process.stdin.write(f"go {start} {stop}\n".encode())
        await self.process.stdin.drain()

    async def report(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        timeout = max(0.0, self.stop_at - time.time()) + REPORT_TIMEOUT
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        assert line, f"worker died (exit {await self.process.wait()}):\n{self.stderr}"
        self.result = json.loads(line)
        assert await asyncio.wait_for(self.process.wait(), REPORT_TIMEOUT) == 0, self.stderr
        return self.result


class Fleet:
    """Starts workers against *fake*; :func:`fleet` kills whatever is left at the end."""

    def __init__(self, fake: FakeWeCom, directory: Path, ids: list[str]) -> None:
        self.fake = fake
        self.directory = directory
        self.ids = ids
        self.workers: list[Worker] = []

    async def spawn(
        self,
        *,
        redis: str | None,
        per_minute: int,
        max_concurrency: int,
        share: int = 1,
        tasks: int = 3,
        grace: float = 20.0,
    ) -> Worker:
        """A worker process; *tasks* coroutines call back to back; after STOP, the calls still
        waiting for their turn get *grace* seconds to finish (then they are cancelled)."""
        config = {
            "base_url": self.fake.base_url,
            "corp_id": self.fake.corp_id,
            "redis": redis,
            "per_minute": per_minute,
            "per_hour": 100_000,
            "share": share,
            "max_concurrency": max_concurrency,
            "tasks": tasks,
            "ids": self.ids,
            "grace": grace,
        }
        stderr = self.directory / f"worker{len(self.workers)}.err"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "WECOM_FLEET_SECRET": self.fake.corp_secret}
        with stderr.open("wb") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests._fleet_worker",
                json.dumps(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=ROOT,
                env=env,
            )
        worker = Worker(process, stderr)
        self.workers.append(worker)
        return worker

    async def start(self, workers: list[Worker], seconds: float) -> tuple[float, float]:
        """Wait until *workers* are ready, then let them run together for *seconds*."""
        await asyncio.gather(*(w.ready() for w in workers))
        start = time.time() + 0.5
        stop = start + seconds
        await asyncio.gather(*(w.go(start, stop) for w in workers))
        return start, stop

    def kill_all(self) -> None:
        for worker in self.workers:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()


@contextlib.asynccontextmanager
async def fleet(
    tmp_path: Path, *, per_minute: int, max_concurrency: int, latency: float
) -> AsyncIterator[Fleet]:
    """A fake WeCom with the quota and concurrency limit the fleet is configured with, answering
    every ``schedule/get`` after *latency* seconds; every worker is killed on the way out."""
    async with FakeWeCom(
        quota=Quota(per_minute=per_minute, per_hour=None),
        max_concurrency=max_concurrency,
        record_bodies=False,
    ) as fake:
        ids = fake.seed_schedules(demo_dataset(20))
        fake.faults.latency(latency, times=None, path=PATH)
        group = Fleet(fake, tmp_path, ids)
        try:
            yield group
        finally:
            group.kill_all()
            for worker in group.workers:
                await worker.process.wait()


def answered_ok(fake: FakeWeCom, start: float, stop: float) -> int:
    """Calls of *PATH* answered with errcode 0 that arrived within [start, stop]."""
    return sum(
        1 for r in fake.requests if r.path == PATH and r.errcode == 0 and start <= r.time <= stop
    )

"""The fake WeCom server of the benchmarks, in its own process.

``python -m benchmarks._server --profile light [--latency 0.05]`` starts a
:class:`~wecom_async.testing.FakeWeCom` on loopback whose ``oa/schedule/get`` serves a schedule
for *any* ID, generated deterministically from the ID (:class:`~benchmarks._data.ScheduleSource`:
nothing is stored, so a million IDs cost the server no memory). Everything else is the fake as
it is: token checks, request parsing and validation, ``oa/schedule/add`` storing schedules.
``--latency`` adds that many seconds before every schedule/get is handled (the fake's own
latency fault), standing in for a round trip to WeCom. Quotas are off (the client under test
has its own limiter) and request bodies are not kept.

It prints one JSON line (``base_url``, ``corp_id``, ``corp_secret``, ``cal_id``) when it
listens, and serves until its standard input is closed or it gets SIGTERM/SIGINT.
:class:`ServerProcess` runs it from a benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import attrs
import orjson

from wecom_async.testing import FakeWeCom, HandlerContext
from wecom_async.testing._validation import check_schedule_get

from ._data import PROFILES, Profile, ScheduleSource

__all__ = ["ServerInfo", "ServerProcess", "generating_get_handler", "main"]

PATH_GET = "oa/schedule/get"
#: Where ``python -m benchmarks…`` works from (the subprocesses are started there).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def generating_get_handler(
    source: ScheduleSource,
) -> Any:
    """An ``oa/schedule/get`` handler answering every (valid) ID from *source*."""

    def schedule_get(ctx: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
        ids = list(dict.fromkeys(check_schedule_get(body)))
        # A pre-encoded array: the fake serialises its answer with orjson, which splices it in.
        return {"schedule_list": orjson.Fragment(source.encode_list(ids))}

    return schedule_get


def build_fake(profile: Profile, *, latency: float = 0.0, seed: int = 0) -> FakeWeCom:
    """A fake WeCom serving generated schedules (not started)."""
    fake = FakeWeCom(quota=None, record_bodies=False, seed=seed)
    fake.endpoints[PATH_GET] = generating_get_handler(ScheduleSource(profile))
    if latency > 0:
        fake.faults.latency(latency, times=None, path=PATH_GET)
    return fake


async def _serve(args: argparse.Namespace) -> None:
    fake = build_fake(args.profile, latency=args.latency, seed=args.seed)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    # Standard input closing (the parent went away) stops the server too.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    watch = asyncio.ensure_future(reader.read())
    watch.add_done_callback(lambda _: stop.set())
    async with fake:
        info = {
            "base_url": fake.base_url,
            "corp_id": fake.corp_id,
            "corp_secret": fake.corp_secret,
            "cal_id": fake.default_cal_id(),
        }
        sys.stdout.write(orjson.dumps(info).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()
        # Drop what the fake logged (one record per request), then stop.
        fake.clear_requests()
    watch.cancel()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--profile", choices=PROFILES, default="light")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per schedule/get")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))


@attrs.frozen
class ServerInfo:
    base_url: str
    corp_id: str
    corp_secret: str
    cal_id: str
    pid: int


class ServerProcess:
    """``with ServerProcess("light") as server:`` runs the server above in a subprocess."""

    def __init__(self, profile: Profile, *, latency: float = 0.0, seed: int = 0) -> None:
        self._args = [
            sys.executable,
            "-m",
            "benchmarks._server",
            "--profile",
            profile,
            "--latency",
            repr(latency),
            "--seed",
            str(seed),
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerInfo:
        process = self._process = subprocess.Popen(
            self._args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=PROJECT_ROOT
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"the benchmark server did not start (exit {process.returncode})")
        info = orjson.loads(line)
        return ServerInfo(**info, pid=process.pid)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


if __name__ == "__main__":
    main()

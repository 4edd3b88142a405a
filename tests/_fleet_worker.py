"""One process of a fleet (tests/test_fleet.py, benchmark B9): hammers ``schedules.get``.

``python -m tests._fleet_worker CONFIG_JSON`` with the corp secret in ``WECOM_FLEET_SECRET``.
It uses only the public API: ``WeComClient(..., redis=…, rate_limits=RateLimits(…))``. Once its
client is open it prints ``ready``, then waits for ``go START STOP`` on standard input (epoch
seconds, so that every process of the fleet starts and stops together), runs ``tasks``
coroutines calling ``schedules.get`` back to back from START, starts no call after STOP, waits
at most ``grace`` seconds for the calls still running (then cancels them) and prints one JSON
line: ``{"ok": N, "errors": {"APIError 45009": n, …}, "cancelled": n, "first": t, "last": t}``.
Log records of WARNING and above go to standard error as ``LEVEL name: message``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import sys
import time
from typing import Any

from wecom_async import RateLimits, WeComClient, WeComError


async def _run(config: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if config.get("redis"):
        options["redis"] = config["redis"]
    limits = RateLimits(
        per_minute=config["per_minute"],
        per_hour=config["per_hour"],
        share=config.get("share", 1),
        max_concurrency=config["max_concurrency"],
    )
    ids: list[str] = config["ids"]
    errors: collections.Counter[str] = collections.Counter()
    ok = 0
    first = last = 0.0
    loop = asyncio.get_running_loop()
    async with WeComClient(
        corp_id=config["corp_id"],
        corp_secret=os.environ["WECOM_FLEET_SECRET"],
        base_url=config["base_url"],
        rate_limits=limits,
        **options,
    ) as client:
        print("ready", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        word, start, stop = line.split()
        assert word == "go", line
        start_at, stop_at = float(start), float(stop)
        await asyncio.sleep(max(0.0, start_at - time.time()))

        async def hammer(offset: int) -> None:
            nonlocal ok, first, last
            n = offset
            while time.time() < stop_at:
                n += 1
                try:
                    await client.schedules.get([ids[n % len(ids)]])
                except WeComError as exc:
                    code = getattr(exc, "errcode", None)
                    errors[f"{type(exc).__name__} {code}".strip()] += 1
                else:
                    ok += 1
                    last = time.time()
                    first = first or last

        tasks = [asyncio.ensure_future(hammer(i)) for i in range(config["tasks"])]
        await asyncio.sleep(max(0.0, stop_at - time.time()))
        _, pending = await asyncio.wait(tasks, timeout=config.get("grace", 10.0))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                errors[f"crash {type(exc).__name__}: {exc}"] += 1
    return {
        "ok": ok,
        "errors": dict(errors),
        "cancelled": len(pending),
        "first": first,
        "last": last,
    }


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    config = json.loads(sys.argv[1])
    result = asyncio.run(_run(config))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

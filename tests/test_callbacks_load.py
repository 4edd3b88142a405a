"""The receiver under load: 1,000 callbacks/s for 5 s with a handler slower than any answer.

WeCom gives a receiver 5 s to answer, then retries. The sender runs in its own process (WeCom's
side, on the other core); the receiver is the aiohttp app on loopback. Every answer must come in
under WeCom's 5 s (a generous bound for a loopback answer that does no I/O: only a receiver that
waits for its handler, or something as broken, exceeds it), and every event reach the handler
exactly once although a tenth of the requests are redeliveries. The handler does not return
before the sender has every answer (then it takes 1 s more): a receiver that waited for its
handler would never answer, whatever the machine's speed. WECOM_LOAD_RATE and
WECOM_LOAD_SECONDS change the load; the figures are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

import orjson
from aiohttp import web

from tests._callback_sender import crypto, event, event_number
from wecom_async.callbacks import CallbackDispatcher, CallbackEvent, callback_app

RATE = float(os.environ.get("WECOM_LOAD_RATE", "1000"))
SECONDS = float(os.environ.get("WECOM_LOAD_SECONDS", "5"))
HANDLER_SECONDS = 1.0
WECOM_DEADLINE = 5.0
ROOT = Path(__file__).resolve().parent.parent  # where ``-m tests._callback_sender`` is found


async def test_receiver_answers_within_the_deadline_under_load() -> None:
    delivered: Counter[CallbackEvent] = Counter()
    answered = asyncio.Event()
    count = int(RATE * SECONDS)

    async def slow_handler(event: CallbackEvent) -> None:
        await answered.wait()
        await asyncio.sleep(HANDLER_SECONDS)
        delivered[event] += 1

    dispatcher = CallbackDispatcher(slow_handler, max_pending=max(count, 1))
    runner = web.AppRunner(callback_app(crypto(), dispatcher), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/wecom/callback"
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests._callback_sender",
            url,
            str(RATE),
            str(SECONDS),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=SECONDS + 120)
        assert process.returncode == 0
        result = orjson.loads(out)
        in_flight = dispatcher.pending
        answered.set()
        await dispatcher.drain()
    finally:
        await runner.cleanup()

    statuses: list[int] = result["statuses"]
    latencies: list[float] = result["latencies"]
    assert Counter(statuses) == {200: count}
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"\nreceiver load: {count} callbacks planned at {RATE:.0f}/s over {SECONDS:.0f} s, "
        f"sent in {result['send_seconds']:.2f} s ({count / result['send_seconds']:.0f}/s), "
        f"all answered in {result['total_seconds']:.2f} s; answer time p50 "
        f"{quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; {in_flight} handlers in flight at the end"
    )
    assert max(latencies) < WECOM_DEADLINE
    expected = {event(event_number(i)) for i in range(count)}
    assert len(expected) == count - count // 10
    assert in_flight == len(expected)  # every event handed over, none returned yet
    assert set(delivered) == expected
    assert set(delivered.values()) == {1}
    assert list(dispatcher.failed) == []

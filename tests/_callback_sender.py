"""The load test's sender, run in its own process (the second core): WeCom's side.

``python -m tests._callback_sender URL RATE SECONDS`` POSTs ``RATE * SECONDS`` encrypted
``modify_schedule`` callbacks at a steady RATE per second (open loop: each at its planned time,
whatever the answers before it), every tenth one a redelivery of an earlier event, and prints
one JSON line: each answer's status and time, and the time the sending took.
"""

from __future__ import annotations

import asyncio
import sys
import time

import aiohttp
import orjson

from wecom_async.callbacks import CallbackCrypto, ScheduleModified, build_event_xml

TOKEN = "l0adT0ken"
KEY = "LoadTestKeyLoadTestKeyLoadTestKeyLoadTestK0"
CORP = "wwloadtest"


def crypto() -> CallbackCrypto:
    return CallbackCrypto(token=TOKEN, encoding_aes_key=KEY, receive_id=CORP)


def event_number(i: int) -> int:
    """The event the i-th request carries: every tenth request redelivers the one 5 before."""
    return event_number(i - 5) if i % 10 == 9 else i


def event(n: int) -> ScheduleModified:
    return ScheduleModified(
        to_user_name=CORP,
        from_user_name="sys",
        create_time=1_700_000_000,
        cal_id="cal",
        schedule_id=f"load-{n}",
    )


async def send(url: str, rate: float, seconds: float) -> dict[str, object]:
    cb = crypto()
    count = int(rate * seconds)
    requests = [
        cb.encrypt_request(
            build_event_xml(event(event_number(i))), timestamp="1700000000", nonce=f"n{i}"
        )
        for i in range(count)
    ]
    statuses: list[int] = [0] * count
    latencies: list[float] = [0.0] * count
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> None:
            query, body = requests[i]
            started = time.perf_counter()
            try:
                async with session.post(url, params=query, data=body) as response:
                    await response.read()
                    statuses[i] = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses[i] = -1
                print(f"request {i}: {type(exc).__name__}: {exc}", file=sys.stderr)
            latencies[i] = time.perf_counter() - started

        tasks = []
        start = time.perf_counter()
        for i in range(count):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        sent = time.perf_counter() - start
        await asyncio.gather(*tasks)
        finished = time.perf_counter() - start
    return {
        "statuses": statuses,
        "latencies": latencies,
        "send_seconds": sent,
        "total_seconds": finished,
    }


def main() -> None:
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    result = asyncio.run(send(url, rate, seconds))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main()

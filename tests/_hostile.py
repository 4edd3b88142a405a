"""A hostile WeCom on loopback: every path answers what a test says (gettoken: a token).

The fake server (wecom_async.testing) behaves like the documented API; this one does not: it
answers garbage, huge or deeply nested bodies, gzip bombs, cut-off and slow answers.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORP_ID = "wwhostile"
CORP_SECRET = "hostile-secret-0123456789abcdef"


class Hostile:
    """The server: set ``handler`` to choose how API calls (all but gettoken) are answered."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.handler: Handler = answer_schedules
        #: How gettoken is answered (a token, by default).
        self.gettoken_handler: Handler = answer_token
        self.calls = 0
        #: Set when the server stops: slow handlers wait for it.
        self.stopping = asyncio.Event()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        return await self.handler(request)


@asynccontextmanager
async def hostile_server() -> AsyncIterator[Hostile]:
    server: Hostile | None = None

    async def gettoken(request: web.Request) -> web.StreamResponse:
        assert server is not None
        return await server.gettoken_handler(request)

    async def api(request: web.Request) -> web.StreamResponse:
        assert server is not None
        return await server.dispatch(request)

    app = web.Application()
    app.router.add_get("/cgi-bin/gettoken", gettoken)
    app.router.add_post("/cgi-bin/{path:.+}", api)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server = Hostile(f"http://127.0.0.1:{port}")
    try:
        yield server
    finally:
        server.stopping.set()
        await runner.cleanup()


async def answer_token(request: web.Request) -> web.Response:
    return web.json_response({"errcode": 0, "access_token": "tok", "expires_in": 7200})


def schedule_json(schedule_id: str) -> dict[str, object]:
    return {"schedule_id": schedule_id, "start_time": 1, "end_time": 2, "summary": "s"}


async def requested_ids(request: web.Request) -> list[str]:
    ids: list[str] = (await request.json())["schedule_id_list"]
    return ids


async def answer_schedules(request: web.Request) -> web.Response:
    """What WeCom answers: every ID asked for is a schedule."""
    ids = await requested_ids(request)
    return web.json_response({"errcode": 0, "schedule_list": [schedule_json(i) for i in ids]})


def nested_body(depth: int) -> bytes:
    """A well-formed answer with an unknown field nested ``depth`` arrays deep."""
    return b'{"errcode":0,"schedule_list":[],"x":' + b"[" * depth + b"]" * depth + b"}"


@cache
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of ``size`` bytes of JSON whitespace, a thousandth of that compressed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    parts = [compressor.compress(b'{"errcode":0,"schedule_list":[')]
    block = b" " * (1 << 20)
    parts += [compressor.compress(block) for _ in range(size >> 20)]
    parts += [compressor.compress(b"]}"), compressor.flush()]
    return b"".join(parts)


def json_bytes(value: object) -> bytes:
    return orjson.dumps(value)


@contextmanager
def threaded_hostile_server() -> Iterator[Hostile]:
    """The server in a thread of its own, with its own event loop: for tests that run loops."""
    started: queue.Queue[tuple[Hostile, asyncio.AbstractEventLoop]] = queue.Queue()
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        async with hostile_server() as server:
            stop.append(asyncio.Event())
            started.put((server, asyncio.get_running_loop()))
            await stop[0].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    server, loop = started.get(timeout=30)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(timeout=30)

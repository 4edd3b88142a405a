"""Shared fixtures: a fake WeCom server on loopback and a client connected to it."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator

import pytest

from wecom_async import WeComClient
from wecom_async.testing import FakeWeCom, RedisServer


class RecordingSleep:
    """An injectable ``sleep`` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Hang:
    """The fake's ``sleep``: its latency faults last until :meth:`release` (then the fake can
    close without leaving a handler behind). A server that never answers makes any client
    timeout fire, however loaded the machine: no race between a timeout and a fixed delay."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self._released = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.entered.set()
        await self._released.wait()

    def release(self) -> None:
        self._released.set()


def pytest_configure(config: pytest.Config) -> None:
    """Our own pytest plugin (wecom_fake, wecom_client…): pytest loads it through the ``pytest11``
    entry point once the package is installed; from a checkout whose install predates the entry
    point (an older ``pip install -e``), it is registered here. test_pytest_plugin.py checks the
    entry point itself."""
    if not config.pluginmanager.has_plugin("wecom_async"):
        from wecom_async.testing import pytest_plugin

        config.pluginmanager.register(pytest_plugin, "wecom_async")


@pytest.fixture
async def hanging_fake() -> AsyncIterator[FakeWeCom]:
    """A fake whose latency faults (``fake.faults.latency(...)``) never end."""
    hang = Hang()
    async with FakeWeCom(sleep=hang) as server:
        try:
            yield server
        finally:
            hang.release()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as server:
        yield server


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(fake: FakeWeCom, sleep: RecordingSleep) -> AsyncIterator[WeComClient]:
    async with WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        sleep=sleep,
    ) as wecom:
        yield wecom


# --- Redis ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_session() -> Iterator[RedisServer]:
    """One real ``redis-server`` for the whole run (loopback, nothing persisted); stopped at the
    end even when tests fail. Missing redis-server: the tests that need it are skipped locally,
    but fail in CI (``CI`` set), where the Redis guarantees must be checked."""
    executable = shutil.which("redis-server")
    if executable is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message + ": CI must run the Redis tests", pytrace=False)
        pytest.skip(message)
    with RedisServer(executable) as server:
        yield server


@pytest.fixture
def redis_server(redis_session: RedisServer) -> RedisServer:
    """The session's Redis, running (restarted if a test stopped it), with no keys, no cached
    scripts and its command statistics at 0."""
    redis_session.start()
    redis_session.reset()
    return redis_session

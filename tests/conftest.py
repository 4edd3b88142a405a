"""Shared fixtures: a fake WeCom server on loopback and a client connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wecom_async import WeComClient
from wecom_async.testing import FakeWeCom


class RecordingSleep:
    """An injectable ``sleep`` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


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

"""``redis=`` used the wrong way round: a wrong password, many corps on one Redis.

In one process (the fleet tests run several); public API only, a real ``redis-server``.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from wecom_async import RateLimits, WeComClient
from wecom_async.testing import FakeWeCom, Quota, RedisServer

pytest.importorskip("redis")

PATH = "oa/schedule/get"


@pytest.mark.parametrize("given", ["wrong-pw-5150", None])
async def test_wrong_or_missing_password_limits_locally_and_never_shows_a_password(
    redis_session: RedisServer, caplog: pytest.LogCaptureFixture, given: str | None
) -> None:
    """Redis refuses us (WRONGPASS / NOAUTH): every call still succeeds, limited locally, one
    WARNING, and neither our password nor Redis's appears in any log record."""
    caplog.set_level(logging.DEBUG)
    with RedisServer(redis_session.executable, password="right-pw-8086") as server:
        auth = f":{given}@" if given else ""
        url = f"redis://{auth}127.0.0.1:{server.port}/0"
        async with (
            FakeWeCom(quota=Quota(per_minute=60, per_hour=None)) as fake,
            WeComClient(
                corp_id=fake.corp_id,
                corp_secret=fake.corp_secret,
                base_url=fake.base_url,
                redis=url,
                rate_limits=RateLimits(per_minute=60, share=2),
            ) as client,
        ):
            for _ in range(3):
                await client.schedules.get(["nope"])
            assert "wrong-pw" not in repr(client)
            assert fake.answered(0, PATH) == 3
        assert server.keys() == []  # nothing got in
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "redis" in warnings[0].getMessage().lower()
    for record in caplog.records:
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        assert "wrong-pw" not in text
        assert "right-pw" not in text


async def test_many_corps_share_one_redis_without_touching_each_other(
    redis_server: RedisServer,
) -> None:
    """20 corps, two clients each (as two processes would), one Redis: one gettoken per corp,
    keys per corp, and a corp at the end of its quota does not hold back any other corp."""
    corps = {f"wwcorp{n:02d}": f"secret-{n}" for n in range(20)}
    limits = RateLimits(per_minute=3, per_hour=1000)  # one call, then ~60 s to the next
    async with FakeWeCom(corps=corps, quota=Quota(per_minute=3, per_hour=None)) as fake:
        clients = [
            WeComClient(
                corp_id=corp,
                corp_secret=secret,
                base_url=fake.base_url,
                redis=redis_server.url,
                rate_limits=limits,
            )
            for corp, secret in corps.items()
            for _ in range(2)
        ]
        firsts, seconds = clients[::2], clients[1::2]
        try:
            # Corp 0 uses its burst; its other client (another process) must then wait …
            await firsts[0].schedules.get(["x"])
            held_back = asyncio.ensure_future(seconds[0].schedules.get(["x"]))
            # … while every other corp gets its call through at once.
            await asyncio.wait_for(
                asyncio.gather(*(c.schedules.get(["x"]) for c in firsts[1:])), 20
            )
            assert not held_back.done()
            held_back.cancel()
            # The second client of each corp takes the token its first client fetched.
            tokens = await asyncio.gather(*(c.tokens.get() for c in seconds))
            assert tokens == await asyncio.gather(*(c.tokens.get() for c in firsts))
            for corp in corps:
                assert fake.answered(0, PATH, corp_id=corp) == 1
                assert fake.calls("gettoken", corp_id=corp) == 1
        finally:
            for client in clients:
                await client.close()
        assert fake.quota_exceeded_count == 0
    keys = redis_server.keys()
    for corp in corps:
        assert any(corp in key for key in keys), corp

"""``--redis-url`` / ``WECOM_REDIS_URL``: CLI processes share the token (and quotas) in Redis."""

from __future__ import annotations

import pytest

from wecom_async.testing import FakeWeCom, RedisServer

from .test_cli import cli_env, closed_port, seed, wecom

pytest.importorskip("redis")


async def test_cli_processes_share_one_token_through_redis(
    fake: FakeWeCom, redis_server: RedisServer
) -> None:
    ids = seed(fake, 2)
    env = cli_env(fake, WECOM_REDIS_URL=redis_server.url)
    first = await wecom("schedules", "get", ids[0], env=env)
    second = await wecom("schedules", "get", ids[1], "--redis-url", redis_server.url, env=env)
    assert (first.code, second.code) == (0, 0), first.err + second.err
    assert fake.gettoken_calls == 1  # the second process read the first one's token
    assert redis_server.command_calls()["evalsha"] >= 4  # admissions and releases


async def test_cli_with_redis_down_still_works_and_never_shows_the_password(
    fake: FakeWeCom,
) -> None:
    ids = seed(fake, 1)
    url = f"redis://:pw-hunter2@127.0.0.1:{closed_port()}/0"
    result = await wecom(
        "schedules", "get", ids[0], "--debug", env=cli_env(fake, WECOM_REDIS_URL=url)
    )
    assert result.code == 0, result.err
    assert "Redis unavailable" in result.err
    assert "pw-hunter2" not in result.err + result.out


async def test_cli_rejects_a_url_that_is_not_redis(fake: FakeWeCom) -> None:
    url = "http://:pw-hunter2@127.0.0.1:1/0"
    result = await wecom("schedules", "get", "x", env=cli_env(fake, WECOM_REDIS_URL=url))
    assert result.code == 2
    assert "--redis-url/WECOM_REDIS_URL" in result.err
    assert "pw-hunter2" not in result.err

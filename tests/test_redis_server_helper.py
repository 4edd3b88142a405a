"""The test support's throw-away Redis (``wecom_async.testing.RedisServer``) and its fixture."""

from __future__ import annotations

import socket

import pytest

from wecom_async.testing import RedisServer, RedisServerError


def test_fixture_gives_a_clean_running_server(redis_server: RedisServer) -> None:
    assert redis_server.running
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_server.command("SET", "k", "v") == b"OK"
    assert redis_server.keys() == ["k"]
    assert redis_server.command_calls()["set"] == 1
    redis_server.reset()
    assert redis_server.keys() == []
    assert "set" not in redis_server.command_calls()
    info = redis_server.info("persistence")
    assert info["aof_enabled"] == "0"
    assert redis_server.command("CONFIG", "GET", "save") == [b"save", b""]
    assert redis_server.command("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.1"]


def test_stop_and_start_keep_the_port(redis_server: RedisServer) -> None:
    port = redis_server.port
    redis_server.command("SET", "k", "v")
    redis_server.stop()
    assert not redis_server.running
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=1),
    ):
        pass
    redis_server.start()
    assert redis_server.port == port
    assert redis_server.command("PING") == b"PONG"
    assert redis_server.keys() == []  # nothing persisted across the restart


def test_password_is_required_and_never_in_repr() -> None:
    with RedisServer(password="s3cr3t-pw") as server:
        assert server.url == f"redis://:s3cr3t-pw@127.0.0.1:{server.port}/0"
        assert "s3cr3t-pw" not in repr(server)
        assert server.command("PING") == b"PONG"
        anonymous = RedisServer(server.executable, port=server.port)
        with pytest.raises(RedisServerError, match="NOAUTH"):
            anonymous.command("GET", "k")
    assert not server.running


def test_missing_executable_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RedisServerError, match="redis-server not found"):
        RedisServer()


def test_monitor_counts_what_clients_send_not_what_scripts_run(redis_server: RedisServer) -> None:
    script = "redis.call('SET', KEYS[1], 'a'); redis.call('GET', KEYS[1]); return 1"
    with redis_server.monitor() as sent:
        redis_server.command("EVAL", script, 1, "k")
        redis_server.command("GET", "k")
    assert sent == ["eval", "get"]
    calls = redis_server.command_calls()  # the statistics count the script's commands too
    assert (calls["eval"], calls["set"], calls["get"]) == (1, 1, 2)

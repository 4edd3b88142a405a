"""Hostile or broken answers, against a server of our own on loopback (tests/_hostile.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests._hostile import (
    CORP_ID,
    CORP_SECRET,
    Hostile,
    answer_schedules,
    hostile_server,
    nested_body,
    requested_ids,
)
from wecom_async import (
    BulkProgress,
    ResponseDecodeError,
    UnexpectedError,
    WeComClient,
    WeComError,
)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    async with hostile_server() as server:
        yield server


async def no_sleep(seconds: float) -> None:
    pass


def client_for(server: Hostile, **kwargs: object) -> WeComClient:
    return WeComClient(
        corp_id=CORP_ID,
        corp_secret=CORP_SECRET,
        base_url=server.base_url,
        sleep=no_sleep,
        **kwargs,  # type: ignore[arg-type]
    )


def ids(count: int) -> list[str]:
    return [f"s{i:05d}" for i in range(count)]


# --- deeply nested JSON --------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [2_000, 200_000])
async def test_a_deeply_nested_answer_is_a_response_decode_error(
    hostile: Hostile, depth: int
) -> None:
    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=nested_body(depth), content_type="application/json")

    hostile.handler = nested
    async with client_for(hostile) as client:
        with pytest.raises(ResponseDecodeError, match="nested too deeply"):
            await client.schedules.get(["a"])
        # the escape hatch (orjson) and a model given by the caller (msgspec) too
        with pytest.raises(ResponseDecodeError):
            await client.request("oa/schedule/get", {"schedule_id_list": ["a"]})


async def test_a_nested_error_answer_of_the_wrong_shape_is_a_response_decode_error(
    hostile: Hostile,
) -> None:
    # The schedule list has the wrong shape (so the envelope is decoded on its own), and the
    # envelope decoder then meets the nesting.
    body = b'{"errcode":0,"schedule_list":7,"x":' + b"[" * 5000 + b"]" * 5000 + b"}"

    async def nested(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    hostile.handler = nested
    async with client_for(hostile) as client:
        with pytest.raises(ResponseDecodeError):
            await client.schedules.get(["a"])


async def test_get_many_collect_accounts_for_a_chunk_answered_with_deep_nesting(
    hostile: Hostile,
) -> None:
    async def poisoned(request: web.Request) -> web.Response:
        if "s00250" in await requested_ids(request):
            return web.Response(body=nested_body(100_000), content_type="application/json")
        return await answer_schedules(request)

    hostile.handler = poisoned
    wanted = ids(1000)
    async with client_for(hostile) as client:
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
    got = [s.schedule_id for s in result.schedules]
    assert sorted(got + result.missing + result.failed_ids) == wanted
    assert result.failed_ids == wanted[200:300]
    assert isinstance(result.failures[0].error, ResponseDecodeError)
    assert result.progress.failed_ids == 100


# --- every exception a chunk can raise -----------------------------------------------------------


async def test_a_chunk_failing_with_any_exception_lands_its_ids_in_failures(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client_for(hostile) as client:
        real = client.schedules._get_chunk

        async def buggy(schedule_ids: tuple[str, ...], **kwargs: object) -> object:
            if "s00150" in schedule_ids:
                raise KeyError("a bug")
            return await real(schedule_ids, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(client.schedules, "_get_chunk", buggy)
        wanted = ids(500)
        result = await client.schedules.get_many(wanted, chunk_size=100, on_error="collect")
        got = [s.schedule_id for s in result.schedules]
        assert sorted(got + result.missing + result.failed_ids) == wanted
        assert result.failed_ids == wanted[100:200]
        error = result.failures[0].error
        assert isinstance(error, UnexpectedError)
        assert isinstance(error.__cause__, KeyError)
        assert error.error is error.__cause__
        assert "KeyError" in str(error)

        # with on_error="raise", the BulkFetchError carries it the same way
        with pytest.raises(WeComError) as caught:
            await client.schedules.get_many(wanted, chunk_size=100)
        assert caught.value.failed_ids == wanted[100:200]  # type: ignore[attr-defined]
        assert isinstance(caught.value.__cause__, UnexpectedError)


async def test_a_bug_in_the_progress_callback_is_raised_as_it_is(hostile: Hostile) -> None:
    # The callback is the caller's code: its exception is theirs, not a failed chunk.
    def progress(done: BulkProgress) -> None:
        if done.chunks_done == 2:
            raise ZeroDivisionError("callback bug")

    async with client_for(hostile) as client:
        with pytest.raises(ZeroDivisionError, match="callback bug"):
            await client.schedules.get_many(
                ids(500), chunk_size=100, on_error="collect", progress=progress
            )

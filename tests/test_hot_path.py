"""The request path sends bytes and reads bytes: no ``json=``, no ``resp.json()``.

aiohttp's ``json=`` serialises with the stdlib ``json.dumps`` (~18x slower than orjson on a
1000-ID body) and ``resp.json()`` decodes to dicts first (2.3–2.8x slower end to end than reading
bytes and decoding them into the models). Checked twice: in the source of every module a call
can go through, and at run time, with aiohttp's JSON helpers made to fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.payload import BytesPayload

import wecom_async
from wecom_async import WeComClient
from wecom_async.testing import FakeWeCom

PACKAGE = Path(wecom_async.__file__).parent


def _request_path_modules() -> Iterator[Path]:
    """Every module of the package except the fake server (which is the other side)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if "testing" not in path.relative_to(PACKAGE).parts:
            yield path


def _json_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if any(keyword.arg == "json" for keyword in node.keywords):
            found.append(f"{path.name}:{node.lineno}: json= argument")
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "json":
            found.append(f"{path.name}:{node.lineno}: .json() call")
    return found


def test_no_json_argument_or_json_method_in_the_source() -> None:
    modules = list(_request_path_modules())
    assert any(path.name == "_transport.py" for path in modules)
    found = [use for path in modules for use in _json_uses(path)]
    assert found == []


def test_the_check_above_would_catch_them(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "async def f(session, url, body):\n"
        "    async with session.post(url, json=body) as resp:\n"
        "        return await resp.json()\n",
        encoding="utf-8",
    )
    assert len(_json_uses(sample)) == 2


@pytest.fixture
def bytes_only(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """aiohttp refusing ``json=`` and the response's JSON/text helpers; records what was sent."""
    sent: list[tuple[str, object]] = []
    original = aiohttp.ClientSession.request

    def request(self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        assert "json" not in kwargs, "json= on the request path"
        sent.append((method, kwargs.get("data")))
        return original(self, method, url, **kwargs)

    async def refuse(self: aiohttp.ClientResponse, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the response was read as JSON/text, not as bytes")

    monkeypatch.setattr(aiohttp.ClientSession, "request", request)
    monkeypatch.setattr(aiohttp.ClientResponse, "json", refuse)
    monkeypatch.setattr(aiohttp.ClientResponse, "text", refuse)
    return sent


async def test_calls_send_and_read_bytes(
    fake: FakeWeCom, bytes_only: list[tuple[str, object]]
) -> None:
    async with WeComClient(
        corp_id=fake.corp_id, corp_secret=fake.corp_secret, base_url=fake.base_url
    ) as client:
        schedule_id = await client.schedules.add(start_time=1, end_time=2, attendees=["a"])
        assert [s.schedule_id for s in await client.schedules.get([schedule_id])] == [schedule_id]
        result = await client.schedules.get_many([schedule_id, "unknown"])
        assert result.missing == ["unknown"]
        answer = await client.request("oa/schedule/get", {"schedule_id_list": [schedule_id]})
        assert answer["schedule_list"][0]["schedule_id"] == schedule_id
    posts = [data for method, data in bytes_only if method == "POST"]
    assert len(posts) == 4
    # Bytes we encoded, handed over as a ready payload typed as JSON (no serialising by aiohttp).
    payloads = [data for data in posts if isinstance(data, BytesPayload)]
    assert len(payloads) == 4
    assert {data.content_type for data in payloads} == {"application/json"}
    add_body = orjson.loads(payloads[0].decode())
    assert add_body["schedule"]["attendees"] == [{"userid": "a"}]

"""The FastAPI example (examples/fastapi_app) against the fake WeCom, through FastAPI's TestClient.

TestClient runs the app on its own event loop in a thread; its blocking calls are made through
``asyncio.to_thread`` so that this test's loop keeps serving the fake (``wecom_fake``, from our
pytest plugin)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from examples.fastapi_app.app import Settings, create_app
from wecom_async.testing import FakeWeCom

START = 1_900_000_000


class Api:
    """The app under TestClient, called without blocking the fake's loop."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        return await asyncio.to_thread(
            functools.partial(self.client.request, method, url, **kwargs)
        )


async def _instant(seconds: float) -> None:
    return None


@pytest.fixture
async def api(wecom_fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    # Configured as in production: from the environment, read when the app starts.
    monkeypatch.setenv("WECOM_CORP_ID", wecom_fake.corp_id)
    monkeypatch.setenv("WECOM_CORP_SECRET", wecom_fake.corp_secret)
    monkeypatch.setenv("WECOM_BASE_URL", wecom_fake.base_url)
    monkeypatch.delenv("WECOM_REDIS_URL", raising=False)
    # Instant sleeps and no retries: the WeCom errors scripted below reach the app at once.
    client = TestClient(create_app(sleep=_instant, max_retries=0))
    await asyncio.to_thread(client.__enter__)  # the lifespan: the one client is made
    try:
        yield Api(client)
    finally:
        await asyncio.to_thread(client.__exit__, None, None, None)


async def test_add_then_read_a_schedule_through_one_client(api: Api, wecom_fake: FakeWeCom) -> None:
    body = {"start_time": START, "end_time": START + 3600, "summary": "standup"}
    created = await api.request("POST", "/schedules", json={**body, "attendees": ["lisi"]})
    assert created.status_code == 201, created.text
    schedule_id = created.json()["schedule_id"]
    got = await api.request("GET", f"/schedules/{schedule_id}")
    assert got.status_code == 200, got.text
    assert got.json() | body == got.json()
    assert got.json()["schedule_id"] == schedule_id
    assert got.json()["attendees"] == ["lisi"]
    assert got.json()["cancelled"] is False
    await api.request("GET", f"/schedules/{schedule_id}")
    # One client for the app: one token for all the requests.
    assert [r.path for r in wecom_fake.requests].count("gettoken") == 1
    assert [r.path for r in wecom_fake.requests].count("oa/schedule/get") == 2


async def test_validation_error_is_422_with_every_problem(api: Api, wecom_fake: FakeWeCom) -> None:
    response = await api.request(
        "POST",
        "/schedules",
        json={"start_time": START + 10, "end_time": START, "summary": "x" * 200},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "ValidationError"
    assert len(response.json()["problems"]) >= 2
    assert "oa/schedule/add" not in [r.path for r in wecom_fake.requests]  # nothing sent


async def test_unknown_schedule_is_404(api: Api) -> None:
    response = await api.request("GET", "/schedules/no-such-id")
    assert response.status_code == 404, response.text


async def test_not_found_error_is_404(api: Api, wecom_fake: FakeWeCom) -> None:
    wecom_fake.faults.errcode(90461, path="oa/schedule/get")
    response = await api.request("GET", "/schedules/some-id")
    assert response.status_code == 404, response.text
    assert response.json()["errcode"] == 90461


@pytest.mark.parametrize(("errcode", "retry_after"), [(45009, "60"), (45033, "1")])
async def test_rate_limit_is_503_with_retry_after(
    api: Api, wecom_fake: FakeWeCom, errcode: int, retry_after: str
) -> None:
    wecom_fake.faults.errcode(errcode, times=None, path="oa/schedule/get")
    response = await api.request("GET", "/schedules/some-id")
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == retry_after
    assert response.json()["errcode"] == errcode


async def test_other_wecom_errors_are_502_without_the_secret(
    api: Api, wecom_fake: FakeWeCom
) -> None:
    wecom_fake.faults.errcode(48002, path="oa/schedule/add")
    response = await api.request(
        "POST", "/schedules", json={"start_time": START, "end_time": START + 60}
    )
    assert response.status_code == 502, response.text
    assert response.json()["error"] == "PermissionDeniedError"
    assert wecom_fake.corp_secret not in response.text
    assert "access_token" not in response.text


def test_settings_come_from_the_environment_and_hide_secrets() -> None:
    with pytest.raises(RuntimeError, match="WECOM_CORP_SECRET"):
        Settings.from_env({"WECOM_CORP_ID": "corp"})
    settings = Settings.from_env(
        {
            "WECOM_CORP_ID": "corp",
            "WECOM_CORP_SECRET": "s3cret",
            "WECOM_REDIS_URL": "redis://:pw@127.0.0.1:6379/0",
        }
    )
    assert settings.base_url is None
    assert settings.redis_url == "redis://:pw@127.0.0.1:6379/0"
    assert "s3cret" not in repr(settings)
    assert "pw" not in repr(settings)

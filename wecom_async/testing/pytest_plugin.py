"""pytest fixtures for code using wecom_async: a fake WeCom on loopback and a client bound to it.

Registered through the ``pytest11`` entry point, so installing wecom-async is enough::

    async def test_add(wecom_client, wecom_fake):
        schedule_id = await wecom_client.schedules.add(start_time=..., end_time=...)
        assert wecom_fake.requests[-1].path == "oa/schedule/add"

Fixtures: ``wecom_fake`` (a running :class:`~wecom_async.testing.FakeWeCom`),
``wecom_client`` (a :class:`~wecom_async.WeComClient` bound to it, sleeps instant and recorded),
``wecom_fake_clock`` (the fake's :class:`~wecom_async.testing.FakeClock`: advance it to expire
tokens or slide quota windows) and ``wecom_sleep`` (the delays the client slept, e.g. retry
back-offs). Markers: ``@pytest.mark.wecom_fake(**kwargs)`` passes keyword arguments to
``FakeWeCom`` (``quota=``, ``max_concurrency=``, ``fault_profile=``, ``token_ttl=``…) and
``@pytest.mark.wecom_client(**kwargs)`` to ``WeComClient`` (``max_retries=``, ``rate_limits=``…).

The async fixtures are ``pytest_asyncio`` fixtures: they work in pytest-asyncio's strict mode
and in auto mode. pytest-asyncio is not a dependency of wecom-async; without it, these fixtures
fail with a message saying so (and nothing else in the test run is affected).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .. import WeComClient
from ._clock import FakeClock
from ._server import FakeWeCom

__all__ = ["RecordingSleep"]

_MISSING_ASYNCIO = (
    "wecom_async's pytest fixtures (wecom_fake, wecom_client) need pytest-asyncio: "
    "pip install pytest-asyncio"
)


class RecordingSleep:
    """An injectable ``sleep`` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        #: Every delay asked for, in order (retry back-offs, limiter waits).
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "wecom_fake(**kwargs): keyword arguments for the wecom_fake fixture's FakeWeCom"
    )
    config.addinivalue_line(
        "markers",
        "wecom_client(**kwargs): keyword arguments for the wecom_client fixture's WeComClient",
    )


def _marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """The keyword arguments of the closest ``name`` marker (test, then class, then module)."""
    marker = request.node.get_closest_marker(name)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(f"@pytest.mark.{name} takes keyword arguments only")
    return dict(marker.kwargs)


@pytest.fixture
def wecom_fake_clock() -> FakeClock:
    """The ``wecom_fake`` server's clock: it moves only when advanced."""
    return FakeClock()


@pytest.fixture
def wecom_sleep() -> RecordingSleep:
    """The ``wecom_client``'s sleep: returns at once, records each delay in ``.delays``."""
    return RecordingSleep()


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised by test_pytest_plugin in a subprocess
    # Same names, sync: a test asking for them fails with the fix; other tests run as usual.
    @pytest.fixture(name="wecom_fake")
    def _wecom_fake_needs_pytest_asyncio() -> None:
        pytest.fail(_MISSING_ASYNCIO, pytrace=False)

    @pytest.fixture(name="wecom_client")
    def _wecom_client_needs_pytest_asyncio() -> None:
        pytest.fail(_MISSING_ASYNCIO, pytrace=False)

else:

    @pytest_asyncio.fixture
    async def wecom_fake(
        request: pytest.FixtureRequest, wecom_fake_clock: FakeClock
    ) -> AsyncIterator[FakeWeCom]:
        """A running fake WeCom on 127.0.0.1 (a free port), on ``wecom_fake_clock``."""
        kwargs: dict[str, Any] = {"clock": wecom_fake_clock}
        kwargs.update(_marker_kwargs(request, "wecom_fake"))
        async with FakeWeCom(**kwargs) as fake:
            yield fake

    @pytest_asyncio.fixture
    async def wecom_client(
        request: pytest.FixtureRequest, wecom_fake: FakeWeCom, wecom_sleep: RecordingSleep
    ) -> AsyncIterator[WeComClient]:
        """A client of ``wecom_fake`` (its corp and secret), sleeping through ``wecom_sleep``."""
        kwargs: dict[str, Any] = {
            "corp_id": wecom_fake.corp_id,
            "corp_secret": wecom_fake.corp_secret,
            "base_url": wecom_fake.base_url,
            "sleep": wecom_sleep,
        }
        kwargs.update(_marker_kwargs(request, "wecom_client"))
        async with WeComClient(**kwargs) as client:
            yield client

"""The pytest plugin (wecom_async/testing/pytest_plugin.py): its fixtures, used here as a user
would, and its ``pytest11`` entry point, checked by running pytest on a user's test file."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wecom_async import FrequencyLimitError, WeComClient
from wecom_async.testing import FakeClock, FakeWeCom
from wecom_async.testing.pytest_plugin import RecordingSleep

ROOT = Path(__file__).resolve().parent.parent
START = 1_900_000_000


def _paths(fake: FakeWeCom) -> list[str]:
    return [record.path for record in fake.requests]


async def test_wecom_client_talks_to_wecom_fake(
    wecom_client: WeComClient, wecom_fake: FakeWeCom
) -> None:
    schedule_id = await wecom_client.schedules.add(
        start_time=START, end_time=START + 3600, summary="plugin"
    )
    [schedule] = await wecom_client.schedules.get([schedule_id])
    assert schedule.summary == "plugin"
    assert _paths(wecom_fake) == ["gettoken", "oa/schedule/add", "oa/schedule/get"]
    assert wecom_fake.clock is not None


async def test_wecom_sleep_records_the_retry_back_off(
    wecom_client: WeComClient, wecom_fake: FakeWeCom, wecom_sleep: RecordingSleep
) -> None:
    wecom_fake.faults.errcode(-1, times=1, path="oa/schedule/get")
    assert await wecom_client.schedules.get(["missing"]) == []
    assert len(wecom_sleep.delays) == 1  # one back-off, slept instantly
    assert _paths(wecom_fake).count("oa/schedule/get") == 2


@pytest.mark.wecom_fake(token_ttl=600)
async def test_wecom_fake_marker_and_clock_expire_the_token(
    wecom_client: WeComClient, wecom_fake: FakeWeCom, wecom_fake_clock: FakeClock
) -> None:
    await wecom_client.schedules.get(["a"])
    wecom_fake_clock.advance(601)  # the fake's token (600 s, from the marker) expires
    await wecom_client.schedules.get(["b"])
    assert _paths(wecom_fake).count("gettoken") == 2


@pytest.mark.wecom_client(max_retries=0)
async def test_wecom_client_marker_reaches_the_client(
    wecom_client: WeComClient, wecom_fake: FakeWeCom
) -> None:
    wecom_fake.faults.errcode(45009, times=1, path="oa/schedule/get")
    with pytest.raises(FrequencyLimitError):
        await wecom_client.schedules.get(["a"])
    assert _paths(wecom_fake).count("oa/schedule/get") == 1  # max_retries=0: not retried


# --- a user's project: pytest run on a tiny test file, without our conftest ----------------------

USER_TEST = """
import pytest

{mark}
async def test_add(wecom_client):
    schedule_id = await wecom_client.schedules.add(start_time=1900000000, end_time=1900003600)
    assert [s.schedule_id for s in await wecom_client.schedules.get([schedule_id])] == [schedule_id]
"""


def _entry_point_installed() -> bool:
    return bool(importlib.metadata.entry_points(group="pytest11", name="wecom_async"))


def _plugin_args() -> list[str]:
    """Load the plugin by name where the installed metadata predates its entry point."""
    return [] if _entry_point_installed() else ["-p", "wecom_async.testing.pytest_plugin"]


def _run_user_pytest(
    tmp_path: Path, ini: str, test: str, *args: str, pythonpath: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(ini)
    (tmp_path / "test_user.py").write_text(test)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*pythonpath, str(ROOT)])  # this checkout's code
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("mode", "mark"), [("strict", "@pytest.mark.asyncio"), ("auto", "")], ids=["strict", "auto"]
)
def test_entry_point_gives_a_user_project_the_fixtures(
    tmp_path: Path, mode: str, mark: str
) -> None:
    if not _entry_point_installed():
        message = "the pytest11 entry point is not installed: pip install -e ."
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(message + " (CI must check it)", pytrace=False)
        pytest.skip(message)
    ini = f"[pytest]\nasyncio_mode = {mode}\nasyncio_default_fixture_loop_scope = function\n"
    result = _run_user_pytest(tmp_path, ini, USER_TEST.format(mark=mark))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_without_pytest_asyncio_the_fixtures_say_what_is_missing(tmp_path: Path) -> None:
    # A pytest_asyncio that cannot be imported shadows the installed one.
    shadow = tmp_path / "shadow"
    (shadow / "pytest_asyncio").mkdir(parents=True)
    (shadow / "pytest_asyncio" / "__init__.py").write_text("raise ImportError('not installed')\n")
    project = tmp_path / "project"
    project.mkdir()
    test = USER_TEST.format(mark="") + "\n\ndef test_other():\n    assert True\n"
    result = _run_user_pytest(
        project,
        "[pytest]\n",
        test,
        "-p",
        "no:asyncio",
        *_plugin_args(),
        pythonpath=(str(shadow),),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 passed, 1 error" in result.stdout, output  # the other test still runs
    assert "need pytest-asyncio: pip install pytest-asyncio" in output

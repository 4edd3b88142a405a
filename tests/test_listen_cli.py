"""``wecom-async listen`` as a real process: the fake server (in the test's loop) POSTs its
callbacks to it, and the changes it writes are checked, along with stopping and resuming."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from wecom_async import WeComClient
from wecom_async._cli._listen import ChangesOutput
from wecom_async.testing import FakeWeCom

from .test_cli import Result, cli_env, finish, start

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TOKEN = "listen-token-s3cret"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
T0 = 1_704_261_600


def env(fake: FakeWeCom) -> dict[str, str]:
    return cli_env(fake, WECOM_CALLBACK_TOKEN=TOKEN, WECOM_CALLBACK_AES_KEY=AES_KEY)


async def listening(proc: asyncio.subprocess.Process) -> tuple[str, str]:
    """The URL the command printed, and its stderr up to there."""
    assert proc.stderr is not None
    text = ""
    while "Listening on" not in text:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, f"listen ended early: {text}"
        text += line.decode()
    match = re.search(r"Listening on (http://\S+) for corp", text)
    assert match is not None, text
    return match.group(1), text


def changes(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes() if path.exists() else b""
    assert data == b"" or data.endswith(b"\n"), "torn last line"
    return [json.loads(line) for line in data.splitlines()]


async def wait_until(path: Path, done: Any, proc: asyncio.subprocess.Process) -> None:
    for _ in range(1200):
        if done(changes(path)):
            return
        assert proc.returncode is None
        await asyncio.sleep(0.025)
    raise AssertionError(f"{path}: {changes(path)}")


def no_secret(result: Result, fake: FakeWeCom) -> None:
    for secret in (TOKEN, AES_KEY, fake.corp_secret):
        assert secret not in result.out
        assert secret not in result.err


async def test_listen_writes_each_change_and_stops_cleanly(
    fake: FakeWeCom, client: WeComClient, tmp_path: Path
) -> None:
    out = tmp_path / "changes.jsonl"
    proc = await start("listen", "--port", "0", "--out", str(out), "-q", env=env(fake))
    url, _ = await listening(proc)
    subscription = fake.subscribe_callbacks(url, token=TOKEN, encoding_aes_key=AES_KEY)
    cal_id = (await client.calendars.add(summary="team", color="#FF3030")).cal_id
    ids = [
        await client.schedules.add(start_time=T0, end_time=T0 + 600 * i, cal_id=cal_id)
        for i in range(1, 6)
    ]
    await client.schedules.update(ids[0], start_time=T0, end_time=T0 + 60, summary="moved")
    await client.schedules.delete(ids[1])
    await client.calendars.update(cal_id, summary="team 2", color="#FF3030")
    await fake.drain_callbacks()
    assert subscription.stats.delivered == 8

    def final(lines: list[dict[str, Any]]) -> bool:
        last = {c["schedule_id"]: c for c in lines if c["type"] == "schedule"}
        return (
            set(last) == set(ids)
            and last[ids[0]]["schedule"]["summary"] == "moved"
            and last[ids[1]]["kind"] == "deleted"
            and {"type": "calendar", "kind": "modified", "cal_id": cal_id}.items()
            <= next((c for c in lines if c["type"] == "calendar"), {}).items()
        )

    await wait_until(out, final, proc)
    proc.send_signal(signal.SIGTERM)
    result = await finish(proc)
    assert result.code == 0, result.err
    assert "Stopped (SIGTERM)" in result.err
    lines = changes(out)
    assert all(c["kind"] != "failed" for c in lines)
    assert all(isinstance(c["at"], int) for c in lines)
    assert all(c["schedule"]["schedule_id"] == c["schedule_id"] for c in lines if "schedule" in c)
    no_secret(result, fake)


async def test_a_second_signal_writes_pending_ids_as_failed(
    fake: FakeWeCom, client: WeComClient, tmp_path: Path
) -> None:
    out = tmp_path / "changes.jsonl"
    proc = await start(
        "listen", "--port", "0", "--out", str(out), "--debounce", "0", "-q", env=env(fake)
    )
    url, _ = await listening(proc)
    fake.subscribe_callbacks(url, token=TOKEN, encoding_aes_key=AES_KEY)
    fake.faults.latency(60, path="oa/schedule/get", times=None)  # the fetch hangs
    ids = [await client.schedules.add(start_time=T0, end_time=T0 + 600) for _ in range(3)]
    await fake.drain_callbacks()
    for _ in range(400):
        if fake.in_flight("oa/schedule/get"):
            break
        await asyncio.sleep(0.025)
    proc.send_signal(signal.SIGTERM)  # stops receiving; waits for the fetch…
    await asyncio.sleep(0.5)
    assert proc.returncode is None
    proc.send_signal(signal.SIGINT)  # …until told to stop at once
    result = await finish(proc)
    assert result.code == 3, result.err
    lines = changes(out)
    assert sorted(c["schedule_id"] for c in lines) == sorted(ids)
    assert {c["kind"] for c in lines} == {"failed"}
    assert "FeedClosedError" in lines[0]["error"]
    no_secret(result, fake)


async def test_resume_cuts_a_torn_line_and_appends(fake: FakeWeCom, tmp_path: Path) -> None:
    out = tmp_path / "changes.jsonl"
    whole = b'{"type":"calendar","kind":"modified","cal_id":"c1","at":1}\n'
    out.write_bytes(whole + b'{"type":"sched')
    refused = await finish(await start("listen", "--port", "0", "--out", str(out), env=env(fake)))
    assert refused.code == 2
    assert "--resume" in refused.err
    proc = await start("listen", "--port", "0", "--out", str(out), "--resume", env=env(fake))
    _, said = await listening(proc)
    assert "Cut off a partial last line (14 bytes)" in said
    proc.send_signal(signal.SIGINT)
    result = await finish(proc)
    assert result.code == 0, result.err
    assert "Stopped (SIGINT)" in result.err
    assert out.read_bytes() == whole
    other = tmp_path / "other.jsonl"
    other.write_bytes(whole + b'{"schedule_id": "s1", "cal_id": "c1"}\n')
    refused = await finish(
        await start("listen", "--port", "0", "--out", str(other), "--resume", env=env(fake))
    )
    assert refused.code == 2
    assert f"{other} line 2 is not a change written by this command" in refused.err
    assert other.read_bytes() == whole + b'{"schedule_id": "s1", "cal_id": "c1"}\n'


async def test_missing_callback_settings_are_named(fake: FakeWeCom, tmp_path: Path) -> None:
    no_token = cli_env(fake, WECOM_CALLBACK_AES_KEY=AES_KEY)
    result = await finish(await start("listen", "--out", str(tmp_path / "o"), env=no_token))
    assert result.code == 2
    assert "WECOM_CALLBACK_TOKEN" in result.err
    bad_key = cli_env(fake, WECOM_CALLBACK_TOKEN=TOKEN, WECOM_CALLBACK_AES_KEY="short")
    result = await finish(await start("listen", "--out", str(tmp_path / "o"), env=bad_key))
    assert result.code == 2
    assert "encoding_aes_key" in result.err
    no_secret(result, fake)


async def test_reconcile_lists_what_callbacks_never_report(fake: FakeWeCom, tmp_path: Path) -> None:
    cal_id = fake.default_cal_id()
    # Stored directly: as schedules people add to the app's calendar, they send no callback.
    live = fake.seed_schedules([{"start_time": T0, "end_time": T0 + 60, "cal_id": cal_id}] * 3)
    [cancelled] = fake.seed_schedules(
        [{"start_time": T0, "end_time": T0 + 60, "cal_id": cal_id, "status": 1}]
    )
    out = tmp_path / "changes.jsonl"
    proc = await start(
        "listen", "--port", "0", "--out", str(out), "--reconcile", cal_id, "-q", env=env(fake)
    )
    await listening(proc)
    await wait_until(out, lambda lines: len(lines) == 4, proc)
    proc.send_signal(signal.SIGTERM)
    result = await finish(proc)
    assert result.code == 0, result.err
    lines = changes(out)
    assert [(c["schedule_id"], c["kind"]) for c in lines] == [(i, "upserted") for i in live] + [
        (cancelled, "deleted")
    ]
    assert fake.calls("oa/schedule/get") == 0  # the listing has the whole schedules


def test_output_to_a_pipe_or_a_full_device() -> None:
    read_end, write_end = os.pipe()
    try:
        out = ChangesOutput(f"/dev/fd/{write_end}", resume=False, overwrite=False)
        out.write_lines([b"{}\n"])
        out.sync()  # a pipe cannot be fsynced (EINVAL): nothing to sync, no error
        out.close()
        assert os.read(read_end, 100) == b"{}\n"
    finally:
        os.close(read_end)
        os.close(write_end)
    if os.path.exists("/dev/full"):
        full = ChangesOutput("/dev/full", resume=False, overwrite=True)
        try:
            with pytest.raises(OSError, match="No space left") as info:
                full.write_lines([b"{}\n"])
            assert info.value.filename == "/dev/full"  # "cannot use /dev/full: No space left…"
        finally:
            full.close()


async def test_listen_to_a_pipe(fake: FakeWeCom, client: WeComClient) -> None:
    proc = await start(
        "listen", "--port", "0", "--out", "/dev/stdout", "--debounce", "0", "-q", env=env(fake)
    )
    url, _ = await listening(proc)
    fake.subscribe_callbacks(url, token=TOKEN, encoding_aes_key=AES_KEY)
    schedule_id = await client.schedules.add(start_time=T0, end_time=T0 + 600)
    assert proc.stdout is not None
    line = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    assert (line["schedule_id"], line["kind"]) == (schedule_id, "upserted")
    await asyncio.sleep(1.5)  # a few syncs of the output (every 0.5 s) with a line written
    proc.send_signal(signal.SIGTERM)
    result = await finish(proc)
    assert result.code == 0, result.err


async def test_a_second_signal_keeps_events_still_waiting_for_room_in_the_feed(
    fake: FakeWeCom, client: WeComClient, tmp_path: Path
) -> None:
    # A feed of 2 places (the default is 100,000) whose fetch hangs: the 3rd event on waits for
    # room in it when the second signal comes. Those events must still come out.
    out = tmp_path / "changes.jsonl"
    patch = (
        "import sys, wecom_async.callbacks._feed as f; "
        "f.ScheduleChangeFeed.__init__.__kwdefaults__['max_pending'] = 2; "
        "from wecom_async.cli import main; sys.argv[0] = 'wecom-async'; main()"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        patch,
        *("listen", "--port", "0", "--out", str(out), "--debounce", "0", "-q"),
        env=env(fake),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url, _ = await listening(proc)
    fake.subscribe_callbacks(url, token=TOKEN, encoding_aes_key=AES_KEY)
    fake.faults.latency(60, path="oa/schedule/get", times=None)  # the fetch hangs
    cal_id = (await client.calendars.add(summary="team", color="#FF3030")).cal_id
    [first] = [await client.schedules.add(start_time=T0, end_time=T0 + 600, cal_id=cal_id)]
    for _ in range(1200):
        if fake.in_flight("oa/schedule/get"):
            break
        await asyncio.sleep(0.025)
    ids = [first] + [
        await client.schedules.add(start_time=T0, end_time=T0 + 600, cal_id=cal_id)
        for _ in range(4)
    ]
    await client.calendars.update(cal_id, summary="team 2", color="#FF3030")
    await fake.drain_callbacks()  # all answered 200: the receiver took them
    proc.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    result = await finish(proc)
    assert result.code == 3, result.err
    lines = changes(out)
    schedules = [c for c in lines if c["type"] == "schedule"]
    assert sorted(c["schedule_id"] for c in schedules) == sorted(ids)
    assert {c["kind"] for c in schedules} == {"failed"}
    assert all(c["error"] for c in schedules)
    assert [c["cal_id"] for c in lines if c["type"] == "calendar"] == [cal_id]


async def test_a_signal_after_the_stop_does_not_kill_the_process(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    out = tmp_path / "changes.jsonl"
    proc = await start("listen", "--port", "0", "--out", str(out), "-q", env=env(fake))
    await listening(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    said = b""
    while b"Stopped (SIGTERM)" not in said:  # stopped, and exiting: e.g. Ctrl-C twice
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line, said
        said += line
    with contextlib.suppress(ProcessLookupError):  # unless it is gone already
        proc.send_signal(signal.SIGTERM)
    result = await finish(proc)
    assert result.code == 0, result.err

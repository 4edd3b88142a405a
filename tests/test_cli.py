"""The ``wecom-async`` command line, driven as a real process (``python -m wecom_async …``).

The fake WeCom server runs in the test's event loop (or as ``wecom-async fake-server``), and the
command runs as a subprocess against it, so signals, exit codes, stdout/stderr and the files left
behind are the real ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import click
import pytest
from rich.cells import cell_len
from rich.console import Console

from wecom_async import ChunkFailure, ResponseDecodeError, ResponseTooLargeError, ServerBusyError
from wecom_async._cli._common import CLIError
from wecom_async._cli._fake import parse_faults, parse_quota
from wecom_async._cli._fetch import BarView, State, _is_fatal
from wecom_async._cli._ids import parse_ids
from wecom_async.cli import main
from wecom_async.testing import FakeAPIError, FakeWeCom, HandlerContext, Quota

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SECRET_MARK = "s3cret-"


@attrs.frozen
class Result:
    code: int
    out: str
    err: str


def cli_env(fake: FakeWeCom | None = None, /, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_")}
    env.update(COLUMNS="120", PYTHONUNBUFFERED="1")
    if fake is not None:
        env.update(
            WECOM_BASE_URL=fake.base_url,
            WECOM_CORP_ID=fake.corp_id,
            WECOM_CORP_SECRET=fake.corp_secret,
        )
    env.update(extra)
    return env


async def start(
    *args: str, env: Mapping[str, str], cwd: Path | None = None
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wecom_async",
        *args,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> Result:
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def wecom(*args: str, env: Mapping[str, str], cwd: Path | None = None) -> Result:
    return await finish(await start(*args, env=env, cwd=cwd))


def seed(fake: FakeWeCom, count: int) -> list[str]:
    return fake.seed_schedules(
        {
            "start_time": 1_767_600_000 + i * 60,
            "end_time": 1_767_603_600 + i * 60,
            "summary": f"周例会 #{i}",
            "attendees": [{"userid": "zhangsan"}, {"userid": "lisi", "response_status": 2}],
            "admins": ["zhangsan"],
            "reminders": {"is_remind": 1, "remind_time_diffs": [-900], "is_repeat": i % 2},
            "status": 1 if i % 10 == 0 else 0,
        }
        for i in range(count)
    )


def exported_ids(path: Path) -> list[str]:
    """The schedule IDs of an export, checking that every line is a whole JSON object."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "torn last line"
    return [json.loads(line)["schedule_id"] for line in data.splitlines()]


def answer_only(fake: FakeWeCom, count: int, path: str = "oa/schedule/get") -> None:
    """Answer the next ``count`` calls to ``path`` at once and hold every later one for an hour.

    A fetch then gets exactly that far and no further until it is stopped, however loaded the
    machine is: tests that interrupt it, or count its calls, do not depend on scheduling luck.
    """
    fake.faults.latency(0, times=count, path=path)
    fake.faults.latency(3600, times=None, path=path)


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def wait_for_lines(path: Path, count: int, proc: asyncio.subprocess.Process) -> None:
    for _ in range(2400):  # 60 s: a loaded machine starts a Python process slowly
        if line_count(path) >= count:
            return
        assert proc.returncode is None, "the fetch ended before it could be interrupted"
        await asyncio.sleep(0.025)
    raise AssertionError(f"{path} never reached {count} lines")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- the demo -------------------------------------------------------------------------------------


async def test_demo_runs_without_any_configuration(tmp_path: Path) -> None:
    result = await wecom("demo", "--schedules", "3000", env=cli_env(), cwd=tmp_path)
    assert result.code == 0, result.err
    assert "Fake WeCom listening at http://127.0.0.1:" in result.out
    assert "Schedules fetched   3,060" in result.out
    assert "Missing             unknown-id-1, unknown-id-2" in result.out
    assert "3 retries" in result.out
    assert "A sample schedule" in result.out
    assert "Cancelled" in result.out
    assert "团队日历" in result.out


# --- schedules fetch ------------------------------------------------------------------------------


async def test_fetch_exports_every_schedule_once_in_wire_form(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 2500)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(
        "# exported from the CRM\n\n"
        + "\n".join([*ids, ids[3], " " + ids[4] + " ", "ghost-1", "ghost-2"])
        + "\r\n"
    )
    out = tmp_path / "schedules.jsonl"
    result = await wecom(
        "schedules", "fetch", "--ids", str(ids_file), "--out", str(out), env=cli_env(fake)
    )
    assert result.code == 4, result.err  # some IDs missing
    assert result.out == ""
    exported = exported_ids(out)
    assert sorted(exported) == sorted(ids)
    # Exactly WeCom's wire form: same fields, flags as 0/1, cancelled ones included.
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first == fake.store.get_schedule(first["schedule_id"])
    assert "Done: 2,500 schedules written" in result.err
    assert "2 duplicate lines ignored" in result.err
    assert "Missing: 2 IDs" in result.err
    missing = (tmp_path / "schedules.jsonl.missing.txt").read_text().splitlines()
    assert [line for line in missing if not line.startswith("#")] == ["ghost-1", "ghost-2"]
    assert not (tmp_path / "schedules.jsonl.failed.txt").exists()

    # A second run refuses to clobber the export; --resume has nothing left but the missing.
    again = await wecom(
        "schedules", "fetch", "--ids", str(ids_file), "--out", str(out), env=cli_env(fake)
    )
    assert again.code == 2
    assert "already exists" in again.err
    assert "--resume" in again.err
    resumed = await wecom(
        "schedules",
        "fetch",
        "--ids",
        str(ids_file),
        "--out",
        str(out),
        "--resume",
        "--allow-missing",
        env=cli_env(fake),
    )
    assert resumed.code == 0, resumed.err
    assert "2,500 already in" in resumed.err
    assert sorted(exported_ids(out)) == sorted(ids)


async def test_fetch_resumes_after_interruptions_with_every_id_exactly_once(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 3000)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    out = tmp_path / "out.jsonl"
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(out)]
    slow = ["--chunk-size", "50", "--concurrency", "2"]
    answer_only(fake, 8)  # 400 schedules, then the calls hang until the fetch is stopped

    # 1. Ctrl-C mid-run: whatever was fetched is kept, counted, and the exit code says so.
    proc = await start(*fetch, *slow, env=cli_env(fake))
    await wait_for_lines(out, 400, proc)
    proc.send_signal(signal.SIGINT)
    first = await finish(proc)
    assert first.code == 130, first.err
    kept = exported_ids(out)
    assert len(kept) == 400
    assert len(set(kept)) == len(kept)
    assert f"Interrupted (SIGINT): {len(kept):,} schedules written" in first.err
    assert "--resume" in first.err

    # 2. kill -9 during the resumed run, then a torn last line as a crash mid-write leaves it.
    fake.faults.clear()
    answer_only(fake, 8)
    proc = await start(*fetch, *slow, "--resume", env=cli_env(fake))
    await wait_for_lines(out, len(kept) + 400, proc)
    proc.kill()
    await finish(proc)
    assert line_count(out) >= len(kept) + 400
    with out.open("ab") as file:
        file.write(b'{"schedule_id":"' + ids[-1].encode() + b'","start_ti')

    # 3. Resume to the end: the torn line is cut off, nothing lost, nothing duplicated.
    fake.faults.clear()
    last = await wecom(*fetch, "--resume", env=cli_env(fake))
    assert last.code == 0, last.err
    assert "Cut off a partial last line" in last.err
    final = exported_ids(out)
    assert len(final) == len(set(final)) == 3000
    assert set(final) == set(ids)


async def test_sigterm_stops_a_fetch_cleanly(fake: FakeWeCom, tmp_path: Path) -> None:
    ids = seed(fake, 1000)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    out = tmp_path / "out.jsonl"
    answer_only(fake, 3)  # 60 schedules, then nothing until SIGTERM
    proc = await start(
        "schedules",
        "fetch",
        "--ids",
        str(ids_file),
        "--out",
        str(out),
        "--chunk-size",
        "20",
        "--concurrency",
        "1",
        env=cli_env(fake),
    )
    await wait_for_lines(out, 60, proc)
    proc.terminate()
    result = await finish(proc)
    assert result.code == 143
    assert "Interrupted (SIGTERM)" in result.err
    assert len(set(exported_ids(out))) == len(exported_ids(out)) == 60


async def test_failed_chunks_give_exit_code_3_and_an_id_list_to_retry(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 300)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids))
    out = tmp_path / "out.jsonl"
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(out)]
    fake.faults.errcode(-1, times=1, path="oa/schedule/get")
    result = await wecom(
        *fetch,
        "--chunk-size",
        "100",
        "--concurrency",
        "1",
        "--max-retries",
        "0",
        "--ordered",
        env=cli_env(fake),
    )
    assert result.code == 3, result.err
    assert "Failed: 100 IDs after retries (ServerBusyError" in result.err
    assert sorted(exported_ids(out)) == sorted(ids[100:])
    failed_file = tmp_path / "out.jsonl.failed.txt"
    failed = failed_file.read_text().splitlines()
    assert any(line.startswith("# ServerBusyError") for line in failed)
    assert [line for line in failed if not line.startswith("#")] == ids[:100]

    # The failed list is itself a valid ID file; --resume fetches what is left.
    retried = await wecom(*fetch, "--resume", env=cli_env(fake))
    assert retried.code == 0, retried.err
    assert sorted(exported_ids(out)) == sorted(ids)
    assert not failed_file.exists()


async def test_an_error_every_call_would_meet_stops_the_fetch_with_a_report(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 2000)
    (tmp_path / "ids.txt").write_text("\n".join(ids))
    fake.faults.http_status(404, times=None, path="oa/schedule/get")  # e.g. a wrong proxy path
    # Only the first 404 comes back; the other calls hang: after it, one slot is free, so
    # at most 4 + 1 calls can ever be sent, however the machine schedules the processes.
    # (Without the stop, the hung calls time out and every chunk gets its call: 20.)
    answer_only(fake, 1)
    result = await wecom(
        "schedules",
        "fetch",
        "--ids",
        "ids.txt",
        "--out",
        "o.jsonl",
        "--chunk-size",
        "100",
        "--concurrency",
        "4",
        "--timeout",
        "20",
        "--max-retries",
        "0",
        env=cli_env(fake),
        cwd=tmp_path,
    )
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert lines[0] == "Fetching 2,000 schedule IDs into o.jsonl…"
    assert lines[1].startswith("Stopped: 0 schedules written to o.jsonl")
    assert "  To finish: wecom-async schedules fetch --ids ids.txt --out o.jsonl --resume" in lines
    assert lines[-1].startswith(f"Error: {fake.base_url} answered HTTP 404 on oa/schedule/get")
    assert fake.calls("oa/schedule/get") <= 5  # the calls in flight, not one per chunk (20)


async def test_wrong_credentials_stop_with_one_clear_line_and_no_secret(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("abc\n")
    secret = SECRET_MARK + "do-not-print"
    env = cli_env(fake, WECOM_CORP_SECRET=secret)
    fetch = ["schedules", "fetch", "--ids", str(ids_file), "--out", str(tmp_path / "o.jsonl")]
    result = await wecom(*fetch, env=env)
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith("Error: WeCom errcode 40001 (invalid credential) on gettoken")
    assert "WECOM_CORP_SECRET" in line
    debug = await wecom(*fetch, "--debug", "--overwrite", env=env)
    assert debug.code == 1
    assert "Traceback" in debug.err
    for text in (result.out, result.err, debug.out, debug.err):
        assert secret not in text


async def test_unreachable_server_is_named_with_what_to_check(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = cli_env(
        None, WECOM_BASE_URL=url, WECOM_CORP_ID="wwx", WECOM_CORP_SECRET=SECRET_MARK + "x"
    )
    result = await wecom("schedules", "get", "abc", env=env)
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"Error: cannot reach {url}")
    assert "--base-url/WECOM_BASE_URL" in line
    assert SECRET_MARK not in result.err


async def test_malformed_id_file_is_refused_before_anything_is_sent(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    (tmp_path / "ids.txt").write_bytes(b"abc\nfoo bar\nbaz\n{}\n")
    fetch = ["schedules", "fetch", "--ids", "ids.txt", "--out", "out.jsonl"]
    result = await wecom(*fetch, env=cli_env(fake), cwd=tmp_path)
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line == (
        "Error: ids.txt line 2: 'foo bar' is not a schedule ID: it contains spaces or tabs "
        "(1 more bad lines) — the file takes one schedule ID per line (blank lines and # "
        "comments are skipped)"
    )
    assert not (tmp_path / "out.jsonl").exists()
    assert fake.calls() == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"schedule_id": "abc"}\n', "it looks like JSON (for the IDs of a JSONL export: jq"),
        (b"abc,def\n", "it contains a comma or semicolon"),
        (b"abc\n\xff\xfe\n", "ids.txt line 2 is not UTF-8 text"),
        (b"a\x01b\n", "it contains control characters"),
        (b"x" * 129 + b"\n", "it is 129 characters long"),
    ],
)
def test_id_file_checks(content: bytes, expected: str) -> None:
    with pytest.raises(CLIError, match="one schedule ID per line") as error:
        parse_ids(content.splitlines(keepends=True), "ids.txt")
    assert expected in error.value.message
    assert error.value.exit_code == 2


def test_id_file_tolerates_bom_crlf_comments_and_duplicates() -> None:
    lines = b"\xef\xbb\xbfabc\r\n# comment\r\n\r\n  def  \r\nabc\r\n".splitlines(keepends=True)
    ids = parse_ids(lines, "ids.txt")
    assert (ids.ids, ids.lines, ids.duplicates) == (["abc", "def"], 5, 1)


def run_main(*args: str, capsys: pytest.CaptureFixture[str]) -> Result:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    assert isinstance(exited.value.code, int)
    return Result(exited.value.code, captured.out, captured.err)


def test_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("WECOM_CORP_ID", "WECOM_CORP_SECRET", "WECOM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    no_file = run_main("schedules", "fetch", "--ids", "nope.txt", "--out", "o.jsonl", capsys=capsys)
    assert no_file.code == 2
    assert "cannot read nope.txt: No such file or directory" in no_file.err
    no_corp = run_main("schedules", "get", "abc", capsys=capsys)
    assert no_corp.code == 2
    assert "no corp ID: pass --corp-id or set WECOM_CORP_ID" in no_corp.err
    monkeypatch.setenv("WECOM_CORP_ID", "wwx")
    no_secret = run_main("schedules", "get", "abc", capsys=capsys)
    assert no_secret.code == 2
    assert "no corp secret: set WECOM_CORP_SECRET" in no_secret.err
    bad_url = run_main("schedules", "get", "abc", "--base-url", "qyapi.example", capsys=capsys)
    assert bad_url.code == 2
    assert "is not an http:// or https:// URL" in bad_url.err
    both = run_main(
        "schedules",
        "fetch",
        "--ids",
        "-",
        "--out",
        "o.jsonl",
        "--resume",
        "--overwrite",
        capsys=capsys,
    )
    assert both.code == 2
    assert "exclude each other" in both.err
    bad_id = run_main("schedules", "get", "a b", capsys=capsys)
    assert bad_id.code == 2
    assert "'a b' is not a schedule ID: it contains spaces" in bad_id.err
    no_at = run_main("schedules", "delete", "abc", "--mode", "this", "--yes", capsys=capsys)
    assert no_at.code == 2
    assert "--mode this needs --at" in no_at.err
    (tmp_path / "file").write_text("")  # no directory can be made under it, even by root
    no_dir = run_main("fake-server", "--schedules", "1", "--ids-out", "file/ids.txt", capsys=capsys)
    assert no_dir.code == 2
    assert no_dir.err.strip() == "Error: cannot write --ids-out file/ids.txt: Not a directory"
    bare = run_main(capsys=capsys)
    assert bare.code == 0
    assert "wecom-async demo" in bare.out


async def test_fetch_reads_ids_from_stdin(fake: FakeWeCom, tmp_path: Path) -> None:
    ids = seed(fake, 30)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wecom_async",
        "schedules",
        "fetch",
        "--ids",
        "-",
        "--out",
        "o.jsonl",
        env=cli_env(fake),
        cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate("\n".join(ids).encode()), 30)
    assert proc.returncode == 0, err
    assert exported_ids(tmp_path / "o.jsonl") == ids  # one chunk: input order


def test_the_progress_bar_fits_80_columns() -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, record=True)
    state = State(todo=1_000_000, skipped=0)
    view = BarView(console)
    view.start(state)
    state.done = 723_456
    state.missing = ["ghost"] * 12_345
    busy = ServerBusyError(-1, "system busy", path="oa/schedule/get")
    state.failures = [ChunkFailure(tuple(["x"] * 1000), busy)]
    view.update(state)
    view.stop(state)
    # The last frame: the bar line, then the counts below it.
    frame = "Fetching" + console.export_text().rsplit("Fetching", 1)[1]
    bar, counts = frame.strip("\n").splitlines()
    assert cell_len("⠋ " + bar) <= 80
    for part in ("━", "723,456/1,000,000 IDs", "72%", "IDs/s", "ETA", ":"):
        assert part in bar
    assert counts == "  0 retries · 12,345 missing · 1,000 failed"


def remove_if_there(path: Path) -> bool:
    """Remove ``path``; whether it was there."""
    there = path.exists()
    path.unlink(missing_ok=True)
    return there


async def test_fetch_into_a_pipe_or_a_device_works_or_fails_in_one_line(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 250)
    (tmp_path / "ids.txt").write_text("\n".join([*ids, "ghost"]))
    fetch = ["schedules", "fetch", "--ids", "ids.txt", "--chunk-size", "100"]
    stray = Path("/dev/stdout.missing.txt")
    try:
        # Into a pipe: no fsync/ftruncate/lock there, no report file next to it.
        piped = await wecom(*fetch, "--out", "/dev/stdout", env=cli_env(fake), cwd=tmp_path)
        assert piped.code == 4, piped.err
        assert sorted(json.loads(line)["schedule_id"] for line in piped.out.splitlines()) == sorted(
            ids
        )
        assert "Missing: 1 ID WeCom did not return" in piped.err
        assert "ghost" in piped.err
        assert "Traceback" not in piped.err
        assert not remove_if_there(stray)
    finally:
        remove_if_there(stray)
    # "-" is stdout too, not a file named "-".
    dash = await wecom(*fetch, "--out", "-", env=cli_env(fake), cwd=tmp_path)
    assert dash.code == 4, dash.err
    assert len(dash.out.splitlines()) == 250
    assert not (tmp_path / "-").exists()
    # The reader goes away (`| head`): the fetch stops with its report, it does not hang.
    more = seed(fake, 2000)  # far more than a pipe buffer holds
    (tmp_path / "more.txt").write_text("\n".join(more))
    command = [sys.executable, "-m", "wecom_async", *fetch, "--out", "/dev/stdout"]
    command[command.index("ids.txt")] = "more.txt"
    proc = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        'set -o pipefail; "$@" | head -c 1000 >/dev/null',
        "fetch",
        *command,
        env=cli_env(fake),
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        headed = await finish(proc, timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what is left of the pipeline, if it hung
    assert headed.code == 1, headed.err
    assert (
        headed.err.strip()
        .splitlines()[-1]
        .startswith("Error: cannot write /dev/stdout: Broken pipe")
    )
    assert "Traceback" not in headed.err

    resumed = await wecom(
        *fetch, "--out", "/dev/stdout", "--resume", env=cli_env(fake), cwd=tmp_path
    )
    assert resumed.code == 2
    assert resumed.err.strip() == (
        "Error: --resume needs a regular file, and /dev/stdout is a pipe: nothing can be read "
        "back from it"
    )
    assert resumed.out == ""

    # A device that refuses the writes: the report says what was written, then one error line.
    full = await wecom(*fetch, "--out", "/dev/full", env=cli_env(fake), cwd=tmp_path)
    assert full.code == 1, full.err
    assert "Stopped: 0 schedules written to /dev/full" in full.err
    assert (
        full.err.strip()
        .splitlines()[-1]
        .startswith("Error: cannot write /dev/full: No space left on device")
    )
    assert "Traceback" not in full.err

    # Where nothing can be created (as root too: permission bits would not stop root).
    (tmp_path / "file").write_text("")
    for out, message in (
        ("file/o.jsonl", "Error: cannot open file/o.jsonl: Not a directory"),
        (".", "Error: --out . is a directory"),  # (--format parquet writes a directory)
    ):
        refused = await wecom(*fetch, "--out", out, env=cli_env(fake), cwd=tmp_path)
        assert refused.code == 2, refused.err
        assert refused.err.strip().splitlines()[-1].startswith(message), refused.err
        assert "Traceback" not in refused.err


async def test_report_files_that_cannot_be_written_leave_their_ids_on_stderr(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    ids = seed(fake, 30)
    (tmp_path / "ids.txt").write_text("\n".join([*ids, "ghost-1", "ghost-2"]))
    (tmp_path / "o.jsonl.missing.txt").mkdir()  # in its way (EISDIR, as root too)
    (tmp_path / "o.jsonl.missing.txt" / "keep").write_text("")
    result = await wecom(
        "schedules",
        "fetch",
        "--ids",
        "ids.txt",
        "--out",
        "o.jsonl",
        "--allow-missing",
        env=cli_env(fake),
        cwd=tmp_path,
    )
    assert result.code == 1, result.err  # the export is complete, its report is not
    assert sorted(exported_ids(tmp_path / "o.jsonl")) == sorted(ids)
    assert "Missing: 2 IDs WeCom did not return" in result.err
    assert "ghost-1, ghost-2" in result.err
    assert "cannot write o.jsonl.missing.txt: Is a directory" in result.err
    assert "Traceback" not in result.err
    assert sorted(os.listdir(tmp_path)) == [
        "ids.txt",
        "o.jsonl",
        "o.jsonl.missing.txt",
    ]


# --- schedules get / add --------------------------------------------------------------------------


async def test_get_prints_json_in_wire_form_and_reports_missing(fake: FakeWeCom) -> None:
    ids = seed(fake, 3)
    result = await wecom("schedules", "get", ids[2], ids[0], "ghost", env=cli_env(fake))
    assert result.code == 4
    data = json.loads(result.out)
    assert [s["schedule_id"] for s in data] == [ids[2], ids[0]]
    assert data[1] == fake.store.get_schedule(ids[0])
    assert data[1]["summary"] == "周例会 #0"
    assert "Not found: ghost" in result.err

    text = await wecom("schedules", "get", ids[1], "--format", "text", env=cli_env(fake))
    assert text.code == 0
    assert "周例会 #1" in text.out
    assert "lisi ✓" in text.out


async def test_add_checks_everything_first_then_creates_in_order(
    fake: FakeWeCom, tmp_path: Path
) -> None:
    good = [
        {
            "start_time": "2026-01-05T09:00:00+08:00",
            "end_time": "2026-01-05T10:00:00+08:00",
            "summary": "需求评审",
            "attendees": ["zhangsan", {"userid": "lisi"}],
            "admins": ["zhangsan"],
            "reminders": {"is_remind": 1, "remind_time_diffs": [-900], "is_repeat": True},
        },
        {"schedule": {"start_time": 1_767_600_000, "end_time": 1_767_603_600}},
    ]
    bad_types = {"start_time": 1, "end_time": "soon", "sumary": "typo"}
    bad_limits = {"start_time": 1, "end_time": 2, "reminders": {"timezone": 20}}
    path = tmp_path / "in.jsonl"
    lines = [*good, bad_types, bad_limits]
    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in lines))
    rejected = await wecom("schedules", "add", "--json", str(path), env=cli_env(fake))
    assert rejected.code == 2
    assert "nothing sent" in rejected.err
    assert "line 3: schedule.end_time:" in rejected.err
    assert "line 3: schedule.sumary: unknown field" in rejected.err
    assert "line 4: schedule.reminders.timezone: must be within -12…12" in rejected.err
    assert fake.calls("oa/schedule/add") == 0

    path.write_text("\n".join(json.dumps(o, ensure_ascii=False) for o in good))
    created = await wecom("schedules", "add", "--json", str(path), env=cli_env(fake))
    assert created.code == 0, created.err
    new_ids = created.out.split()
    assert len(new_ids) == 2
    stored = fake.store.get_schedule(new_ids[0])
    assert stored is not None
    assert stored["start_time"] == 1_767_574_800
    assert stored["summary"] == "需求评审"
    assert [a["userid"] for a in stored["attendees"]] == ["zhangsan", "lisi"]

    # An exported line can be fed back as is (its output-only fields are ignored).
    exported = await wecom("schedules", "get", new_ids[0], "--format", "jsonl", env=cli_env(fake))
    again = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "wecom_async",
        "schedules",
        "add",
        "--json",
        "-",
        env=cli_env(fake),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(again.communicate(exported.out.encode()), 30)
    assert again.returncode == 0, err
    copy = fake.store.get_schedule(out.decode().strip())
    assert copy is not None
    assert copy["summary"] == "需求评审"


def test_add_reports_every_problem_of_every_object_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    objects = [
        # An unknown field and a naive time no longer hide the limits broken next to them.
        {"start_time": "2026-01-05T09:00:00", "end_time": 1, "summary": "x" * 129, "sumary": 1},
        {"start_time": 1, "end_time": 2, "reminders": {"timezone": 20, "is_remind": 5}},
        {"end_time": 2, "attendees": ["zhangsan", 7], "location": "y" * 129},
    ]
    lines = [json.dumps(o) for o in objects]
    lines.insert(1, "{not json")
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines))
    result = run_main("schedules", "add", "--json", str(path), "--dry-run", capsys=capsys)
    assert result.code == 2
    name = str(path)
    lines = result.err.splitlines()
    assert lines.pop(1).startswith(f"  {name} line 2: not JSON (")
    assert lines == [
        "Error: nothing sent: 9 problem(s) in the input",
        f"  {name} line 1: schedule.start_time: '2026-01-05T09:00:00' has no UTC offset (write "
        "e.g. +08:00)",
        f"  {name} line 1: schedule.sumary: unknown field",
        f"  {name} line 1: schedule.summary: at most 128 characters, got 129",
        f"  {name} line 3: schedule.reminders.is_remind: expected 0, 1, true or false, got 5",
        f"  {name} line 3: schedule.reminders.timezone: must be within -12…12, got 20",
        f"  {name} line 4: schedule.start_time: required",
        f"  {name} line 4: schedule.attendees[1].userid: expected a string, got int",
        f"  {name} line 4: schedule.location: at most 128 characters, got 129",
    ]


# --- delete, list, calendars ---------------------------------------------------------------------


async def test_delete_asks_for_confirmation_then_cancels(fake: FakeWeCom) -> None:
    ids = seed(fake, 3)
    refused = await wecom("schedules", "delete", ids[1], env=cli_env(fake))
    assert refused.code == 2
    assert "pass --yes" in refused.err
    assert fake.calls("oa/schedule/del") == 0
    deleted = await wecom("schedules", "delete", ids[1], ids[2], "--yes", env=cli_env(fake))
    assert deleted.code == 0, deleted.err
    assert deleted.out.split() == [ids[1], ids[2]]
    assert [fake.store.get_schedule(i)["status"] for i in ids] == [1, 1, 1]  # type: ignore[index]
    unknown = await wecom("schedules", "delete", "f" * 32, "--yes", env=cli_env(fake))
    assert unknown.code == 4
    (line,) = unknown.err.strip().splitlines()
    assert line.startswith("Error: WeCom errcode 90461 (invalid schedule_id")


async def test_list_a_calendar_and_get_calendars(fake: FakeWeCom) -> None:
    cal_id = fake.store.add_calendar(summary="团队日历", color="#0BB27A", admins=["zhangsan"])
    ids = fake.seed_schedules(
        {"start_time": 1_767_600_000 + i, "end_time": 1_767_603_600, "cal_id": cal_id}
        for i in range(25)
    )
    listed = await wecom(
        "schedules", "list", "--cal-id", cal_id, "--page-size", "10", env=cli_env(fake)
    )
    assert listed.code == 0, listed.err
    assert [json.loads(line)["schedule_id"] for line in listed.out.splitlines()] == ids
    assert "offset now 25 (--offset 25 lists only what comes after)" in listed.err
    newer = await wecom(
        "schedules", "list", "--cal-id", cal_id, "--offset", "20", env=cli_env(fake)
    )
    assert len(newer.out.splitlines()) == 5

    empty_cal_id = fake.store.add_calendar(summary="空", admins=["zhangsan"])
    empty = await wecom(
        "schedules", "list", "--cal-id", empty_cal_id, "-f", "json", env=cli_env(fake)
    )
    assert (empty.code, json.loads(empty.out)) == (0, [])

    got = await wecom("calendars", "get", cal_id, "wcFAKEunknown", env=cli_env(fake))
    assert got.code == 4
    (calendar,) = json.loads(got.out)
    assert calendar["summary"] == "团队日历"
    assert calendar["admins"] == ["zhangsan"]
    assert calendar["is_public"] == 0
    assert "Not found: wcFAKEunknown" in got.err


def fail_listing_after(fake: FakeWeCom, pages: int) -> None:
    """Answer ``pages`` pages of get_by_calendar, then "system busy" (-1) to every call."""
    original = fake.endpoints["oa/schedule/get_by_calendar"]
    calls = 0

    def failing(context: HandlerContext, body: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls > pages:
            raise FakeAPIError(-1)
        return original(context, body)

    fake.endpoints["oa/schedule/get_by_calendar"] = failing


@pytest.mark.parametrize("fmt", ["json", "text", "jsonl"])
async def test_list_keeps_what_it_listed_on_an_error(fake: FakeWeCom, fmt: str) -> None:
    cal_id = fake.store.add_calendar(summary="团队日历", admins=["zhangsan"])
    ids = fake.seed_schedules(
        {"start_time": 1_767_600_000 + i, "end_time": 1_767_603_600, "cal_id": cal_id}
        for i in range(25)
    )
    fail_listing_after(fake, 2)
    listing = ["schedules", "list", "--cal-id", cal_id, "--page-size", "10", "-f", fmt]
    failed = await wecom(*listing, "--max-retries", "0", env=cli_env(fake))
    assert failed.code == 1, failed.err
    if fmt == "json":
        assert [s["schedule_id"] for s in json.loads(failed.out)] == ids[:20]
    elif fmt == "jsonl":
        assert [json.loads(line)["schedule_id"] for line in failed.out.splitlines()] == ids[:20]
    else:
        assert [i for i in ids if i in failed.out] == ids[:20]
    lines = failed.err.strip().splitlines()
    assert lines[0] == (
        f"Listed 20 schedules of {cal_id}; offset now 20 (--offset 20 lists only what comes after)."
    )
    assert lines[1].startswith("Error: WeCom errcode -1")
    assert len(lines) == 2
    # That offset continues exactly where the output stopped.
    fake.endpoints["oa/schedule/get_by_calendar"] = FakeWeCom().endpoints[
        "oa/schedule/get_by_calendar"
    ]
    rest = await wecom(*listing, "--offset", "20", "-f", "jsonl", env=cli_env(fake))
    assert [json.loads(line)["schedule_id"] for line in rest.out.splitlines()] == ids[20:]


async def test_sigterm_stops_a_list_with_what_it_listed(fake: FakeWeCom) -> None:
    cal_id = fake.store.add_calendar(summary="团队日历", admins=["zhangsan"])
    ids = fake.seed_schedules(
        {"start_time": 1_767_600_000 + i, "end_time": 1_767_603_600, "cal_id": cal_id}
        for i in range(25)
    )
    answer_only(fake, 2, path="oa/schedule/get_by_calendar")  # 20 schedules, then it hangs
    proc = await start(
        "schedules",
        "list",
        "--cal-id",
        cal_id,
        "--page-size",
        "10",
        "-f",
        "json",
        env=cli_env(fake),
    )
    for _ in range(2400):  # 60 s: a loaded machine starts a Python process slowly
        if fake.calls("oa/schedule/get_by_calendar") == 3:  # the first two pages are in
            break
        await asyncio.sleep(0.025)
    proc.terminate()
    result = await finish(proc)
    assert result.code == 143, result.err
    assert [s["schedule_id"] for s in json.loads(result.out)] == ids[:20]
    assert result.err.strip() == (
        f"Interrupted (SIGTERM): listed 20 schedules of {cal_id}; offset now 20 "
        "(--offset 20 lists only what comes after)."
    )


# --- fake-server ----------------------------------------------------------------------------------


async def test_fake_server_serves_until_sigterm(tmp_path: Path) -> None:
    proc = await start(
        "fake-server",
        "--schedules",
        "50",
        "--ids-out",
        "ids.txt",
        "--faults",
        "latency=0.01",
        env=cli_env(None, WECOM_CORP_SECRET=SECRET_MARK + "real"),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    values = {}
    for _ in range(5):
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        key, _, value = line.decode().strip().partition("=")
        values[key] = value
    try:
        assert set(values) == {
            "WECOM_BASE_URL",
            "WECOM_CORP_ID",
            "WECOM_CORP_SECRET",
            "WECOM_CAL_ID",
            "WECOM_SEEDED_CAL_IDS",
        }
        # Its credentials are its own: it never takes (or prints) the caller's real secret.
        assert not values["WECOM_CORP_SECRET"].startswith(SECRET_MARK)
        ids = (tmp_path / "ids.txt").read_text().split()
        assert len(ids) == 50
        result = await wecom(
            "schedules",
            "fetch",
            "--ids",
            "ids.txt",
            "--out",
            "o.jsonl",
            env=cli_env(None, **values),
            cwd=tmp_path,
        )
        assert result.code == 0, result.err
        assert sorted(exported_ids(tmp_path / "o.jsonl")) == sorted(ids)
        # The seeded calendars are printed: listing them all gives back every seeded schedule.
        seeded_cal_ids = values.pop("WECOM_SEEDED_CAL_IDS").split(",")
        assert len(seeded_cal_ids) == 4
        listed = []
        for cal_id in seeded_cal_ids:
            listing = await wecom(
                "schedules", "list", "--cal-id", cal_id, env=cli_env(None, **values)
            )
            assert listing.code == 0, listing.err
            listed += [json.loads(line)["schedule_id"] for line in listing.out.splitlines()]
        assert sorted(listed) == sorted(ids)
        # A client that goes away mid-request is no error of the server's.
        host, port = values["WECOM_BASE_URL"].removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /cgi-bin/oa/schedule/get HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{"
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        await wecom("schedules", "get", ids[0], env=cli_env(None, **values))  # after it
    finally:
        proc.terminate()
        stopped = await finish(proc)
    assert stopped.code == 0
    assert "Fake WeCom stopped." in stopped.err
    assert "Seeded calendars: 团队日历 wc" in stopped.err
    assert "Traceback" not in stopped.err


def test_fake_server_specs() -> None:
    assert parse_quota(None) == Quota()
    assert parse_quota("off") is None
    assert parse_quota("600/min") == Quota(per_minute=600, per_hour=150_000)
    assert parse_quota("600/min,20000/hour") == Quota(per_minute=600, per_hour=20_000)
    spec = parse_faults("busy=0.05,http502=0.01,latency=0.2,seed=3,path=oa/schedule/get")
    assert spec.latency == 0.2
    assert spec.path == "oa/schedule/get"
    assert spec.profile is not None
    assert (spec.profile.busy_rate, spec.profile.http_502_rate, spec.profile.seed) == (
        0.05,
        0.01,
        3,
    )
    assert parse_faults("latency=0.5").profile is None
    for bad_quota in ("10", "10/day", "0/min"):
        with pytest.raises(click.BadParameter):
            parse_quota(bad_quota)
    for bad_faults in ("busy", "busy=x", "nope=1", "busy=2"):
        with pytest.raises(click.BadParameter):
            parse_faults(bad_faults)


def test_a_schedule_too_large_alone_does_not_stop_a_fetch() -> None:
    """The bulk fetch isolates such a schedule and goes on; a whole part too large (the
    splitting gave up: every answer is) would meet every other chunk too, and stops it."""
    too_large = ResponseTooLargeError(4000, path="oa/schedule/get")
    assert not _is_fatal(ChunkFailure(("big",), too_large))
    assert _is_fatal(ChunkFailure(("a", "b"), too_large))
    assert _is_fatal(ChunkFailure(("a",), ResponseDecodeError("not JSON", path="oa/schedule/get")))

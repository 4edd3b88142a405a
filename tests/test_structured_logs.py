"""Structured logs: every record of ``wecom_async`` carries api, errcode, retry and corp_id."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

import wecom_async
from tests.conftest import RecordingSleep
from wecom_async import WeComClient
from wecom_async._tokens import AccessToken, MemoryTokenStore
from wecom_async.testing import FakeWeCom

FIELDS = ("api", "errcode", "retry", "corp_id")
GET = "oa/schedule/get"


class RecordingTokenStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    async def set(self, key: str, token: AccessToken) -> None:
        self.seen.append(token.value)
        await super().set(key, token)


def test_every_log_call_passes_the_fields() -> None:
    """Each ``logger.<level>(...)`` call in the package passes ``extra=fields(...)``."""
    package = Path(wecom_async.__file__).parent
    calls = 0
    missing = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("debug", "info", "warning", "error", "exception")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("logger", "_log", "log")
            ):
                continue
            calls += 1
            extra = [k.value for k in node.keywords if k.arg == "extra"]
            if not (
                len(extra) == 1
                and isinstance(extra[0], ast.Call)
                and isinstance(extra[0].func, ast.Name)
                and extra[0].func.id == "fields"
            ):
                missing.append(f"{path.relative_to(package)}:{node.lineno}")
    assert calls >= 15  # the search does find the calls
    assert missing == []


async def test_records_of_a_faulty_run_carry_the_fields(
    fake: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    ids = fake.seed_schedules([{"start_time": 1_700_000_000, "end_time": 1_700_003_600}])
    caplog.set_level(logging.DEBUG, logger="wecom_async")
    store = RecordingTokenStore()
    async with WeComClient(
        corp_id=fake.corp_id,
        corp_secret=fake.corp_secret,
        base_url=fake.base_url,
        sleep=RecordingSleep(),
        token_store=store,
    ) as client:
        fake.faults.errcode(45033, path=GET)  # retried
        await client.schedules.get(ids)
        fake.invalidate_tokens()  # 40014: new token, resent
        await client.schedules.get(ids)

    records = [r for r in caplog.records if r.name.startswith("wecom_async")]
    for record in records:
        for name in FIELDS:
            assert hasattr(record, name), (record.getMessage(), name)
    by_what = {
        (r.api, r.errcode, r.retry, r.corp_id)  # type: ignore[attr-defined]
        for r in records
    }
    assert ("gettoken", None, None, fake.corp_id) in by_what  # fetching a token (twice)
    assert (GET, 45033, 1, fake.corp_id) in by_what  # the retry
    assert (GET, 40014, 0, fake.corp_id) in by_what  # the token refresh
    assert len(records) == 4
    text = "\n".join(f"{r.getMessage()} {vars(r)}" for r in records)
    assert len(store.seen) == 2
    for secret in (fake.corp_secret, *store.seen):
        assert secret not in text

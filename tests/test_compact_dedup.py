"""De-duplication of bulk-fetch IDs: exact, and compact once there are many IDs."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from wecom_async import WeComClient, batching
from wecom_async.batching import _packed, _Seen
from wecom_async.testing import FakeWeCom

#: IDs of every kind of key: base64 (packed) of several lengths, raw ones, the empty ID, and
#: pairs whose keys are equal bytes in different kinds ("YWI=" packs to b"ab", the raw key of
#: "ab"; "YWJj" packs to b"abc", the raw key of "abc").
ODD = ["", "a", "ab", "abc", "YWI=", "YWJj", "YWJ=", "ab\ncd", "\ud800x", "é" * 4, "AAAA", "A" * 32]


def _reference(blocks: list[list[str]]) -> list[list[str]]:
    seen: set[str] = set()
    out = []
    for block in blocks:
        new = []
        for schedule_id in block:
            if schedule_id not in seen:
                seen.add(schedule_id)
                new.append(schedule_id)
        out.append(new)
    return out


@pytest.mark.parametrize("compact_after", [1, 7, batching.COMPACT_AFTER])
@pytest.mark.parametrize("buckets", [1, 4, 1 << 16])
def test_seen_ids_are_exact_before_and_after_going_compact(
    monkeypatch: pytest.MonkeyPatch, compact_after: int, buckets: int
) -> None:
    monkeypatch.setattr(batching, "COMPACT_AFTER", compact_after)
    monkeypatch.setattr(batching, "_BUCKETS", buckets)  # 1: every key in one bucket
    rng = random.Random(compact_after * buckets)
    pool = [f"{rng.getrandbits(128):032x}" for _ in range(300)] + ODD
    blocks = [[rng.choice(pool) for _ in range(rng.randrange(0, 60))] for _ in range(40)]
    seen = _Seen()
    assert [seen.take(block) for block in blocks] == _reference(blocks)


def test_a_key_found_across_two_keys_is_not_taken_for_a_seen_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "COMPACT_AFTER", 1)
    monkeypatch.setattr(batching, "_BUCKETS", 1)
    seen = _Seen()
    assert seen.take(["ab", "ba"]) == ["ab", "ba"]  # the bucket holds b"abba"
    assert seen.take(["bb", "ab", "ba", "bb"]) == ["bb"]  # b"bb" is in it, across two keys


def test_packed_keys_are_one_to_one() -> None:
    assert _packed("YWI=") == b"ab"
    assert _packed("YWJ=") is None  # decodes to b"ab" too, but is not how b"ab" is written
    assert _packed("ab") is None
    assert _packed("é" * 4) is None
    assert len(_packed("17c7d2bd9f20d652840f72f59e796AAA") or b"") == 24


def test_many_ids_cost_a_fraction_of_a_set_of_strings() -> None:
    count = 300_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        seen = _Seen()
        for start in range(0, count, 1000):
            # Made here and dropped after, as a stream's IDs are: only what _Seen keeps stays.
            seen.take([f"{i:032x}" for i in range(start, start + 1000)])
        per_id = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert per_id < 40, per_id  # a set of these strings: ~120 bytes per ID
    assert seen.take([f"{0:032x}", f"{count - 1:032x}", "new"]) == ["new"]


async def test_iter_many_past_the_switch_gives_each_id_once_in_first_seen_order(
    client: WeComClient, fake: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batching, "COMPACT_AFTER", 50)
    ids = fake.seed_schedules(
        {"start_time": 1_700_000_000 + i, "end_time": 1_700_003_600 + i} for i in range(300)
    )
    wanted = [*ids[:200], *ids[:10], *ids[200:], ids[250], ids[5]]

    async def source() -> AsyncIterator[str]:
        for schedule_id in wanted:
            yield schedule_id

    for given in (wanted, source()):
        result = await client.schedules.get_many(given, chunk_size=40)
        assert [s.schedule_id for s in result.schedules] == ids
        assert result.progress.duplicates == 12

"""B1 and B2: decoding a schedule/get answer into models.

One body of ``Sizes.decode_schedules`` schedules per profile; each round decodes it with every
engine (interleaved), and the figure of an engine is the median of its rounds:

* **ours**: what the client runs on every answer, ``_sansio.decode_response`` (status check,
  msgspec decoding the bytes straight into the attrs models, errcode check);
* **msgspec Struct twin**: ``msgspec.json.Decoder(GetResponseStruct)`` — the speed of light;
* **orjson + stock cattrs**: ``cattrs.Converter().structure(orjson.loads(body), …)`` into the
  same models — the obvious way to do it (plus ``Attendee(**data)`` for the one msgspec Struct
  model, which cattrs does not know).

The garbage collector is on, as in any program; results are dropped after each decode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import cattrs
import msgspec
import orjson

from wecom_async import _sansio
from wecom_async.models import Attendee, GetSchedulesResponse

from ._data import PROFILES, get_body
from ._harness import BenchResult, Row, Sizes, interleave, median
from ._structs import GetResponseStruct

__all__ = ["run"]

B1_TARGETS = {"light": 1.8, "heavy": 2.5}
B2_TARGET = 0.5
PATH_GET = "oa/schedule/get"


def _stock_decode(stock: cattrs.Converter, body: bytes) -> GetSchedulesResponse:
    return stock.structure(orjson.loads(body), GetSchedulesResponse)


def _per_decode(func: Callable[[], object], repeat: int) -> Callable[[], float]:
    def measure() -> float:
        start = time.process_time()
        for _ in range(repeat):
            func()
        return (time.process_time() - start) / repeat

    return measure


def run(sizes: Sizes) -> list[BenchResult]:
    b1: list[Row] = []
    b2: list[Row] = []
    stock = cattrs.Converter()
    # Attendee is a msgspec Struct, which cattrs does not know: built straight from the dict.
    stock.register_structure_hook(Attendee, lambda data, _: Attendee(**data))
    struct_decoder = msgspec.json.Decoder(GetResponseStruct)
    n = sizes.decode_schedules
    for profile in PROFILES:
        body = get_body(n, profile)
        # The engines must agree on what they decoded before their speed means anything.
        ours_result = _sansio.decode_response(200, body, GetSchedulesResponse, PATH_GET)
        assert ours_result == _stock_decode(stock, body)
        assert len(struct_decoder.decode(body).schedule_list) == n
        del ours_result  # nothing decoded stays alive while timing (the GC would walk it)
        repeat = max(1, 5000 // n)
        rounds = max(sizes.rounds, 9) if sizes.rounds > 1 else 1
        times = interleave(
            {
                "ours": _per_decode(
                    partial(_sansio.decode_response, 200, body, GetSchedulesResponse, PATH_GET),
                    repeat,
                ),
                "struct": _per_decode(partial(struct_decoder.decode, body), repeat),
                "stock": _per_decode(partial(_stock_decode, stock, body), max(1, repeat // 4)),
            },
            rounds,
        )
        ours, struct, cattrs_time = (median(times[k]) for k in ("ours", "struct", "stock"))
        size = f"{profile}, {n} schedules, {len(body) / n:.0f} B each"
        b1.append(
            Row(
                f"decode ({size})",
                ours * 1e3,
                struct * 1e3,
                "ms",
                ours / struct,
                B1_TARGETS[profile],
                baseline_name="msgspec Struct twin",
                note=f"ours {n / ours:,.0f} schedules/s, Struct {n / struct:,.0f}/s",
            )
        )
        b2.append(
            Row(
                f"decode ({size})",
                ours * 1e3,
                cattrs_time * 1e3,
                "ms",
                ours / cattrs_time,
                B2_TARGET,
                baseline_name="orjson + stock cattrs",
                note=f"orjson + cattrs {n / cattrs_time:,.0f} schedules/s",
            )
        )
    method = (
        "One body per profile; each round times every engine (order alternating), "
        f"{max(sizes.rounds, 9)} rounds, median of each engine's rounds (CPU time). GC on; "
        "results dropped after each decode."
    )
    return [
        BenchResult(
            "B1", "Decoding a get answer: ours ÷ msgspec into a Struct twin", tuple(b1), method
        ),
        BenchResult("B2", "Decoding a get answer: ours ÷ orjson + stock cattrs", tuple(b2), method),
    ]

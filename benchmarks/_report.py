"""RESULTS.md: one table per benchmark, every figure against its target, and the machine."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._harness import BenchResult, Row

__all__ = ["render"]


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.1f}"
    elif magnitude >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def _met(row: Row) -> str:
    met = row.met
    if met is None:
        return "—"
    return "**met**" if met else "**NOT met**"


def _ratio(row: Row) -> str:
    if math.isnan(row.ratio):
        return "—"
    if row.baseline is None:
        return _number(row.ratio, row.unit)
    return f"{row.ratio:.3f}×" if row.ratio < 10 else f"{row.ratio:.1f}×"


def _table(result: BenchResult) -> list[str]:
    lines = [
        "| measure | ours | baseline | ratio | target | result | notes |",
        "|---|---:|---:|---:|---:|:---:|---|",
    ]
    for row in result.rows:
        baseline = _number(row.baseline, row.unit)
        if row.baseline_name and row.baseline is not None:
            baseline = f"{baseline} ({row.baseline_name})"
        target = (
            row.target_text
            if row.baseline is not None or row.target is None
            else (f"{'≤' if row.direction == '<=' else '≥'} {row.target:g} {row.unit}")
        )
        lines.append(
            f"| {row.measure} | {_number(row.ours, row.unit)} | {baseline} | {_ratio(row)} "
            f"| {target} | {_met(row)} | {row.note} |"
        )
    return lines


def render(
    results: Sequence[BenchResult],
    *,
    machine: dict[str, str],
    command: str,
    started: str,
    seconds: float,
    skipped: Sequence[str] = (),
) -> str:
    out = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/` (`nox -s bench`); do not edit by hand. Ratios compare variants "
        "measured in the same run, interleaved round by round; each figure is the median of its "
        "rounds. Everything runs on loopback; the fake WeCom server runs in its own process.",
        "",
        f"- **Command**: `{command}`",
        f"- **When**: {started}, {seconds:.0f} s in all",
    ]
    out += [f"- **{key}**: {value}" for key, value in machine.items() if value]
    out += ["", "## Summary", "", "| id | benchmark | targets |", "|---|---|---|"]
    for result in results:
        judged = [row for row in result.rows if row.met is not None]
        summary = ", ".join(f"{_met(row)} ({_ratio(row)})" for row in judged)
        out.append(f"| {result.id} | {result.title} | {summary or '—'} |")
    for skipped_id in skipped:
        out.append(f"| {skipped_id} | (not run) | — |")
    for result in results:
        out += ["", f"## {result.id}: {result.title}", ""]
        out += _table(result)
        if result.method:
            out += ["", f"*How*: {result.method}"]
        for note in result.notes:
            out += ["", note]
    return "\n".join(out) + "\n"

"""Reading schedule IDs: one per line, checked before anything is sent.

Blank lines and ``#`` comments are skipped, surrounding spaces stripped, a UTF-8 BOM and CRLF line
ends tolerated. A line that cannot be a schedule ID (spaces or commas inside, JSON, control
characters, over 128 characters, not UTF-8) is reported with its line number: a malformed file is
refused as a whole before any call, rather than half-fetched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import BinaryIO

import attrs
import click

from ._common import EXIT_USAGE, CLIError

__all__ = ["IDList", "check_id", "read_ids"]

MAX_ID_CHARS = 128
_ADVICE = "the file takes one schedule ID per line (blank lines and # comments are skipped)"


@attrs.frozen
class IDList:
    """Distinct IDs in first-seen order, and what the file held."""

    ids: list[str]
    lines: int
    duplicates: int


def check_id(value: str) -> str | None:
    """Why ``value`` cannot be a schedule ID, or None when it can."""
    if value[:1] in ("{", "[", '"'):
        return "it looks like JSON (for the IDs of a JSONL export: jq -r .schedule_id FILE)"
    if any(c.isspace() for c in value):
        return "it contains spaces or tabs"
    if "," in value or ";" in value:
        return "it contains a comma or semicolon (a CSV row?)"
    if any(not c.isprintable() for c in value):
        return "it contains control characters"
    if len(value) > MAX_ID_CHARS:
        return f"it is {len(value)} characters long (IDs are at most {MAX_ID_CHARS})"
    return None


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_ids(lines: Iterable[bytes], source: str) -> IDList:
    """Check and de-duplicate the lines of an ID file; raise :class:`CLIError` on a bad one."""
    seen: dict[str, None] = {}
    count = duplicates = bad = 0
    first_bad = ""
    for number, raw in enumerate(lines, start=1):
        count = number
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            bad += 1
            first_bad = first_bad or f"{source} line {number} is not UTF-8 text"
            continue
        if not line or line.startswith("#"):
            continue
        problem = check_id(line)
        if problem is not None:
            bad += 1
            first_bad = first_bad or (
                f"{source} line {number}: {_shorten(line)!r} is not a schedule ID: {problem}"
            )
            continue
        if line in seen:
            duplicates += 1
        else:
            seen[line] = None
    if bad:
        more = f" ({bad - 1} more bad lines)" if bad > 1 else ""
        raise CLIError(f"{first_bad}{more} — {_ADVICE}", EXIT_USAGE)
    return IDList(list(seen), count, duplicates)


def read_ids(path: str) -> IDList:
    """The IDs of file ``path``, or of stdin for ``-``."""
    if path == "-":
        if sys.stdin.isatty():
            click.echo("Reading schedule IDs from the terminal; end with Ctrl-D.", err=True)
        stream: BinaryIO = sys.stdin.buffer
        return parse_ids(stream, "stdin")
    try:
        with open(path, "rb") as file:
            return parse_ids(file, path)
    except IsADirectoryError:
        raise CLIError(f"{path} is a directory, not a file of schedule IDs", EXIT_USAGE) from None
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror or exc}", EXIT_USAGE) from None

"""The ``extra`` fields every log record of ``wecom_async`` carries (structured logs).

``api`` (the API path), ``errcode``, ``retry`` (the retry number) and ``corp_id`` become
attributes of the ``LogRecord``, so JSON formatters pick them up; ``None`` where they do not
apply. Never a token, secret or URL.
"""

from __future__ import annotations

__all__ = ["fields"]


def fields(
    *,
    api: str | None = None,
    errcode: int | None = None,
    retry: int | None = None,
    corp_id: str | None = None,
) -> dict[str, object]:
    """The ``extra=`` of a log call."""
    return {"api": api, "errcode": errcode, "retry": retry, "corp_id": corp_id}

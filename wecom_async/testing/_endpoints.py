"""The table of endpoint handlers, keyed by API path (the part after ``/cgi-bin/``).

To add an endpoint, write ``handler(ctx, body) -> dict`` in the module of its family (e.g.
``_calendars.py`` with ``CALENDAR_ENDPOINTS``) and merge that table here. ``gettoken`` is not in
the table: it is the one GET call without an access token and the server handles it itself.
"""

from __future__ import annotations

from types import MappingProxyType

from ._calendars import CALENDAR_ENDPOINTS
from ._context import Handler
from ._schedules import SCHEDULE_ENDPOINTS

__all__ = ["DEFAULT_ENDPOINTS"]

DEFAULT_ENDPOINTS: MappingProxyType[str, Handler] = MappingProxyType(
    {**SCHEDULE_ENDPOINTS, **CALENDAR_ENDPOINTS}
)

"""One class per API area, reached as attributes of the client (``client.schedules``)."""

from .schedules import Schedules

__all__ = ["Schedules"]

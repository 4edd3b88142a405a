"""One class per API area, reached as attributes of the client (``client.schedules``)."""

from .calendars import Calendars
from .schedules import ScheduleListing, Schedules

__all__ = ["Calendars", "ScheduleListing", "Schedules"]

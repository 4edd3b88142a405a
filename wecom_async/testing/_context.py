"""What an endpoint handler receives, and the handler type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._clock import Clock
from ._store import Store

__all__ = ["Handler", "HandlerContext"]


@dataclass(frozen=True, slots=True)
class HandlerContext:
    """The caller and the fake's state, for one call.

    ``corp_id`` is the corp of the (already checked) access token; ``path`` the API path;
    ``third_party``: the token is a third-party (suite) app's, from ``service/get_corp_token``.
    """

    corp_id: str
    path: str
    store: Store
    clock: Clock
    third_party: bool = False

    @property
    def now(self) -> float:
        return self.clock()


#: An endpoint: takes the context and the parsed JSON body (an object), returns the answer's fields
#: besides ``errcode``/``errmsg`` or raises ``FakeAPIError``. It runs synchronously on the event
#: loop, and its result is serialised at once, so it may contain live store objects.
Handler = Callable[[HandlerContext, dict[str, Any]], dict[str, Any]]

"""Service providers (服务商): a third-party app (suite) installed in many corps.

:class:`SuiteProvider` owns the suite's credentials and ticket, fetches the
``suite_access_token``, and hands out one :class:`~wecom_async.WeComClient` per authorised corp.
Its command callback (:meth:`SuiteProvider.callback_app`) needs the ``callbacks`` extra.
"""

from __future__ import annotations

from ._provider import AuthorizedCorp, SuiteProvider

__all__ = ["AuthorizedCorp", "SuiteProvider"]

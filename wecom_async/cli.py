"""The ``wecom-async`` command line: ``wecom-async --help``, or ``python -m wecom_async``.

``main`` is the console script; ``cli`` is the click group, for embedding or testing.
"""

from ._cli._app import cli, main

__all__ = ["cli", "main"]

"""The ``wecom-async`` command line's implementation (the entry point: :mod:`wecom_async.cli`)."""

"""``python -m wecom_async``: the ``wecom-async`` command line (``python -m wecom_async demo``)."""

from .cli import main

if __name__ == "__main__":
    main()

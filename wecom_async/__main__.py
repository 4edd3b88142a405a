"""``python -m wecom_async``: the demo on the embedded fake WeCom server."""

from ._demo import main

main()

"""The local Functions runtime: runs a v2 ``function_app.py`` with HTTP, queue, timer and Durable triggers.

``DevHost`` (server.py) is the in-process entry point; ``hpcburst devhost`` / ``python -m hpcburst.devhost``
run it as a process (runner.py).
"""

from hpcburst.devhost.server import DevHost

__all__ = ["DevHost"]

"""Plots are an optional extra (``pip install 'hpcburst[plots]'``): nodes and the Function App never need them.

``pyplot()`` is the one way in: matplotlib drawing to files only (the Agg backend, never a window), or
``MissingExtra`` naming what to install, which the CLI prints as one line instead of a traceback.
"""

from __future__ import annotations

from types import ModuleType

from hpcburst.errors import ConfigError

PLOTS_EXTRA = "hpcburst[plots]"


class MissingExtra(ConfigError):
    """An optional feature's packages are not installed."""


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend; MissingExtra when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingExtra(
            f"writing a PNG needs matplotlib: install {PLOTS_EXTRA} (pip install '{PLOTS_EXTRA}')"
        ) from e
    return plt

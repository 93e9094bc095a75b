"""Sizes as people type them (``4MiB``, ``512k``, ``20G``): shared by the CLI and the node agent's flags."""

from __future__ import annotations

import re

from hpcburst.errors import InvalidSpec

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
_UNITS |= {"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


def parse_size(text: str) -> int:
    """``4MiB``, ``512k``, ``1g``, ``65536`` -> bytes (units are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise InvalidSpec(f"size {text!r}: use a number with an optional unit, e.g. 4MiB, 512k, 1g")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])

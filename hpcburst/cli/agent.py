"""`hpcburst agent` (placeholder)."""


def agent() -> None:
    raise SystemExit("not built yet")

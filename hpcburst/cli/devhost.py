"""`hpcburst devhost` (placeholder)."""


def devhost() -> None:
    raise SystemExit("not built yet")

"""`hpcburst up` / `down` (placeholder)."""


def up() -> None:
    raise SystemExit("not built yet")


def down() -> None:
    raise SystemExit("not built yet")

"""The demo's rendering job, after the whitepaper's Aqsis example: one sweep index renders one tile.

    python examples/render/tiles.py render INDEX --grid 8 --out tile-INDEX.png
    python examples/render/tiles.py assemble DIR --grid 8 --out picture.png

Each tile is a window on the Mandelbrot set (Pillow renders it in C), coloured and labelled with
its index, so the assembled picture shows which index drew which part.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

EXTENT = (-2.2, -1.4, 0.8, 1.4)  # x0, y0, x1, y1 of the whole picture
TILE = 96  # pixels per tile side
# One fixed tone curve for every tile (not per-tile contrast), so the tiles join without seams.
_GAMMA = [round(255 * (v / 255) ** 0.3) for v in range(256)]


def tile_extent(index: int, grid: int) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = EXTENT
    row, col = divmod(index, grid)
    w, h = (x1 - x0) / grid, (y1 - y0) / grid
    return (x0 + col * w, y0 + row * h, x0 + (col + 1) * w, y0 + (row + 1) * h)


def render(index: int, grid: int) -> Image.Image:
    if not 0 <= index < grid * grid:
        raise SystemExit(f"index {index} is outside a {grid}x{grid} grid (0..{grid * grid - 1})")
    grey = Image.effect_mandelbrot((TILE, TILE), tile_extent(index, grid), 256)
    tile = ImageOps.colorize(grey.point(_GAMMA), black="#0b1a3a", white="#ffd27f", mid="#d0475a")
    ImageDraw.Draw(tile).text((3, 2), str(index), fill="white")
    return tile


def assemble(tile_dir: Path, grid: int) -> Image.Image:
    picture = Image.new("RGB", (grid * TILE, grid * TILE), "black")
    for index in range(grid * grid):
        path = tile_dir / f"tile-{index:03d}.png"
        if not path.exists():
            raise SystemExit(
                f"missing tile {path.name}: did index {index} fail? (hpcburst task view JOB.{index})"
            )
        row, col = divmod(index, grid)
        picture.paste(Image.open(path), (col * TILE, row * TILE))
    return picture


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("index", type=int)
    r.add_argument("--grid", type=int, default=8)
    r.add_argument("--out", type=Path, required=True)
    a = sub.add_parser("assemble")
    a.add_argument("dir", type=Path)
    a.add_argument("--grid", type=int, default=8)
    a.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.cmd == "render":
        render(args.index, args.grid).save(args.out)
        print(f"tile {args.index} -> {args.out}")
    else:
        assemble(args.dir, args.grid).save(args.out)
        print(f"picture -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

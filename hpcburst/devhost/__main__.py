"""``python -m hpcburst.devhost``: the same command as ``hpcburst devhost``."""

import typer

from hpcburst.devhost.command import devhost

app = typer.Typer(add_completion=False)
app.command(help="Run function_app.py on the local Functions + Durable runtime.")(devhost)

if __name__ == "__main__":
    app(prog_name="python -m hpcburst.devhost")

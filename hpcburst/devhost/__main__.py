"""``python -m hpcburst.devhost``: the same command as ``hpcburst devhost``."""

from hpcburst.cli.main import app

if __name__ == "__main__":
    app(["devhost", *__import__("sys").argv[1:]], prog_name="python -m hpcburst.devhost")

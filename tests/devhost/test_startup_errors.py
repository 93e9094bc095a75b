"""Apps the devhost cannot run fail at start with a ConfigError naming the fix (in-process; see test_cli.py
for the same errors through the command line)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hpcburst.errors import ConfigError


def write_app(root: Path, body: str, host_json: str | None = None) -> Path:
    app = root / "app"
    app.mkdir()
    header = (
        "import azure.functions as func\n\napp = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)\n"
    )
    (app / "function_app.py").write_text(header + textwrap.dedent(body))
    if host_json is not None:
        (app / "host.json").write_text(host_json)
    return app


def test_an_unsupported_binding_is_named(start_host, tmp_path):
    app = write_app(
        tmp_path,
        """
        @app.route(route="x")
        @app.blob_input(arg_name="blob", path="c/b.txt", connection="AzureWebJobsStorage")
        def reader(req: func.HttpRequest, blob: str) -> str:
            return blob
        """,
    )
    with pytest.raises(ConfigError, match="function 'reader': the input binding 'blob'"):
        start_host(app)


def test_an_unsupported_trigger_is_named(start_host, tmp_path):
    app = write_app(
        tmp_path,
        """
        @app.blob_trigger(arg_name="blob", path="c/{name}", connection="AzureWebJobsStorage")
        def on_blob(blob: func.InputStream) -> None:
            pass
        """,
    )
    with pytest.raises(ConfigError, match="the blobTrigger trigger is not supported"):
        start_host(app)


def test_a_bad_timer_schedule_is_named(start_host, tmp_path):
    app = write_app(
        tmp_path,
        """
        @app.timer_trigger(arg_name="t", schedule="every minute")
        def ticker(t: func.TimerRequest) -> None:
            pass
        """,
    )
    with pytest.raises(ConfigError, match="timer 'ticker': schedule 'every minute'"):
        start_host(app)


def test_an_unset_schedule_setting_is_named(start_host, tmp_path):
    app = write_app(
        tmp_path,
        """
        @app.timer_trigger(arg_name="t", schedule="%NOT_SET_ANYWHERE%")
        def ticker(t: func.TimerRequest) -> None:
            pass
        """,
    )
    with pytest.raises(ConfigError, match="app setting 'NOT_SET_ANYWHERE'"):
        start_host(app)


def test_a_queue_message_encoding_the_adapter_does_not_write_is_refused(start_host, tmp_path, monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    app = write_app(
        tmp_path,
        """
        @app.queue_trigger(arg_name="msg", queue_name="q", connection="AzureWebJobsStorage")
        def worker(msg: func.QueueMessage) -> None:
            pass
        """,
        host_json='{"version": "2.0", "extensions": {"queues": {"messageEncoding": "none"}}}',
    )
    with pytest.raises(ConfigError, match="messageEncoding='none'"):
        start_host(app)


def test_two_function_apps_in_one_file_are_refused(start_host, tmp_path):
    app = write_app(tmp_path, "other = func.FunctionApp()\n")
    with pytest.raises(ConfigError, match="several top-level function apps"):
        start_host(app)


def test_duplicate_function_names_are_refused(start_host, tmp_path):
    app = write_app(
        tmp_path,
        """
        @app.function_name("same")
        @app.route(route="a")
        def a(req: func.HttpRequest) -> str:
            return "a"

        @app.function_name("same")
        @app.route(route="b")
        def b(req: func.HttpRequest) -> str:
            return "b"
        """,
    )
    with pytest.raises(ConfigError, match="does not have a unique function name"):
        start_host(app)


def test_a_data_dir_serves_one_host_at_a_time(start_host, tmp_path):
    first = start_host("prefixed", data_dir=tmp_path / "shared")
    with pytest.raises(ConfigError, match="is in use by another devhost"):
        start_host("prefixed", data_dir=tmp_path / "shared")
    first.stop()
    start_host("prefixed", data_dir=tmp_path / "shared")  # free again once the first has stopped


def test_a_damaged_durable_state_file_is_named(start_host, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "durable.db").write_bytes(b"not a database " * 16)
    with pytest.raises(ConfigError, match="durable.db as the Durable state .*file is not a database"):
        start_host("durable", data_dir=data)
    start_host("prefixed", data_dir=data)  # the failed start let go of the data dir

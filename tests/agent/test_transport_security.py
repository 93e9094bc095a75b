"""An agent sends its join secret and node credential only over https, or plain http to this machine."""

from __future__ import annotations

import pytest

from hpcburst.errors import ConfigError
from nodeagent.main import make_config, secure_enough


@pytest.mark.parametrize(
    "url",
    ["https://head.example.com", "http://127.0.0.1:7071", "http://localhost:7071", "http://[::1]:7071",
     "http://127.9.9.9:80"],
)  # fmt: skip
def test_https_anywhere_and_http_to_this_machine_are_fine(url: str) -> None:
    assert secure_enough(url)


@pytest.mark.parametrize("url", ["http://head.example.com", "http://10.0.0.5:7071", "http://0.0.0.0:7071"])
def test_plain_http_to_another_machine_is_refused_unless_insecure(url: str) -> None:
    with pytest.raises(ConfigError, match="--insecure"):
        make_config(url, node="n1", workdir="/tmp/hpcburst-insecure-test")
    assert make_config(url, node="n1", workdir="/tmp/hpcburst-insecure-test", insecure=True).url == url

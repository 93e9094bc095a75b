"""The cloud-init custom data: installs the agent, writes its secrets root-only, starts it as a cloud node."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from provisioner_support import UNIT, pool_target

from hpcburst.errors import InvalidSpec
from hpcburst.provisioners.cloud_init import render_cloud_init, repo_agent_unit

TOKEN = "pool-burst.s3cret-join-token"


def rendered(**changes: Any) -> tuple[str, dict[str, Any]]:
    text = render_cloud_init(pool_target(**changes), "burst-7", TOKEN, UNIT)
    return text, yaml.safe_load(text)


def files(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {f["path"]: f for f in doc["write_files"]}


def test_it_is_cloud_config_that_yaml_reads() -> None:
    text, doc = rendered()
    assert text.startswith("#cloud-config\n")
    assert "python3" in doc["packages"] and "python3-venv" in doc["packages"]


def test_the_agent_env_is_root_only_and_holds_url_token_and_node_name() -> None:
    env = files(rendered()[1])["/etc/hpcburst/agent.env"]
    assert env["permissions"] == "0600" and env["owner"] == "root:root"
    assert env["content"].splitlines() == [
        "HPCBURST_URL=https://hpcburst-demo.azurewebsites.net",
        f"HPCBURST_JOIN_TOKEN={TOKEN}",
        "HPCBURST_NODE=burst-7",
    ]


def test_the_join_token_appears_only_in_the_agent_env() -> None:
    text, doc = rendered(extra_cloud_init="echo extra")
    assert text.count(TOKEN) == 1
    others = [f["content"] for path, f in files(doc).items() if path != "/etc/hpcburst/agent.env"]
    assert all(TOKEN not in content for content in others)
    assert all(TOKEN not in " ".join(cmd) for cmd in doc["runcmd"])


def test_it_installs_the_agent_from_the_configured_source_and_starts_the_unit_as_a_cloud_node() -> None:
    _, doc = rendered(agent_source="https://example.org/wheels/hpcburst-0.1.0-py3-none-any.whl")
    assert [
        "/opt/hpcburst/.venv/bin/pip",
        "install",
        "--quiet",
        "https://example.org/wheels/hpcburst-0.1.0-py3-none-any.whl",
    ] in doc["runcmd"]
    assert doc["runcmd"][-1] == ["systemctl", "enable", "--now", "hpcburst-agent.service"]
    written = files(doc)
    assert written["/etc/systemd/system/hpcburst-agent.service"]["content"] == UNIT
    drop_in = written["/etc/systemd/system/hpcburst-agent.service.d/cloud.conf"]["content"]
    assert "ExecStart=\n" in drop_in  # clears the shipped ExecStart before replacing it
    assert "--pool burst --node ${HPCBURST_NODE}" in drop_in and drop_in.rstrip().endswith("--cloud")


def test_extra_cloud_init_runs_after_install_and_before_the_agent_starts() -> None:
    _, doc = rendered(extra_cloud_init="apt-get install -y openmpi-bin")
    commands = doc["runcmd"]
    extra = commands.index(["sh", "-c", "apt-get install -y openmpi-bin"])
    assert commands[1][1] == "install" and extra == 2
    assert commands.index(["systemctl", "enable", "--now", "hpcburst-agent.service"]) > extra


@pytest.mark.parametrize("token", ["two\nlines", "", "nul\0"])
def test_a_token_that_would_break_the_env_file_is_refused(token: str) -> None:
    with pytest.raises(InvalidSpec):
        render_cloud_init(pool_target(), "burst-7", token, UNIT)


def test_quotes_and_yaml_syntax_in_values_stay_values() -> None:
    text = render_cloud_init(pool_target(), "burst-7", 'a"b: [c] #d', UNIT)
    env = files(yaml.safe_load(text))["/etc/hpcburst/agent.env"]["content"]
    assert 'HPCBURST_JOIN_TOKEN=a"b: [c] #d\n' in env


def test_the_repository_unit_is_the_one_shipped_in_deploy() -> None:
    unit = repo_agent_unit()
    assert "ExecStart=/opt/hpcburst/.venv/bin/python -m nodeagent" in unit
    assert "EnvironmentFile=-/etc/hpcburst/agent.env" in unit
    assert render_cloud_init(pool_target(), "burst-7", TOKEN, unit).count(TOKEN) == 1

"""The cloud-init custom data every cloud node boots with: install the agent, write its secrets, start it.

Pure text rendering (#cloud-config YAML; every scalar is emitted as a JSON string, which YAML reads as a
double-quoted scalar, so no value can break the document's structure).

Where the join token goes, and why only there: custom data is stored by the platform and copied onto the VM
(cloud-init keeps it under /var/lib/cloud, the Azure agent under /var/lib/waagent), so anyone with root on the
VM, with read access to its OS disk or snapshots, or with rights to the deployment that created it can read it.
ARM does not return customData on GET, but we do not rely on that. So the token is written once, to the
root-only /etc/hpcburst/agent.env (mode 0600), and never appears in a command line, a unit file or a log.
The join token is pool-scoped (it can only register nodes into its own pool) and revocable (`hpcburst pool join-token POOL
--revoke-others` issues a new one and retires the rest); give burst pools a short-lived one, rotated after
each burst, so a token read from a disk snapshot is already dead.
"""

from __future__ import annotations

import json
from pathlib import Path

from hpcburst import constants as c
from hpcburst.errors import ConfigError, InvalidSpec
from hpcburst.provisioners.port import PoolTarget

AGENT_ENV = "/etc/hpcburst/agent.env"
UNIT_PATH = "/etc/systemd/system/hpcburst-agent.service"
DROP_IN_PATH = "/etc/systemd/system/hpcburst-agent.service.d/cloud.conf"
VENV = "/opt/hpcburst/.venv"  # where deploy/systemd/hpcburst-agent.service runs the agent from
ENV_NODE = "HPCBURST_NODE"
MAX_CUSTOM_DATA = 65535  # bytes before base64: the Azure limit on customData (87,380 base64 characters)
REPO_UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "hpcburst-agent.service"


def repo_agent_unit() -> str:
    """The systemd unit shipped in deploy/systemd (present in a source checkout, not in a wheel)."""
    try:
        return REPO_UNIT.read_text()
    except OSError as error:
        raise ConfigError(
            f"cannot read {REPO_UNIT} ({error}): pass the text of deploy/systemd/hpcburst-agent.service "
            "as agent_unit"
        ) from error


def render_cloud_init(pool: PoolTarget, node: str, join_token: str, agent_unit: str) -> str:
    """The #cloud-config text for one node; InvalidSpec if a value could break a line-based file."""
    env = {c.ENV_URL: pool.cluster_url, c.ENV_JOIN_TOKEN: join_token, ENV_NODE: node}
    for key, value in {**env, "pool": pool.pool, "agent_source": pool.agent_source}.items():
        if not value or any(ch in value for ch in "\n\r\0"):
            raise InvalidSpec(f"{key} must be one non-empty line", field=key)
    files = [
        _file(AGENT_ENV, "".join(f"{k}={v}\n" for k, v in env.items()), "0600"),
        _file(UNIT_PATH, agent_unit, "0644"),
        _file(DROP_IN_PATH, _drop_in(pool.pool), "0644"),
    ]
    commands = [
        ["python3", "-m", "venv", VENV],
        [f"{VENV}/bin/pip", "install", "--quiet", pool.agent_source],
        *([["sh", "-c", pool.extra_cloud_init]] if pool.extra_cloud_init.strip() else []),
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "hpcburst-agent.service"],
    ]
    lines = [
        "#cloud-config",
        "package_update: true",
        "packages: " + _flow(["python3", "python3-venv", "gcc"]),
        "write_files:",
        *[line for f in files for line in f],
        "runcmd:",
        *[f"  - {_flow(cmd)}" for cmd in commands],
    ]
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > MAX_CUSTOM_DATA:
        raise InvalidSpec(f"cloud-init is {len(text.encode())} bytes; Azure takes at most {MAX_CUSTOM_DATA}")
    return text


def _drop_in(pool: str) -> str:
    """Run the shipped unit as a burst worker named after the VM (systemd expands ${HPCBURST_NODE} from
    agent.env), in this pool."""
    return (
        "[Service]\nExecStart=\n"
        f"ExecStart={VENV}/bin/python -m nodeagent --pool {pool} --node ${{{ENV_NODE}}} "
        "--workdir /var/lib/hpcburst-agent/work --cloud\n"
    )


def _file(path: str, content: str, mode: str) -> list[str]:
    return [
        f"  - path: {_scalar(path)}",
        "    owner: root:root",
        f"    permissions: {_scalar(mode)}",
        f"    content: {_scalar(content)}",
    ]


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(_scalar(i) for i in items) + "]"


def _scalar(value: str) -> str:
    return json.dumps(value)

"""Fuzz the HTTP API with schemathesis against a local cluster; ``scripts/fuzz`` runs this.

    python tests/fuzz/run_fuzz.py [--examples 100] [--seed 1] [--keep]

Starts a ``LocalCluster`` with no agents (fuzzed jobs must never run: their commands are random
text), takes a token (``HPCBURST_TOKEN``, else the cluster's ``admin.token``, else none), and runs
every schemathesis check against ``{url}/api/openapi.json``, except ``unsupported_method`` (the
Functions host answers 404, not 405, for a method no function takes on a path, in Azure as here) and,
while no token exists, the authentication checks. Prints one summary line; exits non-zero on any
failure. ``HPCBURST_FUZZ_EXAMPLES`` and ``HPCBURST_FUZZ_SEED`` change the defaults.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from hpcburst.client.local_access import ADMIN_TOKEN_FILE  # noqa: E402
from hpcburst.client.local_cluster import LocalCluster  # noqa: E402

FUZZ_NODE, FUZZ_POOL = "fuzz-node", "default"  # the node the agent endpoints are fuzzed as (hooks.py)


def find_token(data_dir: Path) -> str | None:
    """HPCBURST_TOKEN, else the token the cluster wrote at start, else None (no auth yet)."""
    if os.environ.get("HPCBURST_TOKEN"):
        return os.environ["HPCBURST_TOKEN"]
    path = data_dir / ADMIN_TOKEN_FILE
    return path.read_text().strip() if path.exists() else None


def schemathesis_command(url: str, token: str | None, examples: int, seed: int, reports: Path) -> list[str]:
    """The schemathesis run. The document is fetched first (it needs a credential, like every endpoint but
    the health check) and fuzzed from a file; credentials go per operation through hooks.ClusterAuth."""
    excluded = ["unsupported_method"] + ([] if token else ["ignored_auth"])
    schema = reports / "openapi.json"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    schema.write_text(
        httpx.get(f"{url}/api/openapi.json", headers=headers, timeout=30).raise_for_status().text
    )
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        *("--config-file", str(HERE / "schemathesis.toml")),
        *("run", str(schema), "--url", url),
        *("--checks", "all", "--exclude-checks", ",".join(excluded)),
        *("--phases", "examples,coverage,fuzzing,stateful"),
        *("--max-examples", str(examples), "--seed", str(seed), "--generation-database", "none"),
        *("--workers", "2", "--request-timeout", "20", "--no-color"),
        *("--report", "junit", "--report-junit-path", str(reports / "fuzz-junit.xml")),
    ]
    if not token:  # no credential to send: a request without one is not "invalid" then
        cmd += ["--generation-with-security-parameters", "false"]
    return cmd


def counts(output: str) -> tuple[int, int, int, int]:
    """(operations tested, test cases, failing test cases, unique failures) from schemathesis' summary:
    "Tested: 16" and "2600 generated, 2600 passed" or "156 generated, 15 found 27 unique failures"."""
    tested = re.search(r"Tested:\s+(\d+)", output)
    passed = re.search(r"(\d+) generated, (\d+) passed", output)
    failed = re.search(r"(\d+) generated, (\d+) found (\d+) unique", output)
    operations = int(tested.group(1)) if tested else 0
    if failed:
        return operations, int(failed.group(1)), int(failed.group(2)), int(failed.group(3))
    if passed:
        cases = int(passed.group(1))
        return operations, cases, cases - int(passed.group(2)), 0
    return operations, 0, 0, 0


def node_credentials(cluster: LocalCluster) -> dict[str, str]:
    """The agent endpoints are fuzzed as an agent would call them: registration with the pool's join
    secret, the rest with a registered node's own credential (see hooks.py)."""
    join = cluster.access().join_token(FUZZ_POOL)
    answer = httpx.post(
        f"{cluster.url}/api/agent/register",
        json={"node": FUZZ_NODE, "pool": FUZZ_POOL, "slots": 1},
        headers={"Authorization": f"Bearer {join}"},
        timeout=30,
    )
    answer.raise_for_status()
    return {"HPCBURST_FUZZ_JOIN_TOKEN": join, "HPCBURST_FUZZ_NODE_TOKEN": answer.json()["credential"]}


def credentials(cluster: LocalCluster, token: str | None) -> dict[str, str]:
    """What hooks.ClusterAuth sends: the user token, and an agent's join secret and node credential."""
    if not token:
        return {}
    return {"HPCBURST_FUZZ_USER_TOKEN": token, **node_credentials(cluster)}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("HPCBURST_FUZZ_EXAMPLES", "100")))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("HPCBURST_FUZZ_SEED", "1")))
    parser.add_argument("--keep", action="store_true", help="keep the cluster's data dir (logs) afterwards")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="hpcburst-fuzz-"))
    cluster = LocalCluster(data_dir)
    began = time.monotonic()
    try:
        cluster.start(agents=0)
        token = find_token(data_dir)
        cmd = schemathesis_command(cluster.url, token, args.examples, args.seed, data_dir)
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "hooks",
            "PYTHONPATH": str(HERE),
            **credentials(cluster, token),
        }
        run = subprocess.run(cmd, env=env, cwd=data_dir, capture_output=True, text=True)
    finally:
        cluster.stop()
    print(run.stdout, end="")
    print(run.stderr, end="", file=sys.stderr)
    operations, cases, failing, failures = counts(run.stdout)
    ok = run.returncode == 0 and operations > 0 and cases > 0
    print(
        f"fuzz summary: {'passed' if ok else 'FAILED'}: {operations} operations, {cases} test cases, "
        f"{failures} failures (schemathesis exit {run.returncode}; token: {'yes' if token else 'none'}; "
        f"{args.examples} examples per operation, seed {args.seed}; {time.monotonic() - began:.0f} s)"
    )
    # Last, in the plain closing form CI reads ("N passed, N failed"), after schemathesis' own closing
    # banner ("== 1 warning in 8.85s ==") that looks like pytest's but counts no tests.
    print(f"fuzz: {cases - failing} passed, {failing if ok else max(failing, 1)} failed")
    if args.keep or not ok:
        print(f"fuzz: cluster logs in {data_dir / 'logs'}", file=sys.stderr)
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""GET /api/cost and a job view's cost: a user sees what their own jobs cost, never anyone else's."""

from __future__ import annotations

import time

import httpx
import pytest
from typer.testing import CliRunner

from hpcburst import constants as c
from hpcburst.cli.main import app as cli
from hpcburst.domain.burst.record import BurstRecord, StoppedNode
from hpcburst.services import root

NODE = "fn-burst-1"
PRICE = 3600.0  # $ per node-hour: $1 per node-second
RAN = 0.25  # seconds the index ran


def _billed(start: float, end: float) -> None:
    """The burst controller's record: NODE (one slot) was billed from ``start`` and stopped at ``end``."""

    def stopped(record: BurstRecord) -> BurstRecord:
        ledger = record.ledger.reserve(NODE, "fn", PRICE, 60.0, start).release(NODE, end)
        gone = StoppedNode(name=NODE, pool="fn", created_at=start, stopped_at=end, cause="idle", slots=1)
        return record.model_copy(update={"ledger": ledger, "stopped": [gone]})

    root.services().burst.records.update(stopped)


def _api(app_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{app_url}/api", timeout=30, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def cora_ran_on_a_cloud_node(app_url: str, join_token: str) -> dict:
    """Cora's one-index job ran RAN seconds on NODE, which billed from 100 s before to 10 s after."""
    _, token = root.services().identity.add_user("cora")
    with _api(app_url, token) as cora:
        job = cora.post("/jobs", json={"pool": "fn", "tasks": [{"command": "true"}]}).json()
    with _api(app_url, join_token) as joining:
        body = {"node": NODE, "pool": "fn", "slots": 1, "cloud": True}
        credential = joining.post("/agent/register", json=body).json()["credential"]
    start = job["submitted_at"]
    with _api(app_url, credential) as node:
        (lease,) = node.post("/agent/lease", json={"node": NODE, "pool": "fn", "free_slots": 1}).json()[
            "leases"
        ]
        result = {"task": lease["task"], "attempt": lease["attempt"], "exit_code": 0, "started_at": start,
                  "ended_at": start + RAN}  # fmt: skip
        report = node.post("/agent/report", json={"node": NODE, "pool": "fn", "results": [result]})
    assert report.json()["accepted"] == [lease["task"]]
    _billed(start - 100, start + 10)
    time.sleep(max(0.0, start + RAN - time.time()))  # the run is over by the service's clock
    return job


def test_a_job_view_shows_what_its_share_of_cloud_node_time_cost(as_user, cora_ran_on_a_cloud_node):
    job = cora_ran_on_a_cloud_node
    with as_user("cora") as cora:
        assert cora.get(f"/jobs/{job['id']}").json()["cost"] == pytest.approx(RAN)


def test_a_user_sees_the_cost_of_their_own_jobs_and_their_own_row(as_user, cora_ran_on_a_cloud_node):
    job = cora_ran_on_a_cloud_node
    with as_user("cora") as cora:
        by_job = cora.get("/cost").json()
        by_user = cora.get("/cost", params={"by": "user"}).json()
    assert [(r["name"], r["owner"], r["cost"]) for r in by_job["rows"]] == [
        (job["id"], "cora", pytest.approx(RAN))
    ]
    assert (by_job["by"], by_job["total"]) == ("job", pytest.approx(RAN))
    assert [(r["name"], r["cost"]) for r in by_user["rows"]] == [("cora", pytest.approx(RAN))]


def test_another_users_job_and_its_cost_stay_invisible(as_user, cora_ran_on_a_cloud_node):
    job = cora_ran_on_a_cloud_node
    with as_user("dov") as dov:
        assert dov.get(f"/jobs/{job['id']}").status_code == 404
        for by in ("job", "user"):
            answer = dov.get("/cost", params={"by": by}).json()
            assert (answer["rows"], answer["total"]) == ([], 0.0)


def test_the_cost_by_pool_is_for_admins_only(http, as_user, cora_ran_on_a_cloud_node):
    with as_user("dov") as dov:
        refused = dov.get("/cost", params={"by": "pool"})
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    (pool,) = http.get("/cost", params={"by": "pool"}).json()["rows"]
    assert (pool["name"], pool["used"]) == ("fn", pytest.approx(RAN))
    assert pool["cost"] == pytest.approx(pool["used"] + pool["idle"])


def test_an_admin_sees_every_users_jobs(http, cora_ran_on_a_cloud_node):
    rows = http.get("/cost", params={"by": "user"}).json()["rows"]
    assert [r["name"] for r in rows] == ["cora"]


def test_since_windows_the_spend(http, cora_ran_on_a_cloud_node):
    later = http.get("/cost", params={"by": "pool", "since": time.time() + 3600}).json()
    assert later["rows"] == [] and later["since"] > 0


def test_without_a_token_the_cost_is_a_401_and_with_a_node_credential_a_403(app_url, register):
    assert httpx.get(f"{app_url}/api/cost").status_code == 401
    node = register("fn-cost-probe")
    assert node.get("/cost").status_code == 403


def test_a_bad_by_or_since_is_a_400_naming_it(http):
    assert http.get("/cost", params={"by": "month"}).json()["details"]["field"] == "by"
    assert http.get("/cost", params={"since": "yesterday"}).json()["details"]["field"] == "since"
    assert http.get("/cost", params={"since": "nan"}).status_code == 400


def test_the_cli_prints_the_cost_table_with_a_total_and_job_view_prints_the_cost(
    app_url, admin_token, cora_ran_on_a_cloud_node
):
    env = {c.ENV_URL: f"{app_url}", c.ENV_TOKEN: admin_token}
    by_pool = CliRunner().invoke(cli, ["cost", "--by", "pool", "--since", "1d"], env=env)
    assert by_pool.exit_code == 0, by_pool.output
    assert "fn" in by_pool.output and "total" in by_pool.output and "idle" in by_pool.output
    viewed = CliRunner().invoke(cli, ["job", "view", cora_ran_on_a_cloud_node["id"]], env=env)
    assert viewed.exit_code == 0, viewed.output
    assert f"${RAN:.4f}" in viewed.output

"""HPC Pack job XML on a real local cluster: a job file submitted with `hpcburst job submit --xml` runs (its
group dependency holds the gathering task until the sweep is done), unsupported attributes are warned about,
and `hpcburst job export` writes back XML that imports as the same job."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hpcburst.cli.main import app
from hpcburst.client import Scheduler
from hpcburst.client.local_cluster import LocalCluster
from hpcburst.domain.jobxml import parse_job_xml

FILE = Path(__file__).parent.parent / "jobxml" / "pipeline_2008r2.xml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def point_at(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCBURST_URL", cluster.url)
    monkeypatch.setenv("HPCBURST_TOKEN", cluster.admin_token)


def test_import_run_export_import_gives_the_same_job(scheduler: Scheduler, tmp_path: Path) -> None:
    submitted = runner.invoke(app, ["job", "submit", "--xml", str(FILE), "--wait"])
    assert submitted.exit_code == 0, submitted.output
    assert "UnitType=Node" in submitted.output, "the unsupported attribute is named in the warning"
    job = submitted.output.split("submitted job ")[1].split()[0]
    view = scheduler.view_job(job)
    assert view["state"] == "Finished" and view["counts"]["Finished"] == 7

    tasks = {t["task"]: t for t in scheduler.tasks(job)}
    gather = next(t for t in scheduler.tasks(job) if t["task"] == 3)
    sweep_ends = [t["ended_at"] for t in scheduler.tasks(job) if t["task"] == 2]
    assert tasks and gather["started_at"] >= max(sweep_ends), "group 2 waits for group 1"
    assert scheduler.task_output(job, "2.4", "stdout") == b"hello 4\n", "the job's environment reaches tasks"

    exported = tmp_path / "exported.xml"
    assert runner.invoke(app, ["job", "export", job, "-o", str(exported)]).exit_code == 0
    original, _ = parse_job_xml(FILE.read_text())
    again, warnings = parse_job_xml(exported.read_text())
    assert again == original and warnings == []


def test_an_xml_body_with_a_bad_dependency_is_a_400_naming_it(scheduler: Scheduler) -> None:
    text = FILE.read_text().replace('<Parent GroupId="1"><Child GroupId="2" /></Parent>',
                                    '<Parent GroupId="2"><Child GroupId="2" /></Parent>')  # fmt: skip
    refused = runner.invoke(app, ["job", "submit", "--xml", "-"], input=text)
    assert refused.exit_code != 0 and "dependency cycle" in refused.output
    assert "Traceback" not in refused.output

"""HPC Pack job XML: both documented forms become job specs, unsupported attributes are named in one warning,
hostile XML is refused, and export writes back what import reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcburst.domain.jobxml import job_xml, parse_job_xml
from hpcburst.errors import InvalidSpec

FILES = Path(__file__).parent.parent / "jobxml"


def test_the_2008_r2_form_maps_job_tasks_groups_and_environment():
    body, warnings = parse_job_xml((FILES / "render_2008r2.xml").read_text())
    assert (body["name"], body["priority"], body["runtime"], body["pool"], body["template"]) == (
        "render frames", "AboveNormal", 7200.0, "render", "Default")  # fmt: skip
    assert body["environment"] == {"SCENE": "city.mb", "QUALITY": "high"}
    assert body["group_dependencies"] == [{"parent": 1, "child": 2}, {"parent": 2, "child": 3}]
    prep, frames, encode, notify, cleanup = body["tasks"]
    assert (prep["type"], prep["max_run_time"]) == ("NodePrep", 60.0)
    assert frames["sweep"] == {"start": 1, "end": 240, "step": 1} and frames["group"] == 1
    assert (frames["workdir"], frames["stdout"], frames["environment"]) == (
        "frames",
        "frame-*.log",
        {"QUALITY": "draft"},
    )
    assert encode["fail_job_on_failure"] is True and "fail_job_on_failure" not in notify
    assert cleanup["type"] == "NodeRelease"
    (warning,) = warnings
    for named in ("Job Licenses=maya:4", "Job MaxCores=8", "Task 'notify' IsExclusive=true"):
        assert named in warning
    assert "MinCores" not in warning and "Version" not in warning, (
        "defaults and read-only attributes are quiet"
    )


def test_the_2008_form_with_is_parametric_and_depends_on():
    body, warnings = parse_job_xml((FILES / "sweep_2008.xml").read_text())
    sweep, collect = body["tasks"]
    assert (sweep["type"], sweep["sweep"]) == ("ParametricSweep", {"start": 0, "end": 20, "step": 5})
    assert collect["depends_on"] == ["sweep"] and collect["type"] == "Basic"
    assert sweep["fail_job_on_failure"] and collect["fail_job_on_failure"], "FailOnTaskFailure: every task"
    assert warnings == []


@pytest.mark.parametrize("name", ["render_2008r2.xml", "sweep_2008.xml"])
def test_export_then_import_gives_the_same_job(name):
    body, _ = parse_job_xml((FILES / name).read_text())
    again, warnings = parse_job_xml(job_xml(body))
    assert again == body and warnings == []


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ('<?xml version="1.0"?><!DOCTYPE j [<!ENTITY a "aaaa">]><Job><Tasks/></Job>', "document type"),
        ("<Job><Tasks>", "does not parse"),
        ('<Jobs xmlns="http://schemas.microsoft.com/HPCS2008R2/scheduler/"/>', "not an HPC Pack <Job>"),
        ('<Job xmlns="urn:other"><Tasks/></Job>', "unknown job XML namespace"),
        ("<Job Name='x'><Tasks/></Job>", "no <Tasks>"),
        ("<Job><Tasks><Task Type='Service' CommandLine='x'/></Tasks></Job>", "Type Service is not supported"),
        ("<Job><Tasks><Task Name='t'/></Tasks></Job>", "Task 't' has no CommandLine"),
        ("<Job RuntimeSeconds='soon'><Tasks><Task CommandLine='x'/></Tasks></Job>", "RuntimeSeconds='soon'"),
    ],
)
def test_bad_or_hostile_xml_is_refused_with_a_reason(xml, words):
    with pytest.raises(InvalidSpec, match=words) as refused:
        parse_job_xml(xml)
    assert refused.value.details["field"] == "xml"

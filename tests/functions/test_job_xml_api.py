"""POST /api/jobs with HPC Pack job XML (application/xml): the job is created with what the XML maps, the
answer names what it asked for that is not supported, and bad or hostile XML is a 400 with the reason."""

from __future__ import annotations

from pathlib import Path

FILES = Path(__file__).parent.parent / "jobxml"
XML = {"Content-Type": "application/xml"}


def test_an_xml_job_is_created_with_its_tasks_groups_and_a_warning(http):
    made = http.post("/jobs", content=(FILES / "render_2008r2.xml").read_bytes(), headers=XML)
    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["name"], job["priority"], job["pool"]) == ("render frames", "AboveNormal", "render")
    assert [t["type"] for t in job["tasks"]] == [
        "NodePrep",
        "ParametricSweep",
        "Basic",
        "Basic",
        "NodeRelease",
    ]
    (warning,) = job["warnings"]
    assert "Job Licenses=maya:4" in warning


def test_a_json_submit_has_no_warnings(http):
    made = http.post("/jobs", json={"tasks": [{"command": "true"}]})
    assert made.status_code == 201 and made.json()["warnings"] == []


def test_bad_xml_is_a_400_naming_why(http):
    cases = [
        (b"<Job><Tasks>", "does not parse"),
        (b'<!DOCTYPE j [<!ENTITY a "a">]><Job/>', "document type"),
        ("<Job Name='\u00e9'><Tasks><Task CommandLine='x'/></Tasks></Job>".encode("latin-1"), "not UTF-8"),
        (b"<Job><Tasks><Task CommandLine='x' Type='ParametricSweep' StartValue='5' EndValue='1'/></Tasks></Job>",
         "end (1) must not be below start (5)"),
    ]  # fmt: skip
    for body, words in cases:
        refused = http.post("/jobs", content=body, headers=XML)
        assert refused.status_code == 400, (body, refused.text)
        assert words in refused.json()["message"], (words, refused.json())

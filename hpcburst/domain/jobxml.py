"""HPC Pack job XML, both ways: a job file from HPC Pack 2008 R2 (or the 2008 ``IsParametric`` form) becomes a
job spec, and a job becomes the same XML again (``hpcburst job export``).

Mapped (2008 R2 namespace ``http://schemas.microsoft.com/HPCS2008R2/scheduler/``, 2008 ``.../HPCS2008/...``):
- Job: Name, Priority, RuntimeSeconds (the job's runtime), FailOnTaskFailure (every task fails the job),
  JobTemplate, NodeGroups (the first group is the pool), EnvironmentVariables;
- Task: Name, Type (Basic, ParametricSweep, NodePrep, NodeRelease) or IsParametric (2008), CommandLine,
  StartValue/EndValue/IncrementValue, WorkDirectory, StdOutFilePath, StdErrFilePath, RuntimeSeconds,
  FailJobOnFailure, DependsOn (2008: parent task names), GroupId, EnvironmentVariables;
- Dependencies: ``<Parent GroupId="1"><Child GroupId="2"/></Parent>``.
Anything else that asks for something (MPI unit types and core counts, licenses, exclusive nodes, required
nodes, custom properties...) is listed in one warning, never silently dropped. Read-only attributes an HPC
Pack export carries (Id, State, times, user...) and attributes at their schema default are ignored quietly.
A document type declaration is refused: no entity expansion, no external entities.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from hpcburst.errors import InvalidSpec

NS_2008R2 = "http://schemas.microsoft.com/HPCS2008R2/scheduler/"
NS_2008 = "http://schemas.microsoft.com/HPCS2008/scheduler/"
MAX_XML = 1024 * 1024

JOB_MAPPED = {"Name", "Priority", "RuntimeSeconds", "FailOnTaskFailure", "JobTemplate", "NodeGroups"}
TASK_MAPPED = {"Name", "Type", "IsParametric", "CommandLine", "StartValue", "EndValue", "IncrementValue",
               "WorkDirectory", "StdOutFilePath", "StdErrFilePath", "RuntimeSeconds", "FailJobOnFailure",
               "DependsOn", "GroupId"}  # fmt: skip
READ_ONLY = {"Version", "Id", "SubmitTime", "CreateTime", "StartTime", "EndTime", "ChangeTime", "State",
             "PreviousState", "UserName", "Owner", "ErrorCode", "ErrorParams", "ErrorMessage", "NextTaskNiceID",
             "ParentJobId", "InstanceId", "InstanceValue", "NiceId", "ExitCode", "HasRuntime", "RequeueCount",
             "PendingReason", "Progress", "ProgressMessage", "Output", "AllocatedNodes", "AllocatedCores",
             "TotalCpuTime", "TotalKernelTime", "TotalUserTime", "IsBackfill", "AutoRequeueCount",
             "ComputedMinCores", "ComputedMaxCores", "ComputedMinSockets", "ComputedMaxSockets",
             "ComputedMinNodes", "ComputedMaxNodes", "ComputedNodeList", "OrderBy"}  # fmt: skip
DEFAULTS = {"UnitType": "Core", "MinCores": "1", "MaxCores": "1", "MinSockets": "1", "MaxSockets": "1",
            "MinNodes": "1", "MaxNodes": "1", "IsExclusive": "false", "RunUntilCanceled": "false",
            "IsRerunnable": "true", "Priority": "Normal", "IsParametric": "false", "Type": "Basic"}  # fmt: skip
TYPES = {"Basic", "ParametricSweep", "NodePrep", "NodeRelease"}


def parse_job_xml(text: str) -> tuple[dict[str, Any], list[str]]:
    """(a JobSpec body, warnings); InvalidSpec naming what is wrong with the XML."""
    if len(text.encode()) > MAX_XML:
        raise InvalidSpec(f"the job XML is over {MAX_XML} bytes", field="xml")
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise InvalidSpec(
            "the job XML has a document type declaration; HPC Pack job files have none", field="xml"
        )
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise InvalidSpec(f"the job XML does not parse: {e}", field="xml") from None
    ns = _namespace(root)
    if _local(root.tag) != "Job":
        raise InvalidSpec(f"the XML's root is <{_local(root.tag)}>, not an HPC Pack <Job>", field="xml")
    unsupported: list[str] = _unmapped(root.attrib, JOB_MAPPED, "Job")
    body: dict[str, Any] = {}
    _put(body, "name", root.get("Name"))
    _put(body, "priority", root.get("Priority"))
    _put(body, "template", root.get("JobTemplate"))
    if root.get("RuntimeSeconds"):
        body["runtime"] = _number(root.get("RuntimeSeconds"), "Job RuntimeSeconds")
    if root.get("NodeGroups"):
        groups = [g.strip() for g in root.get("NodeGroups", "").split(",") if g.strip()]
        body["pool"] = groups[0]
        if len(groups) > 1:
            unsupported.append(f"Job NodeGroups beyond the first ({', '.join(groups[1:])})")
    _put(body, "environment", _variables(root.find(f"{ns}EnvironmentVariables"), ns) or None)
    fail_job = _flag(root.get("FailOnTaskFailure"))
    tasks_element = root.find(f"{ns}Tasks")
    if tasks_element is None or not list(tasks_element):
        raise InvalidSpec("the job XML has no <Tasks>", field="xml")
    body["tasks"] = [_task(t, ns, fail_job, unsupported) for t in tasks_element]
    dependencies = _group_dependencies(root.find(f"{ns}Dependencies"), ns)
    if dependencies:
        body["group_dependencies"] = dependencies
    for element in root:
        if _local(element.tag) not in {"Tasks", "Dependencies", "EnvironmentVariables"} and (
            len(element) or (element.text or "").strip()
        ):
            unsupported.append(f"<{_local(element.tag)}>")
    warnings = [f"not supported, ignored: {'; '.join(unsupported)}"] if unsupported else []
    return body, warnings


def _task(element: ET.Element, ns: str, fail_job: bool, unsupported: list[str]) -> dict[str, Any]:
    name = element.get("Name")
    where = f"Task {name!r}" if name else "Task"
    unsupported += _unmapped(element.attrib, TASK_MAPPED, where)
    kind = element.get("Type") or ("ParametricSweep" if _flag(element.get("IsParametric")) else "Basic")
    if kind not in TYPES:
        raise InvalidSpec(f"{where}: Type {kind} is not supported (Basic, ParametricSweep, NodePrep, NodeRelease)",
                          field="xml")  # fmt: skip
    if not element.get("CommandLine"):
        raise InvalidSpec(f"{where} has no CommandLine", field="xml")
    task: dict[str, Any] = {"type": kind, "command": element.get("CommandLine")}
    _put(task, "name", name)
    if kind == "ParametricSweep":
        task["sweep"] = {
            "start": int(_number(element.get("StartValue") or "1", f"{where} StartValue")),
            "end": int(_number(element.get("EndValue") or "1", f"{where} EndValue")),
            "step": int(_number(element.get("IncrementValue") or "1", f"{where} IncrementValue")),
        }
    _put(task, "workdir", element.get("WorkDirectory"))
    _put(task, "stdout", element.get("StdOutFilePath"))
    _put(task, "stderr", element.get("StdErrFilePath"))
    if element.get("RuntimeSeconds"):
        task["max_run_time"] = _number(element.get("RuntimeSeconds"), f"{where} RuntimeSeconds")
    per_node = kind in ("NodePrep", "NodeRelease")
    if not per_node and (fail_job or _flag(element.get("FailJobOnFailure"))):
        task["fail_job_on_failure"] = True
    if element.get("DependsOn"):
        task["depends_on"] = [p.strip() for p in element.get("DependsOn", "").split(",") if p.strip()]
    if element.get("GroupId"):
        task["group"] = int(_number(element.get("GroupId"), f"{where} GroupId"))
    _put(task, "environment", _variables(element.find(f"{ns}EnvironmentVariables"), ns) or None)
    return task


def _group_dependencies(element: ET.Element | None, ns: str) -> list[dict[str, int]]:
    if element is None:
        return []
    found = []
    for parent in element.findall(f"{ns}Parent"):
        for child in parent.findall(f"{ns}Child"):
            found.append({"parent": int(_number(parent.get("GroupId"), "Parent GroupId")),
                          "child": int(_number(child.get("GroupId"), "Child GroupId"))})  # fmt: skip
    return found


def _variables(element: ET.Element | None, ns: str) -> dict[str, str]:
    if element is None:
        return {}
    found = {}
    for variable in element.findall(f"{ns}Variable"):
        name = (variable.findtext(f"{ns}Name") or "").strip()
        if name:
            found[name] = variable.findtext(f"{ns}Value") or ""
    return found


def _unmapped(attributes: dict[str, str], mapped: set[str], where: str) -> list[str]:
    return [f"{where} {key}={value}" for key, value in sorted(attributes.items())
            if key not in mapped and key not in READ_ONLY and DEFAULTS.get(key) != value]  # fmt: skip


def _namespace(root: ET.Element) -> str:
    if root.tag.startswith("{"):
        uri = root.tag[1 : root.tag.index("}")]
        if uri not in (NS_2008R2, NS_2008):
            raise InvalidSpec(f"unknown job XML namespace {uri!r}; expected {NS_2008R2}", field="xml")
        return f"{{{uri}}}"
    return ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _number(value: str | None, what: str) -> float:
    try:
        return float(value or "")
    except ValueError:
        raise InvalidSpec(f"{what}={value!r} is not a number", field="xml") from None


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, ""):
        body[key] = value


# --- export ---
def job_xml(job: dict[str, Any]) -> str:
    """The job (a JobSpec body or a stored job) as HPC Pack 2008 R2 job XML."""
    ET.register_namespace("", NS_2008R2)
    ns = f"{{{NS_2008R2}}}"
    tasks = job.get("tasks", [])
    counted = [t for t in tasks if t.get("type") not in ("NodePrep", "NodeRelease")]
    fail_all = bool(counted) and all(t.get("fail_job_on_failure") for t in counted)
    root = ET.Element(f"{ns}Job", _attrs({
        "Name": job.get("name"), "Priority": job.get("priority"), "JobTemplate": job.get("template"),
        "RuntimeSeconds": _int(job.get("runtime")), "NodeGroups": job.get("pool"),
        "FailOnTaskFailure": "true" if fail_all else None}))  # fmt: skip
    _put_variables(root, job.get("environment"), ns)
    dependencies = ET.SubElement(root, f"{ns}Dependencies")
    parents: dict[int, ET.Element] = {}
    for dep in job.get("group_dependencies", []):
        if dep["parent"] not in parents:
            parents[dep["parent"]] = ET.SubElement(
                dependencies, f"{ns}Parent", {"GroupId": str(dep["parent"])}
            )
        ET.SubElement(parents[dep["parent"]], f"{ns}Child", {"GroupId": str(dep["child"])})
    tasks_element = ET.SubElement(root, f"{ns}Tasks")
    for task in tasks:
        sweep = task.get("sweep") or {}
        element = ET.SubElement(tasks_element, f"{ns}Task", _attrs({
            "Name": task.get("name"), "Type": task.get("type") or ("ParametricSweep" if sweep else "Basic"),
            "CommandLine": task.get("command"), "StartValue": sweep.get("start"), "EndValue": sweep.get("end"),
            "IncrementValue": sweep.get("step"), "WorkDirectory": task.get("workdir"),
            "StdOutFilePath": task.get("stdout"), "StdErrFilePath": task.get("stderr"),
            "RuntimeSeconds": _int(task.get("max_run_time")),
            "FailJobOnFailure": "true" if task.get("fail_job_on_failure") and not fail_all else None,
            "DependsOn": ",".join(task.get("depends_on") or []) or None, "GroupId": task.get("group")}))  # fmt: skip
        _put_variables(element, task.get("environment"), ns)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _attrs(values: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _int(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds)


def _put_variables(parent: ET.Element, variables: dict[str, str] | None, ns: str) -> None:
    if not variables:
        return
    element = ET.SubElement(parent, f"{ns}EnvironmentVariables")
    for name, value in variables.items():
        variable = ET.SubElement(element, f"{ns}Variable")
        ET.SubElement(variable, f"{ns}Name").text = name
        ET.SubElement(variable, f"{ns}Value").text = value

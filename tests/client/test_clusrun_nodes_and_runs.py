"""clusrun on the client: which nodes it picks, the pinned job it builds, and how it reads each node's run."""

import re

import pytest

from hpcburst.client.clusrun import choose_nodes, clusrun_job, node_runs
from hpcburst.errors import InvalidSpec, NotFound

NODES = [
    {"name": "b1", "pool": "default", "state": "Online"},
    {"name": "a1", "pool": "default", "state": "Online"},
    {"name": "g1", "pool": "gpu", "state": "Online"},
    {"name": "d1", "pool": "default", "state": "Offline"},
    {"name": "u1", "pool": "gpu", "state": "Unreachable"},
]


def test_all_is_every_online_node_and_a_pool_its_online_nodes():
    assert choose_nodes(NODES, all_nodes=True) == ["a1", "b1", "g1"]
    assert choose_nodes(NODES, pool="gpu") == ["g1"]


def test_named_nodes_are_taken_in_order_once_each():
    assert choose_nodes(NODES, ["g1", "a1", "g1"]) == ["g1", "a1"]


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({}, InvalidSpec, "--nodes a,b, --pool POOL or --all"),
        ({"names": ["a1"], "all_nodes": True}, InvalidSpec, "not both"),
        ({"names": ["a1", "zz", "yy"]}, NotFound, "no such node: zz, yy"),
        ({"names": ["a1", "d1", "u1"]}, InvalidSpec, "not Online: d1 (Offline), u1 (Unreachable)"),
        ({"names": ["a1", "g1"], "pool": "gpu"}, InvalidSpec, "not in pool 'gpu': a1"),
        ({"pool": "empty"}, InvalidSpec, "no node is Online in pool 'empty'"),
    ],
)
def test_bad_choices_are_one_clear_error_naming_the_nodes(kwargs, error, says):
    with pytest.raises(error, match=re.escape(says)):
        choose_nodes(NODES, **kwargs)


def test_the_job_is_named_a_clusrun_with_one_task_pinned_to_each_node_and_no_index_substitution():
    spec = clusrun_job("ls *.log", ["a1", "b1"], pool="default").to_spec()
    assert (spec.name, spec.pool) == ("clusrun: ls *.log", "default")
    assert [(t.node, t.name, t.command, t.sweep) for t in spec.tasks] == [
        ("a1", "a1", "ls *.log", None),
        ("b1", "b1", "ls *.log", None),
    ]


def test_each_node_run_carries_its_state_exit_code_output_and_why_it_never_ran():
    job = {"state": "Failed", "tasks": [{"node": "a1"}, {"node": "b1"}, {"node": "c1"}]}
    tasks = [
        {"task": 1, "state": "Finished", "exit_code": 0, "stdout": {"blob": "x"}},
        {
            "task": 2,
            "state": "Failed",
            "message": "node b1 is Unreachable: it left before running this index",
        },
    ]
    runs = node_runs(job, tasks, lambda ref, stream: f"{ref} {stream}".encode())
    assert [(r.node, r.state, r.exit_code, r.stdout, r.succeeded) for r in runs] == [
        ("a1", "Finished", 0, b"1.0 stdout", True),
        ("b1", "Failed", None, b"", False),
        ("c1", "Submitted", None, b"", False),
    ]
    assert runs[1].message and "b1 is Unreachable" in runs[1].message

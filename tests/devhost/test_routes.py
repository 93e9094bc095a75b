"""Route templates: matching, constraints, precedence and conflicts (pure code, no server)."""

from __future__ import annotations

import pytest

from hpcburst.devhost.routes import Router, compile_route, find_conflicts
from hpcburst.errors import ConfigError


def test_parameters_defaults_and_case_insensitive_literals():
    route = compile_route("Jobs/{job}/tasks/{index:int}", "f", ["GET"])
    assert route.match("jobs/j1/TASKS/3") == {"job": "j1", "index": "3"}
    assert route.match("jobs/j1/tasks/x") is None
    assert compile_route("page/{n=1}", "f", None).match("page") == {"n": "1"}


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ("int", "-12", "1.5"),
        ("bool", "True", "yes"),
        ("guid", "0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b"),
        ("double", "1.5e3", "abc"),
        ("minlength(3)", "abc", "ab"),
        ("length(2,3)", "ab", "abcd"),
        ("range(1,10)", "10", "11"),
        ("regex(^v\\d+$)", "v12", "x12"),
    ],
)
def test_constraints(constraint, good, bad):
    route = compile_route(f"x/{{p:{constraint}}}", "f", None)
    assert route.match(f"x/{good}") == {"p": good}
    assert route.match(f"x/{bad}") is None


def test_mixed_segments():
    assert compile_route("files/{name}.{ext}", "f", None).match("files/report.tar.gz") == {
        "name": "report.tar",
        "ext": "gz",
    }


def test_bad_templates_are_config_errors_naming_the_function():
    with pytest.raises(ConfigError, match="unknown route constraint"):
        compile_route("x/{p:bogus}", "f", None)
    with pytest.raises(ConfigError, match="optional parameter must be last"):
        compile_route("x/{p?}/y", "f", None)
    with pytest.raises(ConfigError, match="repeats a parameter"):
        compile_route("{a}/{A}", "f", None)


def test_router_prefers_literals_then_constraints_then_plain_parameters():
    router = Router(
        [
            compile_route("items/{name}", "plain", None),
            compile_route("items/{id:int}", "constrained", None),
            compile_route("items/new", "literal", None),
        ]
    )
    assert router.resolve("GET", "items/new")[0].function == "literal"
    assert router.resolve("GET", "items/5")[0].function == "constrained"
    assert router.resolve("GET", "items/pen")[0].function == "plain"


def test_conflicts_need_the_same_template_and_a_shared_method():
    a = compile_route("jobs/{id}", "a", ["GET"])
    b = compile_route("Jobs/{job}", "b", ["GET", "POST"])
    c = compile_route("jobs/{id}", "c", ["DELETE"])
    d = compile_route("jobs/{id:int}", "d", ["GET"])
    problems = find_conflicts([a, b, c, d])
    assert len(problems) == 1
    assert "'a' and 'b'" in problems[0] and "GET" in problems[0]
    assert find_conflicts([compile_route("x", "e", None), compile_route("x", "f", ["PUT"])])

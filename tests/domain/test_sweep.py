"""Sweep expansion and `*` substitution follow HPC Pack's parametric sweep rules."""

from hpcburst.domain.job import TaskSpec
from hpcburst.domain.sweep import expand, index_at, index_count, index_position, substitute


def test_every_star_is_the_index():
    assert substitute("render --tile * --out tile*.png", 7) == "render --tile 7 --out tile7.png"


def test_a_run_of_stars_zero_pads_to_its_length():
    assert substitute("frame***.exr", 7) == "frame007.exr"
    assert substitute("f*****", 123) == "f00123"


def test_padding_never_truncates_a_wider_index():
    assert substitute("**", 1234) == "1234"


def test_caret_star_is_a_literal_star():
    assert substitute("ls ^* && echo *", 3) == "ls * && echo 3"
    assert substitute("a^**", 5) == "a*5"


def test_text_without_stars_is_unchanged():
    assert substitute("echo hello ^", 1) == "echo hello ^"


def test_a_sweep_expands_start_to_end_inclusive_by_step():
    spec = TaskSpec(command="x *", sweep={"start": 1, "end": 10, "step": 3})
    assert list(expand(spec)) == [1, 4, 7, 10]
    assert index_count(spec) == 4
    assert index_at(spec, 2) == 7
    assert index_position(spec, 7) == 2
    assert index_position(spec, 8) is None


def test_a_basic_task_is_the_single_index_0():
    spec = TaskSpec(command="hostname")
    assert list(expand(spec)) == [0]
    assert index_count(spec) == 1

"""`make mutate`'s own rules: which mutants count, which comments excuse a survivor, and a fork server whose
runs see the source on disk."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mutate import forkserver, scoping
from mutate.run import scopes

ROOT = Path(__file__).resolve().parent.parent

MODULE = textwrap.dedent(
    """\
    from __future__ import annotations


    def first(x: int | None) -> bool:
        def inner() -> int:
            return 1 + 1
        return x is None


    class Thing:
        @property
        def size(self) -> int:
            # equivalent mutant core/NumberReplacer: any size is as good
            return 3  # equivalent mutant core/AddNot: trailing

        def other(self) -> int:
            return 4
    """
)


def test_functions_are_known_by_qualified_name_with_their_decorators() -> None:
    """Methods are Class.method and start at their first decorator; nested functions belong to the outer one."""
    spans = scoping.function_spans(MODULE)
    assert sorted(spans) == ["Thing.other", "Thing.size", "first"]
    assert spans["first"] == scoping.Span((4, 0), (8, 0))
    assert spans["Thing.size"] == scoping.Span((11, 0), (15, 0))


def test_a_mutant_counts_inside_a_listed_function_and_outside_annotations() -> None:
    """A mutant of `x is None` counts; one in `int | None` (never evaluated) and one in another method do not."""
    scope = scoping.in_scope(MODULE, ["first"])
    annotations = scoping.annotation_spans(MODULE)
    assert scoping.counts((7, 11), (7, 22), scope, annotations)
    assert scoping.counts((6, 19), (6, 20), scope, annotations)  # in the nested function
    assert not scoping.counts((4, 13), (4, 23), scope, annotations)  # the parameter's annotation
    assert not scoping.counts((17, 19), (17, 20), scope, annotations)  # Thing.other


def test_star_is_every_function_and_an_unknown_name_is_an_error() -> None:
    """ "*" covers each function of the module; a misspelt name stops the run instead of mutating nothing."""
    assert len(scoping.in_scope(MODULE, ["*"])) == 3
    with pytest.raises(ValueError, match=r"no function Thing\.sizes in the module"):
        scoping.in_scope(MODULE, ["Thing.sizes"])


def test_a_comment_declares_one_operator_equivalent_on_its_line() -> None:
    """The comment above and the trailing comment each name an operator; other operators and lines are not
    excused."""
    lines = MODULE.splitlines()
    assert scoping.equivalent_operators(lines, 14) == {"core/NumberReplacer", "core/AddNot"}
    assert scoping.declared_equivalent(lines, 14, "core/NumberReplacer")
    assert not scoping.declared_equivalent(lines, 14, "core/ReplaceComparisonOperator_Is_IsNot")
    assert not scoping.declared_equivalent(lines, 17, "core/NumberReplacer")


def test_every_scope_names_functions_that_exist_and_tests_that_exist() -> None:
    """scope.toml cannot rot: each function is in its module and each test file is in the tree."""
    for scope in scopes():
        assert scoping.in_scope(scope.module.read_text(), scope.functions), scope.name
        for test in scope.tests:
            assert (ROOT / test.split("::")[0]).is_file(), (scope.name, test)


@pytest.fixture
def fork_server(tmp_path: Path) -> Iterator[Path]:
    socket = tmp_path / "fork.sock"
    with forkserver.running(socket, ROOT):
        yield socket


def test_fork_server_runs_see_each_edit_of_the_source(fork_server: Path, tmp_path: Path) -> None:
    """A run after an edit of the same size and modification time sees the edit, not bytecode of the original;
    the exit status is pytest's."""
    project = tmp_path / "project"
    project.mkdir()
    victim = project / "victim.py"
    victim.write_text("X = 1\n")
    (project / "test_victim.py").write_text("import victim\n\n\ndef test_x():\n    assert victim.X == 1\n")
    stamp = time.time()

    def run() -> subprocess.CompletedProcess[str]:
        os.utime(victim, (stamp, stamp))
        client = [sys.executable, "-m", "mutate.forkserver", "run", str(fork_server), "-q", "-p", "no:cacheprovider"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(client, cwd=project, capture_output=True, text=True, env=env, check=False)

    assert run().returncode == 0
    writes = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import victim"], cwd=project, env=writes, check=True)
    assert list((project / "__pycache__").glob("victim.*.pyc"))  # bytecode of X = 1, valid for the edit below
    victim.write_text("X = 2\n")
    failed = run()
    assert failed.returncode == 1
    assert "assert 2 == 1" in failed.stdout

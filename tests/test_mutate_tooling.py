"""`make mutate`'s own rules: which mutants count, which comments excuse a survivor, that only a failing test
kills a mutant, and a fork server whose runs see the source on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cosmic_ray.work_item import MutationSpec

from mutate import forkserver, scoping
from mutate.run import Verdict, run_tests, scopes, try_mutant, verdict

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


def test_one_comment_may_name_several_operators_with_one_reason() -> None:
    """ "equivalent mutants A, B, C: why", the list over two comment lines, excuses A, B and C on the line below,
    and nothing else."""
    lines = [
        "# equivalent mutants core/ReplaceBinaryOperator_Add_Mul, ReplaceBinaryOperator_Add_Pow,",
        "# NumberReplacer: any bound past n lists the same",
        "x = range(1, n + 1)",
        "y = 2  # a comment that names no operator",
    ]
    assert scoping.equivalent_operators(lines, 3) == {
        "core/ReplaceBinaryOperator_Add_Mul",
        "ReplaceBinaryOperator_Add_Pow",
        "NumberReplacer",
    }
    assert scoping.declared_equivalent(lines, 3, "core/ReplaceBinaryOperator_Add_Pow")
    assert scoping.declared_equivalent(lines, 3, "core/NumberReplacer")
    assert not scoping.declared_equivalent(lines, 3, "core/ReplaceBinaryOperator_Add_Sub")
    assert scoping.equivalent_operators(lines, 4) == set()


def test_every_scope_names_functions_that_exist_and_tests_that_exist() -> None:
    """scope.toml cannot rot: each function is in its module and each test file is in the tree."""
    for scope in scopes():
        assert scoping.in_scope(scope.module.read_text(), scope.functions), scope.name
        for test in scope.tests:
            assert (ROOT / test.split("::")[0]).is_file(), (scope.name, test)


@pytest.mark.parametrize(
    ("returncode", "expected"),
    [
        (1, Verdict.KILLED),  # pytest: tests ran and some failed
        (0, Verdict.SURVIVED),
        (None, Verdict.TIMEOUT),
        (2, Verdict.ERROR),  # pytest: interrupted, as by an error while collecting (an import error)
        (3, Verdict.ERROR),  # pytest: internal error
        (4, Verdict.ERROR),  # pytest: usage error
        (5, Verdict.ERROR),  # pytest: no tests collected
        (forkserver.SERVER_LOST, Verdict.ERROR),
        (forkserver.CHILD_CRASHED, Verdict.ERROR),
        (-9, Verdict.ERROR),  # the test process killed by SIGKILL
    ],
)
def test_only_a_failing_test_kills_a_mutant(returncode: int | None, expected: Verdict) -> None:
    """Exit status 1 is a kill and 0 a survivor; a timeout and every other status are reported as what they are."""
    assert verdict(returncode) is expected


def test_a_run_past_its_timeout_is_stopped_and_is_a_timeout() -> None:
    """A test command that hangs is killed at the timeout and scored as a timeout, not as a kill."""
    started = time.monotonic()
    run = run_tests(f"{sys.executable} -c 'import time; time.sleep(60)'", timeout=0.5)
    assert time.monotonic() - started < 10
    assert run.returncode is None
    assert verdict(run.returncode) is Verdict.TIMEOUT


@pytest.fixture
def fork_server(tmp_path: Path) -> Iterator[Path]:
    socket = tmp_path / "fork.sock"
    with forkserver.running(socket, ROOT):
        yield socket


def _victim_project(tmp_path: Path) -> Path:
    """A module whose one number its test checks, so that any change of the number fails the test."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "victim.py").write_text("X = 1\n")
    (project / "test_victim.py").write_text("import victim\n\n\ndef test_x():\n    assert victim.X == 1\n")
    return project


def test_a_crashed_fork_server_is_not_scored_as_kills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same mutant is killed while the fork server runs, and is an error, not a kill, once the server died;
    the module is put back either way."""
    project = _victim_project(tmp_path)
    victim = project / "victim.py"
    socket = tmp_path / "fork.sock"
    mutation = MutationSpec(victim, "core/NumberReplacer", 0, (1, 4), (1, 5))
    command = f"{sys.executable} -m mutate.forkserver run {socket} -q -p no:cacheprovider"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the test command runs from the project, not from ROOT
    with forkserver.running(socket, ROOT) as server:
        alive = try_mutant(mutation, command, timeout=60, cwd=project)
        server.send_signal(signal.SIGKILL)
        server.wait()
        dead = try_mutant(mutation, command, timeout=60, cwd=project)
    assert alive.verdict is Verdict.KILLED, alive.run.output
    assert "-X = 1" in alive.diff
    assert dead.run.returncode == forkserver.SERVER_LOST, dead.run.output
    assert dead.verdict is Verdict.ERROR
    assert "answered nothing" in dead.run.output or "no fork server" in dead.run.output
    assert victim.read_text() == "X = 1\n"


def test_a_mutant_that_is_not_python_is_counted_apart_and_never_run(tmp_path: Path) -> None:
    """A keyword-only marker turned into "+" does not compile: no test runs against it (a run would exit 1 here,
    a kill), it is neither killed nor an error, and the module is put back."""
    victim = tmp_path / "victim.py"
    victim.write_text("def f(*, x):\n    return x\n")
    mutation = MutationSpec(victim, "core/ReplaceBinaryOperator_Mul_Add", 0, (1, 6), (1, 7))
    mutant = try_mutant(mutation, f"{sys.executable} -c 'raise SystemExit(1)'", timeout=60, cwd=tmp_path)
    assert mutant.verdict is Verdict.NOT_RUN
    assert mutant.run.returncode is None and mutant.run.output.startswith("not Python: ")
    assert "+def f(+, x):" in mutant.diff
    assert victim.read_text() == "def f(*, x):\n    return x\n"


def test_a_mutant_cosmic_ray_cannot_write_is_not_run_and_the_module_is_put_back(tmp_path: Path) -> None:
    """cosmic-ray 8.7's ExceptionReplacer fails on a dotted name in an except tuple: that is no mutant to judge,
    so nothing runs (a run would exit 1 here, a kill), the run goes on, and the module is as it was."""
    victim = tmp_path / "victim.py"
    source = textwrap.dedent(
        """\
        import zlib


        def f():
            try:
                return 1
            except (ValueError, zlib.error):
                return 2
        """
    )
    victim.write_text(source)
    mutation = MutationSpec(victim, "core/ExceptionReplacer", 1, (7, 23), (7, 33))
    mutant = try_mutant(mutation, f"{sys.executable} -c 'raise SystemExit(1)'", timeout=60, cwd=tmp_path)
    assert mutant.verdict is Verdict.NOT_RUN, mutant
    assert mutant.run.output.startswith("cosmic-ray could not write this mutant: ")
    assert victim.read_text() == source


def test_a_fork_that_dies_before_pytest_returns_is_an_error(fork_server: Path, tmp_path: Path) -> None:
    """A test process killed by a signal mid-run reports no test failure: its run is an error."""
    project = _victim_project(tmp_path)
    (project / "test_victim.py").write_text(
        "import os, signal\n\n\ndef test_dies():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    client = [sys.executable, "-m", "mutate.forkserver", "run", str(fork_server), "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(client, cwd=project, capture_output=True, text=True, env=env, check=False)
    assert done.returncode not in (0, 1), done.stdout + done.stderr
    assert verdict(done.returncode) is Verdict.ERROR


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


def test_every_scope_has_one_row_in_the_score_table_and_every_row_a_scope() -> None:
    """docs/mutation-testing.md's table is the published score: a scope added without its row, or a row left for
    a scope that is gone, would misstate what `make mutate` covers."""
    table = (ROOT / "docs" / "mutation-testing.md").read_text().split("| scope | killed |")[1]
    rows = [line.split("|")[1].strip().split(" ")[0] for line in table.splitlines()[2:] if line.startswith("| ")]
    assert sorted(rows) == sorted(scope.name for scope in scopes())

"""``make mutate``: break the safety-critical code one small change at a time and check that a test notices.

For each scope of scope.toml, cosmic-ray lists every mutant of the module; those outside the scope's functions,
and those inside type annotations (never evaluated), are left out. Each remaining mutant is written into the
module on disk, the scope's tests run against it through the fork server, and the module is put back.

A kill is a failing test: only pytest's exit status 1 ("tests were collected and run but some of the tests
failed") kills a mutant. Status 0 is a survivor, unless a comment at the mutated line declares it equivalent
(``# equivalent mutant <operator>: <why>``). A run that outlasts its timeout is a timeout, and every other
status (pytest's interrupted, internal, usage and no-tests errors, a test process killed by a signal, a fork
server that is gone) an error: neither shows that a test noticed the mutant, so neither is counted as a kill.
A mutant whose source does not compile, or that cosmic-ray fails to write, is no program at all: it is counted
apart ("not run") and never run.
Prints each scope's tally, every unexplained survivor with its diff and every timeout or error with the end of
its output; exits non-zero while any survivor, timeout or error is left.

    python -m mutate.run [SCOPE ...]
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import enum
import os
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cosmic_ray.plugins
from cosmic_ray.commands.init import init
from cosmic_ray.mutating import use_mutation
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import MutationSpec, TestOutcome, WorkerOutcome, WorkItem, WorkResult

from . import forkserver, scoping

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutate"
SOCKET = WORK / "fork.sock"


@dataclass(frozen=True)
class Scope:
    name: str
    module: Path
    functions: tuple[str, ...]
    tests: tuple[str, ...]


class Verdict(enum.Enum):
    KILLED = "killed"
    SURVIVED = "survived"
    TIMEOUT = "timeout"
    ERROR = "error"
    NOT_RUN = "not run"  # no program to test: the mutated source does not compile, or cosmic-ray cannot write it


# pytest's exit status when tests ran and some failed (pytest.ExitCode.TESTS_FAILED): the only status that kills.
TESTS_FAILED = 1


def verdict(returncode: int | None) -> Verdict:
    """What a test run's exit status says about the mutant it ran against (None: it timed out)."""
    if returncode is None:
        return Verdict.TIMEOUT
    if returncode == 0:
        return Verdict.SURVIVED
    if returncode == TESTS_FAILED:
        return Verdict.KILLED
    return Verdict.ERROR


@dataclass(frozen=True)
class RunResult:
    returncode: int | None  # None: killed at the timeout
    output: str


@dataclass(frozen=True)
class Mutant:
    verdict: Verdict
    run: RunResult
    diff: str


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    timeouts: int = 0
    errors: int = 0
    not_run: int = 0

    def line(self, name: str) -> str:
        return (
            f"{name:<18} killed {self.killed:>4}  survived {self.survived:>3}  equivalent {self.equivalent:>3}  "
            f"timeouts {self.timeouts:>3}  errors {self.errors:>3}  not run {self.not_run:>3}"
        )

    @property
    def clean(self) -> bool:
        """Every mutant killed or shown equivalent, none left unjudged."""
        return not (self.survived or self.timeouts or self.errors)


SCOPES = Path(__file__).with_name("scope.toml")


def scopes(path: Path = SCOPES) -> list[Scope]:
    table = tomllib.loads(path.read_text())
    return [
        Scope(name, ROOT / entry["module"], tuple(entry["functions"]), tuple(entry["tests"]))
        for name, entry in table.items()
    ]


def test_command(scope: Scope) -> str:
    # -x: the first failing test kills the mutant; -p no:cacheprovider: no .pytest_cache written per mutant.
    # The fork server imported hypothesis before pytest could rewrite its asserts: that warning says nothing here.
    args = [
        *scope.tests,
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "--no-header",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    return " ".join([sys.executable, "-m", "mutate.forkserver", "run", str(SOCKET), *args])


def run_tests(command: str, timeout: float, cwd: Path = ROOT) -> RunResult:
    """``command`` in its own process group, stdout and stderr together; the whole group is killed at ``timeout``."""
    process = subprocess.Popen(
        shlex.split(command),
        cwd=cwd,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return RunResult(None, output.decode(errors="replace"))
    return RunResult(process.returncode, output.decode(errors="replace"))


def try_mutant(mutation: MutationSpec, command: str, timeout: float, cwd: Path = ROOT) -> Mutant:
    """The module with ``mutation`` written into it while ``command`` runs, then put back; what the run says."""
    operator = cosmic_ray.plugins.get_operator(mutation.operator_name)(**mutation.operator_args)
    with contextlib.ExitStack() as written:
        try:
            original, mutated = written.enter_context(use_mutation(mutation.module_path, operator, mutation.occurrence))
        except Exception as error:  # cosmic-ray failing to write a mutant; the module is restored
            # cosmic-ray 8.7's ExceptionReplacer fails on a dotted name in an except tuple (zlib.error).
            return Mutant(Verdict.NOT_RUN, RunResult(None, f"cosmic-ray could not write this mutant: {error!r}"), "")
        if mutated is None:
            return Mutant(Verdict.ERROR, RunResult(None, "cosmic-ray found no such mutation to make"), "")
        name = str(mutation.module_path)
        diff = "\n".join(difflib.unified_diff(original.splitlines(), mutated.splitlines(), name, name, lineterm=""))
        try:
            # Some operators turn a keyword-only marker (`*,`) into `+,`: source that no interpreter would load is
            # no behaviour to test. Found here, it is counted apart and never run; an import error of a mutant
            # that compiles is still an error.
            compile(mutated, name, "exec")
        except SyntaxError as error:
            return Mutant(Verdict.NOT_RUN, RunResult(None, f"not Python: {error}"), diff)
        run = run_tests(command, timeout, cwd)
    return Mutant(verdict(run.returncode), run, diff)


def baseline(scope: Scope) -> float:
    """The scope's tests must pass on the unmutated code, or every mutant would look killed."""
    started = time.monotonic()
    done = run_tests(test_command(scope), timeout=600)
    if done.returncode != 0:
        sys.exit(f"{scope.name}: the tests do not pass without any mutant:\n{done.output}")
    return time.monotonic() - started


def _result(mutant: Mutant) -> WorkResult:
    """The mutant in cosmic-ray's terms, for its session file."""
    outcome = {
        Verdict.KILLED: TestOutcome.KILLED,
        Verdict.SURVIVED: TestOutcome.SURVIVED,
    }.get(mutant.verdict, TestOutcome.INCOMPETENT)
    worker = WorkerOutcome.NORMAL if mutant.verdict in (Verdict.KILLED, Verdict.SURVIVED) else WorkerOutcome.ABNORMAL
    return WorkResult(worker_outcome=worker, output=mutant.run.output, test_outcome=outcome, diff=mutant.diff)


def run_scope(scope: Scope) -> tuple[Tally, list[tuple[WorkItem, Mutant]]]:
    source = scope.module.read_text()
    lines = source.splitlines()
    scope_spans = scoping.in_scope(source, scope.functions)
    annotations = scoping.annotation_spans(source)
    timeout = max(20.0, 4 * baseline(scope))
    session = WORK / f"{scope.name}.sqlite"
    session.unlink(missing_ok=True)
    tally = Tally()
    unexplained: list[tuple[WorkItem, Mutant]] = []
    with use_db(str(session), WorkDB.Mode.create) as db:
        init([scope.module], db, {})
        items = [
            item
            for item in db.work_items
            if scoping.counts(
                tuple(item.mutations[0].start_pos),
                tuple(item.mutations[0].end_pos),
                scope_spans,
                annotations,
            )
        ]
        for number, item in enumerate(items, 1):
            (mutation,) = item.mutations
            mutant = try_mutant(mutation, test_command(scope), timeout)
            db.set_result(item.job_id, _result(mutant))
            if mutant.verdict is Verdict.KILLED:
                tally.killed += 1
            elif mutant.verdict is Verdict.TIMEOUT:
                tally.timeouts += 1
                unexplained.append((item, mutant))
            elif mutant.verdict is Verdict.ERROR:
                tally.errors += 1
                unexplained.append((item, mutant))
            elif mutant.verdict is Verdict.NOT_RUN:
                tally.not_run += 1
            elif scoping.declared_equivalent(lines, mutation.start_pos[0], mutation.operator_name):
                tally.equivalent += 1
            else:
                tally.survived += 1
                unexplained.append((item, mutant))
            if number % 20 == 0 or number == len(items):
                print(
                    f"  {scope.name}: {number}/{len(items)} mutants, so far {tally.survived} survived, "
                    f"{tally.timeouts} timed out, {tally.errors} errors",
                    flush=True,
                )
    if scope.module.read_text() != source:
        sys.exit(f"{scope.module} was not restored after mutation: restore it from git before anything else")
    return tally, unexplained


def report(scope: Scope, unexplained: Sequence[tuple[WorkItem, Mutant]]) -> None:
    for item, mutant in unexplained:
        (mutation,) = item.mutations
        line, column = mutation.start_pos
        status = "" if mutant.run.returncode is None else f" (exit status {mutant.run.returncode})"
        where = f"{scope.module.relative_to(ROOT)}:{line}:{column}"
        print(f"\n{mutant.verdict.value}{status}: {where} {mutation.operator_name}")
        print(mutant.diff.rstrip())
        if mutant.verdict is not Verdict.SURVIVED:
            print("  output, last lines:")
            for text in mutant.run.output.rstrip().splitlines()[-15:]:
                print(f"  | {text}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scope", nargs="*", help="scope names from mutate/scope.toml (default: all)")
    args = parser.parse_args(argv)
    every = scopes()
    unknown = sorted(set(args.scope) - {s.name for s in every})
    if unknown:
        parser.error(f"unknown scope {', '.join(unknown)}; scopes: {', '.join(s.name for s in every)}")
    chosen = [s for s in every if not args.scope or s.name in args.scope]
    WORK.mkdir(exist_ok=True)
    results = []
    with forkserver.running(SOCKET, ROOT):
        for scope in chosen:
            print(f"{scope.name}: {scope.module.relative_to(ROOT)} {', '.join(scope.functions)}", flush=True)
            started = time.monotonic()
            tally, unexplained = run_scope(scope)
            print(f"  {scope.name}: {time.monotonic() - started:.0f} s", flush=True)
            report(scope, unexplained)
            results.append((scope, tally))
    print("\nscope              mutants the tests must kill")
    for scope, tally in results:
        print(tally.line(scope.name))
    return 0 if all(t.clean for _, t in results) else 1


if __name__ == "__main__":
    sys.exit(main())

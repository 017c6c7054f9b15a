"""``make mutate``: break the safety-critical code one small change at a time and check that a test notices.

For each scope of scope.toml, cosmic-ray lists every mutant of the module; those outside the scope's functions,
and those inside type annotations (never evaluated), are left out. Each remaining mutant is written into the
module on disk, the scope's tests run against it through the fork server, and the module is put back. A mutant
the tests fail on is killed; one they pass on survived, unless a comment at the mutated line declares it
equivalent (``# equivalent mutant <operator>: <why>``). Prints killed / survived / equivalent per scope and every
unexplained survivor with its diff; exits non-zero while any is left.

    python -m mutate.run [SCOPE ...]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cosmic_ray.commands.init import init
from cosmic_ray.mutating import mutate_and_test
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkItem, WorkResult

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


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    broken: int = 0

    def line(self, name: str) -> str:
        broken = f", {self.broken} not run (no mutation possible or a worker error)" if self.broken else ""
        return (
            f"{name:<10} killed {self.killed:>4}  survived {self.survived:>3}  equivalent {self.equivalent:>3}{broken}"
        )


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


def baseline(scope: Scope) -> float:
    """The scope's tests must pass on the unmutated code, or every mutant would look killed."""
    started = time.monotonic()
    done = subprocess.run(shlex.split(test_command(scope)), cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{scope.name}: the tests fail without any mutant:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


def run_scope(scope: Scope) -> tuple[Tally, list[tuple[WorkItem, WorkResult]]]:
    source = scope.module.read_text()
    lines = source.splitlines()
    scope_spans = scoping.in_scope(source, scope.functions)
    annotations = scoping.annotation_spans(source)
    timeout = max(20.0, 4 * baseline(scope))
    session = WORK / f"{scope.name}.sqlite"
    session.unlink(missing_ok=True)
    tally = Tally()
    survivors: list[tuple[WorkItem, WorkResult]] = []
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
            result = mutate_and_test(item.mutations, test_command(scope), timeout)
            db.set_result(item.job_id, result)
            if result.worker_outcome != WorkerOutcome.NORMAL or result.test_outcome == TestOutcome.INCOMPETENT:
                tally.broken += 1
            elif result.is_killed:
                tally.killed += 1
            elif scoping.declared_equivalent(lines, mutation.start_pos[0], mutation.operator_name):
                tally.equivalent += 1
            else:
                tally.survived += 1
                survivors.append((item, result))
            if number % 20 == 0 or number == len(items):
                print(f"  {scope.name}: {number}/{len(items)} mutants, {tally.survived} survived so far", flush=True)
    if scope.module.read_text() != source:
        sys.exit(f"{scope.module} was not restored after mutation: restore it from git before anything else")
    return tally, survivors


def report(scope: Scope, survivors: Sequence[tuple[WorkItem, WorkResult]]) -> None:
    for item, result in survivors:
        (mutation,) = item.mutations
        line, column = mutation.start_pos
        print(f"\nsurvived: {scope.module.relative_to(ROOT)}:{line}:{column} {mutation.operator_name}")
        print((result.diff or "").rstrip())


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
            tally, survivors = run_scope(scope)
            print(f"  {scope.name}: {time.monotonic() - started:.0f} s", flush=True)
            report(scope, survivors)
            results.append((scope, tally))
    print("\nscope      mutants the tests must kill")
    for scope, tally in results:
        print(tally.line(scope.name))
    return 1 if any(t.survived or t.broken for _, t in results) else 0


if __name__ == "__main__":
    sys.exit(main())

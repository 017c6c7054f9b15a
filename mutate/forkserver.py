"""Runs pytest once per mutant without paying for boto3's and moto's imports each time.

``serve SOCKET`` imports the third-party packages the tests use (never the project's own modules, which are the
ones being mutated) and waits; ``run SOCKET ARGS...`` — the test command cosmic-ray runs for each mutant — asks
it for a fresh fork that runs ``pytest ARGS`` in the caller's directory and exits with pytest's status. The
fork imports the project from the source on disk, the mutated source, and reads no bytecode cached from the
unmutated one. When cosmic-ray gives up on a mutant (its timeout kills the ``run`` process), the server notices
the closed connection and kills that fork too.

Only pytest's own status comes back as pytest's: a run whose fork server is gone (never started, crashed, killed)
exits with :data:`SERVER_LOST`, a fork that dies before pytest returns with :data:`CHILD_CRASHED`, so that
neither can pass for a failing test (status 1) and be counted as a killed mutant.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

PROJECT = ("sagemaker_async_deploy", "sagemaker_emulator", "tests", "mutate", "bench")
# Exit statuses of ``run`` that are not pytest's (pytest uses 0-5): sysexits' EX_UNAVAILABLE and EX_SOFTWARE.
SERVER_LOST = 69
CHILD_CRASHED = 70


def _third_party(probe: str) -> list[str]:
    """The modules other than the project's that ``probe`` (Python code) imports, in the order it imported them:
    found in a separate interpreter, so this one never holds a project module."""
    listing = "import sys\n" + probe + "\nprint('\\n'.join(sys.modules))"
    names = subprocess.run(
        [sys.executable, "-c", listing], capture_output=True, text=True, check=True, cwd=os.getcwd()
    ).stdout.split()
    return [n for n in names if n.split(".")[0] not in PROJECT and n != "__main__"]


def _preload() -> None:
    # What the tests' shared modules import (boto3, botocore, moto's backends, pytest, hypothesis): seconds per
    # run when each fork imported them again.
    for name in _third_party("import pytest, hypothesis, tests.conftest, tests.factories"):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    mine = [m for m in sys.modules if m.split(".")[0] in PROJECT and m.split(".")[0] != "mutate"]
    # A project module in the server would be the unmutated one in every child.
    assert not mine, f"the fork server must not import the project: {mine}"


def _child(request: dict[str, object], output: int) -> None:
    """In the fork: pytest in the caller's directory, its output on the caller's terminal file."""
    import pytest

    os.dup2(output, 1)
    os.dup2(output, 2)
    os.chdir(str(request["cwd"]))
    sys.path[:0] = [str(request["cwd"])]
    # Bytecode is neither read nor written: a mutant of the same size in the same second as the cached original
    # would otherwise load the original's bytecode.
    sys.dont_write_bytecode = True
    sys.pycache_prefix = tempfile.mkdtemp(prefix="mutate-pycache-")
    code = CHILD_CRASHED
    try:
        args = request["args"]
        assert isinstance(args, list)
        code = int(pytest.main([str(a) for a in args]))
    finally:
        # Never back into the server's loop: a fork that raised would serve the next request itself.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve_one(connection: socket.socket) -> None:
    request = json.loads(connection.makefile().readline())
    output = os.open(str(request["output"]), os.O_WRONLY | os.O_APPEND)
    pid = os.fork()
    if pid == 0:
        connection.close()
        _child(request, output)
    os.close(output)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
            return
        readable, _, _ = select.select([connection], [], [], 0.05)
        if readable and not connection.recv(1):
            # The caller is gone (cosmic-ray's timeout): so is its test run.
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return


def serve(path: Path) -> None:
    _preload()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        with connection:
            _serve_one(connection)


@contextlib.contextmanager
def running(path: Path, root: Path) -> Iterator[subprocess.Popen[str]]:
    """A fork server on ``path``, started from the project at ``root`` and ready, stopped afterwards."""
    server = subprocess.Popen(
        [sys.executable, "-m", "mutate.forkserver", "serve", str(path)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the fork server did not start")
        yield server
    finally:
        server.terminate()
        server.wait()
        path.unlink(missing_ok=True)


def run(path: Path, args: list[str]) -> int:
    # The output goes to a file the fork appends to: cosmic-ray keeps what the test command printed.
    with tempfile.NamedTemporaryFile("w+", prefix="mutate-out-", suffix=".txt") as out:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(str(path))
            request = {"args": args, "cwd": os.getcwd(), "output": out.name}
            client.sendall((json.dumps(request) + "\n").encode())
            answer = client.makefile().readline()
        except OSError as error:
            answer = ""
            print(f"mutate.forkserver: no fork server on {path}: {error}", file=sys.stderr)
        out.seek(0)
        sys.stdout.write(out.read())
        if not answer.strip():
            print(f"mutate.forkserver: the fork server on {path} answered nothing: no test result", file=sys.stderr)
            return SERVER_LOST
        return int(answer)


def main(argv: list[str]) -> int:
    command, path, *rest = argv
    if command == "serve":
        serve(Path(path))
        return 0
    return run(Path(path), rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

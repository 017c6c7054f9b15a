"""Build the action's Dockerfile and run the image the way the Actions runner runs a container action.

Two engines: `docker` where a Docker engine answers (GitHub's runners), else `buildah`, which builds and runs
images without a daemon. There is no third choice and no skipping: without either, the tests fail.

The base: docker builds the Dockerfile as it stands, on its pinned official image. buildah builds it on the same
image, passed by digest, when it can pull it, and otherwise on a stand-in that ``build-base-image`` (beside this
file) makes from Debian's packages, kept between runs under a name that changes with that script.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Builds the stand-in for the official slim Python image on machines that cannot pull from a registry.
BUILD_BASE_IMAGE = Path(__file__).resolve().with_name("build-base-image")
BASE_REPOSITORY = "localhost/sagemaker-async-deploy-base"
IMAGE_REPOSITORY = "localhost/sagemaker-async-deploy-test"
# Which checkout built an image: several checkouts on one machine share buildah's image store.
CHECKOUT_LABEL = "sagemaker-async-deploy.test.checkout"
CHECKOUT_ID = hashlib.sha256(str(REPO).encode()).hexdigest()[:8]
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
BUILD_TIMEOUT = 900
PULL_TIMEOUT = 180
RUN_TIMEOUT = 180


def _run(cmd: list[str], timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        head = f"{' '.join(cmd[:3])} ... exited {result.returncode}"
        raise RuntimeError("\n".join((head, result.stdout[-4000:], result.stderr[-4000:])))
    return result


def docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    return _run(["docker", "info"], timeout=30, check=False).returncode == 0


def dockerfile_instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, comments dropped and continuation lines joined."""
    logical = ""
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        keyword, _, arguments = logical.strip().partition(" ")
        yield keyword.upper(), arguments.strip()
        logical = ""


def dockerfile_base(text: str | None = None) -> str:
    """The image the Dockerfile builds on when no BASE_IMAGE is given: the default of its ``ARG BASE_IMAGE``,
    or the image of the stage that default names."""
    instructions = list(dockerfile_instructions(DOCKERFILE.read_text() if text is None else text))
    first_from = next(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    header = instructions[:first_from]
    defaults = dict(arguments.split("=", 1) for keyword, arguments in header if keyword == "ARG" and "=" in arguments)
    stages = {}
    for keyword, arguments in instructions:
        words = arguments.split()
        if keyword == "FROM" and len(words) == 3 and words[1].upper() == "AS":
            stages[words[2]] = words[0]
    last_from = [arguments for keyword, arguments in instructions if keyword == "FROM"][-1]
    if last_from not in ("${BASE_IMAGE}", "$BASE_IMAGE"):
        raise ValueError(f"the Dockerfile's last stage builds FROM {last_from}, not FROM ${{BASE_IMAGE}}")
    default = defaults["BASE_IMAGE"]
    return stages.get(default, default)


def pullable(reference: str) -> str:
    """``reference`` as a registry client pulls it: registry and namespace written out, and the digest alone
    when there is one (the tag beside it only tells readers which tag the digest was taken from)."""
    name, _, digest = reference.partition("@")
    if digest:
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name = name[: -len(last)] + last.split(":", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return f"{name}@{digest}" if digest else name


def build_inputs_digest(extra: str = "") -> str:
    """A digest of everything the build reads: the image is rebuilt only when one of these changes."""
    paths = [DOCKERFILE, REPO / ".dockerignore", REPO / "requirements" / "runtime.txt"]
    paths += sorted((REPO / "src" / "sagemaker_async_deploy").rglob("*.py"))
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@dataclass
class RunResult:
    """What a step leaves behind: exit status, logs, the parsed GITHUB_OUTPUT and the job summary."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str

    @property
    def log(self) -> str:
        return self.stdout + self.stderr


def parse_github_output(text: str) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file as the runner does; a malformed file raises, as it fails the step."""
    outputs: dict[str, str] = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        heredoc = re.fullmatch(r"([^=<]+)<<(.+)", line)
        if heredoc:
            name, delimiter = heredoc.groups()
            try:
                end = lines.index(delimiter, i + 1)
            except ValueError:
                raise ValueError(f"GITHUB_OUTPUT: no closing {delimiter!r} for {name!r}") from None
            outputs[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
        else:
            raise ValueError(f"GITHUB_OUTPUT: malformed line {line!r}")
    return outputs


def action_input_defaults() -> dict[str, str]:
    """Every input action.yml declares, with its default: the runner sets all of them, not only those given."""
    meta = yaml.safe_load((REPO / "action.yml").read_text())
    defaults = {}
    for name, spec in meta["inputs"].items():
        default = str(spec.get("default", ""))
        # The runner evaluates `${{ github.token }}`; a dummy token stands in for it.
        defaults[name] = "dummy-token" if "${{" in default else default
    return defaults


class Engine:
    name: str
    image: str
    base = ""  # the image the build started from
    base_kind = "official"  # or "stand-in": the Debian bootstrap of build-base-image
    started_at = 0.0  # time.time() when the engine was last told to start a container's process

    def build(self) -> str:
        raise NotImplementedError

    def entrypoint(self) -> list[str]:
        raise NotImplementedError

    def config(self) -> dict[str, object]:
        raise NotImplementedError

    def _run_container(
        self, mounts: Mapping[Path, str], env: Mapping[str, str], command: list[str] | None
    ) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def run_action(
        self,
        inputs: Mapping[str, str],
        env: Mapping[str, str],
        tmp: Path,
        event: Mapping[str, object] | None = None,
        command: list[str] | None = None,
        workspace: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run the image as a container step: the runner's mounts, its environment and the INPUT_* variables.

        ``command`` replaces the entrypoint (for probing the image); by default the image's own runs.
        ``workspace`` maps relative paths to file contents: the user's checkout the step starts in.
        """
        guid = uuid.uuid4()
        dirs = {name: tmp / name for name in ("workspace", "file_commands", "workflow", "home", "runner_temp")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        output_name, summary_name = f"set_output_{guid}", f"step_summary_{guid}"
        (dirs["file_commands"] / output_name).touch()
        (dirs["file_commands"] / summary_name).touch()
        (dirs["workflow"] / "event.json").write_text(json.dumps(event or {}))
        for relative, content in (workspace or {}).items():
            path = dirs["workspace"] / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)

        step_env = {
            "HOME": "/github/home",
            "GITHUB_OUTPUT": f"/github/file_commands/{output_name}",
            "GITHUB_STEP_SUMMARY": f"/github/file_commands/{summary_name}",
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_WORKSPACE": "/github/workspace",
            "RUNNER_TEMP": "/github/runner_temp",
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_EVENT_NAME": "push",
            "GITHUB_REPOSITORY": "octo-org/models",
            "GITHUB_SHA": "0" * 40,
            "GITHUB_RUN_ID": "1",
            "GITHUB_SERVER_URL": "https://github.com",
            # Nothing listens here: a run with comment=false must not call the GitHub API at all.
            "GITHUB_API_URL": "http://127.0.0.1:9",
            **env,
        }
        given = {**action_input_defaults(), **inputs}
        for name, value in given.items():
            # The runner upper-cases the name, turns spaces into underscores and keeps hyphens.
            step_env[f"INPUT_{name.replace(' ', '_').upper()}"] = value

        mounts = {
            dirs["workspace"]: "/github/workspace",
            dirs["file_commands"]: "/github/file_commands",
            dirs["workflow"]: "/github/workflow",
            dirs["home"]: "/github/home",
            dirs["runner_temp"]: "/github/runner_temp",
        }
        proc = self._run_container(mounts, step_env, command)
        output_text = (dirs["file_commands"] / output_name).read_text()
        return RunResult(
            returncode=proc.returncode,
            stdout=proc.stdout,
            stderr=proc.stderr,
            outputs=parse_github_output(output_text),
            summary=(dirs["file_commands"] / summary_name).read_text(),
        )


class Buildah(Engine):
    """Builds with `buildah bud`; `buildah run` does not apply ENTRYPOINT, so we pass it."""

    name = "buildah"

    def __init__(self) -> None:
        self.image = ""
        self._entrypoint: list[str] | None = None

    def _base(self) -> str:
        """The Dockerfile's own base by digest where it is here or can be pulled, else the Debian stand-in."""
        official = pullable(dockerfile_base())
        if self._has_image(official):
            self.base_kind = "official"
            return official
        try:
            pulled = _run(["buildah", "pull", "-q", official], timeout=PULL_TIMEOUT, check=False).returncode == 0
        except subprocess.TimeoutExpired:  # a registry that does not answer at all
            pulled = False
        if pulled:
            self.base_kind = "official"
            return official
        script = BUILD_BASE_IMAGE.read_bytes()
        stand_in = f"{BASE_REPOSITORY}:{hashlib.sha256(script).hexdigest()[:12]}"
        self.base_kind = "stand-in"
        return _run([str(BUILD_BASE_IMAGE), stand_in], timeout=BUILD_TIMEOUT).stdout.strip().splitlines()[-1]

    @staticmethod
    def _has_image(reference: str) -> bool:
        return _run(["buildah", "inspect", "--type", "image", reference], timeout=60, check=False).returncode == 0

    def build(self) -> str:
        self.base = self._base()
        base_id = _run(
            ["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", self.base], timeout=60
        ).stdout.strip()
        tag = f"{IMAGE_REPOSITORY}:{CHECKOUT_ID}-{build_inputs_digest(base_id)}"
        if not self._has_image(tag):
            # buildah resolves a build argument in FROM to an image, never to a stage of the Dockerfile, so the
            # base is always passed, the official one included.
            cmd = [
                "buildah", "bud", "-q", "--isolation", "chroot", "--network", "host", "--layers",
                "--build-arg", f"BASE_IMAGE={self.base}", "--label", f"{CHECKOUT_LABEL}={REPO}", "-t", tag,
            ]  # fmt: skip
            if CA_BUNDLE.exists():
                # pip inside the build must trust the same certificate store as this machine.
                cmd += ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"]
            _run([*cmd, str(REPO)], timeout=BUILD_TIMEOUT)
            self._remove_stale_images(keep=tag)
        self.image = tag
        return tag

    def _remove_stale_images(self, keep: str) -> None:
        """Remove this checkout's earlier test images, and those of checkouts that no longer exist.

        Other checkouts' images stay: their tests may be using them right now. (An image a container is running
        from cannot be removed anyway; buildah refuses.)
        """
        listed = _run(["buildah", "images", "--format", "{{.Name}}:{{.Tag}}"], timeout=60, check=False)
        for ref in sorted(set(listed.stdout.split())):
            if not ref.startswith(f"{IMAGE_REPOSITORY}:") or ref == keep:
                continue
            if not ref.startswith(f"{IMAGE_REPOSITORY}:{CHECKOUT_ID}-"):
                inspected = _run(["buildah", "inspect", "--type", "image", ref], timeout=60, check=False)
                if inspected.returncode != 0:
                    continue
                labels = json.loads(inspected.stdout)["OCIv1"]["config"].get("Labels") or {}
                checkout = labels.get(CHECKOUT_LABEL, "")
                if not checkout or Path(checkout).exists():
                    continue
            _run(["buildah", "rmi", ref], timeout=60, check=False)

    def config(self) -> dict[str, object]:
        # The whole inspect document: Debian's buildah has no `json` template function.
        out = _run(["buildah", "inspect", "--type", "image", self.image], timeout=60)
        config: dict[str, object] = json.loads(out.stdout)["OCIv1"]["config"]
        return config

    def entrypoint(self) -> list[str]:
        if self._entrypoint is None:
            entrypoint = self.config().get("Entrypoint")
            if not isinstance(entrypoint, list) or not entrypoint:
                raise RuntimeError(f"{self.image} has no ENTRYPOINT")
            self._entrypoint = [str(part) for part in entrypoint]
        return self._entrypoint

    def _run_container(
        self, mounts: Mapping[Path, str], env: Mapping[str, str], command: list[str] | None
    ) -> subprocess.CompletedProcess[str]:
        ctr = _run(["buildah", "from", "-q", self.image], timeout=120).stdout.strip()
        try:
            cmd = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
            cmd += ["--workingdir", "/github/workspace"]
            for host, target in mounts.items():
                cmd += ["-v", f"{host}:{target}"]
            for name, value in env.items():
                cmd += ["--env", f"{name}={value}"]
            cmd += [ctr, "--", *(command or self.entrypoint())]
            self.started_at = time.time()
            return _run(cmd, timeout=RUN_TIMEOUT, check=False)
        finally:
            _run(["buildah", "rm", ctr], timeout=120, check=False)


class Docker(Engine):
    """Builds with `docker build` on the official base and runs with `docker run`, as the runner does."""

    name = "docker"

    def __init__(self) -> None:
        self.image = ""

    def build(self) -> str:
        # The Dockerfile as the Actions runner builds it: no build arguments, so on its pinned base image.
        self.base = dockerfile_base()
        tag = f"{IMAGE_REPOSITORY}:{CHECKOUT_ID}-{build_inputs_digest()}"
        exists = _run(["docker", "image", "inspect", tag], timeout=60, check=False)
        if exists.returncode != 0:
            _run(["docker", "build", "-q", "-t", tag, str(REPO)], timeout=BUILD_TIMEOUT)
        self.image = tag
        return tag

    def config(self) -> dict[str, object]:
        out = _run(["docker", "image", "inspect", "--format", "{{json .Config}}", self.image], timeout=60)
        config: dict[str, object] = json.loads(out.stdout)
        return config

    def entrypoint(self) -> list[str]:
        entrypoint = self.config().get("Entrypoint")
        return [str(part) for part in entrypoint] if isinstance(entrypoint, list) else []

    def _run_container(
        self, mounts: Mapping[Path, str], env: Mapping[str, str], command: list[str] | None
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["docker", "run", "--rm", "--network", "host", "--workdir", "/github/workspace"]
        for host, target in mounts.items():
            cmd += ["-v", f"{host}:{target}"]
        for name, value in env.items():
            cmd += ["-e", f"{name}={value}"]
        if command:
            cmd += ["--entrypoint", command[0], self.image, *command[1:]]
        else:
            cmd.append(self.image)
        self.started_at = time.time()
        return _run(cmd, timeout=RUN_TIMEOUT, check=False)


def pick_engine() -> Engine:
    """Docker where an engine answers, else buildah; neither is a failure, never a skip."""
    if os.environ.get("CONTAINER_ENGINE") == "buildah" or not docker_works():
        if shutil.which("buildah") is None:
            hint = "`make system-deps` installs it"
            raise RuntimeError(f"no container engine: `docker info` fails and buildah is not installed ({hint})")
        return Buildah()
    return Docker()

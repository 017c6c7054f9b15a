"""What the image is built from is pinned: hash-locked requirements and a base image fixed by digest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .container.engine import DOCKERFILE, dockerfile_base, dockerfile_instructions, pullable

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
DIGEST_PINNED = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")


def requirements(text: str) -> dict[str, list[str]]:
    """Each requirement of a pip requirements file (continuation lines joined) with its --hash values."""
    found: dict[str, list[str]] = {}
    entry = ""
    for line in text.splitlines():
        stripped = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        entry += stripped.removesuffix("\\").strip() + " " if stripped else ""
        if stripped.endswith("\\"):
            continue
        if entry.strip():
            words = entry.split()
            found[words[0]] = [w.removeprefix("--hash=") for w in words[1:] if w.startswith("--hash=")]
        entry = ""
    return found


def unhashed(text: str) -> list[str]:
    """The requirements of a lock that carry no hash (pip refuses them under --require-hashes)."""
    return [name for name, hashes in requirements(text).items() if not hashes]


def pins(text: str) -> dict[str, str]:
    return dict(name.split("==", 1) for name in requirements(text) if "==" in name)


def test_every_runtime_requirement_is_pinned_with_hashes() -> None:
    """Each line of the runtime lock pins one version (==) and carries at least one sha256 hash."""
    locked = requirements(RUNTIME_LOCK.read_text())
    assert {"boto3", "pygithub"} <= set(pins(RUNTIME_LOCK.read_text()))
    assert unhashed(RUNTIME_LOCK.read_text()) == []
    assert all("==" in name for name in locked), [name for name in locked if "==" not in name]
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for hashes in locked.values() for h in hashes)


def test_a_requirement_without_hash_is_found() -> None:
    """The hash check names a requirement whose hash lines are missing, even between hashed ones."""
    text = (
        "boto3==1.44.8 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via -r runtime.in\n"
        "six==1.17.0\n    # via python-dateutil\n"
        "urllib3==2.8.0 \\\n    --hash=sha256:" + "b" * 64 + " \\\n    --hash=sha256:" + "c" * 64 + "\n"
    )
    assert unhashed(text) == ["six==1.17.0"]
    assert requirements(text)["urllib3==2.8.0"] == ["sha256:" + "b" * 64, "sha256:" + "c" * 64]


def test_dev_lock_is_hashed_and_holds_the_runtime_versions() -> None:
    """The dev lock is hashed too and pins every runtime package at the runtime lock's version."""
    dev = DEV_LOCK.read_text()
    assert unhashed(dev) == []
    runtime = pins(RUNTIME_LOCK.read_text())
    assert {name: pins(dev).get(name) for name in runtime} == runtime


def test_dockerfile_default_base_is_pinned_by_digest() -> None:
    """Built without BASE_IMAGE, the Dockerfile starts from an image named by its sha256 digest."""
    assert DIGEST_PINNED.match(dockerfile_base()), dockerfile_base()


@pytest.mark.parametrize(
    ("dockerfile", "base"),
    [
        ("ARG BASE_IMAGE=python:3.11-slim-bookworm\nFROM ${BASE_IMAGE}\n", "python:3.11-slim-bookworm"),
        (
            "ARG BASE_IMAGE=pinned\nFROM python:3.11-slim@sha256:" + "d" * 64 + " AS pinned\nFROM ${BASE_IMAGE}\n",
            "python:3.11-slim@sha256:" + "d" * 64,
        ),
        ("ARG BASE_IMAGE=pinned\nFROM python:3.11-slim AS pinned\nFROM $BASE_IMAGE\nRUN true\n", "python:3.11-slim"),
    ],
)
def test_default_base_is_read_through_the_stage_it_names(dockerfile: str, base: str) -> None:
    """The default base is the ARG's value, or the image of the stage it names; only a digest passes the pin."""
    assert dockerfile_base(dockerfile) == base
    assert bool(DIGEST_PINNED.match(base)) == ("@sha256:" in base)


@pytest.mark.parametrize(
    ("reference", "pulled"),
    [
        # The tag beside a digest is for readers: a pull by digest alone gets the pinned bytes, tag or not.
        ("python:3.11-slim-bookworm@sha256:" + "a" * 64, "docker.io/library/python@sha256:" + "a" * 64),
        ("python:3.11-slim-bookworm", "docker.io/library/python:3.11-slim-bookworm"),
        ("acme/base@sha256:" + "b" * 64, "docker.io/acme/base@sha256:" + "b" * 64),
        ("ghcr.io/acme/base:1@sha256:" + "c" * 64, "ghcr.io/acme/base@sha256:" + "c" * 64),
        ("registry:5000/base:1", "registry:5000/base:1"),
        ("localhost/sagemaker-async-deploy-base:abc", "localhost/sagemaker-async-deploy-base:abc"),
    ],
)
def test_the_image_tests_pull_the_dockerfiles_base_by_its_digest(reference: str, pulled: str) -> None:
    """What buildah is asked to pull (before it falls back to the stand-in) is the pinned base, fully named."""
    assert pullable(reference) == pulled


def test_image_installs_the_runtime_lock_requiring_hashes() -> None:
    """The Dockerfile's pip install of the runtime lock runs with --require-hashes and wheels only."""
    runs = [arguments for keyword, arguments in dockerfile_instructions(DOCKERFILE.read_text()) if keyword == "RUN"]
    [install] = [command for command in runs if "-r /tmp/runtime.txt" in command]
    pip = install.split("&&")[0].split()
    assert pip[:2] == ["pip", "install"]
    assert "--require-hashes" in pip and "--only-binary=:all:" in pip


def test_the_image_keeps_the_service_data_of_every_client_the_action_makes() -> None:
    """The Dockerfile deletes botocore's data for every service not on its keep list; a client of a service it
    deleted fails with UnknownServiceError in the image only (the smoke test's sagemaker-runtime and s3 did)."""
    kept = re.search(r"keep='([^']+)'", DOCKERFILE.read_text())
    assert kept is not None
    made = set(re.findall(r'self\._client\("([a-z0-9-]+)"\)', (ROOT / "src/sagemaker_async_deploy/aws.py").read_text()))
    assert {"sagemaker", "sagemaker-runtime", "s3", "logs"} <= made  # the search below found the clients
    assert made - set(kept.group(1).split()) == set()

"""The release rewrite of action.yml: main builds the Dockerfile, a release runs the pushed image by digest."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from .engine import REPO

DIGEST = "sha256:" + "c3" * 32
IMAGE = "ghcr.io/octo-org/sagemaker-async-deploy"


def release_rewrite_line() -> str:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    for step in workflow["jobs"]["tags"]["steps"]:
        for line in str(step.get("run", "")).splitlines():
            if line.strip().startswith("sed -i"):
                return line.strip()
    raise AssertionError("release.yml has no `sed -i` rewrite of action.yml")


def test_main_builds_the_dockerfile() -> None:
    """On main the action builds its Dockerfile, so this repository's workflows test the current code."""
    meta = yaml.safe_load((REPO / "action.yml").read_text())
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile"}


def test_release_rewrite_pins_the_image_by_digest(tmp_path: Path) -> None:
    """The release workflow's rewrite turns `image: Dockerfile` into the pushed image, pinned by digest."""
    action = tmp_path / "action.yml"
    action.write_text((REPO / "action.yml").read_text())
    env = {**os.environ, "IMAGE": IMAGE, "DIGEST": DIGEST}
    subprocess.run(["bash", "-c", release_rewrite_line()], cwd=tmp_path, env=env, check=True)

    rewritten = yaml.safe_load(action.read_text())
    original = yaml.safe_load((REPO / "action.yml").read_text())
    assert rewritten["runs"] == {"using": "docker", "image": f"docker://{IMAGE}@{DIGEST}"}
    assert {k: v for k, v in rewritten.items() if k != "runs"} == {k: v for k, v in original.items() if k != "runs"}


def test_release_attests_the_pushed_image_with_minimal_permissions() -> None:
    """The image job signs build provenance for the pushed digest, pinned by SHA, with only the permissions it
    needs, and the build attaches an SBOM."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "release.yml").read_text())
    job = workflow["jobs"]["image"]
    assert job["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    steps = {step.get("id") or step.get("name"): step for step in job["steps"]}
    assert steps["build"]["with"]["sbom"] is True
    attest = steps["Attest build provenance"]
    action, _, ref = attest["uses"].partition("@")
    assert action == "actions/attest-build-provenance"
    assert re.fullmatch(r"[0-9a-f]{40}", ref), "pinned by commit SHA"
    assert attest["with"] == {
        "subject-name": "${{ steps.name.outputs.image }}",
        "subject-digest": "${{ steps.build.outputs.digest }}",
        "push-to-registry": True,
        "create-storage-record": False,
    }
    build_at = list(steps).index("build")
    assert list(steps).index("Attest build provenance") == build_at + 1

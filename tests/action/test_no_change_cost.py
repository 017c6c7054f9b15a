"""A run that changes nothing loads only what it uses: the modules for autoscaling, cleanup, the wind-down of a
cancelled job and the PR comment stay unloaded, as does an HTTP library boto3 does not need, and the instance
type is checked only once a change is known."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sagemaker_emulator import Emulator

from ..action_runner import action_env, finish
from .test_scenarios import Deployer

# The action's own entry point, run as the container runs it, with a note of every module loaded by its end.
ENTRY_WITH_MODULE_LIST = (
    "import atexit, os, runpy, sys\n"
    "atexit.register(lambda: open(os.environ['MODULES_OUT'], 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "runpy.run_module('sagemaker_async_deploy', run_name='__main__', alter_sys=True)\n"
)
UNUSED_WHEN_UNCHANGED = (
    "sagemaker_async_deploy.autoscaling",
    "sagemaker_async_deploy.cleanup",
    "sagemaker_async_deploy.winddown",
    "sagemaker_async_deploy.comment",
    "github",
    "requests",  # PyGithub's HTTP library: only a run that writes a comment needs it
)


def _loaded_modules(emu: Emulator, tmp: Path, inputs: dict[str, str]) -> tuple[set[str], str]:
    env = {**action_env(emu, tmp, inputs), "MODULES_OUT": str(tmp / "modules.txt")}
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY_WITH_MODULE_LIST],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = finish(process, env)
    assert run.exit_code == 0, run.stdout + run.stderr
    return set((tmp / "modules.txt").read_text().split("\n")), run.result


def test_a_no_change_run_leaves_what_it_does_not_use_unloaded(emulator: Emulator, tmp_path: Path) -> None:
    """An unchanged endpoint: none of the autoscaling, cleanup, wind-down or comment modules is imported, and the
    run reads the endpoint, its config, its model and its tags only."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    deployer.emu.clear_requests()
    modules, result = _loaded_modules(deployer.emu, deployer.tmp_path / "unchanged", {"comment": "false"})
    assert result == "unchanged"
    assert [m for m in UNUSED_WHEN_UNCHANGED if m in modules] == []
    assert "sagemaker_async_deploy.rollout" in modules  # the check above looks at a run that did load the action
    assert sorted(set(deployer.emu.operations())) == [
        "DescribeEndpoint",
        "DescribeEndpointConfig",
        "DescribeModel",
        "ListTags",
    ]


def test_an_update_loads_cleanup_and_autoscaling(emulator: Emulator, tmp_path: Path) -> None:
    """The same program on a run that changes something loads the cleanup it uses: the list above is not empty
    by accident."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    modules, result = _loaded_modules(
        deployer.emu, deployer.tmp_path / "update", {"comment": "false", "instance-type": "ml.g5.xlarge"}
    )
    assert result == "updated"
    assert "sagemaker_async_deploy.cleanup" in modules
    assert "sagemaker_async_deploy.autoscaling" in modules  # an instance-type change looks for a scalable target

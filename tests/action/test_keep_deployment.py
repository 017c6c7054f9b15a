"""The real action keeps the deployment settings no input names (set by Terraform's deployment_config, the
console or the CLI) in the UpdateEndpoint it sends, and lists them as kept."""

from __future__ import annotations

from pathlib import Path

from sagemaker_emulator import Emulator

from ..action_runner import digest_image
from .test_scenarios import Deployer


def test_an_update_keeps_the_blue_green_timeouts_set_elsewhere(emulator: Emulator, tmp_path: Path) -> None:
    """TerminationWaitInSeconds and MaximumExecutionTimeoutInSeconds of the last deployment reach UpdateEndpoint."""
    deployer = Deployer(emulator, tmp_path)
    assert deployer.run().result == "created"
    # An update made elsewhere, as Terraform makes it with a deployment_config block of its own.
    endpoint = deployer.endpoint()
    deployer.sm.update_endpoint(
        EndpointName="whisper",
        EndpointConfigName=endpoint["EndpointConfigName"],
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": 120,
                "MaximumExecutionTimeoutInSeconds": 1800,
            }
        },
    )
    deployer.sm.get_waiter("endpoint_in_service").wait(
        EndpointName="whisper", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    run = deployer.run({"image": digest_image(2)})
    assert (run.exit_code, run.result) == (0, "updated"), run.stdout + run.stderr
    update = next(r for r in emulator.requests if r.operation == "UpdateEndpoint")
    policy = update.params["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert (policy["TerminationWaitInSeconds"], policy["MaximumExecutionTimeoutInSeconds"]) == (120, 1800)
    assert "  Old fleet kept after: 120 s" in run.lines
    assert "  Blue/green timeout: 1800 s" in run.lines
    assert deployer.endpoint()["LastDeploymentConfig"]["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == 120

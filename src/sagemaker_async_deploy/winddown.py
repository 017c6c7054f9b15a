"""The last seconds of a cancelled job: what SageMaker is doing now, autoscaling put back if that is safe now.

Nothing is deleted and nothing new is started. The endpoint is read once; if it no longer changes, a variant
whose autoscaling this run (or an earlier one) deregistered gets it back now; while it changes, the record stays
on the endpoint and the next run restores it. What is found goes into the outcome, for the outputs, the job
summary and the PR comment that RunEnd writes next. Every call is hurried (one attempt, short timeouts) and
skipped when the budget since the signal runs low.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from . import aws, cancel
from .autoscaling import Autoscaling
from .config import ActionConfig
from .log import Log, safe
from .outcome import RolloutOutcome
from .state import TRANSITIONAL

# Seconds of the budget the restore may start with; after it come the outputs, the summary and the comment.
RESTORE_NEEDS = 3.0


def wind_down(config: ActionConfig, clients: aws.Clients, log: Log, outcome: RolloutOutcome) -> None:
    """Complete ``outcome`` for a run cancelled by a signal: the result, what SageMaker is doing, autoscaling."""
    outcome.cancelled = True
    outcome.result = "failed"
    name = config.endpoint_name
    hurried = clients.hurried()
    log.warning(
        f"Cancelled ({cancel.signal_name()}): stopping. Nothing is deleted after the signal.",
        title=f"SageMaker endpoint {name}",
    )
    endpoint: aws.Json | None = None
    read = True
    try:
        endpoint = aws.describe_endpoint(hurried.sagemaker, name)
    except (ClientError, BotoCoreError) as error:
        read = False
        log.warning(f"Could not read endpoint {name} after the cancel: {safe(error)}")
    outcome.message = _story(outcome, endpoint, read, name)
    if endpoint is None:
        return
    # equivalent mutant core/ReplaceComparisonOperator_Lt_LtE: seconds measured by the clock are never exactly
    # RESTORE_NEEDS, so at and below it are the same case
    if cancel.remaining() < RESTORE_NEEDS:
        if any(w.startswith("deregistered scalable target") for w in outcome.writes):
            outcome.autoscaling.append(
                "Autoscaling was not put back in the seconds a cancelled job has; it is recorded on the endpoint and "
                "the next run of this endpoint restores it."
            )
        return
    try:
        # equivalent mutant core/ReplaceComparisonOperator_Eq_LtE: the mode is apply or plan, and plan sorts after
        # apply
        # equivalent mutant core/ReplaceComparisonOperator_Eq_Is: parse_config sets the mode from its own literals,
        # the same interned strings as this one
        Autoscaling(hurried, log, outcome).recover(endpoint, apply=config.mode == "apply")
    except (ClientError, BotoCoreError) as error:
        outcome.autoscaling.append(
            f"Could not check the endpoint's autoscaling record after the cancel ({safe(error)}); "
            "the next run of this endpoint does."
        )


def _story(outcome: RolloutOutcome, endpoint: aws.Json | None, read: bool, name: str) -> str:
    """What the run had done when the signal came, and what SageMaker is doing now."""
    writes = outcome.writes
    started = any(w.startswith(("update of endpoint", f"endpoint {name}")) for w in writes)
    when = (
        "while the rollout it started was under way"
        if started
        else "after it created resources for a rollout, before starting it"
        if writes
        else "before it changed anything"
    )
    told = f"The job was cancelled ({cancel.signal_name()}) {when}."
    if not read:
        return (
            f"{told} The endpoint could not be read after the cancel; whatever SageMaker is doing goes on. The next "
            "run of this endpoint waits for any update in progress and adopts it."
        )
    if endpoint is None:
        return f"{told} Endpoint {name} does not exist now."
    status = str(endpoint.get("EndpointStatus", ""))
    serving = str(endpoint.get("EndpointConfigName", ""))
    pending = str((endpoint.get("PendingDeploymentSummary") or {}).get("EndpointConfigName", ""))
    if status in TRANSITIONAL:
        toward = f" from {serving} to {pending}" if pending and serving else f" to {pending}" if pending else ""
        return (
            f"{told} The endpoint is still {status}{toward} in SageMaker, which goes on without this job. The next "
            "run of this endpoint waits for it to settle and adopts it (verdict, cleanup); nothing was deleted."
        )
    return f"{told} The endpoint is {status} on {serving}; nothing is in progress, and nothing was deleted."

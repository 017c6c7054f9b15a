"""The ways a run can stop early, each carrying what the user needs to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class InputProblem:
    """One bad input: which one, and what a valid value looks like. ``value`` is shown escaped."""

    input: str
    message: str


FailureKind = Literal[
    "",  # nothing more specific: read the message
    "timeout",
    "credentials-expired",  # during the run: the role session is shorter than the rollout
    "credentials-stale",  # before the run changed anything
    "credentials-rejected",
    "no-credentials",
    "busy",  # someone else keeps updating the endpoint
    "access-denied",
    "cancelled",  # SIGINT / SIGTERM: the job was cancelled
    "endpoint-state",  # the endpoint is Failed, OutOfService or UpdateRollbackFailed: it cannot be updated
    "missing-config",  # the serving endpoint config was deleted behind the endpoint's back
    "capacity",  # SageMaker refused the update for a quota or capacity
    "refused",  # SageMaker refused the update for another reason
]


class DeployError(Exception):
    """A run that cannot go on; the message is shown as the ::error annotation, the kind picks the advice."""

    def __init__(self, message: str, kind: FailureKind = "") -> None:
        super().__init__(message)
        self.kind: FailureKind = kind


class PlanError(Exception):
    """What serves cannot be reconciled with the inputs: which input to change, and how."""

    def __init__(self, input_name: str, message: str) -> None:
        self.input = input_name
        self.message = message
        super().__init__(f"{input_name}: {message}")


class InputError(DeployError):
    """One or more inputs are invalid; reported before any call that changes anything."""

    def __init__(self, problems: list[InputProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.input}: {p.message}" for p in problems))

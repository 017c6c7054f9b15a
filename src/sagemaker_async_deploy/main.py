"""The action from start to exit: inputs → preflight → plan → apply → report."""

from __future__ import annotations

import os
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from . import aws, preflight, report
from .config import ActionConfig, parse_config, read_inputs
from .errors import DeployError, FailureKind, InputError, InputProblem
from .log import Log, safe
from .planner import PlanError
from .rollout import Rollout, RolloutOutcome

EXIT_OK = 0
EXIT_FAILED = 1


def main() -> int:
    environ = os.environ  # read here and by actions-toolkit's get_input, nowhere else
    log = Log()
    output_path = environ.get("GITHUB_OUTPUT", "")
    summary_path = environ.get("GITHUB_STEP_SUMMARY", "")

    from actions_toolkit import core

    raw = read_inputs(core.get_input)
    if raw.get("github-token"):
        log.mask(raw["github-token"])
    try:
        config = parse_config(raw, environ)
    except InputError as error:
        return _die_inputs(error, log, output_path, summary_path, raw.get("endpoint-name", ""))
    log.mask_values(value for _, value in config.environment)

    clients = aws.Clients(config.region)
    rollout: Rollout | None = None

    def so_far() -> RolloutOutcome:
        return rollout.outcome if rollout is not None else RolloutOutcome(result="failed")

    try:
        config = preflight.resolve_image(config, clients)
        _raise_problems(preflight.check_instance_type(config, clients))
        checked = config
        rollout = Rollout(
            config,
            clients,
            log,
            preflight=lambda: _raise_problems(preflight.check_resources(checked, clients)),
        )
        outcome = rollout.run()
    except InputError as error:
        return _die_inputs(error, log, output_path, summary_path, config.endpoint_name, so_far(), config)
    except PlanError as error:
        problem = InputError([InputProblem(error.input, error.message)])
        return _die_inputs(problem, log, output_path, summary_path, config.endpoint_name, so_far(), config)
    except DeployError as error:
        return _die(str(error), log, config, output_path, summary_path, so_far(), error.kind)
    except NoCredentialsError:
        return _die(
            "No AWS credentials: run aws-actions/configure-aws-credentials before this step "
            "(the action reads the standard AWS_* variables; it takes no keys as inputs).",
            log,
            config,
            output_path,
            summary_path,
            so_far(),
            "no-credentials",
        )
    except ClientError as error:
        code = aws.error_code(error)
        return _die(
            f"AWS refused {safe(error.operation_name)}: {safe(code)}: {safe(aws.error_message(error))}",
            log,
            config,
            output_path,
            summary_path,
            so_far(),
            "access-denied" if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation") else "",
        )
    except BotoCoreError as error:
        return _die(f"AWS call failed: {safe(error)}", log, config, output_path, summary_path, so_far())
    except Exception as error:  # a bug of ours must still leave outputs, a summary and the exit status behind
        message = (
            f"Unexpected error {type(error).__name__}: {safe(error)}. Nothing that served was deleted; "
            "please report this with the log."
        )
        return _die(message, log, config, output_path, summary_path, so_far())

    return _finish(config, outcome, log, output_path, summary_path)


def _raise_problems(problems: list[InputProblem]) -> None:
    if problems:
        raise InputError(problems)


def _finish(config: ActionConfig, outcome: RolloutOutcome, log: Log, output_path: str, summary_path: str) -> int:
    _write_outputs(output_path, outcome, lambda: _comment(config, outcome, log))
    report.append_summary(summary_path, report.summary(outcome, config))
    if outcome.succeeded:
        log.info(f"Result: {outcome.result}")
        return EXIT_OK
    detail = f": {safe(outcome.failure_reason)}" if outcome.failure_reason else ""
    log.error(f"{outcome.result}: {outcome.message}{detail}", title=f"SageMaker endpoint {config.endpoint_name}")
    return EXIT_FAILED


def _write_outputs(path: str, outcome: RolloutOutcome, comment: Callable[[], str] | None) -> None:
    """Every output before the comment is attempted, comment-url once it is known: whatever happens to the
    comment, the deployment's outputs are there."""
    values = report.outputs(outcome)
    url = values.pop("comment-url")
    report.write_outputs(path, values)
    report.write_outputs(path, {"comment-url": comment() if comment is not None else url})


def _comment(config: ActionConfig, outcome: RolloutOutcome, log: Log) -> str:
    if not config.comment:
        return ""
    from .comment import CommentSettings, publish_comment  # PyGithub only when a comment will be written

    settings = CommentSettings(token=config.github_token, context=config.github)
    return publish_comment(settings, config.endpoint_name, report.comment_body(outcome, config), log)


def _die_inputs(
    error: InputError,
    log: Log,
    output_path: str,
    summary_path: str,
    endpoint_name: str,
    outcome: RolloutOutcome | None = None,
    config: ActionConfig | None = None,
) -> int:
    for problem in error.problems:
        log.error(f"{problem.input}: {problem.message}", title=f"Invalid input {problem.input}")
    outcome = outcome or RolloutOutcome(result="failed")
    outcome.result = "failed"
    outcome.message = "Invalid input; nothing was changed: " + "; ".join(p.input for p in error.problems)
    # Inputs that parsed but name things AWS does not have: the PR still hears why nothing was deployed.
    _write_outputs(output_path, outcome, (lambda: _comment(config, outcome, log)) if config is not None else None)
    summary = report.failure_summary(
        "Invalid input; nothing was changed.", endpoint_name, outcome=outcome, problems=error.problems
    )
    report.append_summary(summary_path, summary)
    return EXIT_FAILED


def _die(
    message: str,
    log: Log,
    config: ActionConfig,
    output_path: str,
    summary_path: str,
    outcome: RolloutOutcome,
    kind: FailureKind = "",
) -> int:
    """The one fatal path: an ::error annotation, the outputs, and a summary saying what to do."""
    outcome.result = "failed"
    outcome.message = message
    log.error(message, title=f"SageMaker endpoint {config.endpoint_name}")
    # The PR must not keep showing the previous run's story.
    _write_outputs(output_path, outcome, lambda: _comment(config, outcome, log))
    summary = report.failure_summary(message, config.endpoint_name, outcome=outcome, config=config, kind=kind)
    report.append_summary(summary_path, summary)
    return EXIT_FAILED

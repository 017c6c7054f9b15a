"""The action from start to exit: inputs → preflight → plan → apply → report."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from . import aws, cancel, diagnosis, packages, preflight, report
from .config import ActionConfig, parse_config, read_inputs, secret_values
from .diagnosis import AlarmWarning, Diagnosis
from .errors import DeployError, FailureKind, InputError, InputProblem, PlanError
from .fleetlog import show_last_lines
from .log import Log, safe
from .rollout import Rollout, RolloutOutcome

EXIT_OK = 0
EXIT_FAILED = 1


def main() -> int:
    cancel.install()  # SIGINT / SIGTERM end the run with outputs, a summary and the comment, not a traceback
    environ = os.environ  # read here, nowhere else
    log = Log()
    end = RunEnd(log, environ.get("GITHUB_OUTPUT", ""), environ.get("GITHUB_STEP_SUMMARY", ""))

    raw = read_inputs(environ)
    if raw.get("github-token"):
        log.mask(raw["github-token"])
    try:
        config = parse_config(raw, environ)
    except InputError as error:
        return end.invalid(error, raw.get("endpoint-name", ""), RolloutOutcome(result="failed"), None)
    log.mask_values(secret_values(config))

    clients = aws.Clients(config.region)
    rollout: Rollout | None = None
    warnings: list[AlarmWarning] = []

    def so_far() -> RolloutOutcome:
        return rollout.outcome if rollout is not None else RolloutOutcome(result="failed")

    try:
        config = packages.resolve(config, clients)  # the version a group's latest approval names, and its image
        _log_package(config, log)
        config = preflight.resolve_image(config, clients)
        checked = config

        def check() -> None:
            # Once a change is known (or in plan mode): a run that changes nothing checks nothing it does not use.
            _raise_problems(
                preflight.check_instance_type(checked, clients) or preflight.check_resources(checked, clients)
            )
            warnings[:] = preflight.alarm_warnings(checked, clients)
            for warning in warnings:
                text = f"alarm {warning.alarm}: {warning.message}" if warning.alarm else warning.message
                log.warning(text, title="Alarms that cannot guard this rollout")

        rollout = Rollout(config, clients, log, preflight=check)
        outcome = rollout.run()
    except cancel.Cancelled:
        return end.cancelled(config, so_far(), clients)
    except InputError as error:
        return end.invalid(error, config.endpoint_name, so_far(), config)
    except PlanError as error:
        return end.invalid(
            InputError([InputProblem(error.input, error.message)]), config.endpoint_name, so_far(), config
        )
    except DeployError as error:
        found = _diagnose(config, clients, so_far(), warnings, log) if error.kind == "timeout" else Diagnosis()
        return end.fatal(str(error), config, so_far(), error.kind, replace(found, warnings=tuple(warnings)))
    except NoCredentialsError:
        message = (
            "No AWS credentials: run aws-actions/configure-aws-credentials before this step "
            "(the action reads the standard AWS_* variables; it takes no keys as inputs)."
        )
        return end.fatal(message, config, so_far(), "no-credentials")
    except ClientError as error:
        code = aws.error_code(error)
        message = f"AWS refused {safe(error.operation_name)}: {safe(code)}: {safe(aws.error_message(error))}"
        denied = code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
        return end.fatal(message, config, so_far(), "access-denied" if denied else "")
    except BotoCoreError as error:
        return end.fatal(f"AWS call failed: {safe(error)}", config, so_far())
    except Exception as error:  # a bug of ours must still leave outputs, a summary and the exit status behind
        message = (
            f"Unexpected error {type(error).__name__}: {safe(error)}. Nothing that served was deleted; "
            "please report this with the log."
        )
        return end.fatal(message, config, so_far())

    return end.finished(config, outcome, _diagnose(config, clients, outcome, warnings, log))


def _diagnose(
    config: ActionConfig, clients: aws.Clients, outcome: RolloutOutcome, warnings: list[AlarmWarning], log: Log
) -> Diagnosis:
    """After a failure or rollback: the new fleet's log and the alarm that fired, also printed to the log."""
    found = Diagnosis(warnings=tuple(warnings))
    if outcome.result not in ("failed", "rolled-back") or not outcome.update_started:
        return found
    container = diagnosis.container_log(clients.logs, config.endpoint_name, config.variant_name, outcome.update_started)
    fired: tuple[diagnosis.FiredAlarm, ...] = ()
    note = ""
    if outcome.result == "rolled-back":
        fired, note = diagnosis.fired_alarms(
            clients.cloudwatch, config.alarms, outcome.update_started, outcome.finished
        )
    found = replace(found, container_log=container, fired=fired, alarm_note=note)
    show_last_lines(log, container)
    for alarm in fired:
        log.info(f"Alarm {safe(alarm.name)} went to ALARM: {safe(alarm.reason)}")
    if note:
        log.info(safe(note))
    return found


def _log_package(config: ActionConfig, log: Log) -> None:
    package = config.package
    if package is None:
        return
    log.info(
        f"Model package: version {package.version} of {safe(package.group)} ({safe(package.approval)}), "
        f"{safe(package.arn)}, image {safe(config.image.given)}."
    )
    if package.newer:
        log.info(f"Note: {safe(package.newer)}.")


def _raise_problems(problems: list[InputProblem]) -> None:
    if problems:
        raise InputError(problems)


@dataclass(frozen=True)
class RunEnd:
    """How a run ends, whichever way: outputs, the job summary, the PR comment, the log, the exit status."""

    log: Log
    output_path: str
    summary_path: str

    def finished(self, config: ActionConfig, outcome: RolloutOutcome, found: Diagnosis) -> int:
        """A run that reached a verdict (or a plan): success, rollback or failure."""
        self._outputs(outcome, config, found)
        report.append_summary(self.summary_path, report.summary(outcome, config, found))
        if outcome.succeeded:
            self.log.info(f"Result: {outcome.result}. {safe(report.verdict(outcome, config, found))}")
            return EXIT_OK
        # The summary's lead, word for word: the cause a rollback is blamed on is known only after the diagnosis,
        # so a message written at the verdict ("cause unknown") would contradict the summary that names the alarm.
        detail = f" SageMaker's FailureReason: {safe(outcome.failure_reason)}" if outcome.failure_reason else ""
        if outcome.smoke is not None and not outcome.smoke.passed:
            detail += f" The smoke test failed: {safe(outcome.smoke.reason)}"
        self.log.error(
            report.verdict(outcome, config, found) + detail,
            title=f"SageMaker endpoint {config.endpoint_name}: {outcome.result}",
        )
        return EXIT_FAILED

    def invalid(
        self, error: InputError, endpoint_name: str, outcome: RolloutOutcome, config: ActionConfig | None
    ) -> int:
        """Bad input: one annotation per problem, all of them in one run, before anything changed."""
        for problem in error.problems:
            self.log.error(f"{problem.input}: {problem.message}", title=f"Invalid input {problem.input}")
        outcome.result = "failed"
        outcome.message = "Invalid input; nothing was changed: " + "; ".join(p.input for p in error.problems)
        # Inputs that parsed but name things AWS does not have: the PR still hears why nothing was deployed.
        self._outputs(outcome, config)
        summary = report.failure_summary(
            "Invalid input; nothing was changed.", endpoint_name, outcome=outcome, problems=error.problems
        )
        report.append_summary(self.summary_path, summary)
        return EXIT_FAILED

    def fatal(
        self,
        message: str,
        config: ActionConfig,
        outcome: RolloutOutcome,
        kind: FailureKind = "",
        found: Diagnosis = diagnosis.NOTHING,
    ) -> int:
        """The one fatal path: an ::error annotation, the outputs, and a summary saying what to do."""
        outcome.result = "failed"
        outcome.message = message
        self.log.error(message, title=f"SageMaker endpoint {config.endpoint_name}")
        self._outputs(outcome, config, found)  # the PR must not keep showing the previous run's story
        summary = report.failure_summary(
            message, config.endpoint_name, outcome=outcome, config=config, kind=kind, diagnosis=found
        )
        report.append_summary(self.summary_path, summary)
        return EXIT_FAILED

    def cancelled(self, config: ActionConfig, outcome: RolloutOutcome, clients: aws.Clients) -> int:
        """A signal stopped the run: what SageMaker is doing, autoscaling put back if safe, within seconds."""
        from .winddown import wind_down  # loaded when a run is cancelled: it brings the autoscaling code

        wind_down(config, clients, self.log, outcome)
        self.log.error(outcome.message, title=f"SageMaker endpoint {config.endpoint_name}")
        summary = report.failure_summary(
            outcome.message, config.endpoint_name, outcome=outcome, config=config, kind="cancelled"
        )
        values = report.outputs(outcome)
        values.pop("comment-url")
        report.write_outputs(self.output_path, values)
        report.append_summary(self.summary_path, summary)  # before the comment: files cost nothing, GitHub may
        report.write_outputs(self.output_path, {"comment-url": self._comment(config, outcome, diagnosis.NOTHING)})
        return EXIT_FAILED

    def _outputs(
        self, outcome: RolloutOutcome, config: ActionConfig | None, found: Diagnosis = diagnosis.NOTHING
    ) -> None:
        """Every output before the comment is attempted, comment-url once it is known: whatever happens to
        the comment, the deployment's outputs are there."""
        values = report.outputs(outcome)
        values.pop("comment-url")
        report.write_outputs(self.output_path, values)
        url = self._comment(config, outcome, found) if config is not None else ""
        report.write_outputs(self.output_path, {"comment-url": url})

    def _comment(self, config: ActionConfig, outcome: RolloutOutcome, found: Diagnosis) -> str:
        if not config.comment:
            return ""
        from .comment import CommentSettings, publish_comment  # PyGithub only when a comment will be written

        settings = CommentSettings(token=config.github_token, context=config.github)
        if cancel.requested():  # seconds before SIGKILL: one quick try
            settings = CommentSettings(
                token=config.github_token,
                context=config.github,
                timeout=2,
                retries=0,
                backoff=0.1,
                seconds_between_writes=0.0,
            )
        return publish_comment(settings, config.endpoint_name, report.comment_body(outcome, config, found), self.log)

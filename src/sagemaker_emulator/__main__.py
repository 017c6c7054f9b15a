"""``python -m sagemaker_emulator``: serve the emulator until interrupted, for people and other processes."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from types import FrameType

from ._behaviour import behaviour_from_flags
from ._faults import FAULT_NAMES, apply_fault
from ._sagemaker import Timings
from ._server import DEFAULT_ACCOUNT_ID, Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-emulator",
        description="Serve a local SageMaker emulator (and moto's other AWS services) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=5000, help="TCP port; 0 picks a free one (default 5000)")
    parser.add_argument("--create-seconds", type=float, default=5.0, help="Creating -> InService (default 5)")
    parser.add_argument("--update-seconds", type=float, default=5.0, help="Updating -> InService (default 5)")
    parser.add_argument("--rollback-seconds", type=float, default=5.0, help="an update's rollback phase (default 5)")
    parser.add_argument("--delete-seconds", type=float, default=2.0, help="Deleting -> gone (default 2)")
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID, help="account id in ARNs")
    parser.add_argument(
        "--region",
        default=None,
        help="accepted for symmetry with the AWS CLI; ARNs take the region each request is signed for",
    )
    parser.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Behaviour switch, e.g. deployed_images_at_zero=kept (repeatable)",
    )
    faults = parser.add_argument_group("faults armed at start (also settable at POST /_emulator/faults)")
    faults.add_argument("--throttle", type=int, metavar="N", help="the next N SageMaker requests are throttled")
    faults.add_argument("--rollback-next-update", action="store_true", help="alarm rollback of the next update")
    faults.add_argument("--fail-next-create", metavar="REASON", help="next CreateEndpoint ends Failed")
    faults.add_argument("--fail-next-update", metavar="REASON", help="next UpdateEndpoint fails (old fleet serves)")
    faults.add_argument("--update-rollback-failed-next", metavar="REASON", help="next update: UpdateRollbackFailed")
    faults.add_argument(
        "--unhealthy-next-update",
        action="append",
        metavar="LINE",
        help="next update's new fleet logs LINE (repeatable) and fails its ping health check",
    )
    faults.add_argument("--quota-next-update", action="store_true", help="next UpdateEndpoint: ResourceLimitExceeded")
    faults.add_argument("--quota-next-create", action="store_true", help="next CreateEndpoint: ResourceLimitExceeded")
    faults.add_argument("--lag-reads", type=float, metavar="SECONDS", help="DescribeEndpoint lags the next update")
    faults.add_argument(
        "--invisible-after-create", type=int, metavar="N", help="new models/configs unseen by N requests naming them"
    )
    faults.add_argument("--hold-next-update", action="store_true", help="hold the next update in Updating")
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help=f'any fault as the control API takes it, e.g. \'{{"fault": "lag_reads", "seconds": 5}}\' '
        f"(repeatable; names: {', '.join(FAULT_NAMES)})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    timings = Timings(
        create=args.create_seconds,
        update=args.update_seconds,
        rollback=args.rollback_seconds,
        delete=args.delete_seconds,
    )
    try:
        behaviour = behaviour_from_flags(args.behaviour)
        specs = [json.loads(spec) for spec in args.fault]
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        _parser().error(str(error))
    emulator = Emulator(timings=timings, account_id=args.account_id, behaviour=behaviour).start(port=args.port)
    if args.throttle:
        emulator.faults.throttle(args.throttle)
    if args.rollback_next_update:
        emulator.faults.rollback_next_update()
    if args.fail_next_create:
        emulator.faults.fail_next_create(args.fail_next_create)
    if args.fail_next_update:
        emulator.faults.fail_next_update(args.fail_next_update)
    if args.update_rollback_failed_next:
        emulator.faults.update_rollback_failed_next(args.update_rollback_failed_next)
    if args.unhealthy_next_update:
        emulator.faults.unhealthy_next_update(args.unhealthy_next_update)
    if args.quota_next_update:
        emulator.faults.quota_next_update()
    if args.quota_next_create:
        emulator.faults.quota_next_create()
    if args.lag_reads is not None:
        emulator.faults.lag_reads(args.lag_reads)
    if args.invisible_after_create is not None:
        emulator.faults.invisible_after_create(args.invisible_after_create)
    if args.hold_next_update:
        emulator.faults.hold_next_update()
    try:
        for spec in specs:
            apply_fault(emulator.faults, spec)
    except (KeyError, TypeError, ValueError) as error:
        emulator.stop()
        _parser().error(f"--fault: {error}")
    print(f"listening on {emulator.url}", flush=True)
    print(f"control API: {emulator.url}/_emulator/requests, /_emulator/faults, /_emulator/reset", flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: a fresh local SageMaker emulator per test and boto3 clients pointed at it."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import settings

from sagemaker_async_deploy import aws
from sagemaker_emulator import Behaviour, Emulator, Timings

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

# Hypothesis profiles (pytest --hypothesis-profile=NAME). Both derandomized: every run tries the same examples,
# so a red run is red again on any machine and a mutant is killed or not, never by luck. "default" is what
# make test runs; "mutate", for make mutate, also gives the action-level property test (test_properties.py)
# more sequences of runs and faults.
settings.register_profile("default", derandomize=True)
settings.register_profile("mutate", derandomize=True)

# Short enough to keep the suite fast, long enough that a test can observe each transitional status.
FAST_TIMINGS = Timings(create=0.3, update=0.3, rollback=0.3, delete=0.2)


def boto_client(emu: Emulator | str, service: str, *, region: str = REGION, **config: Any) -> Any:
    """A boto3 client for ``service`` that talks to ``emu`` (or an emulator URL) with dummy credentials in
    ``region`` (us-east-1 unless told).

    ``config`` overrides botocore Config options (e.g. ``retries=...``, ``parameter_validation=False``).
    """
    return boto3.client(
        service,
        endpoint_url=emu if isinstance(emu, str) else emu.url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**{"retries": {"mode": "standard", "total_max_attempts": 3}, **config}),
    )


def emulator_env(emu: Emulator) -> dict[str, str]:
    """Environment variables that point an unmodified boto3 program (e.g. the action) at ``emu``."""
    return {
        "AWS_ENDPOINT_URL": emu.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }


@contextlib.contextmanager
def started_emulator(
    *, environ: bool = False, timings: Timings = FAST_TIMINGS, behaviour: Behaviour | None = None
) -> Iterator[Emulator]:
    """An emulator with empty state and short timings, stopped afterwards. With ``environ`` the process
    environment points unmodified boto3 code at it meanwhile (module-scoped fixtures cannot use monkeypatch)."""
    emu = Emulator(timings=timings, account_id=ACCOUNT_ID, behaviour=behaviour or Behaviour()).start(port=0)
    try:
        with pytest.MonkeyPatch.context() as env:
            for variable, value in (emulator_env(emu) if environ else {}).items():
                env.setenv(variable, value)
            yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """One emulator for the whole module, the process environment pointed at it; a module that seeds it
    declares its own ``emu``."""
    with started_emulator(environ=True) as started:
        yield started


@functools.cache
def _clients_at(url: str) -> aws.Clients:
    return aws.Clients(REGION)


def module_clients() -> aws.Clients:
    """The action's clients for the module's emulator (the one AWS_ENDPOINT_URL names), made once per emulator:
    building them (botocore loading the service models) costs a second on a busy machine."""
    return _clients_at(os.environ["AWS_ENDPOINT_URL"])


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A started emulator with empty state and short timings, stopped after the test."""
    emu = Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID).start(port=0)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def aws_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The emulator's environment applied to this test's os.environ (undone afterwards)."""
    env = emulator_env(emulator)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(params=["Updating", "RollingBack"])
def either_rollback_status(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """An emulator that shows an update's rollback as Updating (what DescribeEndpoint's reference documents) or
    as RollingBack (Behaviour.status_during_update_rollback)."""
    behaviour = Behaviour(status_during_update_rollback=request.param)
    emu = Emulator(timings=FAST_TIMINGS, account_id=ACCOUNT_ID, behaviour=behaviour).start(port=0)
    try:
        yield emu
    finally:
        emu.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The Terraform tests need the Terraform CLI and its AWS provider, which a plain clone does not have: they
    run only when selected by their marker (`make test-terraform`, `pytest -m terraform`), never by `make test`."""
    if "terraform" in (config.getoption("markexpr") or ""):
        return
    selected = [item for item in items if item.get_closest_marker("terraform") is None]
    deselected = [item for item in items if item.get_closest_marker("terraform") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected

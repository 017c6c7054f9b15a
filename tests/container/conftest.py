"""The action image, built once per session, and a fresh emulator per test for it to deploy against."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from sagemaker_emulator import Emulator, Timings

from .engine import Engine, pick_engine

# Short lifecycle phases keep each container run to a few seconds; poll-interval-seconds 0.3 sees each one.
TIMINGS = Timings(create=0.6, update=0.6, rollback=0.6, delete=0.2)


@pytest.fixture(scope="session")
def engine() -> Engine:
    """The built image behind docker or buildah; a missing builder or a failed build fails the tests."""
    try:
        engine = pick_engine()
        started = time.monotonic()
        engine.build()
    except Exception as error:  # any build problem is a test failure, reported in full
        pytest.fail(f"cannot build the action image: {error}", pytrace=False)
    elapsed = time.monotonic() - started
    base = f"{engine.base_kind} base {engine.base}"
    print(f"\naction image {engine.image} ({engine.name}, {base}) ready in {elapsed:.1f}s")
    return engine


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """An emulator on a free loopback port; the container reaches it through the host network."""
    emulator = Emulator(timings=TIMINGS).start(port=0)
    try:
        yield emulator
    finally:
        emulator.stop()

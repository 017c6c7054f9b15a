"""A local SageMaker emulator for development and tests (never part of the action image).

SageMaker's model / endpoint-config / endpoint API with the endpoint lifecycle in wall-clock time and
switchable faults, plus moto's other AWS services, on one loopback port::

    with Emulator(timings=Timings(create=0.5, update=0.5)) as emu:
        boto3.client("sagemaker", endpoint_url=emu.url, ...)
"""

from __future__ import annotations

from ._behaviour import Behaviour
from ._faults import Faults
from ._sagemaker import Timings
from ._server import Emulator, RequestRecord

__all__ = ["Behaviour", "Emulator", "Faults", "RequestRecord", "Timings"]

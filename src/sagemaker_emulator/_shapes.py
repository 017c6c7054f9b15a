"""What a Describe answer carries of what a Create request was given, decided by botocore's output shapes.

DescribeEndpoint answers with summary shapes, not with the config's: ProductionVariantSummary and
PendingProductionVariantSummary for the variants, DataCaptureConfigSummary for data capture (botocore's model,
DescribeEndpointOutput). Members both shapes share are copied, projected onto the output shape, so a member AWS
adds to both later is carried without a change here; the members only a summary has are computed by the backend.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from ._validation import service_model

JSON = dict[str, Any]

# Summary members the backend computes from the fleet's state rather than copying from the config.
COMPUTED_VARIANT_MEMBERS = frozenset(
    {
        "VariantName",
        "DeployedImages",
        "CurrentWeight",
        "DesiredWeight",
        "CurrentInstanceCount",
        "DesiredInstanceCount",
        "VariantStatus",
        "CurrentServerlessConfig",
        "DesiredServerlessConfig",
        "InstancePools",
    }
)
# DescribeEndpoint members the backend builds itself (the rest that a config also has are copied from it).
COMPUTED_ENDPOINT_MEMBERS = frozenset(
    {"EndpointConfigName", "ProductionVariants", "ShadowProductionVariants", "DataCaptureConfig"}
)


@functools.cache
def shape(name: str) -> Shape:
    return service_model().shape_for(name)


def project(value: Any, target: Shape) -> Any:
    """``value`` with only what ``target`` can hold (members of structures, recursively)."""
    if isinstance(target, StructureShape) and isinstance(value, dict):
        return {k: project(v, target.members[k]) for k, v in value.items() if k in target.members}
    if isinstance(target, ListShape) and isinstance(value, list):
        return [project(v, target.member) for v in value]
    if isinstance(target, MapShape) and isinstance(value, dict):
        return {k: project(v, target.value) for k, v in value.items()}
    return copy.deepcopy(value)


def carried_variant_members(config_variant: JSON, summary_shape: str) -> JSON:
    """The members of a config's ProductionVariant that the summary shape also has, projected onto it."""
    target = shape(summary_shape)
    assert isinstance(target, StructureShape)
    return {
        member: project(value, target.members[member])
        for member, value in config_variant.items()
        if member in target.members and member not in COMPUTED_VARIANT_MEMBERS
    }


def instance_pools(config_variant: JSON, count: int) -> list[JSON] | None:
    """InstancePoolSummary list for a variant that has InstancePools: every running instance counted against the
    pool of the highest priority (lowest Priority number); SageMaker's split across pools is not documented."""
    pools = config_variant.get("InstancePools")
    if not pools:
        return None
    first = min(pools, key=lambda p: p.get("Priority", 0))
    return [{"InstanceType": p["InstanceType"], "CurrentInstanceCount": count if p is first else 0} for p in pools]


def data_capture_summary(config: JSON) -> JSON | None:
    """DataCaptureConfigSummary from a config's DataCaptureConfig.

    EnableCapture "defaults to enabled" (DataCaptureConfig doc); CaptureStatus is Started while enabled;
    CurrentSamplingPercentage is the InitialSamplingPercentage; every member is required in the summary shape,
    so a config without KmsKeyId answers an empty KmsKeyId (the pattern allows it). A real endpoint shows
    {"EnableCapture": true, "CaptureStatus": "Started", "CurrentSamplingPercentage": 20, "DestinationS3Uri": …,
    "KmsKeyId": …} (sagemaker-python-sdk tests/integ/test_sagemaker_config.py).
    """
    capture = config.get("DataCaptureConfig")
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": int(capture.get("InitialSamplingPercentage", 0)),
        "DestinationS3Uri": str(capture.get("DestinationS3Uri", "")),
        "KmsKeyId": str(capture.get("KmsKeyId", "")),
    }


def carried_endpoint_members(config: JSON) -> JSON:
    """DescribeEndpoint members taken as they are from the serving config (AsyncInferenceConfig, ExplainerConfig,
    MetricsConfig, CrossRegionTrafficConfig, and whatever both shapes share later)."""
    out_shape = shape("DescribeEndpointOutput")
    in_shape = shape("CreateEndpointConfigInput")
    assert isinstance(out_shape, StructureShape) and isinstance(in_shape, StructureShape)
    carried: JSON = {}
    for member, value in config.items():
        if member in COMPUTED_ENDPOINT_MEMBERS or member not in out_shape.members or member not in in_shape.members:
            continue
        if out_shape.members[member].name != in_shape.members[member].name:
            continue
        carried[member] = copy.deepcopy(value)
    return carried

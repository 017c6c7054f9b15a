"""Valid values for any member of SageMaker's service model, generated from botocore's shapes.

Used to prove that every member of CreateModel and CreateEndpointConfig survives an update: the value must
pass botocore's own checks and the service's (patterns, lengths, ranges, enums), which the emulator enforces.
Strings with a pattern take the first of a list of realistic candidates that matches; a pattern none
matches fails the test that asked, naming the shape, so the list grows with the model.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

ACCOUNT = "123456789012"
REGION = "us-east-1"
_CANDIDATES = (
    f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    f"arn:aws:iam::{ACCOUNT}:role/sagemaker-execution",
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:registry-auth",
    f"arn:aws:sns:{REGION}:{ACCOUNT}:topic",
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/hub/Model/name/1.0.0",
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/pkg/1",
    f"arn:aws:ec2:{REGION}:{ACCOUNT}:capacity-reservation/cr-0123456789abcdef0",
    "s3://bucket/prefix/",
    "s3://bucket/model.tar.gz",
    f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/whisper@sha256:{'a' * 64}",
    "subnet-0123456789abcdef0",
    "sg-0123456789abcdef0",
    "application/json",
    "cr-0123456789abcdef0",
    "al2-ami-sagemaker-inference-gpu-2",
    "ml.g5.xlarge",
    "mig-1g.10gb",
    "/metrics",
    "whisper-large",
    "value",
    "x",
    "1",
)


def value_for(shape: Shape, path: str = "", depth: int = 0) -> Any:
    """A valid value of ``shape``: every member of a structure set (to the depth the model nests)."""
    if isinstance(shape, StructureShape):
        return {name: value_for(member, f"{path}.{name}", depth + 1) for name, member in _members(shape).items()}
    if isinstance(shape, ListShape):
        return [value_for(shape.member, f"{path}[]", depth + 1)]
    if isinstance(shape, MapShape):
        return {string_for(shape.key, f"{path}.key"): value_for(shape.value, f"{path}.*", depth + 1)}
    if shape.type_name == "string":
        return string_for(shape, path)
    if shape.type_name in ("integer", "long"):
        return int(shape.metadata.get("min", 1)) if shape.metadata.get("min", 1) > 0 else 1
    if shape.type_name in ("float", "double"):
        return float(shape.metadata.get("min", 1.0)) or 1.0
    if shape.type_name == "boolean":
        return True
    if shape.type_name == "timestamp":
        return "2026-11-01T00:00:00Z"
    raise AssertionError(f"no value for {shape.type_name} at {path}")


def string_for(shape: Shape, path: str) -> str:
    enum = getattr(shape, "enum", None)
    if enum:
        return str(enum[0])
    low, high = int(shape.metadata.get("min", 0)), int(shape.metadata.get("max", 1024))
    pattern = shape.metadata.get("pattern")
    for candidate in _CANDIDATES:
        if not low <= len(candidate) <= high:
            continue
        if pattern is None or re.fullmatch(pattern, candidate):
            return candidate
    raise AssertionError(f"no candidate string matches {shape.name} ({pattern!r}, {low}-{high}) at {path}")


def _members(shape: StructureShape) -> dict[str, Shape]:
    """A structure's members; of a union (one member only), the first."""
    members = dict(shape.members)
    if shape.metadata.get("union") and members:
        first = next(iter(members))
        return {first: members[first]}
    return members

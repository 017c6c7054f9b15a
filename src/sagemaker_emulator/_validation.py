"""Request validation against botocore's SageMaker service model.

botocore checks only minimum lengths and types on the client; the service itself enforces patterns, maximum
lengths, enums and ranges and answers with a ValidationException worded like the ones produced here.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.loaders
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

# AWS stops listing after this many problems; the count in the first sentence stays accurate.
_MAX_LISTED = 10


@functools.cache
def service_model() -> ServiceModel:
    loader = botocore.loaders.create_loader()
    return ServiceModel(loader.load_service_model("sagemaker", "service-2"), service_name="sagemaker")


def operation_names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        # A few model patterns use Java-only syntax; the service would check them, we cannot.
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    where = f"at '{path}'" if path else ""
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return
        for member in shape.required_members:
            if value.get(member) is None:
                child = f"{path}.{_camel(member)}" if path else _camel(member)
                errors.append(f"Value null at '{child}' failed to satisfy constraint: Member must not be null")
        for member, member_shape in shape.members.items():
            if member in value and value[member] is not None:
                child = f"{path}.{_camel(member)}" if path else _camel(member)
                _check(member_shape, value[member], child, errors)
        return
    meta = shape.metadata
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return
        _length(meta, value, len(value), where, errors)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", errors)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return
        _length(meta, value, len(value), where, errors)
        for key, item in value.items():
            _check(shape.value, item, f"{path}.{key}", errors)
        return
    if shape.type_name == "string" and isinstance(value, str):
        _length(meta, value, len(value), where, errors)
        enum: list[str] = getattr(shape, "enum", [])
        if enum and value not in enum:
            errors.append(
                f"Value '{value}' {where} failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        pattern = meta.get("pattern")
        if pattern:
            compiled = _compiled(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                shown = pattern if pattern.startswith("^") else f"^{pattern}"
                errors.append(
                    f"Value '{value}' {where} failed to satisfy constraint: "
                    f"Member must satisfy regular expression pattern: {shown}"
                )
        return
    if shape.type_name in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if isinstance(value, bool):
            return
        if "min" in meta and value < meta["min"]:
            errors.append(
                f"Value '{_render(value)}' {where} failed to satisfy constraint: "
                f"Member must have value greater than or equal to {meta['min']}"
            )
        if "max" in meta and value > meta["max"]:
            errors.append(
                f"Value '{_render(value)}' {where} failed to satisfy constraint: "
                f"Member must have value less than or equal to {meta['max']}"
            )


def _length(meta: dict[str, Any], value: Any, length: int, where: str, errors: list[str]) -> None:
    if "min" in meta and length < meta["min"]:
        errors.append(
            f"Value '{_render(value)}' {where} failed to satisfy constraint: "
            f"Member must have length greater than or equal to {meta['min']}"
        )
    if "max" in meta and length > meta["max"]:
        errors.append(
            f"Value '{_render(value)}' {where} failed to satisfy constraint: "
            f"Member must have length less than or equal to {meta['max']}"
        )


def validation_message(operation: str, params: dict[str, Any]) -> str | None:
    """The service's wording for everything wrong with ``params``, or None when the request is well formed."""
    input_shape = operation_model(operation).input_shape
    if input_shape is None:
        return None
    errors: list[str] = []
    _check(input_shape, params, "", errors)
    if not errors:
        return None
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: " + "; ".join(errors[:_MAX_LISTED])

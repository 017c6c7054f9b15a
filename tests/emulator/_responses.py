"""Checking what the emulator answers against botocore's OUTPUT shapes.

botocore validates what a client sends, and while parsing an answer it silently drops members its model does not
know: a response AWS could never give would pass every other test. This reads the raw JSON bodies instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def problems(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Everything about ``value`` that AWS's answer of ``shape`` could not be, with where it is."""
    here = path or "<top>"
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return [f"{here}: {type(value).__name__}, not a structure {shape.name}"]
        where = f"{path}." if path else ""
        found = [f"{where}{k}: not a member of {shape.name}" for k in value if k not in shape.members]
        found += [f"{where}{k}: required by {shape.name}, missing" for k in shape.required_members if k not in value]
        for name, member in shape.members.items():
            if name in value:
                found += problems(member, value[name], f"{path}.{name}" if path else name)
        return found
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            return [f"{here}: {type(value).__name__}, not a list {shape.name}"]
        found = []
        if len(value) < shape.metadata.get("min", 0) or len(value) > shape.metadata.get("max", len(value)):
            found.append(f"{here}: {len(value)} items, outside {shape.name}'s length limits")
        for index, item in enumerate(value):
            found += problems(shape.member, item, f"{path}[{index}]")
        return found
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            return [f"{here}: {type(value).__name__}, not a map {shape.name}"]
        return [p for k, v in value.items() for p in problems(shape.value, v, f"{path}.{k}")]
    return _scalar(shape, value, here)


def _scalar(shape: Shape, value: Any, here: str) -> list[str]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            return [f"{here}: {value!r} is not a string ({shape.name})"]
        enum: list[str] = getattr(shape, "enum", [])
        if enum and value not in enum:
            return [f"{here}: {value!r} is not one of {shape.name}'s values"]
        meta = shape.metadata
        if len(value) < meta.get("min", 0) or len(value) > meta.get("max", len(value)):
            return [f"{here}: {len(value)} characters, outside {shape.name}'s length limits"]
        return []
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{here}: {value!r} is not an integer ({shape.name})"]
        return _range(shape, value, here)
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{here}: {value!r} is not a number ({shape.name})"]
        return _range(shape, value, here)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{here}: {value!r} is not a boolean"]
    if kind == "timestamp":
        # The JSON protocol sends timestamps as epoch seconds.
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{here}: {value!r} is not an epoch timestamp"]
    return []


def _range(shape: Shape, value: float, here: str) -> list[str]:
    meta = shape.metadata
    if ("min" in meta and value < meta["min"]) or ("max" in meta and value > meta["max"]):
        return [f"{here}: {value} outside {shape.name}'s range"]
    return []


@dataclass
class Recorder:
    """Keeps every raw SageMaker answer a client receives (status, operation, body)."""

    answers: list[tuple[str, int, Any]] = field(default_factory=list)

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parse.sagemaker.*", self._keep)
        return client

    def _keep(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict.get("body") or b"{}"
        self.answers.append((operation_model.name, int(response_dict["status_code"]), json.loads(body)))

    def successes(self) -> list[tuple[str, Any]]:
        return [(op, body) for op, status, body in self.answers if status == 200]

    def problems(self) -> list[str]:
        found = []
        for operation, body in self.successes():
            output = MODEL.operation_model(operation).output_shape
            if output is None:
                if body:
                    found.append(f"{operation}: answers {body!r} where AWS answers nothing")
                continue
            found += [f"{operation}: {p}" for p in problems(output, body)]
        return found

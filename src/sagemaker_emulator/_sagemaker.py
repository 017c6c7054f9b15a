"""SageMaker's model / endpoint-config / endpoint API with the endpoint lifecycle in wall-clock time.

Transitions are scheduled as (deadline, step) pairs on each endpoint and applied lazily whenever a request
arrives, so the emulator needs no background thread and every timestamp is the scheduled one.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import operator
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.ecr.models import ecr_backends

from ._faults import Faults, UpdateFault
from ._validation import operation_names, validation_message

JSON = dict[str, Any]

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_DIGEST_REFERENCE = re.compile(r"^(?P<repo>[^@]+)@(?P<digest>sha256:[0-9a-f]{64})$")
_SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Statuses during which SageMaker is already working on the endpoint.
_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


@dataclass(frozen=True)
class Timings:
    """Seconds each lifecycle phase lasts. A blue/green bake (WaitIntervalInSeconds) is part of ``update``."""

    create: float = 1.0
    update: float = 1.0
    rollback: float = 1.0
    delete: float = 0.5


class ApiError(Exception):
    """An error answered in the AWS JSON 1.1 shape."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@dataclass
class _Model:
    name: str
    arn: str
    request: JSON
    creation_time: float
    tags: list[JSON] = field(default_factory=list)


@dataclass
class _Config:
    name: str
    arn: str
    request: JSON
    creation_time: float
    tags: list[JSON] = field(default_factory=list)


Step = Callable[[float], None]


@dataclass
class _Endpoint:
    name: str
    arn: str
    region: str
    # What the endpoint serves: a snapshot, because the config itself may be deleted while in use.
    config: _Config
    status: str
    creation_time: float
    last_modified: float
    variants: list[JSON] = field(default_factory=list)
    failure_reason: str | None = None
    pending: JSON | None = None
    last_deployment_config: JSON | None = None
    tags: list[JSON] = field(default_factory=list)
    steps: list[tuple[float, Step]] = field(default_factory=list)
    deleted: bool = False
    # Set while a test holds the lifecycle still (Faults.hold): the time it was frozen.
    held_since: float | None = None


@dataclass
class _Region:
    models: dict[str, _Model] = field(default_factory=dict)
    configs: dict[str, _Config] = field(default_factory=dict)
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)


def _key(name: str) -> str:
    # SageMaker ARNs carry names lower-cased, so names differing only in case collide.
    return name.lower()


def _repository(reference: str) -> str:
    """The image reference without its tag or digest (a registry port stays)."""
    head, _, last = reference.split("@", 1)[0].rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def _images_of(model: JSON) -> list[str]:
    if model.get("PrimaryContainer", {}).get("Image"):
        return [model["PrimaryContainer"]["Image"]]
    return [c["Image"] for c in model.get("Containers", []) if c.get("Image")]


class SageMakerBackend:
    def __init__(self, account_id: str, timings: Timings) -> None:
        self.account_id = account_id
        self.timings = timings
        self.faults = Faults(control=self)
        self._lock = threading.RLock()
        self._regions: dict[str, _Region] = {}
        self._handlers: dict[str, Callable[[str, JSON, float], JSON]] = {
            "CreateModel": self._create_model,
            "DescribeModel": self._describe_model,
            "DeleteModel": self._delete_model,
            "ListModels": self._list_models,
            "CreateEndpointConfig": self._create_endpoint_config,
            "DescribeEndpointConfig": self._describe_endpoint_config,
            "DeleteEndpointConfig": self._delete_endpoint_config,
            "ListEndpointConfigs": self._list_endpoint_configs,
            "CreateEndpoint": self._create_endpoint,
            "DescribeEndpoint": self._describe_endpoint,
            "UpdateEndpoint": self._update_endpoint,
            "DeleteEndpoint": self._delete_endpoint,
            "ListEndpoints": self._list_endpoints,
            "AddTags": self._add_tags,
            "ListTags": self._list_tags,
            "DeleteTags": self._delete_tags,
        }

    # Entry points

    def reset(self) -> None:
        with self._lock:
            self._regions.clear()
        self.faults.clear()

    def handle(self, operation: str, region: str, params: JSON) -> JSON:
        """Answer one request; raises ApiError for anything the service would refuse."""
        if self.faults.take_expired():
            raise ApiError("ExpiredTokenException", "The security token included in the request is expired")
        if self.faults.take_throttle():
            raise ApiError("ThrottlingException", "Rate exceeded")
        handler = self._handlers.get(operation)
        if handler is None:
            if operation in operation_names():
                raise ApiError("UnknownOperationException", f"The SageMaker emulator does not implement {operation}.")
            raise ApiError("UnknownOperationException", f"Unknown operation {operation}.")
        message = validation_message(operation, params)
        if message is not None:
            raise _validation(message)
        with self._lock:
            now = time.time()
            self._advance(now)
            return handler(region, params, now)

    def advance(self) -> None:
        with self._lock:
            self._advance(time.time())

    def _advance(self, now: float) -> None:
        for state in self._regions.values():
            for endpoint in list(state.endpoints.values()):
                if endpoint.held_since is not None:
                    continue
                while endpoint.steps and endpoint.steps[0][0] <= now:
                    deadline, step = endpoint.steps.pop(0)
                    step(deadline)
                if endpoint.deleted:
                    del state.endpoints[_key(endpoint.name)]

    def _region(self, region: str) -> _Region:
        return self._regions.setdefault(region, _Region())

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    # Faults that act on existing endpoints

    def _find_endpoint(self, name: str, region: str | None) -> _Endpoint:
        regions = [region] if region else list(self._regions)
        for r in regions:
            endpoint = self._regions.get(r, _Region()).endpoints.get(_key(name))
            if endpoint is not None:
                return endpoint
        raise KeyError(f"no endpoint {name!r} in the emulator")

    def make_busy(self, name: str, seconds: float, region: str | None) -> None:
        with self._lock:
            now = time.time()
            self._advance(now)
            endpoint = self._find_endpoint(name, region)
            if endpoint.status != "InService":
                raise ValueError(f"endpoint {name!r} is {endpoint.status}, not InService")
            endpoint.status = "Updating"
            endpoint.last_modified = now
            endpoint.pending = {
                "EndpointConfigName": endpoint.config.name,
                "ProductionVariants": [self._pending_variant(v, now) for v in endpoint.variants],
                "StartTime": now,
            }

            def done(at: float) -> None:
                endpoint.status = "InService"
                endpoint.pending = None
                endpoint.last_modified = at

            endpoint.steps.append((now + seconds, done))

    def hold(self, name: str, region: str | None) -> None:
        with self._lock:
            now = time.time()
            self._advance(now)
            endpoint = self._find_endpoint(name, region)
            if endpoint.held_since is None:
                endpoint.held_since = now

    def release(self, name: str, region: str | None) -> None:
        with self._lock:
            now = time.time()
            endpoint = self._find_endpoint(name, region)
            if endpoint.held_since is None:
                return
            # Everything still to come happens as late as the endpoint was held, so each phase keeps its length.
            held = now - endpoint.held_since
            endpoint.steps = [(deadline + held, step) for deadline, step in endpoint.steps]
            endpoint.held_since = None
            self._advance(now)

    def scale_to_zero(self, name: str, region: str | None) -> None:
        with self._lock:
            self._advance(time.time())
            endpoint = self._find_endpoint(name, region)
            for variant in endpoint.variants:
                variant["CurrentInstanceCount"] = 0
                variant["DesiredInstanceCount"] = 0
                variant["DeployedImages"] = []

    # Images

    def _resolve(self, image: str, at: float) -> JSON:
        return {"SpecifiedImage": image, "ResolvedImage": self._resolved_image(image), "ResolutionTime": at}

    def _resolved_image(self, image: str) -> str:
        repo = _repository(image)
        by_digest = _DIGEST_REFERENCE.match(image)
        if by_digest:
            return f"{repo}@{by_digest['digest']}"
        ecr = _ECR_IMAGE.match(image)
        if ecr:
            digest = _ecr_digest(ecr["account"], ecr["region"], ecr["repo"], ecr["tag"] or "latest")
            if digest:
                return f"{repo}@{digest}"
        return f"{repo}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

    # Variants

    def _variants_for(
        self, region: str, config: _Config, at: float, counts: dict[str, int] | None = None
    ) -> list[JSON]:
        models = self._region(region).models
        variants = []
        for pv in config.request["ProductionVariants"]:
            model = models.get(_key(pv.get("ModelName", "")))
            images = _images_of(model.request) if model else []
            count = pv.get("InitialInstanceCount", 1)
            if counts is not None and pv["VariantName"] in counts:
                count = counts[pv["VariantName"]]
            weight = pv.get("InitialVariantWeight", 1.0)
            variant: JSON = {
                "VariantName": pv["VariantName"],
                "DeployedImages": [self._resolve(i, at) for i in images] if count else [],
                "CurrentWeight": weight,
                "DesiredWeight": weight,
                "CurrentInstanceCount": count,
                "DesiredInstanceCount": count,
                "VariantStatus": [],
            }
            if "ServerlessConfig" in pv:
                variant["CurrentServerlessConfig"] = pv["ServerlessConfig"]
                variant["DesiredServerlessConfig"] = pv["ServerlessConfig"]
            variants.append(variant)
        return variants

    def _pending_variant(self, final: JSON, at: float, config: _Config | None = None) -> JSON:
        pending = {k: v for k, v in final.items() if k not in ("CurrentInstanceCount", "CurrentWeight")}
        pending["VariantStatus"] = [{"Status": "Creating", "StartTime": at}]
        if config is not None:
            for pv in config.request["ProductionVariants"]:
                if pv["VariantName"] == final["VariantName"] and "InstanceType" in pv:
                    pending["InstanceType"] = pv["InstanceType"]
        return pending

    # Models

    def _create_model(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "model", p["ModelName"])
        if _key(p["ModelName"]) in state.models:
            raise _validation(f'Cannot create already existing model "{arn}".')
        request = {k: v for k, v in p.items() if k != "Tags"}
        state.models[_key(p["ModelName"])] = _Model(p["ModelName"], arn, request, now, list(p.get("Tags", [])))
        return {"ModelArn": arn}

    def _model(self, region: str, name: str) -> _Model:
        model = self._region(region).models.get(_key(name))
        if model is None:
            raise _validation(f'Could not find model "{self._arn(region, "model", name)}".')
        return model

    def _describe_model(self, region: str, p: JSON, now: float) -> JSON:
        model = self._model(region, p["ModelName"])
        return {**copy.deepcopy(model.request), "CreationTime": model.creation_time, "ModelArn": model.arn}

    def _delete_model(self, region: str, p: JSON, now: float) -> JSON:
        model = self._model(region, p["ModelName"])
        del self._region(region).models[_key(model.name)]
        return {}

    def _list_models(self, region: str, p: JSON, now: float) -> JSON:
        items = [
            {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time}
            for m in self._region(region).models.values()
        ]
        page, token = _page(items, p, "ModelName")
        return {"Models": page, **token}

    # Endpoint configs

    def _create_endpoint_config(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "endpoint-config", p["EndpointConfigName"])
        if _key(p["EndpointConfigName"]) in state.configs:
            raise _validation(f'Cannot create already existing endpoint configuration "{arn}".')
        for pv in p["ProductionVariants"]:
            if "ModelName" in pv:
                self._model(region, pv["ModelName"])
        request = {k: v for k, v in p.items() if k != "Tags"}
        config = _Config(p["EndpointConfigName"], arn, request, now, list(p.get("Tags", [])))
        state.configs[_key(config.name)] = config
        return {"EndpointConfigArn": arn}

    def _config(self, region: str, name: str) -> _Config:
        config = self._region(region).configs.get(_key(name))
        if config is None:
            arn = self._arn(region, "endpoint-config", name)
            raise _validation(f'Could not find endpoint configuration "{arn}".')
        return config

    def _describe_endpoint_config(self, region: str, p: JSON, now: float) -> JSON:
        config = self._config(region, p["EndpointConfigName"])
        return {
            **copy.deepcopy(config.request),
            "EndpointConfigArn": config.arn,
            "CreationTime": config.creation_time,
        }

    def _delete_endpoint_config(self, region: str, p: JSON, now: float) -> JSON:
        # AWS allows deleting a config that an endpoint still serves; the endpoint keeps running on it.
        config = self._config(region, p["EndpointConfigName"])
        del self._region(region).configs[_key(config.name)]
        return {}

    def _list_endpoint_configs(self, region: str, p: JSON, now: float) -> JSON:
        items = [
            {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time}
            for c in self._region(region).configs.values()
        ]
        page, token = _page(items, p, "EndpointConfigName")
        return {"EndpointConfigs": page, **token}

    # Endpoints

    def _endpoint(self, region: str, name: str) -> _Endpoint:
        endpoint = self._region(region).endpoints.get(_key(name))
        if endpoint is None:
            raise _validation(f'Could not find endpoint "{self._arn(region, "endpoint", name)}".')
        return endpoint

    def _create_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "endpoint", p["EndpointName"])
        if _key(p["EndpointName"]) in state.endpoints:
            raise _validation(f'Cannot create already existing endpoint "{arn}".')
        config = copy.deepcopy(self._config(region, p["EndpointConfigName"]))
        final = self._variants_for(region, config, now)
        creating = copy.deepcopy(final)
        for variant in creating:
            variant["CurrentInstanceCount"] = 0
            variant["DeployedImages"] = []
            variant["VariantStatus"] = [{"Status": "Creating", "StartTime": now}]
        endpoint = _Endpoint(
            name=p["EndpointName"],
            arn=arn,
            region=region,
            config=config,
            status="Creating",
            creation_time=now,
            last_modified=now,
            variants=creating,
            tags=list(p.get("Tags", [])),
            last_deployment_config=p.get("DeploymentConfig"),
        )
        fault = self.faults.take_create_fault(endpoint.name)

        def done(at: float) -> None:
            endpoint.last_modified = at
            if fault is not None:
                endpoint.status = "Failed"
                endpoint.failure_reason = fault.reason
                endpoint.variants = []
            else:
                endpoint.status = "InService"
                endpoint.variants = final

        endpoint.steps.append((now + self.timings.create, done))
        state.endpoints[_key(endpoint.name)] = endpoint
        return {"EndpointArn": arn}

    def _describe_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        e = self._endpoint(region, p["EndpointName"])
        out: JSON = {
            "EndpointName": e.name,
            "EndpointArn": e.arn,
            "EndpointConfigName": e.config.name,
            "EndpointStatus": e.status,
            "CreationTime": e.creation_time,
            "LastModifiedTime": e.last_modified,
        }
        if e.variants:
            out["ProductionVariants"] = copy.deepcopy(e.variants)
        if e.failure_reason:
            out["FailureReason"] = e.failure_reason
        if e.last_deployment_config is not None:
            out["LastDeploymentConfig"] = copy.deepcopy(e.last_deployment_config)
        for member in ("AsyncInferenceConfig", "DataCaptureConfig"):
            if member in e.config.request:
                out[member] = copy.deepcopy(e.config.request[member])
        if e.pending is not None:
            out["PendingDeploymentSummary"] = copy.deepcopy(e.pending)
        return out

    def _update_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        endpoint = self._endpoint(region, p["EndpointName"])
        if endpoint.status in _IN_PROGRESS:
            raise _validation(f'Cannot update in-progress endpoint "{endpoint.arn}".')
        if endpoint.status == "Failed":
            raise _validation(f'Cannot update failed endpoint "{endpoint.arn}".')
        new = copy.deepcopy(self._config(region, p["EndpointConfigName"]))
        had_async = "AsyncInferenceConfig" in endpoint.config.request
        if had_async and "AsyncInferenceConfig" not in new.request:
            raise _validation(
                f'Cannot update endpoint "{endpoint.arn}": AsyncInferenceConfig cannot be removed from an '
                f"asynchronous inference endpoint."
            )
        if not had_async and "AsyncInferenceConfig" in new.request:
            raise _validation(
                f'Cannot update endpoint "{endpoint.arn}": AsyncInferenceConfig cannot be added to a '
                f"real-time endpoint."
            )
        self._check_autoscaling(endpoint, new)

        counts: dict[str, int] | None = None
        excluded = {v.get("VariantPropertyType") for v in p.get("ExcludeRetainedVariantProperties", [])}
        if p.get("RetainAllVariantProperties") and "DesiredInstanceCount" not in excluded:
            counts = {v["VariantName"]: v["CurrentInstanceCount"] for v in endpoint.variants}
        final = self._variants_for(region, new, now, counts)
        if p.get("RetainAllVariantProperties") and "DesiredWeight" not in excluded:
            current = {v["VariantName"]: v["CurrentWeight"] for v in endpoint.variants}
            for variant in final:
                if variant["VariantName"] in current:
                    variant["CurrentWeight"] = variant["DesiredWeight"] = current[variant["VariantName"]]

        if not p.get("RetainDeploymentConfig"):
            endpoint.last_deployment_config = copy.deepcopy(p.get("DeploymentConfig"))
        endpoint.status = "Updating"
        endpoint.failure_reason = None
        endpoint.last_modified = now
        endpoint.pending = {
            "EndpointConfigName": new.name,
            "ProductionVariants": [self._pending_variant(v, now, new) for v in final],
            "StartTime": now,
        }
        self._schedule_update(endpoint, new, final, now, self.faults.take_update_fault(endpoint.name))
        return {"EndpointArn": endpoint.arn}

    def _schedule_update(
        self, endpoint: _Endpoint, new: _Config, final: list[JSON], now: float, fault: UpdateFault | None
    ) -> None:
        shifted = now + self.timings.update
        rolled_back = shifted + self.timings.rollback

        def settle(status: str, reason: str | None) -> Step:
            def step(at: float) -> None:
                endpoint.status = status
                endpoint.failure_reason = reason
                endpoint.pending = None
                endpoint.last_modified = at

            return step

        if fault is None:

            def succeed(at: float) -> None:
                settle("InService", None)(at)
                endpoint.config = new
                endpoint.variants = final

            endpoint.steps.append((shifted, succeed))
        elif fault.kind == "rollback":
            endpoint.steps.append((shifted, settle("RollingBack", None)))
            endpoint.steps.append((rolled_back, settle("InService", None)))
        elif fault.kind == "rollback_failed":
            endpoint.steps.append((shifted, settle("RollingBack", None)))
            endpoint.steps.append((rolled_back, settle("UpdateRollbackFailed", fault.reason)))
        else:
            endpoint.steps.append((shifted, settle(fault.end_status, fault.reason)))

    def _check_autoscaling(self, endpoint: _Endpoint, new: _Config) -> None:
        old_types = {pv["VariantName"]: pv.get("InstanceType") for pv in endpoint.config.request["ProductionVariants"]}
        changed = [
            pv["VariantName"]
            for pv in new.request["ProductionVariants"]
            if pv["VariantName"] in old_types and pv.get("InstanceType") != old_types[pv["VariantName"]]
        ]
        registered = [
            v
            for v in changed
            if _scalable_target_exists(self.account_id, endpoint.region, f"endpoint/{endpoint.name}/variant/{v}")
        ]
        if registered:
            names = ", ".join(registered)
            raise _validation(
                f'Cannot update the instance type of variant(s) [{names}] of endpoint "{endpoint.arn}" while '
                f"they are registered as Application Auto Scaling scalable targets. Deregister the scalable "
                f"target(s) first."
            )

    def _delete_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        endpoint = self._endpoint(region, p["EndpointName"])
        if endpoint.status == "Deleting":
            return {}
        endpoint.status = "Deleting"
        endpoint.last_modified = now
        endpoint.steps.clear()

        def gone(at: float) -> None:
            endpoint.deleted = True

        endpoint.steps.append((now + self.timings.delete, gone))
        return {}

    def _list_endpoints(self, region: str, p: JSON, now: float) -> JSON:
        items = [
            {
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.creation_time,
                "LastModifiedTime": e.last_modified,
                "EndpointStatus": e.status,
            }
            for e in self._region(region).endpoints.values()
            if not p.get("StatusEquals") or e.status == p["StatusEquals"]
        ]
        page, token = _page(items, p, "EndpointName")
        return {"Endpoints": page, **token}

    # Tags

    def _tagged(self, region: str, arn: str) -> list[JSON]:
        state = self._region(region)
        resources: list[_Model | _Config | _Endpoint] = [
            *state.models.values(),
            *state.configs.values(),
            *state.endpoints.values(),
        ]
        for resource in resources:
            if resource.arn == arn.lower():
                return resource.tags
        raise _validation(f'Could not find resource "{arn}".')

    def _add_tags(self, region: str, p: JSON, now: float) -> JSON:
        tags = self._tagged(region, p["ResourceArn"])
        for tag in p["Tags"]:
            tags[:] = [t for t in tags if t["Key"] != tag["Key"]]
            tags.append(dict(tag))
        return {"Tags": copy.deepcopy(p["Tags"])}

    def _list_tags(self, region: str, p: JSON, now: float) -> JSON:
        tags = copy.deepcopy(self._tagged(region, p["ResourceArn"]))
        start = _decode_token(p.get("NextToken"))
        size = p.get("MaxResults", 50)
        out: JSON = {"Tags": tags[start : start + size]}
        if start + size < len(tags):
            out["NextToken"] = _encode_token(start + size)
        return out

    def _delete_tags(self, region: str, p: JSON, now: float) -> JSON:
        tags = self._tagged(region, p["ResourceArn"])
        tags[:] = [t for t in tags if t["Key"] not in p["TagKeys"]]
        return {}


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise _validation("Invalid pagination token.") from exc


def _page(items: list[JSON], p: JSON, name_key: str) -> tuple[list[JSON], JSON]:
    """Filter, sort and paginate a List* result the way SageMaker does (newest first by default)."""
    if p.get("NameContains"):
        items = [i for i in items if p["NameContains"].lower() in i[name_key].lower()]
    for member, key, keep in (
        ("CreationTimeBefore", "CreationTime", operator.lt),
        ("CreationTimeAfter", "CreationTime", operator.gt),
        ("LastModifiedTimeBefore", "LastModifiedTime", operator.lt),
        ("LastModifiedTimeAfter", "LastModifiedTime", operator.gt),
    ):
        if member in p:
            items = [i for i in items if key in i and keep(i[key], float(p[member]))]
    sort_key = {"Name": name_key, "CreationTime": "CreationTime", "Status": "EndpointStatus"}.get(
        p.get("SortBy", "CreationTime"), "CreationTime"
    )
    items.sort(key=lambda i: i[sort_key], reverse=p.get("SortOrder", "Descending") == "Descending")
    start = _decode_token(p.get("NextToken"))
    size = p.get("MaxResults", 10)
    token: JSON = {}
    if start + size < len(items):
        token["NextToken"] = _encode_token(start + size)
    return items[start : start + size], token


def _ecr_digest(account: str, region: str, repo: str, tag: str) -> str | None:
    try:
        repository = ecr_backends[account][region].repositories.get(repo)
        if repository is None:
            return None
        digest: str = repository._get_image(tag, None).get_image_digest()
    except Exception:  # any miss in moto's store means "not an image we know"
        return None
    return digest


def _scalable_target_exists(account: str, region: str, resource_id: str) -> bool:
    backend = applicationautoscaling_backends[account][region]
    return resource_id in backend.targets.get(_SCALABLE_DIMENSION, {})

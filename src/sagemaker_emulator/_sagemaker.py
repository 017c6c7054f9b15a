"""SageMaker's model / endpoint-config / endpoint API with the endpoint lifecycle in wall-clock time.

Transitions are scheduled as (deadline, step) pairs on each endpoint and applied lazily whenever a request
arrives, so the emulator needs no background thread and every timestamp is the scheduled one. Each behaviour
cites its source; the evidence is summed up in the project's notes of AWS facts.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import math
import operator
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.ecr.models import ecr_backends

from . import _cloudwatch, _deployment, _logs, _shapes
from ._behaviour import Behaviour, check
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
# "DeleteEndpoint is the only operation that can be performed on a failed endpoint" (DescribeEndpoint
# EndpointStatus doc); scripts match this wording when UpdateEndpoint refuses one.
_FAILED_UPDATE = 'Cannot update failed endpoint "{arn}".'
_IN_PROGRESS_UPDATE = 'Cannot update in-progress endpoint "{arn}".'
# FailureReason of a fleet whose container fails SageMaker's ping (sagemaker-python-sdk #787,
# awslabs/llm-hosting-container #18, amazon-sagemaker-examples #210).
_HEALTH_CHECK = (
    "The primary container for production variant {variant} did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
# ResourceLimitExceeded wording since 2023 (aws-samples/aws-genai-llm-chatbot #244 and later public logs).
_QUOTA = (
    "The account-level service limit '{instance_type} for endpoint usage' is {limit} Instances, with current "
    "utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to "
    "request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request "
    "an increase for this quota."
)
# What CloudWatch writes when a threshold is crossed (alarm notifications and DescribeAlarms StateReason seen in
# public logs: "Threshold Crossed: 1 out of the last 1 datapoints [9.0 (26/03/21 22:44:00)] was greater than or
# equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).").
_COMPARISON_WORDS = {
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", 1.0),
    "GreaterThanThreshold": ("greater than", 1.0),
    "LessThanThreshold": ("less than", -1.0),
    "LessThanOrEqualToThreshold": ("less than or equal to", -1.0),
}


@dataclass(frozen=True)
class Timings:
    """Seconds each lifecycle phase lasts. WaitIntervalInSeconds stands for a share of ``update``, never real time.

    An all-at-once blue/green update lasts ``update``: provisioning the new fleet (LAUNCH), turning its traffic on
    (ACTIVATE) and the bake (BAKE, given to ACTIVATE when WaitIntervalInSeconds is 0). Each further traffic step
    (canary, linear) adds ACTIVATE + BAKE; each rolling batch takes a whole ``update``.
    """

    create: float = 1.0
    update: float = 1.0
    rollback: float = 1.0
    delete: float = 0.5

    LAUNCH: ClassVar[float] = 0.5
    ACTIVATE: ClassVar[float] = 0.1
    BAKE: ClassVar[float] = 0.4


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
class _Resource:
    name: str
    arn: str
    request: JSON
    creation_time: float
    tags: list[JSON] = field(default_factory=list)
    # Faults.invisible_after_create: how many more requests naming it do not find it, and whose.
    hidden: int = 0
    hidden_from: str | None = None


class _Model(_Resource):
    pass


class _Config(_Resource):
    pass


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
    # Fleets launched so far: each new fleet (or rolling batch) runs on new instance ids.
    fleets: int = 0
    # Faults.lag_reads: what DescribeEndpoint keeps answering (None: "Could not find endpoint"), and until when.
    stale: tuple[JSON | None, float] | None = None


@dataclass
class _Region:
    models: dict[str, _Model] = field(default_factory=dict)
    configs: dict[str, _Config] = field(default_factory=dict)
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)


@dataclass(frozen=True)
class _Target:
    """One variant of the fleet an update (or a create) brings up."""

    spec: JSON  # the config's ProductionVariant
    count: int
    weight: float


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


def _status(status: str, at: float, message: str | None = None) -> JSON:
    entry: JSON = {"Status": status, "StartTime": at}
    if message:
        entry["StatusMessage"] = message
    return entry


class SageMakerBackend:
    def __init__(self, account_id: str, timings: Timings, behaviour: Behaviour | None = None) -> None:
        self.account_id = account_id
        self.timings = timings
        self.behaviour = behaviour or Behaviour()
        check(self.behaviour)
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

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

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
            answer = handler(region, params, now)
        # Faults.extra_member: what a newer SageMaker would also return.
        return {**answer, **copy.deepcopy(self.faults.extra_members(operation))}

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

    # Faults that act on existing endpoints (the EndpointControl protocol)

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
                "ProductionVariants": [
                    {
                        **{k: v for k, v in variant.items() if k not in ("CurrentInstanceCount", "CurrentWeight")},
                        "CurrentInstanceCount": 0,
                        "VariantStatus": [
                            _status("Creating", now, f"Launching {variant.get('DesiredInstanceCount', 0)} instance(s).")
                        ],
                    }
                    for variant in endpoint.variants
                ],
                "StartTime": now,
            }

            def done(at: float) -> None:
                endpoint.status = "InService"
                endpoint.pending = None
                endpoint.last_modified = at

            endpoint.steps.append((now + seconds, done))

    def scale_to_zero(self, name: str, region: str | None) -> None:
        with self._lock:
            self._advance(time.time())
            endpoint = self._find_endpoint(name, region)
            for variant in endpoint.variants:
                variant["CurrentInstanceCount"] = 0
                variant["DesiredInstanceCount"] = 0
                if self.behaviour.deployed_images_at_zero == "empty":
                    variant["DeployedImages"] = []

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
            if endpoint.stale is not None:
                endpoint.stale = (endpoint.stale[0], endpoint.stale[1] + held)
            endpoint.held_since = None
            self._advance(now)

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

    def _targets(
        self, config: _Config, counts: dict[str, int] | None = None, weights: dict[str, float] | None = None
    ) -> list[_Target]:
        targets = []
        for pv in config.request["ProductionVariants"]:
            name = pv["VariantName"]
            count = int(pv.get("InitialInstanceCount", 0 if "ServerlessConfig" in pv else 1))
            weight = float(pv.get("InitialVariantWeight", 1.0))
            if counts is not None and name in counts:
                count = counts[name]
            if weights is not None and name in weights:
                weight = weights[name]
            targets.append(_Target(pv, count, weight))
        return targets

    def _images(self, region: str, spec: JSON, count: int, at: float) -> list[JSON]:
        model = self._region(region).models.get(_key(spec.get("ModelName", "")))
        if model is None or (count == 0 and self.behaviour.deployed_images_at_zero == "empty"):
            return []
        return [self._resolve(i, at) for i in _images_of(model.request)]

    def _summary(
        self,
        region: str,
        target: _Target,
        at: float,
        *,
        current: int | None = None,
        statuses: list[JSON] | None = None,
        pending: bool = False,
    ) -> JSON:
        """A ProductionVariantSummary (or PendingProductionVariantSummary) of ``target`` with ``current``
        instances running (all of them by default)."""
        spec = target.spec
        running = target.count if current is None else current
        summary: JSON = {
            "VariantName": spec["VariantName"],
            "DeployedImages": self._images(region, spec, target.count if pending else running, at),
        }
        summary["CurrentWeight"] = target.weight
        summary["DesiredWeight"] = target.weight
        if "ServerlessConfig" in spec:
            summary["CurrentServerlessConfig"] = copy.deepcopy(spec["ServerlessConfig"])
            summary["DesiredServerlessConfig"] = copy.deepcopy(spec["ServerlessConfig"])
        else:
            summary["CurrentInstanceCount"] = running
            summary["DesiredInstanceCount"] = target.count
        summary.update(
            _shapes.carried_variant_members(
                spec, "PendingProductionVariantSummary" if pending else "ProductionVariantSummary"
            )
        )
        pools = _shapes.instance_pools(spec, running)
        if pools is not None:
            summary["InstancePools"] = pools
        if statuses:
            summary["VariantStatus"] = statuses
        return summary

    def _write_fleet_logs(
        self, endpoint: _Endpoint, targets: list[tuple[_Target, int]], at: float, lines: tuple[str, ...] = ()
    ) -> None:
        """A new fleet's instances start: their streams get the start-up lines (and ``lines``)."""
        endpoint.fleets += 1
        streams = [
            f"{target.spec['VariantName']}/{instance}"
            for target, count in targets
            for instance in _logs.instance_ids(endpoint.arn, target.spec["VariantName"], endpoint.fleets, count)
        ]
        _logs.write_fleet(self.account_id, endpoint.region, endpoint.name, streams, at, lines)

    # Models

    def _create_model(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "model", p["ModelName"])
        if _key(p["ModelName"]) in state.models:
            raise _validation(f'Cannot create already existing model "{arn}".')
        request = {k: v for k, v in p.items() if k != "Tags"}
        model = _Model(p["ModelName"], arn, request, now, list(p.get("Tags", [])))
        self._maybe_hide(model)
        state.models[_key(p["ModelName"])] = model
        return {"ModelArn": arn}

    def _maybe_hide(self, resource: _Resource) -> None:
        invisibility = self.faults.invisibility()
        if invisibility is not None:
            resource.hidden = invisibility.requests
            resource.hidden_from = invisibility.endpoint_name

    @staticmethod
    def _hidden(resource: _Resource, endpoint_name: str | None) -> bool:
        """Read-after-create: a resource created a moment ago may not be found yet (CreateEndpoint API reference:
        "If the dependent entities are not yet in DynamoDB, this causes a validation error")."""
        if resource.hidden <= 0:
            return False
        if resource.hidden_from is not None and resource.hidden_from != endpoint_name:
            return False
        resource.hidden -= 1
        return True

    def _model(self, region: str, name: str, endpoint_name: str | None = None) -> _Model:
        model = self._region(region).models.get(_key(name))
        if model is None or self._hidden(model, endpoint_name):
            raise _validation(f'Could not find model "{self._arn(region, "model", name)}".')
        return model

    def _describe_model(self, region: str, p: JSON, now: float) -> JSON:
        model = self._model(region, p["ModelName"])
        return {
            **copy.deepcopy(model.request),
            "CreationTime": model.creation_time,
            "ModelArn": model.arn,
            # A real DescribeModel answers this read-only member CreateModel does not take
            # (sagemaker-python-sdk tests/integ/test_sagemaker_config.py expects it).
            "DeploymentRecommendation": {"RecommendationStatus": "NOT_APPLICABLE"},
        }

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
        for pv in [*p["ProductionVariants"], *p.get("ShadowProductionVariants", [])]:
            if "ModelName" in pv:
                self._model(region, pv["ModelName"])
        request = {k: v for k, v in p.items() if k != "Tags"}
        # DescribeEndpointConfig of a real config answers "EnableNetworkIsolation": False when the request did
        # not set it (sagemaker-python-sdk tests/integ/test_sagemaker_config.py, expected_endpoint_config_1).
        request.setdefault("EnableNetworkIsolation", False)
        config = _Config(p["EndpointConfigName"], arn, request, now, list(p.get("Tags", [])))
        self._maybe_hide(config)
        state.configs[_key(config.name)] = config
        return {"EndpointConfigArn": arn}

    def _config(self, region: str, name: str, endpoint_name: str | None = None) -> _Config:
        config = self._region(region).configs.get(_key(name))
        if config is None or self._hidden(config, endpoint_name):
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
        # AWS allows deleting a config that an endpoint still serves; the endpoint keeps running on it
        # (DeleteEndpointConfig API reference: "you may lose visibility into the instance type the endpoint is
        # using"), and every later UpdateEndpoint of that endpoint is refused (see _update_endpoint).
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

    def _quota_refusal(self, region: str, targets: list[_Target], delta_of: Callable[[_Target], int]) -> ApiError:
        """ResourceLimitExceeded for the first instance type the request needs more of: the account's limit is
        what its endpoints use already."""
        target = next((t for t in targets if t.count > 0 and "InstanceType" in t.spec), targets[0])
        instance_type = str(target.spec.get("InstanceType", "ml.m5.large"))
        used = 0
        for endpoint in self._region(region).endpoints.values():
            types = {pv["VariantName"]: pv.get("InstanceType") for pv in endpoint.config.request["ProductionVariants"]}
            used += sum(
                int(v.get("CurrentInstanceCount", 0))
                for v in endpoint.variants
                if types.get(v["VariantName"]) == instance_type
            )
        return ApiError(
            "ResourceLimitExceeded",
            _QUOTA.format(instance_type=instance_type, limit=used, used=used, delta=delta_of(target)),
        )

    def _create_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "endpoint", p["EndpointName"])
        if _key(p["EndpointName"]) in state.endpoints:
            raise _validation(f'Cannot create already existing endpoint "{arn}".')
        config = copy.deepcopy(self._config(region, p["EndpointConfigName"], p["EndpointName"]))
        targets = self._targets(config)
        deployment = p.get("DeploymentConfig")
        if self.behaviour.enforce_deployment_limits:
            # The policy's shape only: the sizes are checked against the fleet when an update uses them.
            message = _deployment.limits_message(deployment, {})
            if message is not None:
                raise _validation(message)
        quota = self.faults.take_quota("create", p["EndpointName"])
        if quota is not None:
            raise (
                quota_error(quota.message) if quota.message else self._quota_refusal(region, targets, lambda t: t.count)
            )
        endpoint = _Endpoint(
            name=p["EndpointName"],
            arn=arn,
            region=region,
            config=config,
            status="Creating",
            creation_time=now,
            last_modified=now,
            tags=list(p.get("Tags", [])),
            # "you can optionally specify a deployment configuration to reuse for future endpoint updates … There
            # are no changes to the CreateEndpoint API behavior" (deployment-guardrails-blue-green-all-at-once.md);
            # RetainDeploymentConfig on a later update keeps it.
            last_deployment_config=copy.deepcopy(deployment),
        )
        lag = self.faults.take_lag(endpoint.name)
        if lag is not None:
            endpoint.stale = (None, now + lag.seconds)

        def launching(target: _Target) -> list[JSON]:
            return [_status("Creating", now, f"Launching {target.count} instance(s).")]

        if self.behaviour.variants_while_creating == "listed":
            endpoint.variants = [
                {**self._summary(region, t, now, current=0, statuses=launching(t)), "DeployedImages": []}
                for t in targets
            ]
        # PendingDeploymentSummary "is only returned when the endpoint is creating or updating with a new endpoint
        # configuration" (DescribeEndpoint API reference): a create shows one too.
        endpoint.pending = {
            "EndpointConfigName": config.name,
            "ProductionVariants": [
                self._summary(region, t, now, current=0, statuses=launching(t), pending=True) for t in targets
            ],
            "StartTime": now,
        }
        self._write_fleet_logs(endpoint, [(t, t.count) for t in targets], now)
        fault = self.faults.take_create_fault(endpoint.name)

        def done(at: float) -> None:
            endpoint.last_modified = at
            endpoint.pending = None
            if fault is not None:
                endpoint.status = "Failed"
                endpoint.failure_reason = fault.reason
                endpoint.variants = []
            else:
                endpoint.status = "InService"
                endpoint.variants = [self._summary(region, t, now) for t in targets]

        endpoint.steps.append((now + self.timings.create, done))
        state.endpoints[_key(endpoint.name)] = endpoint
        return {"EndpointArn": arn}

    def _describe_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        e = self._endpoint(region, p["EndpointName"])
        if e.stale is not None and (e.held_since is not None or now < e.stale[1]):
            # Faults.lag_reads: eventual consistency. "When you read data from a DynamoDB table supporting
            # Eventually Consistent Reads, the response might not reflect the results of a recently completed
            # write operation" (CreateEndpoint API reference); mlflow's deployer waits 20 s after UpdateEndpoint
            # before its first DescribeEndpoint for that reason.
            if e.stale[0] is None:
                raise _validation(f'Could not find endpoint "{e.arn}".')
            return copy.deepcopy(e.stale[0])
        return self._description(e)

    def _description(self, e: _Endpoint) -> JSON:
        out: JSON = {
            "EndpointName": e.name,
            "EndpointArn": e.arn,
            "EndpointConfigName": e.config.name,
        }
        if e.variants:
            out["ProductionVariants"] = copy.deepcopy(e.variants)
        capture = _shapes.data_capture_summary(e.config.request)
        if capture is not None:
            out["DataCaptureConfig"] = capture
        out["EndpointStatus"] = e.status
        if e.failure_reason:
            out["FailureReason"] = e.failure_reason
        out["CreationTime"] = e.creation_time
        out["LastModifiedTime"] = e.last_modified
        if e.last_deployment_config is not None:
            out["LastDeploymentConfig"] = copy.deepcopy(e.last_deployment_config)
        out.update(_shapes.carried_endpoint_members(e.config.request))
        if e.pending is not None:
            out["PendingDeploymentSummary"] = copy.deepcopy(e.pending)
        shadows = e.config.request.get("ShadowProductionVariants")
        if shadows and e.status not in ("Creating", "Failed"):
            out["ShadowProductionVariants"] = [
                self._summary(
                    e.region,
                    _Target(pv, int(pv.get("InitialInstanceCount", 1)), float(pv.get("InitialVariantWeight", 1.0))),
                    e.creation_time,
                )
                for pv in shadows
            ]
        return out

    def _update_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        endpoint = self._endpoint(region, p["EndpointName"])
        if endpoint.status in _IN_PROGRESS:
            raise _validation(_IN_PROGRESS_UPDATE.format(arn=endpoint.arn))
        if endpoint.status == "Failed":
            raise _validation(_FAILED_UPDATE.format(arn=endpoint.arn))
        new = copy.deepcopy(self._config(region, p["EndpointConfigName"], endpoint.name))
        self._check_current_config(region, endpoint)
        had_async = "AsyncInferenceConfig" in endpoint.config.request
        # The emulator's wording: an async endpoint stays async (CreateEndpointConfig: AsyncInferenceConfig
        # "Specifies configuration for how an endpoint performs asynchronous inference"; no switch is offered).
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

        # RetainAllVariantProperties keeps the variant properties "such as the instance count or the variant
        # weight"; ExcludeRetainedVariantProperties DesiredInstanceCount / DesiredWeight "Overrides the existing
        # variant instance counts [weights] using the InitialInstanceCount [InitialVariantWeight] values" of the
        # new config; DataCaptureConfig is "(Not currently supported.)" (botocore model, VariantProperty). What is
        # retained is the Desired value, as the property type names it.
        excluded = {v.get("VariantPropertyType") for v in p.get("ExcludeRetainedVariantProperties", [])}
        counts = weights = None
        if p.get("RetainAllVariantProperties"):
            if "DesiredInstanceCount" not in excluded:
                counts = {v["VariantName"]: int(v.get("DesiredInstanceCount", 0)) for v in endpoint.variants}
            if "DesiredWeight" not in excluded:
                weights = {v["VariantName"]: float(v.get("DesiredWeight", 1.0)) for v in endpoint.variants}
        targets = self._targets(new, counts, weights)

        deployment = p.get("DeploymentConfig")
        if deployment is None and p.get("RetainDeploymentConfig"):
            deployment = endpoint.last_deployment_config
        if self.behaviour.enforce_deployment_limits:
            message = _deployment.limits_message(deployment, {t.spec["VariantName"]: t.count for t in targets})
            if message is not None:
                raise _validation(message)
        guardrails = not any(str(t.spec.get("InstanceType", "")).startswith("ml.inf1.") for t in targets)
        plan = _deployment.strategy(deployment, guardrails_supported=guardrails)

        quota = self.faults.take_quota("update", endpoint.name)
        if quota is not None:
            if quota.message:
                raise quota_error(quota.message)
            # Blue/green brings up a whole second fleet; a rolling update one batch at a time.
            raise self._quota_refusal(
                region,
                targets,
                lambda t: plan.steps(t.count, deployment)[0].added if plan.kind == "rolling" else t.count,
            )

        lag = self.faults.take_lag(endpoint.name)
        if lag is not None:
            endpoint.stale = (self._description(endpoint), now + lag.seconds)
        if not p.get("RetainDeploymentConfig"):
            endpoint.last_deployment_config = copy.deepcopy(p.get("DeploymentConfig"))
        endpoint.status = "Updating"
        endpoint.failure_reason = None
        endpoint.last_modified = now
        _Rollout(
            self, endpoint, new, targets, plan, deployment, now, self.faults.take_update_fault(endpoint.name)
        ).schedule()
        if self.faults.take_hold_next_update(endpoint.name):
            endpoint.held_since = now
        return {"EndpointArn": endpoint.arn}

    def _check_current_config(self, region: str, endpoint: _Endpoint) -> None:
        """UpdateEndpoint of an endpoint whose serving config was deleted fails at once with
        'Could not find endpoint configuration "<old config arn>".' (terraform-provider-aws #48997: "operation
        error SageMaker: UpdateEndpoint, https response error StatusCode: 400 … ValidationException: Could not find
        endpoint configuration"; #40048; the provider's acceptance test
        TestAccSageMakerEndpoint_changeEndpointConfig_namePrefix_noCreateBeforeDestroy expects exactly that)."""
        current = self._region(region).configs.get(_key(endpoint.config.name))
        recreated = current is not None and current.creation_time != endpoint.config.creation_time
        if current is None or (recreated and not self.behaviour.recreated_config_accepted):
            raise _validation(f'Could not find endpoint configuration "{endpoint.config.arn}".')

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
        if endpoint.status in _IN_PROGRESS and self.behaviour.delete_in_progress == "refuse":
            # DeleteEndpoint during Creating answers 'Cannot update in-progress endpoint' (a stubbed DeleteEndpoint
            # error in a public SageMaker hosting test; public experiment logs).
            raise _validation(_IN_PROGRESS_UPDATE.format(arn=endpoint.arn))
        endpoint.status = "Deleting"
        endpoint.last_modified = now
        endpoint.pending = None
        endpoint.steps.clear()
        endpoint.held_since = None

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
        resources: list[_Resource | _Endpoint] = [
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


def quota_error(message: str) -> ApiError:
    return ApiError("ResourceLimitExceeded", message)


class _Rollout:
    """Schedules one UpdateEndpoint's steps on the endpoint, as the deployment guardrails describe them.

    Blue/green (developer guide, deployment-guardrails-blue-green*.md): SageMaker provisions the whole green fleet,
    then turns traffic on in steps (all at once; canary then the rest; linear steps), each followed by a bake of
    WaitIntervalInSeconds during which the auto-rollback alarms are watched; the blue fleet stays until the end
    (you "are billed for both the fleets for the duration of the update"). Rolling
    (deployment-guardrails-rolling.html): per batch, new capacity, traffic, bake, then the same share of the old
    fleet is cleaned up. An alarm in ALARM at the end of a bake rolls the deployment back ("If any of the alarms trip
    during the baking period, then SageMaker initiates a rollback"; "if your old fleet trips the alarm during the
    deployment, SageMaker terminates your deployment", deployment-guardrails-configuration.md).

    What DescribeEndpoint shows during it follows the "SageMaker Endpoint Deployment State Change" example and
    VariantStatus messages (automating-sagemaker-with-eventbridge.md): the serving variants keep their weights and
    counts; the PendingDeploymentSummary variant shows the instances taking traffic as CurrentInstanceCount against
    DesiredInstanceCount, with the step's VariantStatus and StartTime.
    """

    def __init__(
        self,
        backend: SageMakerBackend,
        endpoint: _Endpoint,
        new: _Config,
        targets: list[_Target],
        plan: _deployment.Strategy,
        deployment: JSON | None,
        now: float,
        fault: UpdateFault | None,
    ) -> None:
        self.backend = backend
        self.endpoint = endpoint
        self.new = new
        self.targets = targets
        self.plan = plan
        self.deployment = deployment
        self.start = now
        self.fault = fault
        self.old_variants = copy.deepcopy(endpoint.variants)
        self.ladders = [plan.steps(t.count, deployment) for t in targets]
        self.step_count = max(len(ladder) for ladder in self.ladders)
        timings = backend.timings
        self.launch = timings.update * timings.LAUNCH
        self.activate = timings.update * (timings.ACTIVATE if plan.wait_seconds else timings.ACTIVATE + timings.BAKE)
        self.bake = timings.update * timings.BAKE if plan.wait_seconds else 0.0
        self.rollback_at = 0
        if fault is not None and fault.kind in ("rollback", "rollback_failed"):
            self.rollback_at = min(fault.at_step, self.step_count)

    # Building blocks

    def _step(self, i: int, target_index: int) -> _deployment.Step:
        ladder = self.ladders[target_index]
        return ladder[min(i, len(ladder) - 1)]

    def _pending(self, at: float, status_of: Callable[[int, _Target], tuple[int, list[JSON]]]) -> None:
        region = self.endpoint.region
        variants = []
        for index, target in enumerate(self.targets):
            current, statuses = status_of(index, target)
            variants.append(self.backend._summary(region, target, at, current=current, statuses=statuses, pending=True))
        self.endpoint.pending = {
            "EndpointConfigName": self.new.name,
            "ProductionVariants": variants,
            "StartTime": self.start,
        }

    def _at(self, when: float, step: Step) -> None:
        self.endpoint.steps.append((when, step))

    def _settle(self, at: float, status: str, reason: str | None, *, variants: list[JSON] | None = None) -> None:
        endpoint = self.endpoint
        endpoint.status = status
        endpoint.failure_reason = reason
        endpoint.pending = None
        endpoint.last_modified = at
        if variants is not None:
            endpoint.variants = variants

    # The schedule

    def schedule(self) -> None:
        if all(t.count == 0 for t in self.targets):
            self._launching(self.start, [(t, 0) for t in self.targets])
            self._at(self.start + self.launch, self._succeed)
            return
        if self.plan.kind == "rolling":
            self._schedule_rolling()
        else:
            self._schedule_blue_green()

    def _launching(self, at: float, batches: list[tuple[_Target, int]], running: list[int] | None = None) -> None:
        """New instances start: VariantStatus Creating "Launching X instance(s).", and their container logs."""
        lines = self.fault.log_lines if self.fault is not None and self.fault.kind == "unhealthy" else ()
        self.backend._write_fleet_logs(self.endpoint, batches, at, lines)
        counts = dict(enumerate(n for _, n in batches))

        def status(index: int, target: _Target) -> tuple[int, list[JSON]]:
            current = running[index] if running is not None else 0
            return current, [_status("Creating", at, f"Launching {counts[index]} instance(s).")]

        self._pending(at, status)

    def _new_fleet_fails(self, at: float) -> bool:
        """A failed or unhealthy new fleet ends the update before traffic moves: the old fleet keeps serving."""
        fault = self.fault
        if fault is None or fault.kind not in ("fail", "unhealthy"):
            return False
        if fault.kind == "fail":
            reason: str | None = fault.reason
            end = fault.end_status
        else:
            variant = self.targets[0].spec["VariantName"]
            reason = _HEALTH_CHECK.format(variant=variant)
            end = "InService"
        if end == "InService" and self.backend.behaviour.failure_reason_after_failed_update == "empty":
            reason = None
        self._at(at, lambda when: self._settle(when, end, reason))
        return True

    def _traffic(self, at: float, i: int) -> float:
        """Step ``i`` (0-based) turns traffic on, then bakes; returns when it ends."""
        wait = self.plan.wait_seconds

        def activating(when: float) -> None:
            for variant in self.endpoint.variants:
                variant.pop("VariantStatus", None)  # a rolling batch's old share has terminated

            def status(index: int, target: _Target) -> tuple[int, list[JSON]]:
                step = self._step(i, index)
                # Documented: "Activating traffic on canary capacity of X instance(s)."; the full-capacity
                # wording is the Baking message's ("… on full capacity of Y instance(s)."); steps in between have
                # no documented message.
                message = (
                    f"Activating traffic on {step.capacity} capacity of {step.instances} instance(s)."
                    if step.capacity
                    else None
                )
                return step.instances, [_status("ActivatingTraffic", when, message)]

            self._pending(when, status)

        def baking(when: float) -> None:
            def status(index: int, target: _Target) -> tuple[int, list[JSON]]:
                step = self._step(i, index)
                message = (
                    f"Baking for {wait} seconds (TerminationWaitInSeconds) with traffic enabled on "
                    f"{step.capacity} capacity of {step.instances} instance(s)."
                    if step.capacity
                    else None
                )
                return step.instances, [_status("Baking", when, message)]

            self._pending(when, status)

        self._at(at, activating)
        end = at + self.activate
        if self.bake:
            self._at(end, baking)
            end += self.bake
        if self.rollback_at == i + 1 and self.fault is not None and self.fault.alarm:
            alarm, reason = self.fault.alarm, self.fault.reason
            self._at((at + end) / 2, lambda when: self._trip_alarm(alarm, reason, when))
        self._at(end, lambda when: self._checkpoint(when, i))
        return end

    def _trip_alarm(self, name: str, reason: str, at: float) -> None:
        account, region = self.backend.account_id, self.endpoint.region
        _cloudwatch.set_state(
            account, region, name, "ALARM", reason or _threshold_reason(account, region, name, at), at
        )

    def _alarms_in_alarm(self, at: float) -> list[str]:
        found = _cloudwatch.states(self.backend.account_id, self.endpoint.region, self.plan.alarms)
        return [name for name, (state, since) in found.items() if state == "ALARM" and since <= at]

    def _checkpoint(self, at: float, i: int) -> None:
        """The end of step ``i``'s bake: roll back if an alarm is in ALARM (or the fault says so)."""
        fired = self._alarms_in_alarm(at)
        if self.rollback_at != i + 1 and not fired:
            return
        self.endpoint.steps.clear()
        self._roll_back(at, i, fired)

    def _roll_back(self, at: float, i: int, fired: list[str]) -> None:
        endpoint = self.endpoint
        fault = self.fault
        failed = fault is not None and fault.kind == "rollback_failed" and self.rollback_at == i + 1
        self._settle(at, "RollingBack", None)
        for variant in endpoint.variants:
            variant.pop("VariantStatus", None)
        duration = self.backend.timings.rollback
        moved = 0
        if self.plan.kind == "rolling":
            # Old capacity cleaned up so far comes back in batches of RollbackMaximumBatchSize (all at once by
            # default, RollingUpdatePolicy doc).
            moved = self._step(i - 1, 0).instances if i > 0 else 0
            batch = _deployment.rollback_batch(self.deployment, self.targets[0].count)
            duration *= max(1, math.ceil(moved / batch))
        reason: str | None = None
        if failed:
            assert fault is not None
            reason = fault.reason
        elif self.backend.behaviour.failure_reason_after_alarm_rollback == "set":
            names = ", ".join(fired or ([fault.alarm] if fault is not None and fault.alarm else [])) or "an alarm"
            reason = f"Deployment rolled back: auto-rollback alarm {names} is in ALARM state."

        if failed and self.plan.kind == "rolling":
            # UpdateRollbackFailed: "Your endpoint is in service with a mix of the old and new endpoint
            # configurations" (DescribeEndpoint EndpointStatus doc).
            mix = self._mix(at, i)
            endpoint.steps.append(
                (at + duration, lambda when: self._settle(when, "UpdateRollbackFailed", reason, variants=mix))
            )
            return
        status = "UpdateRollbackFailed" if failed else "InService"
        restored = copy.deepcopy(self.old_variants)
        endpoint.steps.append((at + duration, lambda when: self._settle(when, status, reason, variants=restored)))

    def _mix(self, at: float, i: int) -> list[JSON]:
        region = self.endpoint.region
        mixed = []
        for index, old in enumerate(copy.deepcopy(self.old_variants)):
            target = self.targets[min(index, len(self.targets) - 1)]
            new_running = self._step(i, index).instances
            cleaned = self._step(i - 1, index).instances if i > 0 else 0
            old_running = max(int(old.get("CurrentInstanceCount", 0)) - cleaned, 0)
            old["DeployedImages"] = old.get("DeployedImages", []) + self.backend._images(
                region, target.spec, new_running, at
            )
            old["CurrentInstanceCount"] = old_running + new_running
            mixed.append(old)
        return mixed

    def _succeed(self, at: float) -> None:
        region = self.endpoint.region
        self.endpoint.config = self.new
        self._settle(
            at, "InService", None, variants=[self.backend._summary(region, t, self.start) for t in self.targets]
        )

    def _schedule_blue_green(self) -> None:
        self._launching(self.start, [(t, t.count) for t in self.targets])
        t = self.start + self.launch
        if self._new_fleet_fails(t):
            return
        for i in range(self.step_count):
            t = self._traffic(t, i)
        self._at(t, self._succeed)

    def _schedule_rolling(self) -> None:
        t = self.start
        for i in range(self.step_count):
            batch_start = t
            running = [self._step(i - 1, index).instances if i else 0 for index in range(len(self.targets))]
            batches = [(target, self._step(i, index).added) for index, target in enumerate(self.targets)]
            if i == 0:
                self._launching(batch_start, batches, running)
            else:
                self._at(batch_start, functools.partial(self._next_batch, batches=batches, running=running, i=i))
            t = batch_start + self.launch
            if i == 0 and self._new_fleet_fails(t):
                return
            t = self._traffic(t, i)
        self._at(t, self._succeed)

    def _next_batch(self, at: float, batches: list[tuple[_Target, int]], running: list[int], i: int) -> None:
        """The previous batch baked: that much of the old fleet terminates ("Terminating X instance(s).") while
        the next batch launches."""
        for index, variant in enumerate(self.endpoint.variants):
            cleaned = self._step(i - 1, index).instances
            old_total = (
                int(self.old_variants[index].get("CurrentInstanceCount", 0)) if index < len(self.old_variants) else 0
            )
            variant["CurrentInstanceCount"] = max(old_total - cleaned, 0)
            variant["VariantStatus"] = [
                _status("Deleting", at, f"Terminating {self._step(i - 1, index).added} instance(s).")
            ]
        self._launching(at, batches, running)


def _threshold_reason(account: str, region: str, name: str, at: float) -> str:
    alarm = cloudwatch_backends[account][region].alarms.get(name)
    threshold = float(getattr(alarm, "threshold", 1.0) or 0.0)
    words, delta = _COMPARISON_WORDS.get(getattr(alarm, "comparison_operator", ""), ("greater than", 1.0))
    stamp = time.strftime("%d/%m/%y %H:%M:00", time.gmtime(at))
    return (
        f"Threshold Crossed: 1 out of the last 1 datapoints [{threshold + delta} ({stamp})] was {words} the "
        f"threshold ({threshold}) (minimum 1 datapoint for OK -> ALARM transition)."
    )


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

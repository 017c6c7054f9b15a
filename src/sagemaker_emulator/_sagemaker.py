"""SageMaker's model / endpoint-config / endpoint API with the endpoint lifecycle in wall-clock time.

Transitions are scheduled as (deadline, step) pairs on each endpoint and applied lazily whenever a request
arrives, so the emulator needs no background thread and every timestamp is the scheduled one. Each behaviour
cites its source where it is built.
"""

from __future__ import annotations

import base64
import bisect
import copy
import operator
import threading
import time
from collections.abc import Callable

from moto.applicationautoscaling.models import applicationautoscaling_backends

from . import _deployment, _shapes
from ._behaviour import Behaviour, check
from ._faults import Faults
from ._fleets import Fleets
from ._invocations import ANSWER_DELAY, Invocations, Queued, answer_of, full_traffic_on_new_fleet, new_inference_id
from ._invocations import split_s3 as _split_s3
from ._packages import ApiRefusal, ModelPackages, containers
from ._rollout import Rollout
from ._state import JSON, Config, Endpoint, Model, Region, Resource, Target, Timings, key, variant_status
from ._validation import operation_names, validation_message

__all__ = ["ApiError", "SageMakerBackend", "Timings"]


_SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# Statuses during which SageMaker is already working on the endpoint: the transitional ones of DescribeEndpoint's
# EndpointStatus list. "SystemUpdating: Endpoint is undergoing maintenance and cannot be updated or deleted or
# re-scaled until it has completed" (DescribeEndpoint API reference, EndpointStatus).
_IN_PROGRESS = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
# "DeleteEndpoint is the only operation that can be performed on a failed endpoint" (DescribeEndpoint
# EndpointStatus doc); scripts match this wording when UpdateEndpoint refuses one.
_FAILED_UPDATE = 'Cannot update failed endpoint "{arn}".'
# ValidationException with this wording for a call on an endpoint in progress: aws/amazon-sagemaker-operator-for-k8s
# matches it by prefix (controllers/sdkutil/clientwrapper/sagemaker_client.go, DeleteEndpointInProgressMessagePrefix
# "Cannot update in-progress endpoint", code ValidationException); deploy scripts published for UpdateEndpoint wait
# out an Updating endpoint because UpdateEndpoint answers the same (one says it is "robust against 'Cannot update
# in-progress endpoint'").
_IN_PROGRESS_UPDATE = 'Cannot update in-progress endpoint "{arn}".'
# ResourceLimitExceeded wording since 2023 (aws-samples/aws-genai-llm-chatbot #244 and later public logs).
_QUOTA = (
    "The account-level service limit '{instance_type} for endpoint usage' is {limit} Instances, with current "
    "utilization of {used} Instances and a request delta of {delta} Instances. Please use AWS Service Quotas to "
    "request an increase for this quota. If AWS Service Quotas is not available, contact AWS support to request "
    "an increase for this quota."
)


class ApiError(Exception):
    """An error answered in the AWS JSON 1.1 shape."""

    def __init__(self, error_type: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status = status


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


class SageMakerBackend:
    def __init__(self, account_id: str, timings: Timings, behaviour: Behaviour | None = None) -> None:
        self.account_id = account_id
        self.timings = timings
        self.behaviour = behaviour or Behaviour()
        check(self.behaviour)
        self.faults = Faults(control=self)
        self._lock = threading.RLock()
        self._regions: dict[str, Region] = {}
        self._fleets = Fleets(account_id, self.behaviour, self._regions)
        self._packages = ModelPackages(account_id, self._arn)
        self._invocations = Invocations(account_id)
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
            "CreateModelPackageGroup": self._registry(self._packages.create_group),
            "DescribeModelPackageGroup": self._registry(self._packages.describe_group),
            "CreateModelPackage": self._registry(self._packages.create),
            "DescribeModelPackage": self._registry(self._packages.describe),
            "UpdateModelPackage": self._registry(self._packages.update),
            "ListModelPackages": self._list_model_packages,
        }

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

    # Entry points

    def reset(self) -> None:
        with self._lock:
            self._regions.clear()
        self.faults.clear()
        self._invocations.clear()

    def handle(self, operation: str, region: str, params: JSON) -> JSON:
        """Answer one request; raises ApiError for anything the service would refuse."""
        rejected = self.faults.take_rejected()
        if rejected == "InvalidClientTokenId":
            # The SageMaker API reference's Common Errors: HTTP 403, this wording.
            raise ApiError(
                "InvalidClientTokenId",
                "The X.509 certificate or AWS access key ID provided does not exist in our records.",
                403,
            )
        if rejected is not None:
            # What SageMaker's JSON protocol answers a key AWS does not know (aws/amazon-sagemaker-operator-for-k8s
            # #99: "UnrecognizedClientException: The security token included in the request is invalid. status
            # code: 400").
            raise ApiError(rejected, "The security token included in the request is invalid.")
        if self.faults.take_expired():
            # A JSON-protocol service's answer to an expired session token: code ExpiredTokenException, this
            # wording (cloud-custodian/cloud-custodian #9216: "An error occurred (ExpiredTokenException) when
            # calling the GetFunction operation: The security token included in the request is expired";
            # autogluon/autogluon-cloud #133, the same sentence from SageMaker calls made with wait=True).
            raise ApiError("ExpiredTokenException", "The security token included in the request is expired")
        if self.faults.is_denied(operation):
            # IAM's wording for an action no policy allows, as SageMaker answers it (aws-controllers-k8s/community
            # #1889: "AccessDeniedException: User: arn:aws:sts::…:assumed-role/… is not authorized to perform:
            # sagemaker:UpdateEndpoint on resource: … because no identity-based policy allows the
            # sagemaker:UpdateEndpoint action … status code: 400").
            raise ApiError(
                "AccessDeniedException",
                f"User: arn:aws:sts::{self.account_id}:assumed-role/deploy/github-actions is not authorized to "
                f"perform: sagemaker:{operation} on resource: {self._resource_arn(region, params)} because no "
                f"identity-based policy allows the sagemaker:{operation} action",
            )
        if self.faults.take_throttle():
            # SageMaker's throttling answer: "An error occurred (ThrottlingException) when calling the
            # DescribeProcessingJob operation (reached max retries: 4): Rate exceeded" (datahub-project/datahub
            # #6357; aws/sagemaker-python-sdk #645 and #2293 for CreateTrainingJob and Search), HTTP 400, which
            # botocore's standard retry mode retries as a throttling error.
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
        self._invocations.land(time.time())

    def invoke_async(self, region: str, endpoint_name: str, body: bytes) -> tuple[str, str, str]:
        """InvokeEndpointAsync (see _invocations): queues the answer of the fleet that serves now; returns the
        inference id, OutputLocation and FailureLocation ("" without an S3FailurePath)."""
        with self._lock:
            now = time.time()
            self._advance(now)
            endpoint = self._region(region).endpoints.get(key(endpoint_name))
            if endpoint is None:
                raise ApiError("ValidationError", f"Endpoint {endpoint_name} of account {self.account_id} not found.")
            config = endpoint.config
            if endpoint.pending is not None and full_traffic_on_new_fleet(endpoint.pending):
                pending_name = str(endpoint.pending.get("EndpointConfigName", ""))
                config = self._region(region).configs.get(key(pending_name), config)
            output = config.request.get("AsyncInferenceConfig", {}).get("OutputConfig", {})
            model_name = str(config.request["ProductionVariants"][0].get("ModelName", ""))
            model = self._region(region).models.get(key(model_name))
            request = model.request if model is not None else {}
            container = request.get("PrimaryContainer") or (request.get("Containers") or [{}])[0]
            image = str(container.get("Image", ""))
        inference_id = new_inference_id()
        kind, answer = answer_of(image, inference_id, body, self.faults.answers_for(image))
        output_bucket, output_key = _split_s3(str(output.get("S3OutputPath", "")), f"{inference_id}.out")
        output_uri = f"s3://{output_bucket}/{output_key}"
        failure_bucket, failure_key = _split_s3(str(output.get("S3FailurePath", "")), f"{inference_id}-error.out")
        # Without an S3FailurePath no failure object is written: failure responses in S3 came with S3FailurePath
        # and FailureLocation (SageMaker Runtime's API change of 2023-04-04, "now allows customers to receive
        # failure model responses in S3"), so the caller sees no answer.
        failure_uri = f"s3://{failure_bucket}/{failure_key}" if failure_bucket else ""
        if kind == "output":
            self._invocations.queue(Queued(now + ANSWER_DELAY, output_bucket, output_key, answer))
        elif kind == "failure" and failure_uri:
            self._invocations.queue(Queued(now + ANSWER_DELAY, failure_bucket, failure_key, answer))
        return inference_id, output_uri, failure_uri

    def _advance(self, now: float) -> None:
        for state in self._regions.values():
            for endpoint in list(state.endpoints.values()):
                if endpoint.held_since is not None:
                    continue
                while endpoint.steps and endpoint.steps[0][0] <= now:
                    deadline, step = endpoint.steps.pop(0)
                    step(deadline)
                if endpoint.deleted:
                    del state.endpoints[key(endpoint.name)]

    def _resource_arn(self, region: str, params: JSON) -> str:
        for member, kind in (
            ("EndpointName", "endpoint"),
            ("EndpointConfigName", "endpoint-config"),
            ("ModelName", "model"),
        ):
            if isinstance(params.get(member), str):
                return self._arn(region, kind, params[member])
        return str(params.get("ResourceArn", "*"))

    def _region(self, region: str) -> Region:
        return self._regions.setdefault(region, Region())

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"

    # Faults that act on existing endpoints (the EndpointControl protocol)

    def _find_endpoint(self, name: str, region: str | None) -> Endpoint:
        regions = [region] if region else list(self._regions)
        for r in regions:
            endpoint = self._regions.get(r, Region()).endpoints.get(key(name))
            if endpoint is not None:
                return endpoint
        raise KeyError(f"no endpoint {name!r} in the emulator")

    def make_busy(self, name: str, seconds: float, region: str | None, held: bool = False) -> None:
        with self._lock:
            now = time.time()
            endpoint = self._leave_in_service(name, region, "Updating", now)
            # Someone else's update of the same config, as SageMaker shows any update: a new fleet launching.
            counts = {v["VariantName"]: int(v.get("DesiredInstanceCount", 0)) for v in endpoint.variants}
            endpoint.pending = {
                "EndpointConfigName": endpoint.config.name,
                "ProductionVariants": [
                    self._fleets.summary(
                        endpoint.region,
                        target,
                        now,
                        current=0,
                        statuses=[variant_status("Creating", now, f"Launching {target.count} instance(s).")],
                        pending=True,
                    )
                    for target in self._targets(endpoint.config, counts)
                ],
                "StartTime": now,
            }

            self._back_in_service(endpoint, now + seconds, now, held)

    def system_update(self, name: str, seconds: float, region: str | None, held: bool = False) -> None:
        with self._lock:
            now = time.time()
            # Maintenance changes no customer-specified value (DescribeEndpoint's SystemUpdating): same config, same
            # fleet, nothing pending. Whether it moves LastModifiedTime is not documented; it does here, as every
            # other status change of the emulator does.
            endpoint = self._leave_in_service(name, region, "SystemUpdating", now)
            self._back_in_service(endpoint, now + seconds, now, held)

    def _leave_in_service(self, name: str, region: str | None, status: str, now: float) -> Endpoint:
        """An InService endpoint put in ``status`` by something other than the action (another run's update, AWS's
        maintenance)."""
        self._advance(now)
        endpoint = self._find_endpoint(name, region)
        if endpoint.status != "InService":
            raise ValueError(f"endpoint {name!r} is {endpoint.status}, not InService")
        endpoint.status = status
        endpoint.last_modified = now
        return endpoint

    @staticmethod
    def _back_in_service(endpoint: Endpoint, at: float, now: float, held: bool) -> None:
        """The endpoint is InService again, with nothing pending, at ``at`` (or when a held one is stepped)."""

        def done(when: float) -> None:
            endpoint.status = "InService"
            endpoint.pending = None
            endpoint.last_modified = when

        endpoint.steps.append((at, done))
        if held and endpoint.held_since is None:
            endpoint.held_since = now

    def step(self, name: str, region: str | None) -> bool:
        with self._lock:
            now = time.time()
            endpoint = self._find_endpoint(name, region)
            if endpoint.held_since is None:
                raise ValueError(f"endpoint {name!r} is not held: hold it before stepping it")
            if not endpoint.steps:
                return False
            # The next phase starts now; everything after it keeps its distance from it.
            shift = now - endpoint.steps[0][0]
            endpoint.steps = [(deadline + shift, step) for deadline, step in endpoint.steps]
            if endpoint.stale is not None:
                endpoint.stale = (endpoint.stale[0], endpoint.stale[1] + shift)
            while endpoint.steps and endpoint.steps[0][0] <= now:
                deadline, step = endpoint.steps.pop(0)
                step(deadline)
            endpoint.held_since = now
            if endpoint.deleted:
                del self._region(endpoint.region).endpoints[key(endpoint.name)]
            return True

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

    # Variants

    def _targets(
        self, config: Config, counts: dict[str, int] | None = None, weights: dict[str, float] | None = None
    ) -> list[Target]:
        targets = []
        for pv in config.request["ProductionVariants"]:
            name = pv["VariantName"]
            count = int(pv.get("InitialInstanceCount", 0 if "ServerlessConfig" in pv else 1))
            weight = float(pv.get("InitialVariantWeight", 1.0))
            if counts is not None and name in counts:
                count = counts[name]
            if weights is not None and name in weights:
                weight = weights[name]
            targets.append(Target(pv, count, weight))
        return targets

    # Models

    def _registry(self, call: Callable[[Region, str, JSON, float], JSON]) -> Callable[[str, JSON, float], JSON]:
        """A Model Registry operation on the region's groups and packages, its refusals as API errors."""

        def handler(region: str, p: JSON, now: float) -> JSON:
            try:
                return call(self._region(region), region, p, now)
            except ApiRefusal as refusal:
                raise ApiError(refusal.error_type, refusal.message) from refusal

        return handler

    def _list_model_packages(self, region: str, p: JSON, now: float) -> JSON:
        items = self._packages.list(self._region(region), region, p, now)
        # ListModelPackages' SortOrder: "The default is Ascending" (its API reference), unlike the List* calls
        # _page was written for, which default to Descending; SortBy defaults to CreationTime.
        page, token = _page(items, {**p, "SortOrder": p.get("SortOrder", "Ascending")}, "ModelPackageName")
        return {"ModelPackageSummaryList": page, **token}

    def _create_model(self, region: str, p: JSON, now: float) -> JSON:
        state = self._region(region)
        arn = self._arn(region, "model", p["ModelName"])
        if key(p["ModelName"]) in state.models:
            # astronomer/astronomer-providers #1055: "ValidationException) when calling the CreateModel operation:
            # Cannot create already existing model "arn:aws:sagemaker:us-east-2:…:model/provider-knn-model"."
            raise _validation(f'Cannot create already existing model "{arn}".')
        request = {k: v for k, v in p.items() if k != "Tags"}
        package_containers: list[JSON] = []
        for container in [p.get("PrimaryContainer") or {}, *(p.get("Containers") or [])]:
            name = container.get("ModelPackageName")
            if name:
                # ContainerDefinition.ModelPackageName: "The name or Amazon Resource Name (ARN) of the model package
                # to use to create the model" (the API reference); the model runs the package's containers.
                package = self._packages.find(state, region, str(name))
                if package is None:
                    raise _validation(f'Could not find model package "{name}".')
                package_containers += containers(package)
        model = Model(p["ModelName"], arn, request, now, list(p.get("Tags", [])), package_containers=package_containers)
        self._maybe_hide(model)
        state.models[key(p["ModelName"])] = model
        return {"ModelArn": arn}

    def _maybe_hide(self, resource: Resource) -> None:
        invisibility = self.faults.invisibility()
        if invisibility is not None:
            resource.hidden = invisibility.requests
            resource.hidden_from = invisibility.endpoint_name

    @staticmethod
    def _hidden(resource: Resource, endpoint_name: str | None) -> bool:
        """Read-after-create: a resource created a moment ago may not be found yet (CreateEndpoint API reference:
        "If the dependent entities are not yet in DynamoDB, this causes a validation error")."""
        if resource.hidden <= 0:
            return False
        if resource.hidden_from is not None and resource.hidden_from != endpoint_name:
            return False
        resource.hidden -= 1
        return True

    def _model(self, region: str, name: str, endpoint_name: str | None = None) -> Model:
        model = self._region(region).models.get(key(name))
        if model is None or self._hidden(model, endpoint_name):
            raise _validation(f'Could not find model "{self._arn(region, "model", name)}".')
        return model

    def _describe_model(self, region: str, p: JSON, now: float) -> JSON:
        model = self._model(region, p["ModelName"])
        request = copy.deepcopy(model.request)
        if model.package_containers and self.behaviour.package_model_description == "with-image":
            # Behaviour.package_model_description: the container as CreateModel was given it, plus what the
            # package's container names (its image and artifact).
            package = model.package_containers[0]
            container = request.get("PrimaryContainer") or (request.get("Containers") or [{}])[0]
            for member in ("Image", "ModelDataUrl"):
                if member in package:
                    container.setdefault(member, package[member])
        return {
            **request,
            "CreationTime": model.creation_time,
            "ModelArn": model.arn,
            # A real DescribeModel answers this read-only member CreateModel does not take
            # (sagemaker-python-sdk tests/integ/test_sagemaker_config.py expects it).
            "DeploymentRecommendation": {"RecommendationStatus": "NOT_APPLICABLE"},
        }

    def _delete_model(self, region: str, p: JSON, now: float) -> JSON:
        model = self._model(region, p["ModelName"])
        del self._region(region).models[key(model.name)]
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
        if key(p["EndpointConfigName"]) in state.configs:
            # awslabs/spot-tagging-bot-for-digital-assets #2: "ValidationException) when calling the
            # CreateEndpointConfig operation: Cannot create already existing endpoint configuration "arn:…"."
            raise _validation(f'Cannot create already existing endpoint configuration "{arn}".')
        for pv in [*p["ProductionVariants"], *p.get("ShadowProductionVariants", [])]:
            if "ModelName" in pv:
                self._model(region, pv["ModelName"])
        request = {k: v for k, v in p.items() if k != "Tags"}
        # DescribeEndpointConfig of a real config answers "EnableNetworkIsolation": False when the request did
        # not set it (sagemaker-python-sdk tests/integ/test_sagemaker_config.py, expected_endpoint_config_1).
        request.setdefault("EnableNetworkIsolation", False)
        config = Config(p["EndpointConfigName"], arn, request, now, list(p.get("Tags", [])))
        self._maybe_hide(config)
        state.configs[key(config.name)] = config
        return {"EndpointConfigArn": arn}

    def _config(self, region: str, name: str, endpoint_name: str | None = None) -> Config:
        config = self._region(region).configs.get(key(name))
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
        del self._region(region).configs[key(config.name)]
        return {}

    def _list_endpoint_configs(self, region: str, p: JSON, now: float) -> JSON:
        items = [
            {"EndpointConfigName": c.name, "EndpointConfigArn": c.arn, "CreationTime": c.creation_time}
            for c in self._region(region).configs.values()
        ]
        page, token = _page(items, p, "EndpointConfigName")
        return {"EndpointConfigs": page, **token}

    # Endpoints

    def _endpoint(self, region: str, name: str) -> Endpoint:
        endpoint = self._region(region).endpoints.get(key(name))
        if endpoint is None:
            raise _validation(f'Could not find endpoint "{self._arn(region, "endpoint", name)}".')
        return endpoint

    def _quota_refusal(self, region: str, targets: list[Target], delta_of: Callable[[Target], int]) -> ApiError:
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
        if key(p["EndpointName"]) in state.endpoints:
            # aws/amazon-sagemaker-examples #2491: "ValidationException) when calling the CreateEndpoint operation:
            # Cannot create already existing endpoint "arn:aws:sagemaker:us-west-2:…:endpoint/mme-sklearn-housing-v1"."
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
        endpoint = Endpoint(
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

        def launching(target: Target) -> list[JSON]:
            return [variant_status("Creating", now, f"Launching {target.count} instance(s).")]

        if self.behaviour.variants_while_creating == "listed":
            endpoint.variants = [
                {**self._fleets.summary(region, t, now, current=0, statuses=launching(t)), "DeployedImages": []}
                for t in targets
            ]
        # PendingDeploymentSummary "is only returned when the endpoint is creating or updating with a new endpoint
        # configuration" (DescribeEndpoint API reference): a create shows one too.
        endpoint.pending = {
            "EndpointConfigName": config.name,
            "ProductionVariants": [
                self._fleets.summary(region, t, now, current=0, statuses=launching(t), pending=True) for t in targets
            ],
            "StartTime": now,
        }
        streams = self._fleets.write_logs(
            endpoint, [(t, t.count) for t in targets], now, asynchronous="AsyncInferenceConfig" in config.request
        )
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
                endpoint.variants = [self._fleets.summary(region, t, now) for t in targets]
                endpoint.serving_streams = streams

        endpoint.steps.append((now + self.timings.create, done))
        if self.faults.take_hold_next("create", endpoint.name):
            endpoint.held_since = now
        state.endpoints[key(endpoint.name)] = endpoint
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

    def _description(self, e: Endpoint) -> JSON:
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
                self._fleets.summary(
                    e.region,
                    Target(pv, int(pv.get("InitialInstanceCount", 1)), float(pv.get("InitialVariantWeight", 1.0))),
                    e.creation_time,
                )
                for pv in shadows
            ]
        return out

    def _update_endpoint(self, region: str, p: JSON, now: float) -> JSON:
        endpoint = self._endpoint(region, p["EndpointName"])
        race = self.faults.take_lost_race(endpoint.name) if endpoint.status == "InService" else None
        if race is not None:
            # Faults.lose_update_races: someone else's UpdateEndpoint landed a moment before this one.
            self.make_busy(endpoint.name, race.seconds, region)
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
        Rollout(
            self._fleets,
            self.timings,
            self.behaviour,
            endpoint,
            new,
            targets,
            plan,
            deployment,
            now,
            self.faults.take_update_fault(endpoint.name),
        ).schedule()
        following = self.faults.take_following_update(endpoint.name)
        if following is not None:
            self._follow(region, endpoint, following.config_name)
        if self.faults.take_hold_next("update", endpoint.name):
            endpoint.held_since = now
        return {"EndpointArn": endpoint.arn}

    def _follow(self, region: str, endpoint: Endpoint, config_name: str) -> None:
        """Faults.update_when_settled: someone else's UpdateEndpoint, the moment this update settles. UpdateEndpoint
        is refused only while the endpoint is in progress ("Cannot update in-progress endpoint") and accepted once it
        is InService again ("When SageMaker receives the request, it sets the endpoint status to Updating. After
        updating the endpoint, it sets the status to InService", UpdateEndpoint API reference)."""

        def someone_else(at: float) -> None:
            try:
                self._update_endpoint(region, {"EndpointName": endpoint.name, "EndpointConfigName": config_name}, at)
            except ApiError:
                return  # refused (the update ended Failed, say): someone else's call changes nothing

        # Due with the update's last step, and run right after it (steps due together keep their order).
        settled = endpoint.steps[-1][0] if endpoint.steps else endpoint.last_modified
        bisect.insort(endpoint.steps, (settled, someone_else), key=operator.itemgetter(0))

    def _check_current_config(self, region: str, endpoint: Endpoint) -> None:
        """UpdateEndpoint of an endpoint whose serving config was deleted fails at once with
        'Could not find endpoint configuration "<old config arn>".' (terraform-provider-aws #48997: "operation
        error SageMaker: UpdateEndpoint, https response error StatusCode: 400 … ValidationException: Could not find
        endpoint configuration"; #40048; the provider's acceptance test
        TestAccSageMakerEndpoint_changeEndpointConfig_namePrefix_noCreateBeforeDestroy expects exactly that)."""
        current = self._region(region).configs.get(key(endpoint.config.name))
        recreated = current is not None and current.creation_time != endpoint.config.creation_time
        if current is None or (recreated and not self.behaviour.recreated_config_accepted):
            raise _validation(f'Could not find endpoint configuration "{endpoint.config.arn}".')

    def _check_autoscaling(self, endpoint: Endpoint, new: Config) -> None:
        """UpdateEndpoint that changes the instance type of a variant registered as a scalable target fails:
        "If the update would change the instance type for any model that is a target for auto scaling, the update
        fails … If you are trying to update the endpoint by calling the UpdateEndpoint API, the call fails"; a
        change of the model alone is allowed (developer guide, "Update endpoints that use auto scaling"). The guide
        quotes no message: the wording below is the emulator's."""
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
        if self.faults.take_hold_next("delete", endpoint.name):
            endpoint.held_since = now
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
        resources: list[Resource | Endpoint] = [
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
        # ListTags' API reference gives MaxResults a minimum of 50 and no default: 50, the smallest page it allows,
        # so a caller that does not follow NextToken misses tags here as it would there.
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
    """Filter, sort and paginate a List* result the way SageMaker does (newest first by default).

    ListEndpoints, ListEndpointConfigs and ListModels: "SortBy … The default is CreationTime", "SortOrder … The
    default is Descending" (their API references). Only ListEndpoints names a default page size ("MaxResults …
    This value defaults to 10"); the other two do not, and get the same 10, so a caller that stops after one
    page misses resources here too."""
    if p.get("NameContains"):
        items = [i for i in items if p["NameContains"].lower() in i[name_key].lower()]
    for member, field_name, keep in (
        ("CreationTimeBefore", "CreationTime", operator.lt),
        ("CreationTimeAfter", "CreationTime", operator.gt),
        ("LastModifiedTimeBefore", "LastModifiedTime", operator.lt),
        ("LastModifiedTimeAfter", "LastModifiedTime", operator.gt),
    ):
        if member in p:
            items = [i for i in items if field_name in i and keep(i[field_name], float(p[member]))]
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


def _scalable_target_exists(account: str, region: str, resource_id: str) -> bool:
    backend = applicationautoscaling_backends[account][region]
    return resource_id in backend.targets.get(_SCALABLE_DIMENSION, {})

"""What a fleet of a variant looks like from outside: its summaries, its images, its container logs."""

from __future__ import annotations

import copy
import hashlib
import re

from moto.ecr.models import ecr_backends

from . import _logs, _shapes
from ._behaviour import Behaviour
from ._state import JSON, Endpoint, Region, Target, key, model_images

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_DIGEST_REFERENCE = re.compile(r"^(?P<repo>[^@]+)@(?P<digest>sha256:[0-9a-f]{64})$")


class Fleets:
    """Builds variant summaries and writes container logs for the backend and its rollouts."""

    def __init__(self, account_id: str, behaviour: Behaviour, regions: dict[str, Region]) -> None:
        self.account_id = account_id
        self.behaviour = behaviour
        self._regions = regions

    def resolve(self, image: str, at: float) -> JSON:
        return {"SpecifiedImage": image, "ResolvedImage": self.resolved_image(image), "ResolutionTime": at}

    def resolved_image(self, image: str) -> str:
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

    def images(self, region: str, spec: JSON, count: int, at: float) -> list[JSON]:
        model = self._regions.setdefault(region, Region()).models.get(key(spec.get("ModelName", "")))
        if model is None or (count == 0 and self.behaviour.deployed_images_at_zero == "empty"):
            return []
        return [self.resolve(i, at) for i in model_images(model)]

    def summary(
        self,
        region: str,
        target: Target,
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
            "DeployedImages": self.images(region, spec, target.count if pending else running, at),
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

    def write_logs(
        self,
        endpoint: Endpoint,
        targets: list[tuple[Target, int]],
        at: float,
        lines: tuple[str, ...] = (),
        *,
        asynchronous: bool = True,
    ) -> list[str]:
        """A new fleet's instances start: their streams get the start-up lines (and ``lines``), and an asynchronous
        endpoint's their data-log streams too, while the serving fleet's streams go on with health checks. Returns
        the new fleet's container streams."""
        _logs.write_pings(self.account_id, endpoint.region, endpoint.name, endpoint.serving_streams, at)
        endpoint.fleets += 1
        streams = [
            f"{target.spec['VariantName']}/{instance}"
            for target, count in targets
            for instance in _logs.instance_ids(endpoint.arn, target.spec["VariantName"], endpoint.fleets, count)
        ]
        _logs.write_fleet(self.account_id, endpoint.region, endpoint.name, streams, at, lines, data_log=asynchronous)
        return streams


def _repository(reference: str) -> str:
    """The image reference without its tag or digest (a registry port stays)."""
    head, _, last = reference.split("@", 1)[0].rpartition("/")
    last = last.split(":", 1)[0]
    return f"{head}/{last}" if head else last


def _ecr_digest(account: str, region: str, repo: str, tag: str) -> str | None:
    try:
        repository = ecr_backends[account][region].repositories.get(repo)
        if repository is None:
            return None
        digest: str = repository._get_image(tag, None).get_image_digest()
    except Exception:  # any miss in moto's store means "not an image we know"
        return None
    return digest

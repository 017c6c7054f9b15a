"""SageMaker Runtime's InvokeEndpointAsync: a request queued to the fleet that serves, answered later in S3.

- The call answers at once (HTTP 202) with InferenceId and the S3 URIs where the answer will land, in the
  headers ``X-Amzn-SageMaker-OutputLocation`` / ``X-Amzn-SageMaker-FailureLocation`` (botocore's sagemaker-runtime
  service model: InvokeEndpointAsyncOutput; "Inference requests sent to this API are enqueued for asynchronous
  processing … The response from this API will not contain the result of the inference request but contain
  information about where you can locate it", InvokeEndpointAsync API reference).
- The request is inline (``Body``, at most 128,000 bytes) or an S3 object (``InputLocation``); one of the two
  (botocore's model).
- The answer lands under the endpoint config's ``S3OutputPath``, or its ``S3FailurePath`` for a failure ("The
  Amazon S3 location to upload failure inference responses to", AsyncInferenceOutputConfig reference). The object
  names, ``<inference id>.out`` and ``<inference id>-error.out``, are the emulator's own: callers read the URIs
  the call returned, never build them.
- A missing endpoint answers ``ValidationError: Endpoint <name> of account <account> not found.`` (the runtime's
  wording in aws/amazon-sagemaker-examples #293 and #559).
- Which fleet answers follows the deployment's traffic: during a blue/green update the old fleet serves until the
  new one takes all the traffic ("SageMaker AI shifts all traffic from the old fleet to the new fleet" at the
  traffic shift, deployment-guardrails-blue-green); a canary or linear step before the last leaves part of the
  traffic on the old fleet, and the emulator sends the request there, the case a smoke test must not trust.

What the model answers is the model's: healthy by default, or as ``AsyncAnswers`` armed for its image says (a
failure object, or never an answer: a container that hangs until InvocationTimeoutSeconds, whose failure the
emulator does not write within any test's patience).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Literal

from moto.s3.models import s3_backends

AsyncAnswer = Literal["output", "failure", "never"]
# How long a healthy model takes to answer, in seconds of wall-clock time (a queued request waits for an
# instance first; the emulator's is short so that tests stay fast).
ANSWER_DELAY = 0.3
_FULL_TRAFFIC = ("ActivatingTraffic", "Baking")


@dataclass(frozen=True)
class AsyncAnswers:
    """How the model whose container image is ``image`` answers asynchronous requests."""

    image: str | None  # None: every model
    answer: AsyncAnswer
    body: str = ""  # the failure object's text, or the output's body ("" : the emulator's own)


@dataclass(frozen=True)
class Queued:
    """One answer due to land in S3."""

    due: float
    bucket: str
    key: str
    body: bytes


@dataclass
class Invocations:
    """Answers waiting to land in S3, written by ``land`` once their time has come."""

    account_id: str
    queued: list[Queued] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, item: Queued) -> None:
        with self.lock:
            self.queued.append(item)

    def clear(self) -> None:
        with self.lock:
            self.queued.clear()

    def land(self, now: float) -> None:
        """Write every answer that is due into moto's S3. A bucket that does not exist takes nothing: the
        model's execution role writes the answer, and S3 refuses a write to a missing bucket."""
        with self.lock:
            due = [q for q in self.queued if q.due <= now]
            self.queued = [q for q in self.queued if q.due > now]
        backend = s3_backends[self.account_id]["aws"]
        for item in due:
            if item.bucket in backend.buckets:
                backend.put_object(item.bucket, item.key, item.body)


def split_s3(path: str, name: str) -> tuple[str, str]:
    """An S3 path (``s3://bucket/prefix``, or https://) and an object name → (bucket, key); ("", "") for none."""
    if not path:
        return "", ""
    bucket, _, prefix = path.split("://", 1)[-1].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/{name}" if prefix else name


def full_traffic_on_new_fleet(pending: dict[str, object] | None) -> bool:
    """Whether an update's new fleet takes all the traffic: it is activating traffic or baking on all of its
    instances (a canary or linear step before the last runs fewer than DesiredInstanceCount)."""
    if not pending:
        return False
    variants = pending.get("ProductionVariants")
    if not isinstance(variants, list) or not variants:
        return False
    for variant in variants:
        statuses = variant.get("VariantStatus") or [{}]
        if statuses[-1].get("Status") not in _FULL_TRAFFIC:
            return False
        if variant.get("CurrentInstanceCount") != variant.get("DesiredInstanceCount"):
            return False
    return True


def answer_of(image: str, inference_id: str, body: bytes, armed: AsyncAnswers | None) -> tuple[AsyncAnswer, bytes]:
    """What the model of ``image`` writes for one request: its kind and the object's bytes."""
    if armed is None:
        healthy = {"inference_id": inference_id, "image": image, "received_bytes": len(body)}
        return "output", json.dumps(healthy).encode()
    if armed.answer == "failure":
        text = armed.body or "ModelError: the model raised an exception while handling the request"
        return "failure", text.encode()
    if armed.answer == "never":
        return "never", b""
    return "output", (armed.body or json.dumps({"inference_id": inference_id, "image": image})).encode()


def new_inference_id() -> str:
    return str(uuid.uuid4())

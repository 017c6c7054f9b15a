"""Artifact identity: what is stored at model-data-url now, so that a re-upload at the same path is a change.

SageMaker downloads the model artifact when an instance starts; the URL alone cannot tell an artifact replaced
in place from the old one (and AWS warns that changing artifacts after deployment "produces unpredictable
results"). The image has the same problem solved by its digest; for S3 the identity is the object's ETag, and
its VersionId where the bucket is versioned (HeadObject). An S3 prefix (a URL ending in ``/``, uncompressed model
data) is identified by its listing: every key with its ETag, up to ``MAX_PREFIX_OBJECTS``, hashed.

The artifact looked at is the model-data-url input, or, when it is empty, the one the next model keeps from the
serving model (its ModelDataUrl, or an uncompressed ModelDataSource prefix). The identity is recorded on each
model the action creates, as the tag ``IDENTITY_TAG``; the planner compares the identity now with the serving
model's tag. A serving model without the tag (made before, or by Terraform) is compared by URL, as before, and
the plan says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws
from .config import ARTIFACT_KEY, TAG_VALUE_MAX
from .errors import InputError, InputProblem
from .log import safe

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

IDENTITY_TAG = ARTIFACT_KEY
MAX_PREFIX_OBJECTS = 1000  # one ListObjectsV2 page: a prefix of more objects is identified by its first 1000
INPUT = "model-data-url"
SHORT = 8  # hex characters of an ETag shown in a plan


@dataclass(frozen=True)
class Identity:
    """What an artifact is now: a tag value (at most 256 characters of what SageMaker tags allow)."""

    value: str  # "etag=<hex>" or "etag=<hex> version=<id>", or "listing=<hex> objects=<n>" for a prefix
    url: str = ""  # where it was read

    @property
    def shown(self) -> str:
        """Short, for a plan: "ETag a1b2c3d4…", "ETag a1b2c3d4… (version 3Lg…)", "listing 0f9e8d7c… (12 objects)"."""
        parts = dict(part.split("=", 1) for part in self.value.split() if "=" in part)
        if "listing" in parts:
            return f"listing {parts['listing'][:SHORT]}… ({parts.get('objects', '?')} objects)"
        text = f"ETag {parts.get('etag', '?')[:SHORT]}…"
        return text + (f" (version {parts['version'][:SHORT]}…)" if parts.get("version") else "")


def identity(s3: S3Client, url: str) -> Identity:
    """The artifact's identity now; an artifact that is not there is the input's problem, said before any write."""
    bucket, _, key = url.removeprefix("s3://").partition("/")
    try:
        if url.endswith("/"):
            return Identity(_listing(s3, bucket, key), url)
        head = aws.head_object(s3, bucket, key)
    except ClientError as error:
        if aws.error_code(error) in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            raise _nothing_stored(url) from error
        raise
    if head is None:
        raise _nothing_stored(url)
    etag = str(head.get("ETag", "")).strip('"')
    return Identity(_object_value(etag, str(head.get("VersionId") or "")), url)


def _object_value(etag: str, version: str) -> str:
    """``etag=<hex>``, with `` version=<id>`` where the bucket is versioned. A VersionId of "null" is an object
    stored while versioning was off: no version to tell apart. S3 allows a VersionId of up to 1,024 bytes (S3 user
    guide, "How S3 Versioning works"), more than a tag value holds: one too long is told by its digest."""
    if not version or version == "null":
        return f"etag={etag}"
    value = f"etag={etag} version={version}"
    if len(value) <= TAG_VALUE_MAX:
        return value
    return f"etag={etag} version=sha256-{hashlib.sha256(version.encode()).hexdigest()[:32]}"


def _nothing_stored(url: str) -> InputError:
    return InputError([InputProblem(INPUT, f"nothing is stored at {safe(url)}; upload the model first")])


def _listing(s3: S3Client, bucket: str, prefix: str) -> str:
    objects = aws.list_objects(s3, bucket, prefix, MAX_PREFIX_OBJECTS)
    if not objects:
        raise InputError(
            [InputProblem(INPUT, f"no object under s3://{safe(bucket)}/{safe(prefix)}; upload the model first")]
        )
    listing = "\n".join(f"{o.get('Key', '')} {str(o.get('ETag', '')).strip(chr(34))}" for o in objects)
    digest = hashlib.sha256(listing.encode()).hexdigest()[:32]
    return f"listing={digest} objects={len(objects)}"


def location(container: Mapping[str, Any]) -> str:
    """Where a model's artifact is: its ModelDataUrl, or the S3 URI of its ModelDataSource (a prefix, ending in
    ``/``, for uncompressed model data: S3DataType S3Prefix); "" for a model without one."""
    if container.get("ModelDataUrl"):
        return str(container["ModelDataUrl"])
    source = (container.get("ModelDataSource") or {}).get("S3DataSource") or {}
    uri = str(source.get("S3Uri") or "")
    if uri and source.get("S3DataType") == "S3Prefix" and not uri.endswith("/"):
        return uri + "/"
    return uri


def basename(url: str) -> str:
    """What a reviewer calls the artifact: its file name, or its prefix's last folder."""
    # equivalent mutant core/NumberReplacer: rsplit("/", 2)[-1] is the same last part as rsplit("/", 1)[-1].
    return url.rstrip("/").rsplit("/", 1)[-1] + ("/" if url.endswith("/") else "")

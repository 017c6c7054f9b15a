"""Artifact identity in process: what is stored at model-data-url now (against the emulator's S3), where a model's
artifact is, and how the plan shows both."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sagemaker_async_deploy import artifacts
from sagemaker_async_deploy.artifacts import Identity
from sagemaker_async_deploy.errors import InputError
from sagemaker_emulator import Emulator

from .conftest import module_clients

NUMBERS = itertools.count(1)


@pytest.fixture
def bucket(emu: Emulator) -> str:
    """A bucket of the test's own."""
    name = f"model-artifacts-{next(NUMBERS)}"
    module_clients().s3.create_bucket(Bucket=name)
    return name


def put(bucket: str, key: str, body: bytes) -> str:
    """Stores ``body``; its ETag without quotes."""
    return str(module_clients().s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]).strip('"')


def identity(url: str) -> Identity:
    return artifacts.identity(module_clients().s3, url)


def refusal(url: str) -> str:
    with pytest.raises(InputError) as raised:
        identity(url)
    [problem] = raised.value.problems
    assert problem.input == "model-data-url"
    return problem.message


def test_an_object_is_identified_by_its_etag(bucket: str) -> None:
    """An object of an unversioned bucket is its ETag; the same bytes again are the same identity, others not."""
    url = f"s3://{bucket}/whisper/model.tar.gz"
    etag = put(bucket, "whisper/model.tar.gz", b"weights v1")
    assert identity(url) == Identity(f"etag={etag}", url)
    put(bucket, "whisper/model.tar.gz", b"weights v1")
    assert identity(url).value == f"etag={etag}"
    put(bucket, "whisper/model.tar.gz", b"weights v2")
    assert identity(url).value != f"etag={etag}"


def test_an_object_of_a_versioned_bucket_is_its_etag_and_version(bucket: str) -> None:
    """Where the bucket keeps versions, the same bytes uploaded again are a new version, so a new identity."""
    module_clients().s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    url = f"s3://{bucket}/model.tar.gz"
    etag = put(bucket, "model.tar.gz", b"weights")
    version = module_clients().s3.head_object(Bucket=bucket, Key="model.tar.gz")["VersionId"]
    assert identity(url).value == f"etag={etag} version={version}"
    put(bucket, "model.tar.gz", b"weights")
    assert identity(url).value not in ("", f"etag={etag} version={version}")


class OneObject:
    """An S3 client whose HeadObject answers ``head`` (or raises ``error``): answers the emulator does not give."""

    def __init__(self, head: dict[str, Any] | None = None, error: ClientError | None = None) -> None:
        self.head, self.error = head, error

    def head_object(self, **params: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        assert self.head is not None
        return self.head


def head_of(version: str) -> OneObject:
    """HeadObject's answer with ``version``, parsed from the wire as botocore does (a new string, not a literal)."""
    return OneObject(json.loads(json.dumps({"ETag": '"0f9e8d7c6b5a"', "VersionId": version})))


def test_a_version_id_of_null_is_no_version() -> None:
    """An object stored while versioning was off has VersionId "null" (HeadObject's API reference): only its ETag
    identifies it."""
    assert artifacts.identity(head_of("null"), "s3://bucket/m.tar.gz").value == "etag=0f9e8d7c6b5a"  # type: ignore[arg-type]


def test_any_other_version_id_is_part_of_the_identity() -> None:
    """A version ID is opaque text (it may start with any letter): every one but "null" is kept."""
    for version in ("3HL4kqtJlcpXroDTDmJ", "wGHu3Ez7nQ", "nulls"):
        found = artifacts.identity(head_of(version), "s3://bucket/m.tar.gz")  # type: ignore[arg-type]
        assert found.value == f"etag=0f9e8d7c6b5a version={version}"


def test_a_version_id_too_long_for_a_tag_is_told_by_its_digest() -> None:
    """S3 allows a VersionId of up to 1,024 bytes, a tag value holds 256 characters (SageMaker's Tag.Value): an
    identity that would not fit names the version by a digest, still one per version; one that fits is kept whole."""
    url = "s3://bucket/m.tar.gz"
    fits = "v" * (256 - len("etag=0f9e8d7c6b5a version="))
    assert artifacts.identity(head_of(fits), url).value == f"etag=0f9e8d7c6b5a version={fits}"  # type: ignore[arg-type]
    longest = ["a" * 1024, "a" * 1023 + "b", fits + "v"]
    values = [artifacts.identity(head_of(v), url).value for v in longest]  # type: ignore[arg-type]
    assert values == [
        f"etag=0f9e8d7c6b5a version=sha256-{hashlib.sha256(v.encode()).hexdigest()[:32]}" for v in longest
    ]
    assert len(set(values)) == 3


def test_nothing_stored_is_the_inputs_problem(bucket: str) -> None:
    """A missing object, a missing bucket or an empty prefix is said before any write."""
    assert refusal(f"s3://{bucket}/model.tar.gz") == (
        f"nothing is stored at s3://{bucket}/model.tar.gz; upload the model first"
    )
    assert refusal("s3://no-such-bucket-here/model.tar.gz").startswith("nothing is stored at")
    assert refusal("s3://no-such-bucket-here/model/").startswith("nothing is stored at")
    put(bucket, "other/file", b"x")
    assert refusal(f"s3://{bucket}/model/") == f"no object under s3://{bucket}/model/; upload the model first"


@pytest.mark.parametrize("code", ["403", "AccessDenied"])
def test_other_refusals_are_raised_as_they_are(code: str) -> None:
    """A refusal other than "not there" (a role that may not read the object) is AWS's error, not the input's."""
    error = ClientError({"Error": {"Code": code, "Message": "Forbidden"}}, "HeadObject")
    with pytest.raises(ClientError) as raised:
        artifacts.identity(OneObject(error=error), "s3://bucket/m.tar.gz")  # type: ignore[arg-type]
    assert raised.value is error


def test_a_prefix_is_identified_by_its_listing(bucket: str) -> None:
    """Uncompressed model data (a prefix) is every key with its ETag, hashed: the value recorded on each model
    stays the same across versions of the action, and any changed, added or removed file changes it."""
    url = f"s3://{bucket}/model/"
    first = put(bucket, "model/config.json", b"{}")
    second = put(bucket, "model/weights.bin", b"weights")
    put(bucket, "modelling/other.bin", b"not under the prefix")
    listing = f"model/config.json {first}\nmodel/weights.bin {second}"
    expected = f"listing={hashlib.sha256(listing.encode()).hexdigest()[:32]} objects=2"
    assert identity(url) == Identity(expected, url)
    put(bucket, "model/weights.bin", b"weights v2")
    changed = identity(url).value
    assert changed != expected and changed.endswith(" objects=2")
    put(bucket, "model/tokenizer.json", b"{}")
    assert identity(url).value.endswith(" objects=3")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("etag=0123456789abcdef", "ETag 01234567…"),
        ("etag=0123456789abcdef version=3Lg9xYzAbCdEf", "ETag 01234567… (version 3Lg9xYzA…)"),
        ("etag=0123456789abcdef version=", "ETag 01234567…"),
        ("etag=0123456789abcdef version=Ab3=Xy9+kQ", "ETag 01234567… (version Ab3=Xy9+…)"),
        ("listing=fedcba9876543210 objects=12", "listing fedcba98… (12 objects)"),
        ("listing=fedcba9876543210", "listing fedcba98… (? objects)"),
        ("something else", "ETag ?…"),
    ],
    ids=["etag", "version", "empty-version", "version-with-equals", "listing", "listing-without-count", "unknown"],
)
def test_how_a_plan_shows_an_identity(value: str, shown: str) -> None:
    """Short: eight hex characters of an ETag or listing, the version's start, a prefix's object count."""
    assert Identity(value).shown == shown


@pytest.mark.parametrize(
    ("container", "url"),
    [
        ({"ModelDataUrl": "s3://bucket/model.tar.gz"}, "s3://bucket/model.tar.gz"),
        (
            {
                "ModelDataUrl": "s3://bucket/model.tar.gz",
                "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://bucket/other/", "S3DataType": "S3Prefix"}},
            },
            "s3://bucket/model.tar.gz",
        ),
        (
            {"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://bucket/model", "S3DataType": "S3Prefix"}}},
            "s3://bucket/model/",
        ),
        (
            {"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://bucket/model/", "S3DataType": "S3Prefix"}}},
            "s3://bucket/model/",
        ),
        (
            {"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://bucket/model.tar.gz", "S3DataType": "S3Object"}}},
            "s3://bucket/model.tar.gz",
        ),
        ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://bucket/model.tar.gz"}}}, "s3://bucket/model.tar.gz"),
        ({"ModelDataSource": {"S3DataSource": {"S3DataType": "S3Prefix"}}}, ""),
        ({"ModelDataUrl": "", "ModelDataSource": None}, ""),
        ({"Image": "x"}, ""),
    ],
    ids=["url", "url-first", "prefix", "prefix-with-slash", "object", "no-type", "no-uri", "empty", "none"],
)
def test_where_a_models_artifact_is(container: dict[str, Any], url: str) -> None:
    """ModelDataUrl, else ModelDataSource's URI (a prefix always ending in "/"), else none; the same for a
    description as read from the wire."""
    assert artifacts.location(container) == url
    assert artifacts.location(json.loads(json.dumps(container))) == url


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("s3://bucket/models/whisper/model.tar.gz", "model.tar.gz"),
        ("s3://bucket/models/whisper/", "whisper/"),
        ("s3://bucket/model.tar.gz", "model.tar.gz"),
        ("model.tar.gz", "model.tar.gz"),
    ],
)
def test_what_a_reviewer_calls_an_artifact(url: str, name: str) -> None:
    """The file's name, or the prefix's last folder with its slash."""
    assert artifacts.basename(url) == name

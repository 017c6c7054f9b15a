"""The AWS services the action uses besides SageMaker, answered by moto on the emulator's one port."""

from __future__ import annotations

import hashlib
import json

from sagemaker_emulator import Emulator, Timings
from tests.conftest import boto_client


def test_cloudwatch_alarms(emulator: Emulator) -> None:
    """PutMetricAlarm / DescribeAlarms work with the protocol boto3 1.44 picks for CloudWatch."""
    cloudwatch = boto_client(emulator, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="AWS/SageMaker",
        MetricName="Invocation5XXErrors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarms = cloudwatch.describe_alarms(AlarmNames=["errors", "missing"])["MetricAlarms"]
    assert [a["AlarmArn"] for a in alarms] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"]
    assert emulator.operations("cloudwatch") == ["PutMetricAlarm", "DescribeAlarms"]
    assert emulator.requests[-1].params == {"AlarmNames": ["errors", "missing"]}


def test_sns_topics(emulator: Emulator) -> None:
    """CreateTopic / GetTopicAttributes / ListTopics work (query protocol)."""
    sns = boto_client(emulator, "sns")
    arn = sns.create_topic(Name="deploys")["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:deploys"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn
    assert sns.list_topics()["Topics"] == [{"TopicArn": arn}]
    assert emulator.operations("sns") == ["CreateTopic", "GetTopicAttributes", "ListTopics"]
    assert emulator.requests[1].params["TopicArn"] == arn


def test_ecr_images(emulator: Emulator) -> None:
    """CreateRepository / PutImage / DescribeImages / BatchGetImage work."""
    ecr = boto_client(emulator, "ecr")
    ecr.create_repository(repositoryName="model")
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:" + "d" * 64, "size": 1, "mediaType": "application/json"},
            "layers": [],
        }
    )
    ecr.put_image(repositoryName="model", imageManifest=manifest, imageTag="v1")
    detail = ecr.describe_images(repositoryName="model", imageIds=[{"imageTag": "v1"}])["imageDetails"][0]
    assert detail["imageDigest"].startswith("sha256:")
    images = ecr.batch_get_image(repositoryName="model", imageIds=[{"imageTag": "v1"}])["images"]
    assert images[0]["imageId"]["imageDigest"] == detail["imageDigest"]


def test_application_autoscaling(emulator: Emulator) -> None:
    """Register/Describe/Deregister scalable targets and Put/Describe scaling policies work."""
    autoscaling = boto_client(emulator, "application-autoscaling")
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    autoscaling.register_scalable_target(**target, MinCapacity=0, MaxCapacity=3)
    autoscaling.put_scaling_policy(
        PolicyName="backlog",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Statistic": "Average",
                "Dimensions": [{"Name": "EndpointName", "Value": "ep"}],
            },
        },
        **target,
    )
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        ("endpoint/ep/variant/AllTraffic", 0, 3)
    ]
    policies = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert [p["PolicyName"] for p in policies] == ["backlog"]
    autoscaling.deregister_scalable_target(**target)
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_sts_caller_identity(emulator: Emulator) -> None:
    """GetCallerIdentity answers the emulator's account."""
    assert boto_client(emulator, "sts").get_caller_identity()["Account"] == "123456789012"


def test_fresh_emulator_forgets_moto_state(emulator: Emulator) -> None:
    """A new Emulator starts empty: moto's process-global state from an earlier one is reset."""
    boto_client(emulator, "sns").create_topic(Name="left-over")
    emulator.stop()
    with Emulator(timings=Timings()) as fresh:
        assert boto_client(fresh, "sns").list_topics()["Topics"] == []
        assert fresh.requests[-1].service == "sns"


def test_other_account_id_reaches_moto_too(emulator: Emulator) -> None:
    """An Emulator for another account puts that account in SageMaker's and moto's ARNs alike."""
    emulator.stop()
    with Emulator(account_id="111122223333") as other:
        assert boto_client(other, "sns").create_topic(Name="t")["TopicArn"].split(":")[4] == "111122223333"
        assert boto_client(other, "sts").get_caller_identity()["Account"] == "111122223333"


def test_s3_object_identity_is_answered_as_aws_does(emulator: Emulator) -> None:
    """HeadObject's ETag is the quoted MD5 of a single-part upload, with no VersionId in an unversioned bucket and
    a new VersionId per upload in a versioned one (S3 API reference, HeadObject and "Using versioning"); a listing
    carries the same ETags. moto answers so; nothing is patched."""
    s3 = boto_client(emulator, "s3")
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="model.tar.gz", Body=b"weights")
    head = s3.head_object(Bucket="plain", Key="model.tar.gz")
    assert head["ETag"] == '"' + hashlib.md5(b"weights").hexdigest() + '"'
    assert "VersionId" not in head
    listed = s3.list_objects_v2(Bucket="plain", Prefix="", MaxKeys=10)["Contents"]
    assert [(o["Key"], o["ETag"]) for o in listed] == [("model.tar.gz", head["ETag"])]
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    versions = set()
    for _ in range(2):
        s3.put_object(Bucket="versioned", Key="model.tar.gz", Body=b"weights")
        versions.add(s3.head_object(Bucket="versioned", Key="model.tar.gz")["VersionId"])
    assert len(versions) == 2

"""The request log tests assert on, the HTTP control API, the CLI, and the List*/tag operations."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from sagemaker_emulator import Emulator
from sagemaker_emulator.demo import parse_outputs
from tests.conftest import boto_client

from ._setup import in_service_endpoint, model, second_config, wait_for


def control(emu_url: str, method: str, route: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{emu_url}/_emulator/{route}", data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_request_log_records_operations_params_and_writes(emulator: Emulator) -> None:
    """Each request is logged with service, operation, params and time; write_calls skips reads."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    emulator.clear_requests()
    sm.describe_endpoint(EndpointName="ep")
    sm.list_endpoints()
    boto_client(emulator, "sns").list_topics()
    assert emulator.write_calls() == []
    second_config(sm)
    writes = emulator.write_calls("sagemaker")
    assert [w.operation for w in writes] == ["CreateModel", "CreateEndpointConfig"]
    assert writes[0].params["ModelName"] == "model-2"
    record = emulator.requests[0]
    assert (record.service, record.operation, record.params) == (
        "sagemaker",
        "DescribeEndpoint",
        {"EndpointName": "ep"},
    )
    assert record.time > 0
    assert emulator.operations("sns") == ["ListTopics"]


def test_control_api_reads_log_arms_faults_and_resets(emulator: Emulator) -> None:
    """Over HTTP: GET requests, POST faults (rollback), DELETE requests, POST reset."""
    sm = boto_client(emulator, "sagemaker")
    in_service_endpoint(sm)
    second_config(sm)
    log = control(emulator.url, "GET", "requests?service=sagemaker")["requests"]
    assert [r["operation"] for r in log][:3] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    control(emulator.url, "POST", "faults", {"fault": "rollback_next_update", "endpoint_name": "ep"})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="config-2")
    assert wait_for(sm, "ep", "InService")["EndpointConfigName"] == "config-1"
    control(emulator.url, "DELETE", "requests")
    assert emulator.requests == []
    control(emulator.url, "POST", "reset")
    assert sm.list_endpoints()["Endpoints"] == []


def test_control_api_rejects_unknown_faults(emulator: Emulator) -> None:
    """A fault name the emulator does not know answers 400 instead of being ignored."""
    try:
        control(emulator.url, "POST", "faults", {"fault": "meteor"})
    except urllib.error.HTTPError as error:
        assert error.code == 400
    else:
        raise AssertionError("unknown fault accepted")


def test_cli_starts_and_answers() -> None:
    """`python -m sagemaker_emulator --port 0` prints its URL first and serves SageMaker there."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_emulator", "--port", "0", "--create-seconds", "0.1", "--throttle", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        assert control(url, "GET", "health")["ok"] is True

        sm = boto_client(url, "sagemaker")
        assert sm.list_endpoints()["ResponseMetadata"]["RetryAttempts"] == 1
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_list_operations_filter_sort_and_paginate(emulator: Emulator) -> None:
    """List* honour NameContains, SortBy/SortOrder and MaxResults/NextToken as boto3 paginators use them."""
    sm = boto_client(emulator, "sagemaker")
    for name in ("alpha", "beta", "alphabet", "gamma"):
        model(sm, name)
    pages = sm.get_paginator("list_models").paginate(
        SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 1}
    )
    assert [m["ModelName"] for page in pages for m in page["Models"]] == ["alpha", "alphabet", "beta", "gamma"]
    found = sm.list_models(NameContains="alpha", SortBy="Name", SortOrder="Descending")["Models"]
    assert [m["ModelName"] for m in found] == ["alphabet", "alpha"]
    newest = sm.list_models(MaxResults=1)["Models"]
    assert newest[0]["ModelName"] == "gamma"


def test_tags_on_create_and_through_tag_operations(emulator: Emulator) -> None:
    """Tags given at creation show in ListTags; AddTags and DeleteTags change them."""
    sm = boto_client(emulator, "sagemaker")
    arn = sm.create_model(
        ModelName="tagged",
        PrimaryContainer={"Image": "img"},
        ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        Tags=[{"Key": "team", "Value": "ml"}],
    )["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "commit", "Value": "abc"}, {"Key": "team", "Value": "ops"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "commit", "Value": "abc"}, {"Key": "team", "Value": "ops"}]
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "commit", "Value": "abc"}]


def test_control_api_throttle_fault(emulator: Emulator) -> None:
    """POST /_emulator/faults with a list arms several faults, here a throttle seen by the next request."""
    control(emulator.url, "POST", "faults", [{"fault": "throttle", "n": 1}])
    sm = boto_client(emulator, "sagemaker")
    assert sm.list_models()["ResponseMetadata"]["RetryAttempts"] == 1
    assert [r.status for r in emulator.requests] == [400, 200]


def test_demo_reads_github_output_blocks() -> None:
    """The demo parses GITHUB_OUTPUT's heredoc blocks, including multi-line values, and plain lines."""
    text = "result<<ghadelimiter_1\nrolled-back\nghadelimiter_1\nchanges<<EOF\na\nb\nEOF\nplain=1\n"
    assert parse_outputs(text) == {"result": "rolled-back", "changes": "a\nb", "plain": "1"}


def test_cli_arms_faults_as_json_and_sets_behaviour() -> None:
    """--fault takes the control API's JSON and --behaviour a switch; the first CreateEndpoint meets the quota."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagemaker_emulator",
            "--port",
            "0",
            "--behaviour",
            "delete_in_progress=allow",
            "--fault",
            '{"fault": "quota_next_create", "message": "no g5 left"}',
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip().removeprefix("listening on ")
        sm = boto_client(url, "sagemaker")
        model(sm, "model-1")
        sm.create_endpoint_config(
            EndpointConfigName="config-1",
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "model-1", "InstanceType": "ml.g5.xlarge"}],
        )
        try:
            sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
        except sm.exceptions.ResourceLimitExceeded as error:
            assert error.response["Error"]["Message"] == "no g5 left"
        else:
            raise AssertionError("quota fault not armed")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="config-1")
        sm.delete_endpoint(EndpointName="ep")  # Creating, and allowed by the switch
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_cli_refuses_an_unknown_behaviour() -> None:
    """A --behaviour switch that does not exist stops the CLI with exit status 2 and the known names."""
    result = subprocess.run(
        [sys.executable, "-m", "sagemaker_emulator", "--port", "0", "--behaviour", "speed=fast"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--behaviour takes NAME=VALUE with NAME one of deployed_images_at_zero" in result.stderr


def test_a_count_switch_takes_a_whole_number_only() -> None:
    """--behaviour new_target_invisible_calls=N takes a whole number; anything else is refused with the reason."""
    from sagemaker_emulator._behaviour import behaviour_from_flags

    assert behaviour_from_flags(["new-target-invisible-calls=3"]).new_target_invisible_calls == 3
    with pytest.raises(ValueError, match="is a whole number, not 'many'"):
        behaviour_from_flags(["new_target_invisible_calls=many"])

"""`cfngen drift` against the emulator: a hand edit is drift, a value AWS manages on purpose is not.

The emulator's drift detection (cfngen.local.patches.drift_detection) reads live values for log groups, ECS
services and SSM parameters only; AWS checks every type that supports drift detection
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import-supported-resources.html).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from cfngen.cli import main
from cfngen.deploy._drift import managed_on_purpose
from cfngen.local import LocalAws
from tests.conftest import MINIMAL, MINIMAL_REGION, MINIMAL_STACK, cloudformation

DEV, NAME, REGION = MINIMAL, MINIMAL_STACK, MINIMAL_REGION


def _physical_id(nested: str, logical_id: str) -> str:
    client = cloudformation(REGION)
    stack = client.describe_stack_resource(StackName=NAME, LogicalResourceId=nested)
    detail = client.describe_stack_resource(
        StackName=stack["StackResourceDetail"]["PhysicalResourceId"], LogicalResourceId=logical_id
    )
    return str(detail["StackResourceDetail"]["PhysicalResourceId"])


def test_a_fresh_deploy_has_no_drift(minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", DEV]) == 0
    out = capsys.readouterr().out
    assert f"stack {NAME} ({REGION}): 10 stacks checked, 0 resources drifted" in out


def test_a_hand_edit_is_drift_with_template_and_live_values(
    minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    group = _physical_id("ServiceWeb", "WebLogGroup")
    boto3.client("logs", region_name=REGION).put_retention_policy(logGroupName=group, retentionInDays=1)
    assert main(["drift", DEV]) == 1
    out = capsys.readouterr().out
    assert f"1 resource drifted\n  {NAME}/ServiceWeb WebLogGroup AWS::Logs::LogGroup {group} MODIFIED" in out
    assert "    /RetentionInDays: template 30 -> live 1" in out
    assert main(["drift", DEV, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["has_drift"] is True
    (resource,) = report["resources"]
    assert resource["properties"] == [
        {"path": "/RetentionInDays", "expected": "30", "actual": "1", "difference": "NOT_EQUAL", "managed_by": ""}
    ]


def test_the_desired_count_under_auto_scaling_is_not_drift(
    minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    service = _physical_id("ServiceWeb", "WebService")
    (cluster,) = ecs.list_clusters()["clusterArns"]
    ecs.update_service(cluster=cluster, service=service, desiredCount=3)
    assert main(["drift", DEV]) == 0, "auto scaling moves the desired count; that is no reason to fail a check"
    out = capsys.readouterr().out
    assert "0 resources drifted" in out
    assert (
        f"not drift (values AWS changes on purpose):\n  {NAME}/ServiceWeb WebService /DesiredCount: 3 "
        "(Application Auto Scaling sets the desired count)"
    ) in out


def test_drift_of_a_stack_that_is_not_there_is_bad_input(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drift", DEV, "--region", REGION]) == 2
    assert f"stack {NAME} does not exist in {REGION}" in capsys.readouterr().err


SERVICE: dict[str, Any] = {
    "Type": "AWS::ECS::Service",
    "Properties": {"DeploymentController": {"Type": "CODE_DEPLOY"}, "DesiredCount": 1},
}
SCALABLE = {
    "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
    "Properties": {"ScalableDimension": "ecs:service:DesiredCount"},
}


@pytest.mark.parametrize(
    ("resources", "logical_id", "resource_type", "path", "blue_green", "managed"),
    [
        ({"S": SERVICE, "T": SCALABLE}, "S", "AWS::ECS::Service", "/DesiredCount", True, True),
        (
            {"S": {**SERVICE, "Properties": {"DesiredCount": 1}}},
            "S",
            "AWS::ECS::Service",
            "/DesiredCount",
            False,
            False,
        ),
        ({"S": SERVICE}, "S", "AWS::ECS::Service", "/TaskDefinition", True, True),
        ({"S": {**SERVICE, "Properties": {}}}, "S", "AWS::ECS::Service", "/TaskDefinition", False, False),
        (
            {"L": {"Type": "AWS::ElasticLoadBalancingV2::Listener"}},
            "L",
            "AWS::ElasticLoadBalancingV2::Listener",
            "/DefaultActions/0/ForwardConfig/TargetGroups/0/Weight",
            True,
            True,
        ),
        (
            {"L": {"Type": "AWS::ElasticLoadBalancingV2::Listener"}},
            "L",
            "AWS::ElasticLoadBalancingV2::Listener",
            "/DefaultActions",
            False,
            False,
        ),
        (
            {"R": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule"}},
            "R",
            "AWS::ElasticLoadBalancingV2::ListenerRule",
            "/Actions",
            True,
            True,
        ),
        (
            {"L": {"Type": "AWS::ElasticLoadBalancingV2::Listener"}},
            "L",
            "AWS::ElasticLoadBalancingV2::Listener",
            "/Port",
            True,
            False,
        ),
    ],
)
def test_values_aws_manages_on_purpose(
    resources: dict[str, Any], logical_id: str, resource_type: str, path: str, blue_green: bool, managed: bool
) -> None:
    """Auto scaling and blue/green deployments change these by design (the AWS pages are cited in _drift)."""
    assert bool(managed_on_purpose({"Resources": resources}, logical_id, resource_type, path, blue_green)) is managed

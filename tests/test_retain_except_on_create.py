"""DeletionPolicy RetainExceptOnCreate where a failed first create cannot have put data in a fixed-name resource.

"RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
created the resource. If the stack operation that created the resource is rolled back, CloudFormation deletes the
resource." https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
UpdateReplacePolicy has no such value (Delete, Retain, Snapshot):
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from cfngen import StackSet, load_blueprint, synthesize
from cfngen.deploy import _bootstrap as bootstrap
from cfngen.local import LocalAws
from cfngen.report import _data_safety as data_safety
from cfngen.report._model import TemplateSet
from tests.conftest import ROOT, cloudformation

REOC = "RetainExceptOnCreate"


@pytest.fixture(scope="module")
def demo() -> StackSet:
    return synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml"))


def _policies(stacks: StackSet) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(stack, logical id) -> (type, DeletionPolicy, UpdateReplacePolicy) of every resource that sets one."""
    return {
        (child.name, logical_id): (resource["Type"], resource["DeletionPolicy"], resource.get("UpdateReplacePolicy"))
        for child in stacks.children
        for logical_id, resource in child.template.to_dict()["Resources"].items()
        if "DeletionPolicy" in resource
    }


def test_fixed_name_resources_that_hold_nothing_yet_go_with_a_failed_create(demo: StackSet) -> None:
    policies = _policies(demo)
    by_type: dict[str, set[str]] = {}
    for (_, logical_id), (type_, deletion, replace) in policies.items():
        by_type.setdefault(type_, set()).add(deletion)
        if deletion == REOC:
            assert replace == "Retain", logical_id
    assert by_type["AWS::ECR::Repository"] == {REOC}
    assert by_type["AWS::CodeCommit::Repository"] == {REOC}
    assert by_type["AWS::RDS::DBCluster"] == {"Snapshot"}, "the database keeps its final snapshot"
    assert by_type["AWS::S3::Bucket"] == {"Retain"}, "a pipeline's first artifacts may be in it before a create fails"
    assert by_type["AWS::KMS::Key"] == {"Retain", "Delete"}, "logs kept with Retain stay readable"
    log_groups = {
        logical_id: deletion
        for (_, logical_id), (type_, deletion, _) in policies.items()
        if type_ == "AWS::Logs::LogGroup"
    }
    fixed_names = {
        logical_id
        for child in demo.children
        for logical_id, resource in child.template.to_dict()["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in resource["Properties"]
    }
    assert fixed_names, "build and database log groups have fixed names"
    assert {log_groups[name] for name in fixed_names} == {REOC}
    assert {log_groups[name] for name in set(log_groups) - fixed_names} == {"Retain"}, (
        "services' and flow logs' log groups hold why a create failed"
    )
    bucket = bootstrap.build().to_dict()["Resources"]["TemplatesBucket"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == (REOC, "Retain")


def test_the_data_safety_review_shows_the_policy() -> None:
    rows = {
        row.resource: row
        for row in data_safety.analyse(
            TemplateSet.from_directory("microservices-demo", ROOT / "templates" / "microservices-demo")
        )
    }
    assert rows["ServiceAImageRepository"].deletion_policy == REOC
    assert rows["ServiceASourceRepository"].deletion_policy == REOC
    assert rows["ServiceABuildLogGroup"].deletion_policy == REOC
    assert rows["DatabaseCluster"].deletion_policy == "Snapshot"
    assert not [warning for row in rows.values() for warning in row.warnings if REOC in warning]


def _log_group_stack(*, broken: bool) -> str:
    resources: dict[str, Any] = {
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": REOC, "Properties": {"LogGroupName": "/kept/logs"}}
    }
    if broken:  # moto refuses an ingress rule from a group it does not know: the create fails after Logs exists
        resources["Broken"] = {
            "Type": "AWS::EC2::SecurityGroup",
            "DependsOn": "Logs",
            "Properties": {
                "GroupDescription": "g",
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": "sg-unknown"}
                ],
            },
        }
    return json.dumps({"Resources": resources})


def _create(name: str, body: str) -> str:
    client = cloudformation()
    change_set = client.create_change_set(StackName=name, ChangeSetName="c", ChangeSetType="CREATE", TemplateBody=body)
    client.execute_change_set(ChangeSetName=change_set["Id"])
    return str(client.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def _log_groups() -> list[str]:
    groups = boto3.client("logs", region_name="us-west-2").describe_log_groups()["logGroups"]
    return [group["logGroupName"] for group in groups]


def test_the_emulator_keeps_them_on_deletion_and_not_on_a_failed_create(aws: LocalAws) -> None:
    assert _create("failing", _log_group_stack(broken=True)) == "ROLLBACK_COMPLETE"
    assert "/kept/logs" not in _log_groups(), "the failed create deleted what it made"
    assert _create("working", _log_group_stack(broken=False)) == "CREATE_COMPLETE", "no name left behind to block it"
    cloudformation().delete_stack(StackName="working")
    assert "/kept/logs" in _log_groups(), "a stack deletion keeps it, as Retain does"

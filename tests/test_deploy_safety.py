"""The stateful guard at the library level, for every type of the one list: replace, conditional, dynamic, remove.

The types are written out here on purpose: dropping one from facts.resource_types.STATEFUL_TYPES makes
its cases fail, and a type added there without a case here fails test_every_stateful_type_has_its_cases.
"""

from __future__ import annotations

from typing import Any

import pytest

from cfngen import ResourceChange
from cfngen.deploy._replacements import merged, template_changes
from cfngen.deploy._safety import check, violations
from cfngen.errors import SafetyError
from cfngen.facts.resource_types import STATEFUL_TYPES

# The list: the database, its log groups, ECR and source repositories, buckets, keys, secrets, the network.
GUARDED = (
    "AWS::CodeCommit::Repository",
    "AWS::DynamoDB::Table",
    "AWS::EC2::Subnet",
    "AWS::EC2::VPC",
    "AWS::ECR::Repository",
    "AWS::EFS::FileSystem",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::S3::Bucket",
    "AWS::SecretsManager::Secret",
)
# How a change set row says it (may) destroy the resource: action, Replacement.
DESTROYING = {
    "replace": ("replace", "true"),
    "conditional": ("replace", "conditional"),
    "dynamic": ("dynamic", ""),
    "remove": ("remove", ""),
}


def test_every_stateful_type_has_its_cases() -> None:
    assert set(STATEFUL_TYPES) == set(GUARDED)


@pytest.mark.parametrize("how", sorted(DESTROYING))
@pytest.mark.parametrize("resource_type", GUARDED)
def test_a_change_set_row_that_destroys_a_stateful_resource_is_refused_unless_allowed(
    resource_type: str, how: str
) -> None:
    action, replacement = DESTROYING[how]
    change = ResourceChange("root/Data", "Data", resource_type, action, replacement)
    assert [violation.change for violation in violations([change])] == [change], "a plain list of changes works"
    assert "--allow-replace Data" in str(violations([change])[0])
    with pytest.raises(SafetyError, match="Data"):
        check([change])
    assert violations([change], ["Data"]) == []
    assert violations([ResourceChange("root/Data", "Data", resource_type, "modify")]) == []


@pytest.mark.parametrize("resource_type", GUARDED)
def test_the_template_analysis_finds_a_replacement_the_preview_calls_modify(resource_type: str) -> None:
    deployed = {"Resources": {"Data": {"Type": resource_type, "Properties": {"Tags": [{"Key": "a", "Value": "1"}]}}}}
    renamed = {"Resources": {"DataV2": deployed["Resources"]["Data"]}}
    found = template_changes("root/Store", deployed, renamed, region="us-east-1")
    assert [(change.logical_id, change.action, change.source) for change in found] == [
        ("DataV2", "replace", "template")
    ]
    preview = [ResourceChange("root/Store", "DataV2", resource_type, "add")]
    rows = merged(preview, found)
    assert [violation.change.logical_id for violation in violations(rows)] == ["DataV2"]


@pytest.mark.parametrize("resource_type", GUARDED)
def test_the_template_analysis_finds_a_removal(resource_type: str) -> None:
    deployed: dict[str, Any] = {"Resources": {"Data": {"Type": resource_type}, "Other": {"Type": "AWS::SNS::Topic"}}}
    found = template_changes(
        "root/Store", deployed, {"Resources": {"Other": {"Type": "AWS::SNS::Topic"}}}, region="us-east-1"
    )
    assert [violation.change.logical_id for violation in violations(found)] == ["Data"]


def test_a_create_only_property_change_is_a_replacement_even_when_the_preview_says_modify() -> None:
    deployed = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}}
    new = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.1.0.0/16"}}}}
    preview = [ResourceChange("root/Network", "Vpc", "AWS::EC2::VPC", "modify", physical_id="vpc-1")]
    rows = merged(preview, template_changes("root/Network", deployed, new, region="us-east-1"))
    assert [(row.action, row.causes, row.physical_id, row.source) for row in rows] == [
        ("replace", ("CidrBlock",), "vpc-1", "template")
    ]
    assert violations(rows)[0].message.startswith("the change set replaces a stateful resource")


def test_a_nested_stack_removed_is_refused_and_other_types_pass() -> None:
    rows = [
        ResourceChange("root", "Registry", "AWS::CloudFormation::Stack", "remove"),
        ResourceChange("root/Service", "TaskDefinition", "AWS::ECS::TaskDefinition", "replace", "true"),
    ]
    assert [violation.change.logical_id for violation in violations(rows)] == ["Registry"]

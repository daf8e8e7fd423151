"""Cross-cutting rules over every generated template: the blueprint's tags reach every taggable resource,
and every log group keeps its logs for the blueprint's retention, encrypted.

How a resource gets the blueprint's tags, decided by its CloudFormation resource schema (the copies
cfn-lint ships): the root gives every nested stack the tags, and CloudFormation propagates a stack's
tags to each resource whose schema says ``tagging.taggable: true``. Everything else that can hold tags
carries them itself, and so do a few taggable types where propagation is not enough; EXPLICITLY_TAGGED
lists them all with the reason, and the test fails when the list and the templates disagree.
"""

from __future__ import annotations

from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from cfngen import Blueprint, StackSet, load_blueprint, synthesize
from cfngen.builders import database_users
from cfngen.builders.cluster import LAUNCHED_RESOURCE_TYPES
from cfngen.builders.database import LOG_EXPORTS
from cfngen.synth import ROOT_NAME
from tests.conftest import EXAMPLES, example_ids

# resource type -> why it carries the blueprint's tags itself rather than only through the stack
EXPLICITLY_TAGGED = {
    "AWS::AutoScaling::AutoScalingGroup": "PropagateAtLaunch: the instances it launches carry the tags",
    "AWS::ECS::TaskDefinition": "taskdef.json is rendered from it, so the pipeline's revisions carry the tags",
    "AWS::CodeBuild::Project": "its schema has no tagging section: it cannot tell whether stack tags reach it",
    "AWS::Budgets::Budget": "a budget is a billing object; its ResourceTags are set where it is defined",
}
# Not in the walk below, because their schemas have no tag property of the resource itself:
# AWS::EC2::LaunchTemplate tags itself and what it launches through TagSpecifications (asserted below).


def _schema(resource_type: str, region: str) -> dict[str, Any]:
    schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    return schema


def _tag_property(schema: dict[str, Any]) -> str | None:
    """The property a resource type holds its own tags in ("Tags", "ResourceTags"), None when it has none."""
    pointer = (schema.get("tagging") or {}).get("tagProperty", "/properties/Tags")
    name = pointer.rsplit("/", 1)[-1]
    return name if name in schema.get("properties", {}) else None


def _as_dict(tags: list[dict[str, Any]]) -> dict[str, Any]:
    return {tag["Key"]: tag["Value"] for tag in tags}


@pytest.fixture(scope="module", params=EXAMPLES, ids=example_ids())
def example(request: pytest.FixtureRequest) -> tuple[Blueprint, StackSet]:
    blueprint = load_blueprint(request.param)
    return blueprint, synthesize(blueprint)


def _children(stack_set: StackSet) -> dict[str, dict[str, Any]]:
    return {child.name: child.template.to_dict() for child in stack_set.children}


def test_every_nested_stack_carries_the_blueprint_tags(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    assert blueprint.tags, "the example blueprints must have tags for this test to mean anything"
    stacks = stack_set.root().to_dict()["Resources"].values()
    assert stacks and all(_as_dict(stack["Properties"]["Tags"]) == blueprint.tags for stack in stacks)


def test_every_taggable_resource_gets_the_blueprint_tags(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    explicit: set[str] = set()
    propagated: set[str] = set()
    for name, template in _children(stack_set).items():
        for logical_id, resource in template["Resources"].items():
            schema = _schema(resource["Type"], blueprint.region)
            tag_property = _tag_property(schema)
            if tag_property is None:
                continue
            where = f"{name}/{logical_id} ({resource['Type']})"
            own = resource.get("Properties", {}).get(tag_property)
            if own is not None:
                assert blueprint.tags.items() <= _as_dict(own).items(), f"{where} lacks some blueprint tags"
                explicit.add(resource["Type"])
            else:
                assert (schema.get("tagging") or {}).get("taggable") is True, (
                    f"{where}: CloudFormation does not propagate stack tags to it; tag it explicitly"
                )
                propagated.add(resource["Type"])
    assert explicit == set(EXPLICITLY_TAGGED)
    assert not explicit & propagated, "a type is either always tagged explicitly or never"
    # The types the stack's tags cover, so that a new builder's resources show up here.
    assert {
        "AWS::ECS::Service",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBCluster",
        "AWS::KMS::Key",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::CloudWatch::Alarm",
    } <= propagated


def _one(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = [body for body in template["Resources"].values() if body["Type"] == resource_type]
    return resource["Properties"]  # type: ignore[no-any-return]


def test_instances_volumes_and_network_interfaces_launch_with_the_tags(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    cluster = stack_set.child("cluster").template.to_dict()
    group = _one(cluster, "AWS::AutoScaling::AutoScalingGroup")
    assert all(tag["PropagateAtLaunch"] is True for tag in group["Tags"])
    assert blueprint.tags.items() <= _as_dict(group["Tags"]).items()
    launch_template = _one(cluster, "AWS::EC2::LaunchTemplate")
    specifications = launch_template["TagSpecifications"] + launch_template["LaunchTemplateData"]["TagSpecifications"]
    assert [spec["ResourceType"] for spec in specifications] == ["launch-template", *LAUNCHED_RESOURCE_TYPES]
    assert set(LAUNCHED_RESOURCE_TYPES) == {"instance", "volume", "network-interface"}
    assert all(blueprint.tags.items() <= _as_dict(spec["Tags"]).items() for spec in specifications)


def test_tasks_carry_their_services_tags(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    for service in blueprint.services:
        assert (
            _one(stack_set.child(f"service-{service.name}").template.to_dict(), "AWS::ECS::Service")["PropagateTags"]
            == "SERVICE"
        )


def test_every_log_group_keeps_the_blueprint_retention_encrypted(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    groups = [
        (name, logical_id, resource)
        for name, template in _children(stack_set).items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    ]
    # services, pipelines (and the stack-update project of each ecs-* service, the derive project of each codedeploy
    # one, the test traffic function of each service with deployment.test), VPC flow logs, the database's logs,
    # the database-users function and task
    deploy_steps = len(blueprint.services)
    tested = sum(blueprint.deployment_of(service).test is not None for service in blueprint.services)
    assert len(groups) == (
        2 * len(blueprint.services)
        + deploy_steps
        + tested
        + 1
        + (len(LOG_EXPORTS) if blueprint.database else 0)
        + database_users.needed(blueprint)
    )
    for name, logical_id, resource in groups:
        properties = resource["Properties"]
        assert properties["RetentionInDays"] == blueprint.logs.retention_days, f"{name}/{logical_id}"
        assert properties["KmsKeyId"] == {"Ref": "LogsKmsKeyArn"}, f"{name}/{logical_id}"
        # fixed names (build, deploy and database logs) go with a failed create; the others say why it failed
        kept = "RetainExceptOnCreate" if "LogGroupName" in properties else "Retain"
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == (kept, "Retain"), logical_id
    assert ROOT_NAME not in {name for name, _, _ in groups}


def test_database_logs_land_in_the_log_groups_the_stack_creates(example: tuple[Blueprint, StackSet]) -> None:
    blueprint, stack_set = example
    assert blueprint.database is not None, "the example blueprints all have a database"
    template = stack_set.child("database").template.to_dict()
    cluster = template["Resources"]["DatabaseCluster"]
    identifier = cluster["Properties"]["DBClusterIdentifier"]
    groups = {
        logical_id: resource["Properties"]["LogGroupName"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    exports = cluster["Properties"]["EnableCloudwatchLogsExports"]
    assert sorted(groups.values()) == sorted(f"/aws/rds/cluster/{identifier}/{export}" for export in exports)
    assert sorted(cluster["DependsOn"]) == sorted(groups)

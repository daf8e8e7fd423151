"""Stubbed cases: what the emulator cannot model yet, answered in CloudFormation's documented response shapes.

Each case names the AWS documentation page its responses copy (see tests/documented_responses.py);
the answers are looked up by operation and stack or change set, never by call order. moto makes no
nested change sets and no Replacement fields, never rolls back, and has no DescribeEvents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from cfngen import Deployer, DeployError, Plan, ResourceChange, SafetyError
from cfngen.deploy._package import Package
from cfngen.deploy._safety import violations
from tests import documented_responses as documented

CHILD_URL = "https://templates.s3.us-west-2.amazonaws.com/cfngen/templates/{}.json"
SERVICE_TEMPLATE = {
    "Resources": {
        "ServiceAService": {
            "Type": "AWS::ECS::Service",
            "Properties": {"DeploymentController": {"Type": "CODE_DEPLOY"}},
        }
    }
}
ROOT_TEMPLATE = {
    "Resources": {
        logical_id: {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": CHILD_URL.format(digest)}}
        for logical_id, digest in (("Network", "n" * 64), ("Database", "d" * 64), ("ServiceServiceA", "s" * 64))
    }
}


def _package() -> Package:
    return Package(
        name="shop",
        region=documented.REGION,
        templates={
            "root.json": ROOT_TEMPLATE,
            "network.json": {},
            "database.json": {},
            "service-service-a.json": SERVICE_TEMPLATE,
        },
        template_hashes={
            "root.json": "r" * 64,
            "network.json": "n" * 64,
            "database.json": "d" * 64,
            "service-service-a.json": "s" * 64,
        },
        capabilities=("CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"),
        tags={"Project": "shop"},
        url=CHILD_URL.format("r" * 64),
    )


@pytest.fixture()
def deployer(monkeypatch: pytest.MonkeyPatch) -> Deployer:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=documented.REGION)
    return Deployer(session=session, bucket="templates", poll_s=0, timeout_s=5)


def _tree_answers(stack: Callable[[], dict[str, Any]]) -> dict[tuple[str, str], Any]:
    """An updatable stack "shop" with three nested stacks, a two-page root change set and three nested ones."""
    return {
        ("DescribeStacks", "shop"): stack,
        ("DescribeStacks", documented.ROOT): stack,
        ("CreateChangeSet", "shop"): {"Id": documented.ROOT_CHANGE_SET, "StackId": documented.ROOT},
        ("DescribeChangeSet", documented.ROOT_CHANGE_SET): documented.ROOT_PAGE_1,
        ("DescribeChangeSet", documented.ROOT_CHANGE_SET + "#page-2"): documented.ROOT_PAGE_2,
        ("DescribeChangeSet", documented.NETWORK_CHANGE_SET): documented.NETWORK_CHANGES,
        ("DescribeChangeSet", documented.DATABASE_CHANGE_SET): documented.DATABASE_CHANGES,
        ("DescribeChangeSet", documented.SERVICE_CHANGE_SET): documented.SERVICE_CHANGES,
        ("DescribeEvents", ""): {"OperationEvents": []},
        ("ListStackResources", documented.ROOT): documented.nested_resource("Network", documented.NETWORK),
        ("ListStackResources", ""): documented.NO_RESOURCES,
        ("GetStackPolicy", ""): {},
        ("SetStackPolicy", ""): {},
        ("UpdateTerminationProtection", ""): {"StackId": documented.ROOT},
        # The deployed root is the package's: the template analysis walks no child; the preview is what is tested.
        ("GetTemplate", documented.ROOT): {"TemplateBody": json.dumps(ROOT_TEMPLATE)},
    }


def _plan(deployer: Deployer) -> Plan:
    documented.DocumentedCloudFormation(
        deployer._cloudformation, _tree_answers(lambda: documented.stack("UPDATE_COMPLETE"))
    )
    return deployer.plan(_package())


def test_the_plan_walks_every_page_of_every_nested_change_set(deployer: Deployer) -> None:
    """DescribeChangeSet pages (NextToken) and nested change sets (ChangeSetId of a nested stack's row):
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html"""
    plan = _plan(deployer)
    rows = [(c.stack, c.logical_id, c.action, c.replacement, c.causes) for c in plan.changes]
    assert rows == [
        ("root", "Network", "modify", "", ("TemplateURL",)),
        ("root/Network", "PublicSubnet1", "replace", "true", ("CidrBlock",)),
        ("root/Network", "FlowLogGroup", "replace", "conditional", ("LogGroupName",)),
        ("root", "Database", "modify", "", ("TemplateURL",)),
        ("root/Database", "DatabaseCluster", "replace", "true", ("StorageEncrypted",)),
        ("root/Database", "DatabaseReader1", "remove", "", ()),
        ("root/Database", "DatabaseReader2", "add", "", ()),
        ("root", "ServiceServiceA", "modify", "", ("TemplateURL",)),
        ("root/ServiceServiceA", "ServiceATaskDefinition", "replace", "true", ("ContainerDefinitions",)),
        ("root/ServiceServiceA", "ServiceAService", "modify", "", ("TaskDefinition", "DesiredCount")),
    ]
    assert plan.nested_change_sets == (
        documented.NETWORK_CHANGE_SET,
        documented.DATABASE_CHANGE_SET,
        documented.SERVICE_CHANGE_SET,
    )
    assert [c.pipeline_owned for c in plan.changes if c.logical_id == "ServiceAService"] == [("TaskDefinition",)]
    table = plan.render()
    assert re.search(
        r"^root/Database +DatabaseCluster +AWS::RDS::DBCluster +replace +true +StorageEncrypted$", table, re.MULTILINE
    )
    assert "10 changes: 1 to add, 4 to modify, 1 to remove, 4 to replace" in table
    assert "on failure: the update rolls back; resources created by this run are deleted" in table


def test_the_safety_rules_refuse_stateful_replacements_and_pipeline_owned_changes(deployer: Deployer) -> None:
    """Replacement True and Conditional on stateful types, in nested change sets:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html"""
    plan = _plan(deployer)
    refused = {(str(v.change.logical_id), v.message.split(";")[0]) for v in violations(plan)}
    assert refused == {
        ("PublicSubnet1", "the change set replaces a stateful resource"),
        ("FlowLogGroup", "the change set may replace a stateful resource"),
        ("DatabaseCluster", "the change set replaces a stateful resource"),
        ("DatabaseReader1", "the change set removes a stateful resource"),
        ("ServiceAService", "changes TaskDefinition of an ECS service under the CODE_DEPLOY controller"),
    }
    with pytest.raises(SafetyError) as caught:
        deployer.apply(plan, allow_replace=["PublicSubnet1", "FlowLogGroup", "DatabaseCluster", "DatabaseReader1"])
    assert "the pipeline owns these" in str(caught.value) and "DatabaseCluster" not in str(caught.value)


def test_the_safety_rules_run_on_what_aws_says_at_apply_not_on_the_plan_in_hand(deployer: Deployer) -> None:
    """apply() reads the change set again: rows dropped from a plan object are found again."""
    plan = _plan(deployer)
    harmless = Plan(**{**vars(plan), "changes": tuple(c for c in plan.changes if c.action == "add")})
    assert violations(harmless) == []
    with pytest.raises(SafetyError, match="DatabaseCluster"):
        deployer.apply(harmless)


def test_a_service_without_code_deploy_may_change_its_task_definition() -> None:
    from cfngen.deploy._safety import pipeline_owned

    raw = documented.SERVICE_CHANGES["Changes"][1]["ResourceChange"]
    rolling: dict[str, Any] = {"Resources": {"ServiceAService": {"Type": "AWS::ECS::Service", "Properties": {}}}}
    assert pipeline_owned(rolling, raw) == ()
    assert pipeline_owned(SERVICE_TEMPLATE, raw) == ("TaskDefinition",)


def test_a_rollback_names_the_first_failure_in_the_nested_stack(deployer: Deployer) -> None:
    """An update that rolls back; the cause is in a nested stack, its parents only repeat it:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html"""
    executed: list[bool] = []
    answers = _tree_answers(lambda: documented.stack("UPDATE_ROLLBACK_COMPLETE" if executed else "UPDATE_COMPLETE"))
    answers.update(
        {
            ("DescribeChangeSet", documented.ROOT_CHANGE_SET): documented.NETWORK_ONLY,
            ("ExecuteChangeSet", ""): lambda: executed.append(True) or {},
            ("DescribeStackEvents", documented.ROOT): lambda: {
                "StackEvents": documented.ROOT_EVENTS if executed else [documented.OLD_ROOT_EVENT]
            },
            ("DescribeStackEvents", documented.NETWORK): lambda: {
                "StackEvents": documented.NETWORK_EVENTS if executed else [documented.OLD_NETWORK_EVENT]
            },
            ("ListStackResources", documented.ROOT): lambda: documented.nested_resource(
                "Network", documented.NETWORK, "UPDATE_ROLLBACK_COMPLETE" if executed else "UPDATE_COMPLETE"
            ),
        }
    )
    documented.DocumentedCloudFormation(deployer._cloudformation, answers)
    plan = Plan(
        stack_name="shop",
        region=documented.REGION,
        change_set_type="UPDATE",
        change_set_id=documented.ROOT_CHANGE_SET,
        stack_id=documented.ROOT,
        stack_status="UPDATE_COMPLETE",
        stack_updated=documented.stack("UPDATE_COMPLETE")["Stacks"][0]["LastUpdatedTime"].isoformat(),
        changes=(ResourceChange("root", "Network", "AWS::CloudFormation::Stack", "modify"),),
    )
    with pytest.raises(DeployError) as caught:
        deployer.apply(plan)
    message = str(caught.value)
    assert message.startswith(
        "shop ended UPDATE_ROLLBACK_COMPLETE: the first failure was NatGateway1 "
        "(AWS::EC2::NatGateway) in stack shop-Network-1X2Y3Z4W5V6U:"
    )
    assert "The maximum number of addresses has been reached" in message
    assert DeployError.exit_code == 1


def _validation_event(logical_id: str, resource_type: str, mode: str, name: str, reason: str) -> dict[str, Any]:
    return {
        "EventId": f"{logical_id}-{name}",
        "StackId": documented.REGISTRY,
        "OperationId": "op-1",
        "OperationType": "CREATE_CHANGESET",
        "OperationStatus": "FAILED",
        "EventType": "VALIDATION_ERROR",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": documented.T0,
        "ValidationFailureMode": mode,
        "ValidationName": name,
        "ValidationStatus": "FAILED",
        "ValidationStatusReason": reason,
        "ValidationPath": f"/Resources/{logical_id}",
    }


@pytest.mark.parametrize("status", ["FAILED", "CREATE_COMPLETE"])
def test_early_validation_is_shown_per_stack_and_resource_and_a_failure_blocks_apply(
    deployer: Deployer, status: str
) -> None:
    """CloudFormation validates a change set before execution (Nov 2025); the details come from DescribeEvents with
    the change set and the failed-events filter:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeEvents.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-change-sets-early-validation.html"""
    events = [
        _validation_event(
            "ServiceAImageRepository",
            "AWS::ECR::Repository",
            "FAIL",
            "NAME_CONFLICT_VALIDATION",
            "Resource of type AWS::ECR::Repository with identifier shop/service-a already exists",
        )
    ]
    if status == "CREATE_COMPLETE":
        events = [{**events[0], "ValidationFailureMode": "WARN"}]
    change_set = {
        **documented.NETWORK_ONLY,
        "Status": status,
        "NextToken": None,
        "ExecutionStatus": "UNAVAILABLE" if status == "FAILED" else "AVAILABLE",
        "StatusReason": "The change set failed early validation" if status == "FAILED" else "",
    }
    change_set = {key: value for key, value in change_set.items() if value is not None}
    documented.DocumentedCloudFormation(
        deployer._cloudformation,
        {
            ("DescribeStacks", "shop"): {
                "Error": {"Code": "ValidationError", "Message": "Stack with id shop does not exist"}
            },
            ("DescribeStacks", documented.ROOT): documented.stack("REVIEW_IN_PROGRESS"),
            ("CreateChangeSet", "shop"): {"Id": documented.ROOT_CHANGE_SET, "StackId": documented.ROOT},
            ("DescribeChangeSet", documented.ROOT_CHANGE_SET): change_set,
            ("DescribeEvents", documented.ROOT_CHANGE_SET): {"OperationEvents": events},
        },
    )
    plan = deployer.plan(_package())
    assert plan.change_set_type == "CREATE" and plan.validation_failed is (status == "FAILED")
    line = (
        "shop-Registry-A1B2C3D4E5F6/ServiceAImageRepository (AWS::ECR::Repository): early validation "
        f"NAME_CONFLICT_VALIDATION {'fails' if status == 'FAILED' else 'warns'}: Resource of type "
        "AWS::ECR::Repository with identifier shop/service-a already exists"
    )
    assert line in plan.render().splitlines()
    if status == "FAILED":
        with pytest.raises(DeployError, match="early validation refused the change set of shop"):
            deployer.apply(plan)

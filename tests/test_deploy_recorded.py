"""What the emulator cannot show, at the boto3 boundary with real CloudFormation response shapes (tests/recorded.py):
walking nested change sets, replacement detection, the safety rules on them, and the root cause of a rollback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cfngen import Deployer, DeployError, Plan, ResourceChange, SafetyError
from cfngen.deploy.package import Package
from cfngen.deploy.safety import violations
from tests import recorded

CHILD_URL = "https://templates.s3.us-west-2.amazonaws.com/cfngen/templates/{}.json"
SERVICE_TEMPLATE = {"Resources": {"ServiceAService": {"Type": "AWS::ECS::Service", "Properties": {
    "DeploymentController": {"Type": "CODE_DEPLOY"}}}}}


def _package() -> Package:
    root = {"Resources": {logical_id: {"Type": "AWS::CloudFormation::Stack",
                                       "Properties": {"TemplateURL": CHILD_URL.format(digest)}}
                          for logical_id, digest in (("Network", "n" * 64), ("Database", "d" * 64),
                                                     ("ServiceServiceA", "s" * 64))}}
    return Package(name="shop", region=recorded.REGION,
                   templates={"root.json": root, "network.json": {}, "database.json": {},
                              "service-service-a.json": SERVICE_TEMPLATE},
                   template_hashes={"root.json": "r" * 64, "network.json": "n" * 64, "database.json": "d" * 64,
                                    "service-service-a.json": "s" * 64},
                   capabilities=("CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"), tags={"Project": "shop"},
                   url=CHILD_URL.format("r" * 64))


@pytest.fixture()
def deployer(monkeypatch: pytest.MonkeyPatch) -> Deployer:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=recorded.REGION)
    return Deployer(session=session, bucket="templates", poll_s=0, timeout_s=5)


@pytest.fixture()
def stubber(deployer: Deployer) -> Iterator[Stubber]:
    with Stubber(deployer._cloudformation) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _expect_plan(stubber: Stubber) -> None:
    stubber.add_response("describe_stacks", recorded.stack("UPDATE_COMPLETE"), {"StackName": "shop"})
    stubber.add_response("create_change_set", {"Id": recorded.ROOT_CHANGE_SET, "StackId": recorded.ROOT}, {
        "StackName": "shop", "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "IncludeNestedStacks": True,
        "ImportExistingResources": True,
        "Capabilities": ["CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"], "Parameters": [],
        "Tags": [{"Key": "Project", "Value": "shop"}], "Description": ANY, "TemplateURL": CHILD_URL.format("r" * 64)})
    stubber.add_response("describe_change_set", recorded.ROOT_PAGE_1, {"ChangeSetName": recorded.ROOT_CHANGE_SET})
    stubber.add_response("describe_stacks", recorded.stack("UPDATE_COMPLETE"), {"StackName": recorded.ROOT})
    for response, name, token in (
            (recorded.ROOT_PAGE_1, recorded.ROOT_CHANGE_SET, None),
            (recorded.NETWORK_CHANGES, recorded.NETWORK_CHANGE_SET, None),
            (recorded.ROOT_PAGE_2, recorded.ROOT_CHANGE_SET, "page-2"),
            (recorded.DATABASE_CHANGES, recorded.DATABASE_CHANGE_SET, None),
            (recorded.SERVICE_CHANGES, recorded.SERVICE_CHANGE_SET, None)):
        stubber.add_response("describe_change_set", response,
                             {"ChangeSetName": name, **({"NextToken": token} if token else {})})


def test_the_plan_walks_every_page_of_every_nested_change_set(deployer: Deployer, stubber: Stubber) -> None:
    _expect_plan(stubber)
    plan = deployer.plan(_package())
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
    assert plan.nested_change_sets == (recorded.NETWORK_CHANGE_SET, recorded.DATABASE_CHANGE_SET,
                                       recorded.SERVICE_CHANGE_SET)
    assert [c.pipeline_owned for c in plan.changes if c.logical_id == "ServiceAService"] == [("TaskDefinition",)]
    table = plan.render()
    assert re.search(r"^root/Database +DatabaseCluster +AWS::RDS::DBCluster +replace +true +StorageEncrypted$",
                     table, re.MULTILINE)
    assert table.splitlines()[-1] == "10 changes: 1 to add, 4 to modify, 1 to remove, 4 to replace"


def test_the_safety_rules_refuse_stateful_replacements_and_pipeline_owned_changes(
        deployer: Deployer, stubber: Stubber) -> None:
    _expect_plan(stubber)
    plan = deployer.plan(_package())
    refused = {(str(v.change.logical_id), v.message.split(";")[0]) for v in violations(plan)}
    assert refused == {
        ("FlowLogGroup", "the change set replaces a stateful resource"),
        ("DatabaseCluster", "the change set replaces a stateful resource"),
        ("DatabaseReader1", "the change set removes a stateful resource"),
        ("ServiceAService", "changes TaskDefinition of an ECS service under the CODE_DEPLOY controller"),
    }
    with pytest.raises(SafetyError) as caught:
        deployer.apply(plan, allow_replace=["FlowLogGroup", "DatabaseCluster", "DatabaseReader1"])
    assert "the pipeline owns these" in str(caught.value) and "DatabaseCluster" not in str(caught.value)


def test_allowing_a_replacement_by_logical_id_lifts_only_that_rule() -> None:
    change = ResourceChange("root/Registry", "ServiceAImageRepository", "AWS::ECR::Repository", "replace", "true")
    plan = Plan(stack_name="shop", region="us-west-2", change_set_type="UPDATE", change_set_id="cs",
                changes=(change, ResourceChange("root", "Registry", "AWS::CloudFormation::Stack", "remove")))
    assert [v.change.logical_id for v in violations(plan)] == ["ServiceAImageRepository", "Registry"]
    assert [v.change.logical_id for v in violations(plan, ["ServiceAImageRepository"])] == ["Registry"]
    assert violations(plan, ["ServiceAImageRepository", "Registry"]) == []


def test_a_service_without_code_deploy_may_change_its_task_definition() -> None:
    from cfngen.deploy.safety import pipeline_owned

    raw = recorded.SERVICE_CHANGES["Changes"][1]["ResourceChange"]
    rolling: dict[str, Any] = {"Resources": {"ServiceAService": {"Type": "AWS::ECS::Service", "Properties": {}}}}
    assert pipeline_owned(rolling, raw) == ()
    assert pipeline_owned(SERVICE_TEMPLATE, raw) == ("TaskDefinition",)


def test_a_rollback_names_the_first_failure_in_the_nested_stack(deployer: Deployer, stubber: Stubber) -> None:
    plan = Plan(stack_name="shop", region=recorded.REGION, change_set_type="UPDATE",
                change_set_id=recorded.ROOT_CHANGE_SET, stack_id=recorded.ROOT, stack_status="UPDATE_COMPLETE",
                stack_updated=recorded.stack("UPDATE_COMPLETE")["Stacks"][0]["LastUpdatedTime"].isoformat(),
                changes=(ResourceChange("root", "Network", "AWS::CloudFormation::Stack", "modify"),))
    root, network = {"StackName": recorded.ROOT}, {"StackName": recorded.NETWORK}
    stubber.add_response("describe_change_set", recorded.ROOT_PAGE_2, {"ChangeSetName": recorded.ROOT_CHANGE_SET})
    stubber.add_response("describe_stacks", recorded.stack("UPDATE_COMPLETE"), root)
    # Before executing: every event that exists is old.
    stubber.add_response("describe_stack_events", {"StackEvents": [recorded.OLD_ROOT_EVENT]}, root)
    stubber.add_response("list_stack_resources", recorded.nested_resource("Network", recorded.NETWORK), root)
    stubber.add_response("describe_stack_events", {"StackEvents": [recorded.OLD_NETWORK_EVENT]}, network)
    stubber.add_response("list_stack_resources", recorded.NO_RESOURCES, network)
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": recorded.ROOT_CHANGE_SET})
    for _ in range(2):  # poll, see the stack settled, poll once more for the last events
        stubber.add_response("describe_stack_events", {"StackEvents": recorded.ROOT_EVENTS}, root)
        stubber.add_response("list_stack_resources", recorded.nested_resource("Network", recorded.NETWORK), root)
        stubber.add_response("describe_stack_events", {"StackEvents": recorded.NETWORK_EVENTS}, network)
        stubber.add_response("list_stack_resources", recorded.NO_RESOURCES, network)
        if _ == 0:
            stubber.add_response("describe_stacks", recorded.stack("UPDATE_ROLLBACK_COMPLETE"), root)
    with pytest.raises(DeployError) as caught:
        deployer.apply(plan)
    message = str(caught.value)
    assert message.startswith("shop ended UPDATE_ROLLBACK_COMPLETE: the first failure was NatGateway1 "
                              "(AWS::EC2::NatGateway) in stack shop-Network-1X2Y3Z4W5V6U:")
    assert "The maximum number of addresses has been reached" in message
    assert DeployError.exit_code == 1

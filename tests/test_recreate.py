"""Re-create and revert drift: the CreateChangeSet options the deployer sends, and how the plan shows their answers.

The emulator (moto) accepts both options and ignores them: it neither imports an existing resource
(it creates a second model of the same name) nor compares a change set with live state. So the
emulator tests check what is sent; the plan's reading of AWS's answer is tested on the shapes of
AWS's API reference (DescribeChangeSet: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cfngen import Deployer, Plan, StackSet, UsageError, load_blueprint, synthesize
from cfngen.deploy._change_set_options import not_drift_aware
from cfngen.deploy._plan import to_change
from cfngen.local import LocalAws
from tests.conftest import ROOT

REGION = "us-east-1"


@pytest.fixture()
def dev() -> StackSet:
    return synthesize(load_blueprint(ROOT / "tests" / "blueprints" / "minimal.yaml"))


def _recording_deployer() -> tuple[Deployer, list[dict[str, Any]]]:
    session = boto3.Session(region_name=REGION)
    sent: list[dict[str, Any]] = []
    session.events.register(
        "provide-client-params.cloudformation.CreateChangeSet", lambda params, **_: sent.append(dict(params))
    )
    deployer = Deployer(region=REGION, poll_s=0.05, timeout_s=30, session=session)
    deployer.bootstrap()
    sent.clear()
    return deployer, sent


def test_every_change_set_adopts_retained_resources_on_the_root(aws: LocalAws, dev: StackSet) -> None:
    deployer, sent = _recording_deployer()
    deployer.apply(deployer.plan(deployer.package(dev)))
    deployer.plan(deployer.package(synthesize(dev.blueprint.model_copy(update={"tags": {"team": "x"}}))))
    assert [
        (params["ChangeSetType"], params.get("ImportExistingResources"), params["IncludeNestedStacks"])
        for params in sent
    ] == [("CREATE", True, True), ("UPDATE", True, True)]
    assert all("DeploymentMode" not in params for params in sent)


def test_revert_drift_asks_for_a_drift_aware_change_set(aws: LocalAws, dev: StackSet) -> None:
    deployer, sent = _recording_deployer()
    with pytest.raises(UsageError, match="--revert-drift needs a deployed stack"):
        deployer.plan(deployer.package(dev), revert_drift=True)
    deployer.apply(deployer.plan(deployer.package(dev)))
    sent.clear()
    unchanged = deployer.plan(deployer.package(dev), revert_drift=True)
    retagged = deployer.plan(
        deployer.package(synthesize(dev.blueprint.model_copy(update={"tags": {"team": "x"}}))), revert_drift=True
    )
    assert [
        (params["DeploymentMode"], params["IncludeNestedStacks"], "ImportExistingResources" in params)
        for params in sent
    ] == [("REVERT_DRIFT", True, False)] * 2
    # The emulator ignores the mode; each plan says so instead of promising a revert that will not happen.
    for plan in (unchanged, retagged):
        assert plan.not_drift_aware == ("microservices-minimal",)
        assert (
            "not drift-aware (CloudFormation did not apply REVERT_DRIFT; drift in these stays): microservices-minimal"
        ) in plan.render()
    assert not unchanged.has_changes and retagged.has_changes


def test_nested_change_sets_that_are_not_drift_aware_are_named() -> None:
    """AWS's answer, in the shape of its API reference: DeploymentMode is present only on a drift-aware change set."""
    client = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for name, mode in (("shop", "REVERT_DRIFT"), ("shop-Network-1", "REVERT_DRIFT"), ("shop-Cluster-2", None)):
        stubber.add_response(
            "describe_change_set",
            {
                "ChangeSetName": "cs",
                "ChangeSetId": f"arn:aws:cloudformation:{REGION}:1:changeSet/cs/{name}",
                "StackName": name,
                "Status": "CREATE_COMPLETE",
                **({"DeploymentMode": mode} if mode else {}),
            },
            {"ChangeSetName": name},
        )
    with stubber:
        assert not_drift_aware(client, ["shop", "shop-Network-1", "shop-Cluster-2"]) == ("shop-Cluster-2",)


IMPORTED = {
    "Action": "Import",
    "LogicalResourceId": "WebImageRepository",
    "ResourceType": "AWS::ECR::Repository",
    "PhysicalResourceId": "microservices-minimal/web",
    "Details": [],
}
DRIFTED = {
    "Action": "Modify",
    "LogicalResourceId": "WebLogGroup",
    "ResourceType": "AWS::Logs::LogGroup",
    "PhysicalResourceId": "web-logs",
    "Replacement": "False",
    "ResourceDriftStatus": "MODIFIED",
    "Details": [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "RetentionInDays",
                "Path": "/Properties/RetentionInDays",
                "RequiresRecreation": "Never",
                "BeforeValue": "1",
                "AfterValue": "30",
                "BeforeValueFrom": "ACTUAL_STATE",
                "AfterValueFrom": "TEMPLATE",
                "AttributeChangeType": "Modify",
                "Drift": {"PreviousValue": "30", "ActualValue": "1"},
            },
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        },
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "LogGroupClass",
                "Path": "/Properties/LogGroupClass",
                "RequiresRecreation": "Never",
                "BeforeValue": "STANDARD",
                "AfterValue": "STANDARD",
                "BeforeValueFrom": "ACTUAL_STATE",
                "AfterValueFrom": "TEMPLATE",
                "AttributeChangeType": "SyncWithActual",
            },
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        },
    ],
}


def _plan(*changes: dict[str, Any]) -> Plan:
    return Plan(
        stack_name="microservices-minimal",
        region=REGION,
        change_set_type="UPDATE",
        change_set_id="cs",
        changes=tuple(to_change("microservices-minimal/ServiceWeb", raw) for raw in changes),
    )


def test_the_plan_names_the_resources_it_adopts() -> None:
    text = _plan(IMPORTED).render()
    assert (
        "adopts 1 existing resource (kept by an earlier stack; ImportExistingResources):\n"
        "  microservices-minimal/ServiceWeb WebImageRepository AWS::ECR::Repository microservices-minimal/web"
    ) in text


def test_a_drift_aware_plan_shows_template_and_live_value_per_property() -> None:
    plan = _plan(DRIFTED)
    lines = plan.render().splitlines()
    start = lines.index("property changes (drift-aware change set):")
    assert [line.split() for line in lines[start + 1 : start + 4]] == [
        ["stack", "logical", "id", "property", "template", "live", "change"],
        [
            "microservices-minimal/ServiceWeb",
            "WebLogGroup",
            "/Properties/RetentionInDays",
            "30",
            "1",
            "sets",
            "the",
            "template",
            "value",
        ],
        [
            "microservices-minimal/ServiceWeb",
            "WebLogGroup",
            "/Properties/LogGroupClass",
            "STANDARD",
            "STANDARD",
            "keeps",
            "the",
            "live",
            "value",
            "(the",
            "template",
            "matches",
            "it)",
        ],
    ]
    assert Plan.from_dict(plan.to_dict()) == plan, "the plan file keeps the property rows"
    unreverted = replace(plan, not_drift_aware=("microservices-minimal-Cluster-1",))
    assert Plan.from_dict(unreverted.to_dict()) == unreverted


def test_an_ordinary_change_set_has_no_property_rows() -> None:
    ordinary = {
        **DRIFTED,
        "Details": [{"Target": {"Attribute": "Properties", "Name": "RetentionInDays", "RequiresRecreation": "Never"}}],
    }
    assert _plan(ordinary).changes[0].properties == ()
    assert "property changes" not in _plan(ordinary).render()

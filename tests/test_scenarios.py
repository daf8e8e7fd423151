"""Lifecycle scenarios: the `cfngen` command line against the emulator server, as a platform team lives it.

Each scenario states what AWS does (with the documentation page) and asserts the same on the emulator. Where the
emulator now behaves as AWS does but the deployer (issue 19) does not yet, the scenario is marked
``xfail(strict=True)`` naming the missing deployer behaviour: it turns into a failure (to un-mark) once the deployer
does it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from cfngen import load_blueprint, synthesize
from cfngen.cli import main
from cfngen.local import LocalAws
from tests.conftest import ROOT

REGION = "us-east-1"  # the minimal blueprint's
STACK = "microservices-minimal"
MINIMAL = ROOT / "tests" / "blueprints" / "minimal.yaml"
IMAGES = f"{STACK}/web"  # the registry stack's fixed-name ECR repository (DeletionPolicy RetainExceptOnCreate)


@pytest.fixture()
def bootstrapped(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> LocalAws:
    assert main(["bootstrap", "--region", REGION]) == 0
    capsys.readouterr()
    return aws


def _cloudformation() -> Any:
    return boto3.client("cloudformation", region_name=REGION)


def _stacks_named(name: str) -> list[dict[str, Any]]:
    """Live stacks of that name (DescribeStacks without a name lists every live stack, nested ones included)."""
    return [stack for stack in _cloudformation().describe_stacks()["Stacks"] if stack["StackName"] == name]


def _blueprint(tmp_path: Path, services: list[str], tags: dict[str, str] | None = None) -> Path:
    lines = [f"name: {STACK}", f"region: {REGION}", "services:"]
    lines += [
        f"  - name: {service}\n    port: {8080 + index}\n    listener_port: {80 + index}\n"
        f"    test_listener_port: {9080 + index}"
        for index, service in enumerate(services)
    ]
    if tags:
        lines += ["tags:"] + [f"  {key}: {value}" for key, value in tags.items()]
    path = tmp_path / f"{STACK}-{len(services)}-{len(tags or {})}.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _replans_clean(blueprint: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["plan", str(blueprint), "--detailed-exitcode"]) == 0, capsys.readouterr().out
    assert "no changes" in capsys.readouterr().out


def test_plan_deploy_replan(bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: `plan` makes a CREATE change set on a new stack, which waits in REVIEW_IN_PROGRESS; `deploy` puts its own
    change set on that same stack (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html),
    and a re-plan of what was applied has no changes."""
    assert main(["plan", str(MINIMAL), "--detailed-exitcode"]) == 4
    assert [stack["StackStatus"] for stack in _stacks_named(STACK)] == ["REVIEW_IN_PROGRESS"]
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    assert [stack["StackStatus"] for stack in _stacks_named(STACK)] == ["CREATE_COMPLETE"], "one stack, not two"
    _replans_clean(MINIMAL, capsys)


def test_first_create_interrupted_before_execution_then_deploy(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: a run stopped (SIGTERM) after creating its change set leaves the stack in REVIEW_IN_PROGRESS; the next
    deploy's CREATE change set goes on that stack and applies
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html)."""
    client = _cloudformation()
    client.create_change_set(
        StackName=STACK,
        ChangeSetName="interrupted",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    stacks = _stacks_named(STACK)
    assert [stack["StackStatus"] for stack in stacks] == ["CREATE_COMPLETE"]
    _replans_clean(MINIMAL, capsys)


def test_first_create_interrupted_after_execution_ends_protected(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: CloudFormation carries on when the deploying process dies after ExecuteChangeSet, and the stack completes
    without the termination protection the deployer would have set afterwards
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html); the next deploy
    finds no changes and must still leave the stack protected."""
    from cfngen import Deployer, load_blueprint, synthesize

    deployer = Deployer(region=REGION, poll_s=0.05)
    plan = deployer.plan(deployer.package(synthesize(load_blueprint(MINIMAL))))
    _cloudformation().execute_change_set(ChangeSetName=plan.change_set_id)  # ... and the process was killed
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    assert _stacks_named(STACK)[0]["EnableTerminationProtection"] is True


def test_a_stale_plan_is_refused(bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: executing a change set makes the stack's other change sets OBSOLETE, and those cannot be executed
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ChangeSetSummary.html): a plan made before
    someone else's deploy does not apply over it (issue 19: exit 3, "changed since the plan was made")."""
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    stale, mine = tmp_path / "stale.json", _blueprint(tmp_path, ["web"], {"Team": "mine"})
    assert main(["plan", str(mine), "--out", str(stale)]) == 0
    assert main(["deploy", str(_blueprint(tmp_path, ["web"], {"Team": "theirs", "Cost": "center"})), "--yes"]) == 0
    capsys.readouterr()
    assert main(["deploy", "--plan", str(stale), str(mine), "--yes"]) == 3
    error = capsys.readouterr().err
    assert "changed since the plan was made" in error or "OBSOLETE" in error, error
    tags = {tag["Key"]: tag["Value"] for tag in _stacks_named(STACK)[0]["Tags"]}
    assert tags["Team"] == "theirs", "their update is not lost"


def test_concurrent_deploys_one_applies_the_other_is_refused(
    bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two deploys of one stack that both planned before either applied: AWS applies the first and refuses the
    second's change set (OBSOLETE, InvalidChangeSetStatus,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html), so no update is
    silently lost."""
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    one, two = (
        _blueprint(tmp_path, ["web"], {"Run": "first"}),
        _blueprint(tmp_path, ["web"], {"Run": "second", "X": "y"}),
    )
    assert main(["plan", str(one), "--out", str(first)]) == 0
    assert main(["plan", str(two), "--out", str(second)]) == 0
    assert main(["deploy", "--plan", str(first), str(one), "--yes"]) == 0
    capsys.readouterr()
    assert main(["deploy", "--plan", str(second), str(two), "--yes"]) != 0
    tags = {tag["Key"]: tag["Value"] for tag in _stacks_named(STACK)[0]["Tags"]}
    assert tags["Run"] == "first"


def test_a_failing_resource_names_its_root_cause_and_replace_failed_recovers(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: a resource that cannot be created fails its nested stack, which fails its resource in the root, and the
    first create rolls back to ROLLBACK_COMPLETE (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html);
    a stack in ROLLBACK_COMPLETE can only be deleted and created again (`--replace-failed`). The failure here: a
    build project of the pipeline's name exists already (the emulator adopts only repositories and log groups under
    ImportExistingResources; on AWS this stands for any resource that fails to create)."""
    builds = boto3.client("codebuild", region_name=REGION)
    project = f"{STACK}--web"
    builds.create_project(
        name=project,
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        artifacts={"type": "NO_ARTIFACTS"},
        serviceRole="arn:aws:iam::123456789012:role/x",
        environment={"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"},
    )
    assert main(["deploy", str(MINIMAL), "--yes"]) == 1
    error = capsys.readouterr().err
    assert f"{STACK} ended ROLLBACK_COMPLETE" in error
    assert f"stack/{STACK}-PipelineWeb-" in error, "the nested stack"
    assert "WebBuildProject" in error and "already exists" in error, "the resource and the reason"
    assert [stack["StackStatus"] for stack in _stacks_named(STACK)] == ["ROLLBACK_COMPLETE"]
    builds.delete_project(name=project)
    assert main(["deploy", str(MINIMAL), "--yes"]) == 1
    assert "--replace-failed" in capsys.readouterr().err
    assert main(["deploy", str(MINIMAL), "--yes", "--replace-failed"]) == 0
    _replans_clean(MINIMAL, capsys)


def test_remove_and_add_back_a_service(
    bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: removing a service deletes its nested stacks but keeps their retained resources (the ECR repository);
    adding it back creates new nested stacks, which adopt those resources (ImportExistingResources, else "already
    exists": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/resource-import.html)."""
    both, one = _blueprint(tmp_path, ["web", "api"]), _blueprint(tmp_path, ["web"])
    assert main(["deploy", str(both), "--yes"]) == 0
    removed = [
        option for stack in ("PipelineApi", "RegistryApi", "ServiceApi") for option in ("--allow-replace", stack)
    ]
    assert main(["deploy", str(one), "--yes", *removed]) == 0
    assert main(["deploy", str(both), "--yes"]) == 0
    resources = _cloudformation().describe_stack_resources(StackName=STACK)["StackResources"]
    for resource in resources:
        child = _cloudformation().describe_stacks(StackName=resource["PhysicalResourceId"])["Stacks"][0]
        assert child["StackStatus"].endswith("_COMPLETE") and "DELETE" not in child["StackStatus"]
    _replans_clean(both, capsys)


def test_destroy_and_create_again(bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: deleting a protected stack is refused until its protection is turned off (`cfngen destroy` does that)
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html); the deletion keeps
    resources with DeletionPolicy Retain, and creating the stack again adopts them (ImportExistingResources,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html)."""
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    client = _cloudformation()
    with pytest.raises(client.exceptions.ClientError, match="TerminationProtection is enabled"):
        client.delete_stack(StackName=STACK)
    assert main(["destroy", str(MINIMAL), "--yes"]) == 0
    assert _stacks_named(STACK) == []
    assert boto3.client("ecr", region_name=REGION).describe_repositories(repositoryNames=[IMAGES]), "retained"
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    _replans_clean(MINIMAL, capsys)


def test_the_deployed_demo_can_be_inspected_with_boto3(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: after a deploy the platform's resources exist in their services, as the templates say: the pipeline with
    its stages and role, the alarms with their actions, the Aurora cluster with its instances."""
    assert main(["deploy", str(ROOT / "blueprints" / "demo.yaml"), "--local"]) == 0
    out = capsys.readouterr().out
    region = "us-west-2"
    pipelines = boto3.client("codepipeline", region_name=region)
    name = next(
        entry["name"] for entry in pipelines.list_pipelines()["pipelines"] if entry["name"].endswith("service-a")
    )
    pipeline = pipelines.get_pipeline(name=name)["pipeline"]
    assert [stage["name"] for stage in pipeline["stages"]] == ["Source", "Build", "Deploy"]
    assert "-PipelineServiceA-" in pipeline["roleArn"] and "ServiceAPipelineRole" in pipeline["roleArn"]
    alarms = [
        alarm
        for alarm in boto3.client("cloudwatch", region_name=region).describe_alarms()["MetricAlarms"]
        if not alarm["AlarmName"].startswith("TargetTracking-")
    ]  # (those, the scaling policies' own)
    topics = [topic["TopicArn"] for topic in boto3.client("sns", region_name=region).list_topics()["Topics"]]
    assert alarms and all(set(alarm["AlarmActions"]) <= set(topics) and alarm["AlarmActions"] for alarm in alarms)
    cluster = boto3.client("rds", region_name=region).describe_db_clusters()["DBClusters"][0]
    assert len(cluster["DBClusterMembers"]) == 2
    assert "AWS::RDS::DBCluster" not in out and "AWS::CodePipeline::Pipeline" not in out, "no placeholder left"
    # The database users: their function and one-off task exist; the users themselves are placeholders, since
    # the emulator runs no function (README, "What the emulator does not model").
    functions = boto3.client("lambda", region_name=region).list_functions()["Functions"]
    assert [function for function in functions if "DatabaseUsersFunction" in function["FunctionName"]]
    families = boto3.client("ecs", region_name=region).list_task_definition_families()["families"]
    assert "microservices-demo--database-users" in families
    assert "Custom::DatabaseUser" in out


def _tree_statuses() -> dict[str, str]:
    """Name -> status of the blueprint's root and nested stacks, deleted ones included."""
    summaries = _cloudformation().list_stacks()["StackSummaries"]
    return {
        summary["StackName"]: summary["StackStatus"] for summary in summaries if summary["StackName"].startswith(STACK)
    }


def _line(output: str, text: str) -> int:
    """The number of the first output line containing `text`."""
    return next(number for number, line in enumerate(output.splitlines()) if text in line)


def test_destroy_deletes_the_whole_tree_in_dependency_order(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: "When you delete a stack, CloudFormation deletes the nested stacks along with it"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html), what uses a resource
    before that resource (the cluster before the network whose subnets it uses), each resource DELETE_COMPLETE, one
    with DeletionPolicy Retain DELETE_SKIPPED and kept
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html)."""
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    capsys.readouterr()
    assert main(["destroy", str(MINIMAL), "--yes"]) == 0
    events = capsys.readouterr().err
    statuses = _tree_statuses()
    nested = len(synthesize(load_blueprint(MINIMAL)).children)
    assert len(statuses) == 1 + nested and set(statuses.values()) == {"DELETE_COMPLETE"}, statuses
    assert _line(events, "Cluster AWS::CloudFormation::Stack DELETE_COMPLETE") < _line(
        events, "Network AWS::CloudFormation::Stack DELETE_IN_PROGRESS"
    )
    assert " Vpc AWS::EC2::VPC DELETE_COMPLETE" in events
    assert " WebImageRepository AWS::ECR::Repository DELETE_SKIPPED" in events
    assert boto3.client("ecr", region_name=REGION).describe_repositories(repositoryNames=[IMAGES]), "retained"
    assert [vpc["IsDefault"] for vpc in boto3.client("ec2", region_name=REGION).describe_vpcs()["Vpcs"]] == [True]
    ecs = boto3.client("ecs", region_name=REGION)
    assert [cluster["status"] for cluster in ecs.describe_clusters(clusters=[STACK])["clusters"]] == ["INACTIVE"]


def test_a_destroy_blocked_by_a_resource_made_by_hand_fails_then_finishes(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: a VPC that still holds something made outside the stack (here a route table) cannot be deleted: the
    resource is DELETE_FAILED, its nested stack and the root end DELETE_FAILED and stay, and deleting again once the
    dependency is gone finishes (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails)."""
    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    ec2 = boto3.client("ec2", region_name=REGION)
    (vpc,) = [vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]
    by_hand = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    capsys.readouterr()
    assert main(["destroy", str(MINIMAL), "--yes"]) == 1
    error = capsys.readouterr().err
    assert f"{STACK} ended DELETE_FAILED" in error and "Vpc (AWS::EC2::VPC)" in error and "DependencyViolation" in error
    assert [stack["StackStatus"] for stack in _stacks_named(STACK)] == ["DELETE_FAILED"]
    network = [name for name, status in _tree_statuses().items() if status == "DELETE_FAILED" and "-Network-" in name]
    assert len(network) == 1, _tree_statuses()
    ec2.delete_route_table(RouteTableId=by_hand)
    assert main(["destroy", str(MINIMAL), "--yes"]) == 0
    assert set(_tree_statuses().values()) == {"DELETE_COMPLETE"}


def test_an_operation_on_a_stack_in_progress_is_refused(
    bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS: while a stack is UPDATE_IN_PROGRESS, DeleteStack is a ValidationError "Stack [<arn>] cannot be deleted
    while in status UPDATE_IN_PROGRESS" and UpdateStack one "... is in UPDATE_IN_PROGRESS state and can not be
    updated." (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html); `cfngen
    destroy` waits for the operation to finish and gives up after --timeout, deleting nothing."""
    from tests.conftest import moto_stack

    assert main(["deploy", str(MINIMAL), "--yes"]) == 0
    stack = moto_stack(STACK, REGION)
    stack.status = "UPDATE_IN_PROGRESS"  # as while another deploy applies (the emulator applies within one request)
    client = _cloudformation()
    client.update_termination_protection(StackName=STACK, EnableTerminationProtection=False)
    with pytest.raises(client.exceptions.ClientError, match="cannot be deleted while in status UPDATE_IN_PROGRESS"):
        client.delete_stack(StackName=STACK)
    with pytest.raises(client.exceptions.ClientError, match="is in UPDATE_IN_PROGRESS state and can not be updated"):
        client.update_stack(StackName=STACK, UsePreviousTemplate=True)
    capsys.readouterr()
    assert main(["destroy", str(MINIMAL), "--yes", "--timeout", "6"]) == 124
    assert "is still busy (UPDATE_IN_PROGRESS)" in capsys.readouterr().err
    stack.status = "UPDATE_COMPLETE"
    assert set(_tree_statuses().values()) == {"CREATE_COMPLETE", "UPDATE_COMPLETE"}, "nothing was deleted"

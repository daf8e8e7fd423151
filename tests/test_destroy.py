"""`cfngen destroy` against the emulator: what it lists, when it asks, the scale-in hang, re-create afterwards.

The emulator deletes the nested stacks with the root and keeps resources whose DeletionPolicy is Retain, and it
refuses to delete a stack with termination protection, as CloudFormation does
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html). Its Auto Scaling
groups do not block a deletion on protected instances (AWS waits:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-termination-protection.html), so the tests
check that the protection is gone before DeleteStack.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from cfngen import Deployer
from cfngen.cli import main
from cfngen.deploy._destroy import release_scale_in_protection
from cfngen.local import LocalAws
from tests.conftest import MINIMAL, MINIMAL_REGION, MINIMAL_STACK, cloudformation

DEV, NAME, REGION = MINIMAL, MINIMAL_STACK, MINIMAL_REGION


def _stacks_left() -> list[str]:
    """The root and nested stacks of the blueprint that are not deleted."""
    return [
        summary["StackName"]
        for summary in cloudformation(REGION).list_stacks()["StackSummaries"]
        if summary["StackName"].startswith(NAME) and summary["StackStatus"] != "DELETE_COMPLETE"
    ]


def _group(client: Any) -> dict[str, Any]:
    (group,) = [
        group
        for group in client.describe_auto_scaling_groups()["AutoScalingGroups"]
        if group["AutoScalingGroupName"].startswith(NAME)
    ]
    return dict(group)


def test_destroy_refuses_without_yes_where_nobody_can_answer(
    minimal_deployed: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", DEV]) == 2
    assert "it runs only with --yes" in capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    assert main(["destroy", DEV]) == 2, "CI=true lets deploy apply unasked, never destroy"
    assert NAME in _stacks_left()


class _Terminal:
    """stdin of a person who answers `answer`."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        return self.answer + "\n"


@pytest.mark.parametrize(("answer", "left"), [("n", True), ("y", False)])
def test_destroy_asks_on_a_terminal(
    minimal_deployed: LocalAws,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    left: bool,
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(answer))
    assert main(["destroy", DEV]) == 0
    assert f"delete stack {NAME} and all its nested stacks in {REGION}? [y/N]" in capsys.readouterr().err
    assert (NAME in _stacks_left()) is left


def test_destroy_lists_deleted_and_retained_then_deletes_the_tree(
    minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cloudformation(REGION).describe_stacks(StackName=NAME)["Stacks"][0]["EnableTerminationProtection"]
    assert main(["destroy", DEV, "--yes"]) == 0
    out = capsys.readouterr().out
    listing, _, after = out.partition(f"{NAME}: destroyed (DELETE_COMPLETE)")
    assert "termination protection is on: destroy turns it off, then deletes" in listing
    assert f"  delete         {NAME}/Cluster AutoScalingGroup AWS::AutoScaling::AutoScalingGroup\n" in listing
    assert (
        f"  retained       {NAME}/RegistryWeb WebImageRepository AWS::ECR::Repository {NAME}/web "
        "(DeletionPolicy RetainExceptOnCreate)\n"
    ) in listing
    assert "scale-in protection is turned off first" in listing
    assert (
        f"aws cloudcontrol delete-resource --type-name AWS::ECR::Repository --identifier {NAME}/web --region {REGION}"
    ) in after
    assert NAME not in _stacks_left()
    repositories = boto3.client("ecr", region_name=REGION).describe_repositories()["repositories"]
    assert f"{NAME}/web" in [repository["repositoryName"] for repository in repositories], "retained: data stays"


def test_destroy_deletes_every_nested_stack(minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    """AWS: "When you delete a stack, CloudFormation deletes the nested stacks along with it"; each resource reports
    DELETE_COMPLETE, a retained one DELETE_SKIPPED
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html)."""
    assert main(["destroy", DEV, "--yes"]) == 0
    assert _stacks_left() == []
    err = capsys.readouterr().err
    assert re.search(rf"{NAME}-Network-\w+ Vpc AWS::EC2::VPC DELETE_COMPLETE", err), err
    assert re.search(rf"{NAME}-RegistryWeb-\w+ WebImageRepository AWS::ECR::Repository DELETE_SKIPPED", err)
    assert re.search(rf"{NAME} Network AWS::CloudFormation::Stack DELETE_COMPLETE", err)


def test_destroy_releases_both_protections_before_deleting(minimal_deployed: LocalAws) -> None:
    """The emulator deletes a group with protected instances anyway, so look at the calls: scale-in protection off,
    termination protection off, then DeleteStack."""
    session = boto3.Session(region_name=REGION)
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    deployer = Deployer(region=REGION, poll_s=0.05, timeout_s=30, session=session)
    teardown = deployer.teardown(NAME)
    assert teardown is not None and teardown.termination_protection
    assert deployer.destroy(teardown).result == "destroyed"
    order = [
        calls.index(name)
        for name in ("UpdateAutoScalingGroup", "SetInstanceProtection", "UpdateTerminationProtection", "DeleteStack")
    ]
    assert order == sorted(order)


def test_scale_in_protection_is_released_before_the_group_goes(minimal_deployed: LocalAws) -> None:
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    group = _group(autoscaling)
    assert group["NewInstancesProtectedFromScaleIn"] is True, "the capacity provider's managed termination protection"
    assert group["Instances"] and all(instance["ProtectedFromScaleIn"] for instance in group["Instances"])
    teardown = Deployer(region=REGION).teardown(NAME)
    assert teardown is not None and teardown.protected_groups == (group["AutoScalingGroupName"],)
    released = release_scale_in_protection(autoscaling, teardown.protected_groups)
    assert sorted(released) == sorted(instance["InstanceId"] for instance in group["Instances"])
    group = _group(autoscaling)
    assert group["NewInstancesProtectedFromScaleIn"] is False
    assert not any(instance["ProtectedFromScaleIn"] for instance in group["Instances"])


def test_destroy_then_deploy_recreates_and_the_replan_finds_nothing(
    minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["destroy", DEV, "--yes"]) == 0
    assert main(["deploy", DEV, "--yes"]) == 0
    assert "applied (CREATE_COMPLETE)" in capsys.readouterr().out
    assert main(["plan", DEV, "--detailed-exitcode"]) == 0
    assert "no changes" in capsys.readouterr().out


def test_destroy_of_a_stack_that_is_not_there_succeeds(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["destroy", DEV, "--stack-name", "nothing-here", "--region", REGION]) == 0
    assert "stack nothing-here does not exist in us-east-1: nothing to destroy" in capsys.readouterr().out


def test_destroy_json(minimal_deployed: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["destroy", DEV, "--yes", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "retained" in captured.err, "the listing goes to stderr, the document to stdout"
    assert report["outcome"]["result"] == "destroyed"
    kept = {entry["logical_id"]: entry for entry in report["teardown"]["kept"]}
    assert kept["WebBuildLogGroup"]["physical_id"] == f"/aws/codebuild/{NAME}--web"
    assert kept["WebBuildLogGroup"]["removal"].startswith(
        "aws cloudcontrol delete-resource --type-name AWS::Logs::LogGroup"
    )

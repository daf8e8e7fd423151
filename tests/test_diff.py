"""`cfngen diff`: per-stack, per-resource changes against a directory or a git revision, replacements flagged."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cfngen import UsageError, diff, load_blueprint, synthesize
from cfngen.cli import main
from cfngen.report._template_diff import ABSENT, diff_texts
from tests.conftest import ROOT

DEV = ROOT / "blueprints" / "dev.yaml"


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """The dev blueprint's templates as written today: the "old" side."""
    outdir = tmp_path / "old"
    synthesize(load_blueprint(DEV)).write(outdir)
    return outdir


def test_no_changes_against_the_same_templates(committed: Path) -> None:
    result = diff(synthesize(load_blueprint(DEV)), committed)
    assert not result and result.stacks == ()


def test_create_only_properties_are_flagged_as_replacements(committed: Path) -> None:
    result = diff(synthesize(load_blueprint(DEV, overrides=["network.cidr=10.1.0.0/16"])), committed)
    (stack,) = result.stacks
    assert stack.file == "network.yaml" and stack.status == "modified"
    vpc = next(resource for resource in stack.resources if resource.logical_id == "Vpc")
    assert vpc.action == "replace" and vpc.reason == "CidrBlock cannot change in place"
    (change,) = vpc.changes
    assert (change.path, change.old, change.new, change.forces_replacement) == (
        "Properties.CidrBlock",
        "10.0.0.0/16",
        "10.1.0.0/16",
        True,
    )
    # every subnet is carved from the VPC range, and a subnet's CIDR is create-only too
    replaced = {resource.logical_id for _, resource in result.replacements()}
    assert replaced == {"Vpc"} | {
        resource.logical_id for resource in stack.resources if resource.type == "AWS::EC2::Subnet"
    }


def test_changes_that_update_in_place_are_modifications(committed: Path) -> None:
    result = diff(
        synthesize(load_blueprint(DEV, overrides=["tags.Team=platform", "network.nat_gateways=2"])), committed
    )
    counts = result.counts()
    assert counts["replace"] == counts["remove"] == 0
    assert counts["add"] == 2  # the second NAT gateway and its EIP
    root = next(stack for stack in result.stacks if stack.file == "root.yaml")
    assert {resource.action for resource in root.resources} == {"modify"}  # tags reach resources via stack tags
    assert all(
        not change.forces_replacement and change.path.startswith("Properties.Tags")
        for resource in root.resources
        for change in resource.changes
    )
    network = next(stack for stack in result.stacks if stack.file == "network.yaml")
    added = {resource.logical_id: resource.type for resource in network.resources if resource.action == "add"}
    assert sorted(added.values()) == ["AWS::EC2::EIP", "AWS::EC2::NatGateway"]


def test_a_changed_logical_id_is_a_replacement(committed: Path) -> None:
    network = committed / "network.yaml"
    network.write_text(network.read_text(encoding="utf-8").replace("FlowLogGroup", "OldFlowLogGroup"), encoding="utf-8")
    result = diff(synthesize(load_blueprint(DEV)), committed)
    (stack,) = result.stacks
    group = next(resource for resource in stack.resources if resource.logical_id == "FlowLogGroup")
    assert (group.action, group.renamed_from) == ("replace", "OldFlowLogGroup")
    assert "logical id changed from OldFlowLogGroup" in group.reason
    assert group.keeps_data  # log groups carry DeletionPolicy Retain
    assert not any(resource.action == "remove" for resource in stack.resources)


def test_removed_stacks_resources_and_outputs(committed: Path) -> None:
    (committed / "extra.yaml").write_text(
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  TopicArn:\n    Value: !Ref Topic\n",
        encoding="utf-8",
    )
    (stack,) = diff(synthesize(load_blueprint(DEV)), committed).stacks
    assert (stack.file, stack.status) == ("extra.yaml", "removed")
    assert [(r.logical_id, r.action) for r in stack.resources] == [("Topic", "remove")]
    assert [(item.section, item.name, item.action) for item in stack.items] == [("Outputs", "TopicArn", "remove")]


def test_types_json_and_yaml_and_policies() -> None:
    old = {
        "app.json": json.dumps(
            {
                "Resources": {
                    "Data": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {"BucketName": "a"}},
                    "Queue": {"Type": "AWS::SQS::Queue"},
                    "Same": {
                        "Type": "AWS::SNS::Topic",
                        "Properties": {"TopicName": {"Fn::Sub": "${AWS::StackName}-t"}},
                    },
                }
            }
        )
    }
    new = {
        "app.yaml": """\
Resources:
  Data:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: b
  Queue:
    Type: AWS::SNS::Topic
  Same:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${AWS::StackName}-t'
"""
    }
    (stack,) = diff_texts(old, new, region="us-east-1").stacks
    data, queue = stack.resources
    assert (data.action, data.keeps_data, data.reason) == ("replace", True, "BucketName cannot change in place")
    assert (queue.action, queue.reason) == ("replace", "type changed from AWS::SQS::Queue")
    assert stack.file == "app.yaml"  # "Same" is equal although one side is JSON and the other YAML short form


def test_absent_values_are_marked() -> None:
    old = {"a.yaml": "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      DisplayName: x\n"}
    new = {"a.yaml": "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      FifoTopic: false\n"}
    (stack,) = diff_texts(old, new, region="us-east-1").stacks
    (topic,) = stack.resources
    assert {(change.path, change.old is ABSENT, change.new is ABSENT) for change in topic.changes} == {
        ("Properties.DisplayName", False, True),
        ("Properties.FifoTopic", True, False),
    }
    assert topic.action == "replace"  # FifoTopic is create-only in the SNS schema
    assert json.loads(json.dumps(topic.to_dict()))["changes"][0] == {
        "path": "Properties.DisplayName",
        "old": "x",
        "forces_replacement": False,
    }


def git(repo: Path, *arguments: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "commit.gpgsign=false",
            *arguments,
        ],
        check=True,
        capture_output=True,
    )


def test_against_a_git_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "blueprints", repo / "blueprints")
    shutil.copytree(ROOT / "services", repo / "services")
    git(repo, "init", "-q")
    monkeypatch.chdir(repo)
    blueprint = load_blueprint("blueprints/dev.yaml")
    synthesize(blueprint).write("templates/microservices-dev")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    (repo / "templates").rename(repo / "moved")  # the working tree need not hold the templates
    wider = synthesize(load_blueprint("blueprints/dev.yaml", overrides=["network.nat_gateways=2"]))
    assert diff(synthesize(blueprint), "HEAD").stacks == ()
    assert diff(wider, "HEAD").counts()["add"] == 2
    with pytest.raises(UsageError, match="no templates of blueprint 'microservices-dev' in nowhere/else at git"):
        diff(wider, "HEAD", directory="nowhere/else")  # nothing to compare with: not "every stack added"
    with pytest.raises(UsageError, match="neither a directory nor a revision"):
        diff(wider, "no-such-branch")


def test_a_revision_outside_any_repository_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not inside a git repository"):
        diff(synthesize(load_blueprint(DEV)), "HEAD", directory=tmp_path / "templates")


def test_command_line(committed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["diff", str(DEV), "--against", str(committed), "--set", "network.cidr=10.9.0.0/16"]
    assert main(arguments) == 0
    text = capsys.readouterr().out
    assert "network.yaml  (modified)" in text
    assert "  ! Vpc  AWS::EC2::VPC  replace: CidrBlock cannot change in place" in text
    assert '      Properties.CidrBlock: "10.0.0.0/16" -> "10.9.0.0/16"  (forces replacement)' in text
    assert main([*arguments, "--exit-code"]) == 1
    capsys.readouterr()
    assert main([*arguments, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["against"] == str(committed) and data["counts"]["replace"] == 5
    assert main(["diff", str(DEV), "--against", str(committed), "--exit-code"]) == 0
    assert "no changes" in capsys.readouterr().out


def test_changes_outside_resources_are_named() -> None:
    old = {"a.yaml": "Description: one\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"}
    new = {
        "a.yaml": "Description: two\nConditions:\n  Always: !Equals [a, a]\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
    }
    (stack,) = diff_texts(old, new, region="us-east-1").stacks
    assert (stack.resources, stack.items, stack.sections) == ((), (), ("Conditions", "Description"))

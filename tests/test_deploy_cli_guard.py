"""The stateful guard through `cfngen deploy` on the emulator, for every type of the one list, replace and remove.

The minimal blueprint is deployed once with one extra resource of every stateful type in its network
stack; each case then renames them all (a replacement each) or drops them all (a removal each) and
runs `cfngen deploy --yes`, which must exit 3 naming every one of them and execute nothing. (One
deploy per case, not per type: a CLI deploy lints and plans for about ten seconds.) The emulator makes no nested change sets:
cfngen's own template analysis is what sees these changes, as it sees those AWS's nested previews
call "modify".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cfngen.cli import main
from cfngen.local import LocalAws
from cfngen.synth import synthesize
from tests.conftest import ROOT, cloudformation
from tests.test_deploy_safety import GUARDED

DEV = str(ROOT / "tests" / "blueprints" / "minimal.yaml")
CHILD = "network.json"
# Enough for cfn-lint (and the emulator, which stands in for what it cannot make) to accept each type.
PROPERTIES: dict[str, dict[str, Any]] = {
    "AWS::CodeCommit::Repository": {"RepositoryName": "guarded-source"},
    "AWS::DynamoDB::Table": {
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
    },
    "AWS::EC2::Subnet": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.250.0/24"},
    "AWS::EC2::VPC": {"CidrBlock": "10.9.0.0/16"},
    "AWS::ECR::Repository": {"RepositoryName": "guarded-images"},
    "AWS::EFS::FileSystem": {"Encrypted": True},
    "AWS::KMS::Key": {
        "KeyPolicy": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                }
            ],
        }
    },
    "AWS::Logs::LogGroup": {"RetentionInDays": 7},
    "AWS::RDS::DBCluster": {
        "Engine": "aurora-mysql",
        "MasterUsername": "admin",
        "ManageMasterUserPassword": True,
        "StorageEncrypted": True,
    },
    "AWS::RDS::DBInstance": {
        "DBInstanceClass": "db.t3.medium",
        "Engine": "mysql",
        "AllocatedStorage": "20",
        "MasterUsername": "admin",
        "ManageMasterUserPassword": True,
        "StorageEncrypted": True,
    },
    "AWS::S3::Bucket": {},
    "AWS::SecretsManager::Secret": {},
}


def logical_id(resource_type: str) -> str:
    return "Guarded" + resource_type.split("::")[1] + resource_type.split("::")[2]


def extra(*, rename: bool = False, drop: bool = False) -> dict[str, Any]:
    resources = {}
    for resource_type in GUARDED if not drop else ():
        resources[logical_id(resource_type) + ("V2" if rename else "")] = {
            "Type": resource_type,
            "Properties": PROPERTIES[resource_type],
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        }
    return resources


class _WithExtra:
    """A StackSet whose network template carries extra resources (the deployer reads only these two members)."""

    def __init__(self, stacks: Any, resources: Mapping[str, Any]) -> None:
        self.blueprint = stacks.blueprint
        self._stacks = stacks
        self._resources = resources

    def render(self, fmt: str) -> dict[str, str]:
        texts = dict(self._stacks.render(fmt))
        template = json.loads(texts[CHILD])
        template["Resources"].update(self._resources)
        texts[CHILD] = json.dumps(template)
        return texts


def _synthesizing(monkeypatch: pytest.MonkeyPatch, resources: Mapping[str, Any]) -> None:
    monkeypatch.setattr(
        sys.modules["cfngen"], "synthesize", lambda blueprint: _WithExtra(synthesize(blueprint), resources)
    )


@pytest.fixture(scope="module")
def deployed(emulator: LocalAws) -> Iterator[LocalAws]:
    """The minimal blueprint with one resource of every stateful type, deployed once for this module."""
    emulator.reset()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {
            "AWS_ENDPOINT_URL": emulator.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "CI"):
            patch.delenv(key, raising=False)
        assert main(["bootstrap", "--region", "us-east-1"]) == 0
        _synthesizing(patch, extra())
        assert main(["deploy", DEV, "--yes"]) == 0
        yield emulator


@pytest.mark.parametrize("how", ["replace", "remove"])
def test_deploy_refuses_to_replace_or_remove_every_stateful_type(
    deployed: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    _synthesizing(monkeypatch, extra(rename=True) if how == "replace" else extra(drop=True))
    before = cloudformation("us-east-1").describe_stacks(StackName="microservices-minimal")["Stacks"][0]
    capsys.readouterr()
    assert main(["deploy", DEV, "--yes"]) == 3
    captured = capsys.readouterr()
    verb = "replaces" if how == "replace" else "removes"
    for resource_type in GUARDED:
        refused = logical_id(resource_type) + ("V2" if how == "replace" else "")
        assert f"root/Network/{refused} ({resource_type}): the change set {verb} a stateful resource" in captured.out, (
            resource_type
        )
        assert f"--allow-replace {refused}" in captured.err, resource_type
    after = cloudformation("us-east-1").describe_stacks(StackName="microservices-minimal")["Stacks"][0]
    assert (after["StackStatus"], after.get("LastUpdatedTime")) == (
        before["StackStatus"],
        before.get("LastUpdatedTime"),
    ), "nothing executed"

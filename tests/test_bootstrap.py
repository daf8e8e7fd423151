"""The bootstrap template: a bucket that is versioned, encrypted, private and TLS only; lint- and scanner-clean."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from cfngen import ci_policy, load_blueprint, synthesize
from cfngen.cli import main
from cfngen.deploy import _bootstrap as bootstrap
from cfngen.deploy._package import inline
from cfngen.errors import SynthError
from cfngen.linting import lint_texts
from cfngen.local import LocalAws
from tests.conftest import ROOT, checkov_failures


def test_the_templates_bucket_is_versioned_private_and_expires_old_versions() -> None:
    resources = bootstrap.build().to_dict()["Resources"]
    bucket = resources["TemplatesBucket"]
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert properties["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    statement = resources["TemplatesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bootstrap_template_is_lint_and_scanner_clean(tmp_path: Path) -> None:
    text = str(bootstrap.build().to_yaml())
    assert [str(finding) for finding in lint_texts({"bootstrap.yaml": text})] == []
    (tmp_path / "bootstrap.yaml").write_text(text, encoding="utf-8")
    assert [(f["check_id"], f["resource"]) for f in checkov_failures(tmp_path)] == []


MINIMAL = ROOT / "tests" / "blueprints" / "minimal.yaml"


def test_bootstrap_creates_the_ci_role_stack_from_the_ci_policy_template(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bootstrap --ci-role` deploys what `ci-policy --format template` prints: the role with its trust and every
    managed policy part attached; a second run changes nothing."""
    arguments = [
        "bootstrap",
        "--region",
        "us-east-1",
        "--ci-role",
        str(MINIMAL),
        "--trust",
        "github:example-org/platform",
    ]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "cfngen-ci-role-microservices-minimal in us-east-1: applied" in printed
    (stack,) = boto3.client("cloudformation", region_name="us-east-1").describe_stacks(
        StackName="cfngen-ci-role-microservices-minimal"
    )["Stacks"]
    role_arn = next(item["OutputValue"] for item in stack["Outputs"] if item["OutputKey"] == "DeployRoleArn")
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert trust["Condition"]["StringLike"] == {
        "token.actions.githubusercontent.com:sub": "repo:example-org/platform:*"
    }
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    parts = ci_policy(synthesize(load_blueprint(MINIMAL))).parts
    assert len(attached) == len(parts) > 1
    documents = [
        iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId="v1")["PolicyVersion"]["Document"]
        for item in attached
    ]
    actions = {
        action for document in documents for statement in document["Statement"] for action in statement["Action"]
    }
    assert {
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DetectStackDrift",
        "autoscaling:SetInstanceProtection",
    } <= actions
    assert main(arguments) == 0
    assert "cfngen-ci-role-microservices-minimal in us-east-1: no changes" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments",
    [["--ci-role", str(MINIMAL)], ["--trust", "github:org/repo"], ["--set", "cluster.min_size=1"]],
)
def test_the_ci_role_needs_a_blueprint_and_a_trust(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code: int | str | None
    try:
        code = main(["bootstrap", "--region", "us-east-1", *arguments])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert capsys.readouterr().out == ""


def test_a_template_passed_inline_must_fit_the_request_quota() -> None:
    """CloudFormation takes at most 51,200 bytes of TemplateBody in a request
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html)."""
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "x" * 60_000}}
    with pytest.raises(SynthError, match="at most 51,200 in a request"):
        inline("too-big", {"Resources": {"Topic": topic}}, region="us-east-1")
    assert inline("small", {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}, region="us-east-1").body

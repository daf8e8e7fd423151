"""`cfngen ci-policy`: the CI role's policy, computed from the templates and the resource schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode.cfn_yaml import loads as load_template
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult
from troposphere import Template
from troposphere.sns import Topic

from cfngen import NestedStack, StackSet, ci_policy, load_blueprint, synthesize
from cfngen.blueprint import logical_name
from cfngen.cli import main
from cfngen.errors import UsageError
from cfngen.extras._ci_policy import MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_LIMIT, size, split
from cfngen.facts.resource_schemas import handler_permissions
from cfngen.linting import lint_texts
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from run import generate_blueprint  # noqa: E402 -- the benchmarks' generated blueprints of N services

ACCOUNT = "123456789012"
DEV = ROOT / "blueprints" / "dev.yaml"


@pytest.fixture(scope="module")
def dev() -> StackSet:
    return synthesize(load_blueprint(DEV))


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in document["Statement"] if item["Sid"] == sid)
    return found


def allowed(document: dict[str, Any], action: str, resource: str, **context: str) -> bool:
    result = IAMPolicy(json.dumps(document)).is_action_permitted(action, resource, incoming_condition_values=context)
    return bool(result == PermissionResult.PERMITTED)


def test_stack_actions_reach_this_blueprints_stacks_only(dev: StackSet) -> None:
    document = ci_policy(dev, account_id=ACCOUNT, bucket="tpl").document
    stack = f"arn:aws:cloudformation:us-west-2:{ACCOUNT}:stack"
    for child in dev.children:
        assert allowed(document, "cloudformation:UpdateStack", f"{stack}/microservices-dev-{child.logical_id}-X1Y2/id")
    assert allowed(document, "cloudformation:ExecuteChangeSet", f"{stack}/microservices-dev/id")
    assert not allowed(document, "cloudformation:ExecuteChangeSet", f"{stack}/microservices-prod/id")
    assert not allowed(document, "cloudformation:DeleteStack", f"{stack}/microservices-dev-Other-X/id")
    assert not allowed(
        document,
        "cloudformation:CreateChangeSet",
        f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/microservices-dev/id",
    )


def test_templates_bucket(dev: StackSet) -> None:
    document = ci_policy(dev, account_id=ACCOUNT, bucket="tpl").document
    assert allowed(document, "s3:PutObject", "arn:aws:s3:::tpl/cfngen/templates/abc.json")
    assert allowed(document, "s3:GetObject", "arn:aws:s3:::tpl/cfngen/templates/abc.json")
    assert not allowed(document, "s3:PutObject", "arn:aws:s3:::other/x")
    # Resource types with S3 handlers (the artifact buckets) grant s3:DeleteObject through CloudFormation
    # only (aws:CalledVia), a condition moto's evaluator does not apply: judge the unconditional statements.
    direct = {**document, "Statement": [item for item in document["Statement"] if "Condition" not in item]}
    assert not allowed(direct, "s3:DeleteObject", "arn:aws:s3:::tpl/x")
    assert statement(document, "ProvisionResourcesThroughCloudFormation")["Condition"] == {
        "ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}
    }
    default = ci_policy(dev, account_id=ACCOUNT).document
    assert allowed(default, "s3:PutObject", f"arn:aws:s3:::cfngen-templates-{ACCOUNT}-us-west-2/k")


def test_pass_role_only_for_the_roles_created_and_the_services_that_trust_them(dev: StackSet) -> None:
    document = ci_policy(dev, account_id=ACCOUNT).document
    trusted = sorted(
        {
            service
            for template in dev.templates().values()
            for resource in template.to_dict().get("Resources", {}).values()
            if resource["Type"] == "AWS::IAM::Role"
            for item in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            for service in [item["Principal"]["Service"]]
            for service in (service if isinstance(service, list) else [service])
        }
    )
    assert trusted  # the flow logs role, at least
    role = f"arn:aws:iam::{ACCOUNT}:role/microservices-dev/microservices-dev-Network-ABC-FlowLogRole-XYZ"
    for service in trusted:
        assert allowed(document, "iam:PassRole", role, **{"iam:PassedToService": service})
    assert "glue.amazonaws.com" not in trusted
    assert not allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "glue.amazonaws.com"})
    assert not allowed(
        document, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", **{"iam:PassedToService": trusted[0]}
    )


def test_no_pass_role_when_the_templates_create_no_service_role(dev: StackSet) -> None:
    topics = Template()
    topics.add_resource(Topic("Alarms"))
    stacks = StackSet(blueprint=dev.blueprint, children=(NestedStack("topics", topics),), wiring={"topics": {}})
    document = ci_policy(stacks).document
    assert "PassServiceRoles" not in {item["Sid"] for item in document["Statement"]}
    assert not allowed(document, "iam:PassRole", "arn:aws:iam::123456789012:role/microservices-dev-x")
    assert "sns:CreateTopic" in statement(document, "ProvisionResourcesThroughCloudFormation")["Action"]


def test_provisioning_actions_come_from_the_resource_schemas(dev: StackSet) -> None:
    provision = statement(ci_policy(dev).document, "ProvisionResourcesThroughCloudFormation")
    types = {
        resource.resource_type for template in dev.templates().values() for resource in template.resources.values()
    }
    # read too: drift detection reads each resource with the caller's credentials
    handlers = ("create", "read", "update", "delete")
    expected = set().union(*(handler_permissions(kind, "us-west-2", handlers) or set() for kind in types))
    assert set(provision["Action"]) == {a for a in expected if not a.startswith("cloudformation:")} - {"iam:PassRole"}
    assert {"ec2:CreateVpc", "ec2:CreateNatGateway", "ecr:CreateRepository", "kms:CreateKey"} <= set(
        provision["Action"]
    )
    assert provision["Resource"] == ["*"]
    assert provision["Condition"] == {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}
    assert all(action.count(":") == 1 and "." not in action for action in provision["Action"])


def test_with_a_service_role_the_caller_only_passes_it(dev: StackSet) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/cfn-deployer"
    document = ci_policy(dev, account_id=ACCOUNT, service_role_arn=role).document
    assert {item["Sid"] for item in document["Statement"]} == {
        "DeployStacks",
        "UploadTemplates",
        "FindTemplates",
        "PassStackRole",
        # called directly, not through CloudFormation: the templates bucket found in the bootstrap stack, drift polls
        # its detections, destroy lifts scale-in protection
        "FindTemplatesBucket",
        "WatchDriftDetection",
        "FindAutoScalingGroups",
        "ReleaseScaleInProtection",
    }
    assert allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "cloudformation.amazonaws.com"})
    assert not allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(document, "ec2:CreateVpc", "*")


@mock_aws
def test_iam_accepts_every_part_as_a_managed_policy_of_one_role(dev: StackSet) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    policy = ci_policy(dev, account_id=ACCOUNT)
    iam.create_role(
        RoleName="ci",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Principal": {"Federated": "token.actions.githubusercontent.com"},
                    }
                ],
            }
        ),
    )
    for index, part in enumerate(policy.parts, start=1):
        arn = iam.create_policy(PolicyName=f"deploy-{index}", PolicyDocument=json.dumps(part))["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="ci", PolicyArn=arn)
        stored = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
        assert stored == part
    assert len(iam.list_attached_role_policies(RoleName="ci")["AttachedPolicies"]) == len(policy.parts)


def test_command_line_prints_the_parts_and_the_limits_they_meet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ci-policy", str(DEV), "--account-id", ACCOUNT, "--bucket", "tpl", "--stack-name", "dev"]) == 0
    printed = json.loads(capsys.readouterr().out)
    parts = printed["ManagedPolicies"]
    assert 1 < len(parts) <= MANAGED_POLICIES_PER_ROLE
    for part in parts:
        assert part["Characters"] == size(part["PolicyDocument"]) <= MANAGED_POLICY_LIMIT
        assert f"of {MANAGED_POLICY_LIMIT:,} characters" in part["Limit"]
    assert f"within the role's quota of {MANAGED_POLICIES_PER_ROLE}" in printed["Limit"]
    assert any(
        allowed(
            part["PolicyDocument"],
            "cloudformation:CreateChangeSet",
            f"arn:aws:cloudformation:us-west-2:{ACCOUNT}:stack/dev/x",
        )
        for part in parts
    )
    with pytest.raises(SystemExit):
        main(["ci-policy", str(DEV), "--account-id", "12"])
    assert "expected a 12-digit account id" in capsys.readouterr().err


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """Every (action, resource, condition) a list of statements allows, one triple each."""
    return {
        (action, resource, json.dumps(item.get("Condition"), sort_keys=True))
        for item in statements
        for action in item["Action"]
        for resource in item["Resource"]
    }


def test_parts_fit_managed_policies_and_grant_exactly_the_whole(dev: StackSet) -> None:
    policy = ci_policy(dev, account_id=ACCOUNT)
    assert policy.size > MANAGED_POLICY_LIMIT  # the whole would not fit one managed policy
    assert 1 < len(policy.parts) <= MANAGED_POLICIES_PER_ROLE
    assert all(size(part) <= MANAGED_POLICY_LIMIT for part in policy.parts)
    assert grants([item for part in policy.parts for item in part["Statement"]]) == grants(policy.document["Statement"])
    fewer = len(policy.parts) - 1
    with pytest.raises(
        UsageError, match=f"needs {len(policy.parts)} managed policies .* more than the {fewer} the role"
    ):
        ci_policy(dev, account_id=ACCOUNT, max_parts=fewer)
    for part in policy.parts:
        sids = [item["Sid"] for item in part["Statement"]]
        assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)


def test_a_statement_too_big_for_one_part_is_cut_never_widened() -> None:
    resources = [f"arn:aws:s3:::bucket-{index:04d}/*" for index in range(400)]
    statement = {
        "Sid": "Many",
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    parts = split([statement])
    assert len(parts) > 1 and all(size(part) <= MANAGED_POLICY_LIMIT for part in parts)
    assert grants([item for part in parts for item in part["Statement"]]) == grants([statement])


@pytest.mark.parametrize("services", [150])
def test_grouped_stacks_are_reached_through_their_group_within_ten_parts(tmp_path: Path, services: int) -> None:
    blueprint = load_blueprint(generate_blueprint(tmp_path, services))
    stacks = synthesize(blueprint)
    assert stacks.groups  # this size nests service stacks in group stacks
    policy = ci_policy(stacks, account_id=ACCOUNT)
    assert len(policy.parts) <= MANAGED_POLICIES_PER_ROLE
    group = logical_name(stacks.groups[0].name)
    member = stacks.child(stacks.groups[0].members[0]).logical_id
    stack = f"arn:aws:cloudformation:us-west-2:{ACCOUNT}:stack/{blueprint.name}"
    nested = f"{stack}-{group}-A1B2-{member}-C3D4/id"
    assert any(allowed(part, "cloudformation:DescribeStacks", nested) for part in policy.parts)
    assert not any(allowed(part, "cloudformation:DescribeStacks", f"{stack}-Other-A1B2/id") for part in policy.parts)


@pytest.mark.parametrize("trust", [["--trust", "github:example-org/platform"], ["--trust-account", ACCOUNT]])
def test_role_template_passes_cfn_lint_and_attaches_every_part(
    trust: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ci-policy", str(DEV), "--format", "template", *trust]) == 0
    text = capsys.readouterr().out
    assert lint_texts({"ci-role.yaml": text}, region="us-west-2", cache=False) == []
    template = load_template(text)
    resources = template["Resources"]
    policies = [item for item in resources.values() if item["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 < len(policies) <= MANAGED_POLICIES_PER_ROLE
    for item in policies:
        assert item["Properties"]["Roles"] == [{"Ref": "DeployRole"}]
        assert size(item["Properties"]["PolicyDocument"]) <= MANAGED_POLICY_LIMIT
    trust_statement = resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    if trust[0] == "--trust":
        assert trust_statement == [
            {
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Effect": "Allow",
                "Principal": {
                    "Federated": {
                        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/"
                        "token.actions.githubusercontent.com"
                    }
                },
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": "repo:example-org/platform:*"},
                },
            }
        ]
    else:
        assert trust_statement[0]["Principal"] == {"AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{ACCOUNT}:root"}}


@pytest.mark.parametrize(
    "arguments",
    [["--format", "template"], ["--trust", "github:org/repo"], ["--format", "template", "--trust", "gitlab:org/repo"]],
)
def test_role_template_needs_one_valid_trust(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code: int | str | None
    try:
        code = main(["ci-policy", str(DEV), *arguments])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    assert capsys.readouterr().out == ""


def test_the_benchmark_prints_the_policy_size_per_blueprint_size() -> None:
    """benchmarks/ci_policy.py measures up to 200 services; here a smoke run, so that it never rots."""
    import subprocess

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "ci_policy.py"), "--sizes", "1,2"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(1 <= int(row[3]) <= MANAGED_POLICIES_PER_ROLE for row in rows)


# How IAM names the action of an S3 call whose operation name differs from its action
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html: HeadObject needs s3:GetObject;
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html: s3:ListBucket).
S3_ACTIONS = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket"}
MINIMAL = ROOT / "tests" / "blueprints" / "minimal.yaml"


def test_plan_deploy_drift_and_destroy_call_only_what_the_policy_allows(
    aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every AWS call the CI role makes (plan, deploy, drift, destroy), recorded against the emulator, is allowed by
    the statements of `ci-policy` that hold without CloudFormation in between: the conditioned provisioning
    statement (aws:CalledVia) does not count, since moto's evaluator would not apply its condition."""
    region = "us-east-1"
    assert main(["bootstrap", "--region", region]) == 0
    calls: list[tuple[str, str, dict[str, Any]]] = []
    change_sets: dict[str, str] = {}

    def recording(*args: Any, **kwargs: Any) -> boto3.Session:
        session = original(*args, **kwargs)

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((model.service_model.signing_name, model.name, dict(params)))

        def remember_change_set(parsed: dict[str, Any], **_: Any) -> None:
            if "StackId" in parsed and ("ChangeSetId" in parsed or "Id" in parsed):
                change_sets[parsed.get("ChangeSetId") or parsed["Id"]] = parsed["StackId"]

        session.events.register("before-parameter-build", record)
        session.events.register("after-call.cloudformation", remember_change_set)
        return session

    original = boto3.Session
    monkeypatch.setattr(boto3, "Session", recording)
    for command in (["deploy", "--yes"], ["plan"], ["drift"], ["destroy", "--yes"]):
        assert main([command[0], str(MINIMAL), *command[1:]]) == 0, command
    capsys.readouterr()

    blueprint = load_blueprint(MINIMAL)
    document = ci_policy(synthesize(blueprint), account_id=ACCOUNT).document
    direct = {**document, "Statement": [item for item in document["Statement"] if "Condition" not in item]}
    called = {(service, operation) for service, operation, _ in calls}
    assert {
        ("cloudformation", "DetectStackDrift"),
        ("cloudformation", "DescribeStackDriftDetectionStatus"),
        ("cloudformation", "DescribeStackResourceDrifts"),
        ("autoscaling", "DescribeAutoScalingGroups"),
        ("autoscaling", "UpdateAutoScalingGroup"),
        ("autoscaling", "SetInstanceProtection"),
        ("cloudformation", "ExecuteChangeSet"),
        ("cloudformation", "DeleteStack"),
    } <= called
    refused = [
        (action, resource)
        for service, operation, params in calls
        if service != "sts"  # GetCallerIdentity needs no permission
        for action, resource in [_authorized(service, operation, params, region, change_sets)]
        if not allowed(direct, action, resource)
    ]
    assert refused == [], sorted(set(refused))
    # and the check has teeth: the same calls on another blueprint's stacks are refused
    assert not allowed(direct, "cloudformation:DetectStackDrift", _stack_arn(region, "microservices-other"))
    assert not allowed(
        direct,
        "autoscaling:SetInstanceProtection",
        f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:0:autoScalingGroupName/other-Cluster-1-AutoScalingGroup-2",
    )


def _stack_arn(region: str, name: str) -> str:
    return f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/00000000-0000-0000-0000-000000000000"


def _authorized(
    service: str, operation: str, params: dict[str, Any], region: str, change_sets: dict[str, str]
) -> tuple[str, str]:
    """The IAM action and resource ARN AWS authorizes one call on
    (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)."""
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        return f"s3:{S3_ACTIONS.get(operation, operation)}", f"arn:aws:s3:::{bucket}" + (f"/{key}" if key else "")
    if service == "autoscaling":
        group = params.get("AutoScalingGroupName")
        resource = (
            f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:0:autoScalingGroupName/{group}" if group else "*"
        )
        return f"autoscaling:{operation}", resource
    stack = params.get("StackName")
    if stack is None and "ChangeSetName" in params:
        stack = change_sets.get(params["ChangeSetName"]) or params.get("StackName")
    if stack is None:
        return f"cloudformation:{operation}", "*"
    return f"cloudformation:{operation}", stack if stack.startswith("arn:") else _stack_arn(region, stack)

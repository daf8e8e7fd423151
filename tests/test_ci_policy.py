"""`cfngen ci-policy`: the CI role's policy, computed from the templates and the resource schemas."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult

from troposphere import Template
from troposphere.sns import Topic

from cfngen import NestedStack, StackSet, ci_policy, load_blueprint, synthesize
from cfngen.cli import main
from cfngen.facts.resource_schemas import handler_permissions
from tests.conftest import ROOT

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
    assert not allowed(document, "cloudformation:CreateChangeSet",
                       f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/microservices-dev/id")


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
        "ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}
    default = ci_policy(dev, account_id=ACCOUNT).document
    assert allowed(default, "s3:PutObject", f"arn:aws:s3:::cfngen-templates-{ACCOUNT}-us-west-2/k")


def test_pass_role_only_for_the_roles_created_and_the_services_that_trust_them(dev: StackSet) -> None:
    document = ci_policy(dev, account_id=ACCOUNT).document
    trusted = sorted({service for template in dev.templates().values()
                      for resource in template.to_dict().get("Resources", {}).values()
                      if resource["Type"] == "AWS::IAM::Role"
                      for item in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                      for service in [item["Principal"]["Service"]] for service in
                      (service if isinstance(service, list) else [service])})
    assert trusted  # the flow logs role, at least
    role = f"arn:aws:iam::{ACCOUNT}:role/microservices-dev/microservices-dev-Network-ABC-FlowLogRole-XYZ"
    for service in trusted:
        assert allowed(document, "iam:PassRole", role, **{"iam:PassedToService": service})
    assert not allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(document, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin",
                       **{"iam:PassedToService": trusted[0]})


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
    types = {resource.resource_type for template in dev.templates().values() for resource in template.resources.values()}
    expected = set().union(*(handler_permissions(kind, "us-west-2") or set() for kind in types))
    assert set(provision["Action"]) == {a for a in expected if not a.startswith("cloudformation:")} - {"iam:PassRole"}
    assert {"ec2:CreateVpc", "ec2:CreateNatGateway", "ecr:CreateRepository", "kms:CreateKey"} <= set(provision["Action"])
    assert provision["Resource"] == ["*"]
    assert provision["Condition"] == {"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}}
    assert all(action.count(":") == 1 and "." not in action for action in provision["Action"])


def test_with_a_service_role_the_caller_only_passes_it(dev: StackSet) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/cfn-deployer"
    document = ci_policy(dev, account_id=ACCOUNT, service_role_arn=role).document
    assert {item["Sid"] for item in document["Statement"]} == {
        "DeployStacks", "UploadTemplates", "FindTemplates", "PassStackRole"}
    assert allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "cloudformation.amazonaws.com"})
    assert not allowed(document, "iam:PassRole", role, **{"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allowed(document, "ec2:CreateVpc", "*")


@mock_aws
def test_iam_accepts_the_document(dev: StackSet) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    policy = ci_policy(dev, account_id=ACCOUNT)
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                                                "Principal": {"Federated": "token.actions.githubusercontent.com"}}]}))
    iam.put_role_policy(RoleName="ci", PolicyName="deploy", PolicyDocument=policy.to_json())
    stored = iam.get_role_policy(RoleName="ci", PolicyName="deploy")["PolicyDocument"]
    assert stored == policy.document


def test_command_line_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ci-policy", str(DEV), "--account-id", ACCOUNT, "--bucket", "tpl", "--stack-name", "dev"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert allowed(document, "cloudformation:CreateChangeSet", f"arn:aws:cloudformation:us-west-2:{ACCOUNT}:stack/dev/x")
    with pytest.raises(SystemExit):
        main(["ci-policy", str(DEV), "--account-id", "12"])
    assert "expected a 12-digit account id" in capsys.readouterr().err

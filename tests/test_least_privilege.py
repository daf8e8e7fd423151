"""Least privilege, proven on every IAM policy of every generated template.

Fails on: `Action: "*"` or `service:*`; NotAction/NotResource; `Resource: "*"` on an
action outside iam.ACTIONS_WITHOUT_RESOURCE_LEVEL; iam:PassRole without named
roles and an iam:PassedToService condition; a trust policy with anything but one
service principal; a trust policy whose aws:SourceAccount condition is there for a service that does not
document sending the key (the role could never be assumed), or missing for one that does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cfngen import Blueprint, load_blueprint, synthesize
from cfngen.builders.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL, SOURCE_ACCOUNT_DOCUMENTED
from cfngen.facts.iam import PolicyDocument, element_values, policy_documents, wildcard_findings
from tests.conftest import EXAMPLES

CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"
VARIANTS = {
    "connection-source-with-hooks": {
        "name": "variant",
        "pipeline": {"approval": True, "source": {"connection_arn": CONNECTION, "repository": "example/web"}},
        "services": [
            {
                "name": "web",
                "port": 8080,
                "deploy_hooks": {"AfterAllowTestTraffic": "web-smoke-test", "BeforeInstall": "web-pre"},
            }
        ],
    },
}


def _templates() -> Iterator[tuple[str, dict[str, Any]]]:
    blueprints = [load_blueprint(path) for path in EXAMPLES]
    blueprints += [Blueprint.model_validate(data) for data in VARIANTS.values()]
    for blueprint in blueprints:
        for name, template in synthesize(blueprint).templates().items():
            yield f"{blueprint.name}/{name}", template.to_dict()


TEMPLATES = dict(_templates())


def _policies() -> list[tuple[str, PolicyDocument]]:
    return [(name, policy) for name, template in TEMPLATES.items() for policy in policy_documents(template)]


def problems(policy: PolicyDocument) -> list[str]:
    """Everything least privilege forbids in one policy document."""
    found = [f"{'.'.join(map(str, path))}: {message}" for path, message in wildcard_findings(policy)]
    for path, statement in policy.statements():
        where = ".".join(map(str, path))
        found += [
            f"{where}: {element} is not allowed"
            for element in ("NotAction", "NotResource", "NotPrincipal")
            if element in statement
        ]
        if policy.kind == "trust":
            found += [f"{where}: {problem}" for problem in _trust_problems(policy, statement)]
        elif statement.get("Effect") == "Allow":
            found += [f"{where}: {problem}" for problem in _pass_role_problems(statement)]
    return found


def _trust_problems(policy: PolicyDocument, statement: Mapping[str, Any]) -> list[str]:
    found = []
    if len(list(policy.statements())) != 1:
        found.append("a trust policy has exactly one statement")
    principal = statement.get("Principal")
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    services = services if isinstance(services, list) else [services]
    if not isinstance(principal, Mapping) or set(principal) != {"Service"} or len(services) != 1:
        found.append(f"trusts {json.dumps(principal)}; expected exactly one service principal")
    if [action for _, action in element_values(statement, "Action", ())] != ["sts:AssumeRole"]:
        found.append("a trust policy allows sts:AssumeRole and nothing else")
    guarded = "aws:SourceAccount" in json.dumps(statement.get("Condition", {}))
    documented = all(service in SOURCE_ACCOUNT_DOCUMENTED for service in services)
    if guarded != documented:
        found.append(
            f"{services}: aws:SourceAccount {'present' if guarded else 'missing'}, but the service "
            f"{'does not document sending it' if guarded else 'documents sending it'}"
        )
    return found


def _pass_role_problems(statement: Mapping[str, Any]) -> list[str]:
    actions = [str(action).lower() for _, action in element_values(statement, "Action", ())]
    if "iam:passrole" not in actions:
        return []
    found = []
    resources = [resource for _, resource in element_values(statement, "Resource", ())]
    if not resources or "*" in resources:
        found.append("iam:PassRole must name the roles it passes")
    conditions = statement.get("Condition", {})
    if not any("iam:PassedToService" in keys for keys in conditions.values()):
        found.append("iam:PassRole needs an iam:PassedToService condition")
    return found


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_policy_is_least_privilege(name: str) -> None:
    found = [
        f"{policy.resource}: {problem}" for policy in policy_documents(TEMPLATES[name]) for problem in problems(policy)
    ]
    assert found == []


def test_every_role_has_its_trust_policy_walked() -> None:
    roles = {
        (name, logical_id)
        for name, template in TEMPLATES.items()
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    trusts = {(name, policy.resource) for name, policy in _policies() if policy.kind == "trust"}
    assert roles and roles == trusts


def test_pipeline_roles_pass_only_the_services_task_roles_and_roles_for_ecs() -> None:
    passes = [
        statement
        for name, policy in _policies()
        if "pipeline-" in name
        for _, statement in policy.statements()
        if statement.get("Action") == ["iam:PassRole"]
    ]
    assert passes, "the pipeline stacks pass the task roles to ECS"
    infrastructure = [
        statement
        for statement in passes
        if statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    ]
    # One per ecs-blue-green/linear/canary service of the delivery example: the role ECS shifts traffic with, and
    # for blue-green (deployment.test) the role ECS invokes the test traffic function with.
    assert len(infrastructure) == 3
    roles = sorted(resource["Ref"] for statement in infrastructure for resource in statement["Resource"])
    assert roles == [
        "BlueGreenInfrastructureRoleArn",
        "BlueGreenTestTrafficHookRoleArn",
        "CanaryInfrastructureRoleArn",
        "LinearInfrastructureRoleArn",
    ]
    for statement in passes:
        if statement in infrastructure:
            continue
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        execution_role, task_role = sorted(resource["Ref"] for resource in statement["Resource"])
        assert execution_role.endswith("ExecutionRoleArn") and task_role.endswith("TaskRoleArn")


def test_ecs_infrastructure_roles_touch_only_their_services_target_groups_and_listeners() -> None:
    """What AmazonECSInfrastructureRolePolicyForLoadBalancers allows on every load balancer, narrowed to one
    service: its two target groups, its two listeners; Describe calls have no resource type."""
    roles = {
        (name, policy.resource): policy
        for name, policy in _policies()
        if policy.resource.endswith("InfrastructureRole") and policy.kind == "permissions"
    }
    assert len(roles) == 3
    for (_, logical_id), policy in roles.items():
        prefix = logical_id.removesuffix("InfrastructureRole")
        grants = {
            action: [
                resource.get("Ref", resource) if isinstance(resource, dict) else resource
                for resource in statement["Resource"]
            ]
            for _, statement in policy.statements()
            for action in statement["Action"]
        }
        assert grants == {
            "elasticloadbalancing:DescribeListeners": ["*"],
            "elasticloadbalancing:DescribeRules": ["*"],
            "elasticloadbalancing:DescribeTargetGroups": ["*"],
            "elasticloadbalancing:DescribeTargetHealth": ["*"],
            "elasticloadbalancing:RegisterTargets": [f"{prefix}BlueTargetGroupArn", f"{prefix}GreenTargetGroupArn"],
            "elasticloadbalancing:DeregisterTargets": [f"{prefix}BlueTargetGroupArn", f"{prefix}GreenTargetGroupArn"],
            "elasticloadbalancing:ModifyListener": [f"{prefix}ProductionListenerArn", f"{prefix}TestListenerArn"],
        }


def _role_statements(stack: str, role_suffix: str) -> list[Mapping[str, Any]]:
    return [
        statement
        for name, policy in _policies()
        if f"/{stack}-" in name and policy.kind != "trust" and policy.resource.endswith(role_suffix)
        for _, statement in policy.statements()
    ]


def test_the_build_cannot_write_the_artifact_the_deploy_stage_reads() -> None:
    """The build runs the service's code: it writes its own output folder only, never the source artifact that
    holds taskdef.json and appspec.yaml, and reads nothing but that source artifact."""
    statements = _role_statements("pipeline", "BuildRole")
    assert statements
    for statement in statements:
        actions = [action for _, action in element_values(statement, "Action", ())]
        resources = [json.dumps(resource) for _, resource in element_values(statement, "Resource", ())]
        if "s3:PutObject" in actions:
            assert actions == ["s3:PutObject"] and len(resources) == 1 and "/BuildOutpu/*" in resources[0]
        if "s3:GetObject" in actions:
            assert len(resources) == 1 and "/SourceOutp/*" in resources[0]


def test_the_build_creates_and_fills_repositories_only_under_its_pull_through_cache_prefixes() -> None:
    """ECR creates a cached repository, and imports an upstream image into it, with the puller's rights
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html): the build holds them
    for its blueprint's cache prefixes only, never for the service repositories or other blueprints' caches."""
    filling = [
        (statement, [json.dumps(resource) for _, resource in element_values(statement, "Resource", ())])
        for statement in _role_statements("pipeline", "BuildRole")
        if {"ecr:CreateRepository", "ecr:BatchImportUpstreamImage"} & set(statement["Action"])
    ]
    assert any("_hub/*" in resource for _, resources in filling for resource in resources), "prod caches Docker Hub"
    for _, resources in filling:
        assert resources
        for resource in resources:
            assert re.search(r":repository/[a-z0-9-]+_(pub|hub)/\*\"", resource), resource


def test_only_the_unprivileged_derive_project_reads_task_definitions() -> None:
    """The privileged build must not produce what the deploy stage trusts: it may not read the registered
    revisions; the derive role may, and may write only the derive output that CodeDeployToECS reads."""
    build = _role_statements("pipeline", "BuildRole")
    derive = _role_statements("pipeline", "DeriveRole")
    assert build and derive
    build_actions = {action for statement in build for _, action in element_values(statement, "Action", ())}
    assert not {"ecs:DescribeTaskDefinition", "ecs:DescribeServices"} & build_actions
    for statement in derive:
        actions = [action for _, action in element_values(statement, "Action", ())]
        resources = [json.dumps(resource) for _, resource in element_values(statement, "Resource", ())]
        assert set(actions) <= {
            "ecs:DescribeTaskDefinition",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "s3:GetObject",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:GetBucketAcl",
            "s3:GetBucketLocation",
            "s3:GetBucketVersioning",
        }
        if "s3:PutObject" in actions:
            assert actions == ["s3:PutObject"] and len(resources) == 1 and "/DeriveOutp/*" in resources[0]


def test_the_pipeline_registers_no_privileged_task_definition() -> None:
    registers = [
        statement
        for statement in _role_statements("pipeline", "PipelineRole")
        if "ecs:RegisterTaskDefinition" in statement["Action"]
    ]
    assert registers
    for statement in registers:
        assert statement["Condition"] == {"BoolIfExists": {"ecs:privileged": "false"}}


@pytest.mark.parametrize("name", sorted(name for name in TEMPLATES if name.endswith("/cluster.yaml")))
def test_container_instances_refuse_privileged_containers(name: str) -> None:
    (launch_template,) = [
        resource for resource in TEMPLATES[name]["Resources"].values() if resource["Type"] == "AWS::EC2::LaunchTemplate"
    ]
    user_data = json.dumps(launch_template["Properties"]["LaunchTemplateData"]["UserData"])
    assert "ECS_DISABLE_PRIVILEGED=true" in user_data


def _policy(
    statement: dict[str, Any], *, key: str = "PolicyDocument", resource_type: str = "AWS::IAM::ManagedPolicy"
) -> PolicyDocument:
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return PolicyDocument("Bad", resource_type, ("Resources", "Bad", "Properties", key), document)


SCOPED = "arn:aws:s3:::bucket/*"
BAD_POLICIES = {
    "every action": _policy({"Effect": "Allow", "Action": "*", "Resource": SCOPED}),
    "every action of a service": _policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:*"], "Resource": SCOPED}),
    "not action": _policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": SCOPED}),
    "not resource": _policy({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": SCOPED}),
    "star resource": _policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    "pass any role": _policy(
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        }
    ),
    "pass role to anyone": _policy(
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/task"}
    ),
    "trust an account": _policy(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
        key="AssumeRolePolicyDocument",
        resource_type="AWS::IAM::Role",
    ),
    "trust two services": _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": ["ec2.amazonaws.com", "ecs.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        },
        key="AssumeRolePolicyDocument",
        resource_type="AWS::IAM::Role",
    ),
    "trust a service on a key it does not send": _policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        },
        key="AssumeRolePolicyDocument",
        resource_type="AWS::IAM::Role",
    ),
    "trust a service without the key it sends": _policy(
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
        key="AssumeRolePolicyDocument",
        resource_type="AWS::IAM::Role",
    ),
    "trust everyone": _policy(
        {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
        key="AssumeRolePolicyDocument",
        resource_type="AWS::IAM::Role",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_POLICIES))
def test_each_pattern_is_caught(name: str) -> None:
    assert problems(BAD_POLICIES[name]) != []


def test_each_source_account_principal_cites_its_documentation() -> None:
    """The condition is kept only where an AWS page says the service sends the key; the page is named beside it."""
    for service, page in SOURCE_ACCOUNT_DOCUMENTED.items():
        assert service.endswith(".amazonaws.com") and page.startswith("https://docs.aws.amazon.com/"), service
    trusted = {
        policy.document["Statement"][0]["Principal"]["Service"][0]
        for _, policy in _policies()
        if policy.kind == "trust"
    }
    undocumented = {
        "ec2.amazonaws.com",
        "codepipeline.amazonaws.com",
        "monitoring.rds.amazonaws.com",
        "codebuild.amazonaws.com",
    }
    assert undocumented <= trusted
    assert not undocumented & set(SOURCE_ACCOUNT_DOCUMENTED), "no AWS page shows these services sending the key"


def test_allow_list_holds_only_actions_without_resource_types() -> None:
    """cfn-lint ships the Service Authorization Reference: each allowed action must list no resource type."""
    from cfnlint.data import AdditionalSpecs
    from cfnlint.helpers import load_resource

    reference = load_resource(AdditionalSpecs, "Policies.json")
    for action, reason in ACTIONS_WITHOUT_RESOURCE_LEVEL.items():
        service, name = action.lower().split(":")
        assert reason.strip(), f"{action} needs its reason"
        assert name in reference[service]["Actions"], f"{action} is not an IAM action"
        assert not reference[service]["Actions"][name].get("Resources"), f"{action} supports resource-level permission"


def _role_policies(template: str, role: str) -> dict[str, list[dict[str, Any]]]:
    properties = TEMPLATES[template]["Resources"][role]["Properties"]
    assert "ManagedPolicyArns" not in properties, f"{role} attaches managed policies; least privilege wants inline"
    return {policy["PolicyName"]: policy["PolicyDocument"]["Statement"] for policy in properties.get("Policies", [])}


SESSION_CHANNELS = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


@pytest.mark.parametrize("name", ["microservices-dev", "microservices-prod", "microservices-demo"])
def test_instances_get_session_manager_and_nothing_else_of_systems_manager(name: str) -> None:
    """A scoped inline policy, not AmazonSSMManagedInstanceCore: that one grants ssm:GetParameter(s), GetDocument,
    ListAssociations and more on Resource "*", which the wildcard rule above refuses. These are the statements of
    https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html"""
    session = _role_policies(f"{name}/cluster.yaml", "InstanceRole")["session-manager"]
    assert session == [
        {
            "Effect": "Allow",
            "Action": ["ssm:UpdateInstanceInformation"],
            "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"}],
        },
        {"Effect": "Allow", "Action": SESSION_CHANNELS, "Resource": ["*"]},
    ]
    # No SSH: no key pair, and the instances' security group admits nothing.
    resources = TEMPLATES[f"{name}/cluster.yaml"]["Resources"]
    assert "KeyName" not in resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert "SecurityGroupIngress" not in resources["InstanceSecurityGroup"]["Properties"]
    assert not [
        logical_id for logical_id, resource in resources.items() if resource["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]


def test_ecs_exec_gives_only_its_service_the_channels_and_its_own_log_group() -> None:
    """microservices-dev turns exec on for service-a only.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html"""
    service_a = TEMPLATES["microservices-dev/service-service-a.yaml"]["Resources"]
    assert service_a["ServiceAService"]["Properties"]["EnableExecuteCommand"] is True
    assert _role_policies("microservices-dev/service-service-a.yaml", "ServiceATaskRole")["ecs-exec"] == [
        {"Effect": "Allow", "Action": SESSION_CHANNELS, "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["logs:DescribeLogGroups"], "Resource": ["*"]},
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [{"Fn::GetAtt": ["ServiceALogGroup", "Arn"]}],
        },
    ]
    # Session logs go to the service's log group (ECS Exec's default logging): the one encrypted with the logs key.
    assert service_a["ServiceALogGroup"]["Properties"]["KmsKeyId"] == {"Ref": "LogsKmsKeyArn"}
    service_b = TEMPLATES["microservices-dev/service-service-b.yaml"]["Resources"]
    assert "EnableExecuteCommand" not in service_b["ServiceBService"]["Properties"]
    assert "ecs-exec" not in _role_policies("microservices-dev/service-service-b.yaml", "ServiceBTaskRole")


def _database_users() -> list[tuple[str, str, str, str]]:
    """(template of the service's task role, service logical name, database user, what the user signs in to) of
    every Custom::DatabaseUser: in the service's own stack it signs in to the cluster; in the database-users stack
    (database.access: proxy) to the RDS Proxy."""
    found = []
    for name, template in TEMPLATES.items():
        for logical_id, resource in template.get("Resources", {}).items():
            if resource["Type"] != "Custom::DatabaseUser":
                continue
            prefix = logical_id.removesuffix("DatabaseUser")
            if name.endswith("/database-users.yaml"):
                directory = name.rsplit("/", 1)[0]
                (owner,) = [
                    other
                    for other, body in TEMPLATES.items()
                    if other.startswith(directory + "/") and f"{prefix}TaskRole" in body.get("Resources", {})
                ]
                found.append((owner, prefix, resource["Properties"]["User"], "DatabaseProxyResourceId"))
            else:
                found.append((name, prefix, resource["Properties"]["User"], "DatabaseClusterResourceId"))
    return found


def test_each_database_service_connects_as_its_own_user_and_nothing_else() -> None:
    """IAM database authentication: rds-db:connect on dbuser:<cluster or proxy resource id>/<its user>, no password.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-iam-setup.html"""
    users = _database_users()
    assert {target for *_, target in users} == {"DatabaseClusterResourceId", "DatabaseProxyResourceId"}, (
        "the examples show both database.access modes"
    )
    for name, prefix, user, target in users:
        assert _role_policies(name, f"{prefix}TaskRole")["database-user"] == [
            {
                "Effect": "Allow",
                "Action": ["rds-db:connect"],
                "Resource": [
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:"
                        f"${{{target}}}/{user}"
                    }
                ],
            }
        ]
    connects = [
        (name, policy.resource)
        for name, policy in _policies()
        for _, statement in policy.statements()
        if "rds-db:connect" in statement.get("Action", [])
    ]
    assert sorted(connects) == sorted((name, f"{prefix}TaskRole") for name, prefix, *_ in users)


def test_only_the_database_users_task_reads_the_master_secret() -> None:
    readers = {
        (name.split("/")[1], policy.resource)
        for name, policy in _policies()
        for _, statement in policy.statements()
        if "secretsmanager:GetSecretValue" in statement.get("Action", [])
        and {"Ref": "DatabaseSecretArn"} in statement["Resource"]
    }
    assert readers == {("database-users.yaml", "DatabaseUsersExecutionRole")}


def test_the_database_users_function_starts_one_task_definition_and_passes_one_role() -> None:
    (name, *_) = [name for name in TEMPLATES if name.endswith("/database-users.yaml")]
    assert _role_policies(name, "DatabaseUsersFunctionRole") == {
        "run-the-client-task": [
            {
                "Effect": "Allow",
                "Action": ["ecs:RunTask"],
                "Resource": [{"Ref": "DatabaseUsersTaskDefinition"}],
                "Condition": {"StringEquals": {"ecs:cluster": {"Ref": "ClusterArn"}}},
            },
            {
                "Effect": "Allow",
                "Action": ["ecs:DescribeTasks"],
                "Resource": [
                    {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${ClusterName}/*"}
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [{"Fn::GetAtt": ["DatabaseUsersExecutionRole", "Arn"]}],
                "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [{"Fn::GetAtt": ["DatabaseUsersLogGroup", "Arn"]}],
            },
        ]
    }

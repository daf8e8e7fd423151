"""The service stacks: CODE_DEPLOY service kept stable, task definition, scoped roles, task network, auto scaling."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from cfngen import synthesize
from cfngen.blueprint import Blueprint
from cfngen.builders import iam
from cfngen.builders.contracts import service_alarm_names
from cfngen.builders.service import build
from cfngen.builders.taskdef import (
    PLACEHOLDER_IMAGE,
    TaskDefinitionValues,
    environment,
    stack_values,
    task_definition,
)
from cfngen.facts.resource_types import CODE_DEPLOY_OWNED_PROPERTIES
from tests.stack_helpers import make_blueprint, resources, statements

WEB: dict[str, Any] = {
    "name": "web",
    "port": 3000,
    "health_check": {"path": "/health"},
    "environment": {"LOG_LEVEL": "info"},
    "scaling": {"min": 2, "max": 8, "cpu_target": 60},
}
DATABASE = {"database_name": "shop"}


def _build(service: dict[str, Any] | None = None, **sections: Any) -> tuple[Blueprint, dict[str, Any]]:
    blueprint = make_blueprint(services=[service or WEB], **sections)
    return blueprint, build(blueprint, blueprint.services[0]).to_dict()


def _of_type(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (body,) = [body for body in template["Resources"].values() if body["Type"] == kind]
    properties: dict[str, Any] = body["Properties"]
    return properties


def _container(template: dict[str, Any]) -> dict[str, Any]:
    (container,) = _of_type(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    result: dict[str, Any] = container
    return result


def _owned(service: dict[str, Any]) -> dict[str, Any]:
    """The ECS service's CODE_DEPLOY-owned properties, plus the DependsOn that decides its first revision (a
    dependency on the service's database user orders the creation only: CloudFormation updates no property)."""
    (body,) = [body for body in service["Resources"].values() if body["Type"] == "AWS::ECS::Service"]
    owned = {name: body["Properties"].get(name) for name in CODE_DEPLOY_OWNED_PROPERTIES}
    return {**owned, "DependsOn": [name for name in body["DependsOn"] if not name.endswith("DatabaseUser")]}


# --- the ECS service under CodeDeploy -------------------------------------------------------------------------


def test_service_uses_the_code_deploy_controller_behind_the_blue_target_group() -> None:
    _, template = _build()
    service = _of_type(template, "AWS::ECS::Service")
    assert service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
    assert service["LoadBalancers"] == [
        {"ContainerName": "web", "ContainerPort": 3000, "TargetGroupArn": {"Ref": "WebBlueTargetGroupArn"}}
    ]


def test_service_runs_in_private_subnets_without_public_ips_spread_over_azs_by_the_capacity_provider() -> None:
    _, template = _build()
    service = _of_type(template, "AWS::ECS::Service")
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"] == {
        "AssignPublicIp": "DISABLED",
        "Subnets": {"Ref": "PrivateSubnetIds"},
        "SecurityGroups": [{"Ref": "WebTaskSecurityGroup"}],
    }
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": "CapacityProviderName"}, "Weight": 1}]
    assert {"Type": "spread", "Field": "attribute:ecs.availability-zone"} in service["PlacementStrategies"]
    assert service["HealthCheckGracePeriodSeconds"] == 60
    assert "LaunchType" not in service


def test_service_names_the_task_definition_family_not_a_revision() -> None:
    blueprint, template = _build()
    service_body = next(body for body in template["Resources"].values() if body["Type"] == "AWS::ECS::Service")
    family = _of_type(template, "AWS::ECS::TaskDefinition")["Family"]
    assert family == "unit--web"
    assert service_body["Properties"]["TaskDefinition"] == family
    assert service_body["DependsOn"] == ["WebTaskDefinition"]


ORDINARY_EDITS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("environment", {"environment": {"LOG_LEVEL": "debug", "FEATURE": "on"}}, {}),
    ("cpu and memory", {"cpu": 1024, "memory": 2048}, {}),
    ("first image", {"image": "public.ecr.aws/nginx/nginx:1.27"}, {}),
    ("scaling", {"scaling": {"min": 1, "max": 20, "cpu_target": 40}, "desired_count": 4}, {}),
    ("health check path", {"health_check": {"path": "/ready"}}, {}),
    ("no health check", {"health_check": None}, {}),
    ("user and filesystem", {"user": None, "read_only_root_filesystem": False}, {}),
    ("grace and drain", {"health_check_grace_period_s": 300, "deregistration_delay_s": 5}, {}),
    ("listener ports", {"listener_port": 8000, "test_listener_port": 9000}, {}),
    ("uses the database", {"database": True}, {"database": DATABASE}),
    ("log retention", {}, {"logs": {"retention_days": 365}}),
    ("cluster capacity", {}, {"cluster": {"instance_type": "m6i.large", "max_size": 12}}),
]


@pytest.mark.parametrize(
    ("service_edit", "blueprint_edit"), [edit[1:] for edit in ORDINARY_EDITS], ids=[edit[0] for edit in ORDINARY_EDITS]
)
def test_ordinary_edits_leave_the_code_deploy_owned_properties_alone(
    service_edit: dict[str, Any],
    blueprint_edit: dict[str, Any],
) -> None:
    _, before = _build()
    _, after = _build({**WEB, **service_edit}, **blueprint_edit)
    assert _owned(after) == _owned(before)


def test_a_new_container_port_is_an_edit_code_deploy_owns() -> None:
    _, before = _build()
    _, after = _build({**WEB, "port": 3001})
    assert _owned(after)["LoadBalancers"] != _owned(before)["LoadBalancers"]


def test_owned_property_names_are_properties_of_an_ecs_service() -> None:
    from troposphere.ecs import Service

    assert set(CODE_DEPLOY_OWNED_PROPERTIES) <= set(Service.props)


# --- the task definition ----------------------------------------------------------------------------------------


def test_task_definition_is_awsvpc_on_ec2_with_one_essential_logged_container() -> None:
    _, template = _build()
    definition = _of_type(template, "AWS::ECS::TaskDefinition")
    assert definition["NetworkMode"] == "awsvpc" and definition["RequiresCompatibilities"] == ["EC2"]
    assert (definition["Cpu"], definition["Memory"]) == ("256", "512")
    container = _container(template)
    assert container["Essential"] is True
    assert container["PortMappings"] == [{"ContainerPort": 3000, "Protocol": "tcp"}]
    assert container["LogConfiguration"] == {
        "LogDriver": "awslogs",
        "Options": {
            "awslogs-group": {"Ref": "WebLogGroup"},
            "awslogs-region": {"Ref": "AWS::Region"},
            "awslogs-stream-prefix": "ecs",
        },
    }
    assert container["Image"] == {"Ref": "WebImage"}


def test_container_runs_as_a_non_root_user_on_a_read_only_root_with_a_private_tmp() -> None:
    _, template = _build()
    container = _container(template)
    assert container["User"] == "1000" and container["ReadonlyRootFilesystem"] is True
    (tmpfs,) = container["LinuxParameters"]["Tmpfs"]
    assert tmpfs["ContainerPath"] == "/tmp" and "noexec" in tmpfs["MountOptions"]


def test_user_and_read_only_root_are_blueprint_options() -> None:
    _, template = _build({**WEB, "user": None, "read_only_root_filesystem": False})
    container = _container(template)
    assert "User" not in container and container["ReadonlyRootFilesystem"] is False
    assert "LinuxParameters" not in container


def test_container_health_check_requests_the_path_and_only_when_there_is_one() -> None:
    _, template = _build()
    command = _container(template)["HealthCheck"]["Command"]
    assert command[0] == "CMD-SHELL" and "http://127.0.0.1:3000/health" in command[1]
    _, without = _build({**WEB, "health_check": None})
    assert "HealthCheck" not in _container(without)


def test_health_check_path_stays_one_argument_of_the_shell_command() -> None:
    path = "/x';touch$IFS/tmp/p;'"
    _, template = _build({**WEB, "health_check": {"path": path}})
    words = shlex.split(_container(template)["HealthCheck"]["Command"][1])
    assert words.count(f"http://127.0.0.1:3000{path}") == 2
    assert "touch" not in " ".join(word for word in words if "127.0.0.1" not in word)


def test_environment_holds_the_blueprint_variables_and_the_port() -> None:
    _, template = _build()
    assert _container(template)["Environment"] == [
        {"Name": "HTTP_PORT", "Value": "3000"},
        {"Name": "LOG_LEVEL", "Value": "info"},
    ]


def test_placeholder_https_listener_moves_off_a_container_port_of_8443() -> None:
    blueprint = make_blueprint(services=[{"name": "tls", "port": 8443}])
    variables = environment(blueprint, blueprint.services[0], stack_values(blueprint, blueprint.services[0]))
    assert variables["HTTP_PORT"] == "8443" and variables["HTTPS_PORT"] != "8443"


def test_privileged_container_ports_are_bindable_by_the_non_root_user() -> None:
    _, template = _build({**WEB, "port": 80})
    assert _container(template)["SystemControls"] == [
        {"Namespace": "net.ipv4.ip_unprivileged_port_start", "Value": "80"}
    ]
    _, high = _build()
    assert "SystemControls" not in _container(high)


def test_task_definition_renders_with_literal_values_for_the_pipeline() -> None:
    blueprint = make_blueprint(services=[{**WEB, "database": True}], database=DATABASE)
    values = TaskDefinitionValues(
        image="<IMAGE1_NAME>",
        execution_role_arn="arn:aws:iam::123456789012:role/exec",
        task_role_arn="arn:aws:iam::123456789012:role/task",
        log_group_name="/logs/web",
        region="eu-west-1",
        database_host="db.example",
        database_port="3306",
    )
    rendered = json.dumps(task_definition(blueprint, blueprint.services[0], values).to_dict())
    assert '"Ref"' not in rendered and "Fn::" not in rendered
    assert '"<IMAGE1_NAME>"' in rendered
    assert '{"Name": "DB_HOST", "Value": "db.example"}' in rendered


# --- first image ------------------------------------------------------------------------------------------------


def test_first_image_is_a_root_parameter_with_a_working_public_default() -> None:
    root = synthesize(make_blueprint(services=[WEB])).root().to_dict()
    assert root["Parameters"]["WebImage"]["Default"] == PLACEHOLDER_IMAGE
    assert root["Resources"]["ServiceWeb"]["Properties"]["Parameters"]["WebImage"] == {"Ref": "WebImage"}


def test_blueprint_image_becomes_the_default() -> None:
    _, template = _build({**WEB, "image": "public.ecr.aws/nginx/nginx:1.27"})
    assert template["Parameters"]["WebImage"]["Default"] == "public.ecr.aws/nginx/nginx:1.27"


# --- network and roles -----------------------------------------------------------------------------------------


def test_task_security_group_admits_the_container_port_from_the_load_balancer_only() -> None:
    _, template = _build()
    group = _of_type(template, "AWS::EC2::SecurityGroup")
    assert group["SecurityGroupIngress"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 3000,
            "ToPort": 3000,
            "SourceSecurityGroupId": {"Ref": "LoadBalancerSecurityGroupId"},
            "Description": "traffic and health checks from the load balancer",
        }
    ]
    assert not [body for body in template["Resources"].values() if body["Type"] == "AWS::EC2::SecurityGroupIngress"]


def _role(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    role: dict[str, Any] = template["Resources"][logical_id]
    return role


def test_execution_role_reaches_one_repository_and_one_log_group() -> None:
    _, template = _build()
    granted = {
        (action, json.dumps(resource, sort_keys=True))
        for statement in statements(_role(template, "WebExecutionRole"))
        for action in statement["Action"]
        for resource in statement["Resource"]
    }
    assert granted == {
        ("ecr:GetAuthorizationToken", '"*"'),
        ("ecr:BatchCheckLayerAvailability", '{"Ref": "WebRepositoryArn"}'),
        ("ecr:GetDownloadUrlForLayer", '{"Ref": "WebRepositoryArn"}'),
        ("ecr:BatchGetImage", '{"Ref": "WebRepositoryArn"}'),
        ("logs:CreateLogStream", '{"Fn::GetAtt": ["WebLogGroup", "Arn"]}'),
        ("logs:PutLogEvents", '{"Fn::GetAtt": ["WebLogGroup", "Arn"]}'),
    }
    assert all(action in iam.ACTIONS_WITHOUT_RESOURCE_LEVEL for action, resource in granted if resource == '"*"')


def test_task_role_has_no_permissions() -> None:
    _, template = _build()
    assert "Policies" not in _role(template, "WebTaskRole")["Properties"]
    assert "ManagedPolicyArns" not in _role(template, "WebTaskRole")["Properties"]


def test_log_group_is_encrypted_retained_and_expires_per_blueprint() -> None:
    _, template = _build(logs={"retention_days": 90})
    (body,) = [body for body in template["Resources"].values() if body["Type"] == "AWS::Logs::LogGroup"]
    assert body["Properties"] == {"RetentionInDays": 90, "KmsKeyId": {"Ref": "LogsKmsKeyArn"}}
    assert (body["DeletionPolicy"], body["UpdateReplacePolicy"]) == ("Retain", "Retain")


# --- services that use the database -----------------------------------------------------------------------------


def test_database_service_gets_its_own_user_and_schema_and_no_secret() -> None:
    """IAM database authentication: the task knows where and as whom, and signs a token; no password exists."""
    _, template = _build({**WEB, "database": True}, database=DATABASE)
    container = _container(template)
    variables = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert variables["DB_HOST"] == {"Ref": "DatabaseEndpoint"}
    assert variables["DB_PORT"] == {"Ref": "DatabasePort"}
    assert variables["DB_NAME"] == "web" and variables["DB_USERNAME"] == "web"
    assert "DB_PASSWORD" not in variables and "Secrets" not in container
    assert "DatabaseSecretArn" not in json.dumps(template), "the master secret reaches no service"


def test_database_service_task_role_connects_as_its_own_user_only() -> None:
    _, template = _build({**WEB, "database": True}, database=DATABASE)
    assert statements(_role(template, "WebTaskRole")) == [
        {
            "Effect": "Allow",
            "Action": ["rds-db:connect"],
            "Resource": [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:"
                    "${DatabaseClusterResourceId}/web"
                }
            ],
        }
    ]
    assert not [
        statement
        for statement in statements(_role(template, "WebExecutionRole"))
        if any(action.startswith("secretsmanager:") for action in statement["Action"])
    ]


def test_database_service_starts_after_its_database_user_exists() -> None:
    _, template = _build({**WEB, "database": True}, database=DATABASE)
    user = template["Resources"]["WebDatabaseUser"]
    assert user["Type"] == "Custom::DatabaseUser"
    assert user["Properties"]["ServiceToken"] == {"Ref": "DatabaseUserFunctionArn"}
    assert user["Properties"]["User"] == "web"
    assert "GRANT ALL PRIVILEGES ON `web`.* TO 'web'@'%';" in user["Properties"]["Statements"]
    assert user["Properties"]["DropStatements"] == ["DROP USER IF EXISTS 'web'@'%';"]
    (service,) = [body for body in template["Resources"].values() if body["Type"] == "AWS::ECS::Service"]
    assert "WebDatabaseUser" in service["DependsOn"]


def test_stated_grants_replace_the_default_and_name_the_first_schema() -> None:
    grants = [{"schema": "orders", "privileges": ["SELECT", "INSERT"]}, {"schema": "web"}]
    _, template = _build({**WEB, "database": True, "database_access": {"grants": grants}}, database=DATABASE)
    variables = {item["Name"]: item["Value"] for item in _container(template)["Environment"]}
    assert variables["DB_NAME"] == "orders"
    sql = template["Resources"]["WebDatabaseUser"]["Properties"]["Statements"]
    assert "GRANT SELECT, INSERT ON `orders`.* TO 'web'@'%';" in sql
    assert "GRANT ALL PRIVILEGES ON `web`.* TO 'web'@'%';" in sql


def test_database_service_opens_the_database_to_its_own_tasks() -> None:
    _, template = _build({**WEB, "database": True}, database=DATABASE)
    rule = _of_type(template, "AWS::EC2::SecurityGroupIngress")
    assert rule["GroupId"] == {"Ref": "DatabaseSecurityGroupId"}
    assert rule["SourceSecurityGroupId"] == {"Ref": "WebTaskSecurityGroup"}
    assert rule["FromPort"] == rule["ToPort"] == {"Ref": "DatabasePort"}


def test_service_without_database_takes_no_database_inputs() -> None:
    _, template = _build(database=DATABASE)
    assert not [name for name in template["Parameters"] if name.startswith("Database")]
    assert "Secrets" not in _container(template)


# --- auto scaling and outputs -----------------------------------------------------------------------------------


def test_auto_scaling_tracks_average_cpu_within_the_blueprint_bounds() -> None:
    _, template = _build()
    target = _of_type(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 8)
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    policy = _of_type(template, "AWS::ApplicationAutoScaling::ScalingPolicy")[
        "TargetTrackingScalingPolicyConfiguration"
    ]
    assert policy["PredefinedMetricSpecification"] == {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}
    assert policy["TargetValue"] == 60.0
    assert 0 < policy["ScaleOutCooldown"] < policy["ScaleInCooldown"]


def test_one_stack_per_service_with_the_contracted_outputs() -> None:
    blueprint = make_blueprint(
        services=[WEB, {"name": "orders", "port": 3001, "listener_port": 81, "test_listener_port": 8081}]
    )
    stacks = synthesize(blueprint)
    for name, prefix in (("service-web", "Web"), ("service-orders", "Orders")):
        outputs = set(stacks.child(name).template.outputs)
        assert outputs == {
            f"{prefix}{suffix}"
            for suffix in (
                "ServiceName",
                "ServiceArn",
                "TaskSecurityGroupId",
                "ExecutionRoleArn",
                "TaskRoleArn",
                "LogGroupName",
                "TaskDefinitionArn",
            )
        }
        assert len(resources(stacks.child(name).template, "AWS::ECS::Service")) == 1


def test_ecs_exec_needs_a_writable_root_filesystem() -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html: the SSM agent writes into the
    container, so a read-only root filesystem is not supported."""
    with pytest.raises(ValueError, match="ECS Exec needs a writable root filesystem"):
        Blueprint.model_validate({"name": "x", "services": [{"name": "web", "port": 80, "exec": True}]})
    writable = Blueprint.model_validate(
        {"name": "x", "services": [{"name": "web", "port": 80, "exec": True, "read_only_root_filesystem": False}]}
    )
    assert writable.services[0].exec is True


def _ecs(**deployment: Any) -> dict[str, Any]:
    _, template = _build({**WEB, "deployment": deployment})
    return template


def test_ecs_strategies_let_cloudformation_roll_out_each_revision_and_roll_back_on_the_alarms() -> None:
    """Under the ECS controller the service names the revision this stack registers, so a new one is an
    update ECS rolls out with the strategy; every strategy rolls back on the service's own alarms."""
    for strategy, name in (
        ("ecs-blue-green", "BLUE_GREEN"),
        ("ecs-linear", "LINEAR"),
        ("ecs-canary", "CANARY"),
        ("ecs-rolling", "ROLLING"),
    ):
        template = _ecs(strategy=strategy)
        service = _of_type(template, "AWS::ECS::Service")
        assert service["DeploymentController"] == {"Type": "ECS"}
        assert service["TaskDefinition"] == {"Ref": "WebTaskDefinition"}
        configuration = service["DeploymentConfiguration"]
        assert configuration["Strategy"] == name
        blueprint = make_blueprint(services=[{**WEB, "deployment": {"strategy": strategy}}])
        assert configuration["Alarms"] == {
            "AlarmNames": service_alarm_names(blueprint, blueprint.services[0]),
            "Enable": True,
            "Rollback": True,
        }


def test_ecs_blue_green_names_the_green_target_group_both_listeners_and_a_role_of_its_own() -> None:
    template = _ecs(strategy="ecs-blue-green", bake_minutes=10, wait_minutes=5)
    service = _of_type(template, "AWS::ECS::Service")
    (target,) = service["LoadBalancers"]
    assert target["TargetGroupArn"] == {"Ref": "WebBlueTargetGroupArn"}
    assert target["AdvancedConfiguration"] == {
        "AlternateTargetGroupArn": {"Ref": "WebGreenTargetGroupArn"},
        "ProductionListenerRule": {"Ref": "WebProductionListenerArn"},
        "TestListenerRule": {"Ref": "WebTestListenerArn"},
        "RoleArn": {"Fn::GetAtt": ["WebInfrastructureRole", "Arn"]},
    }
    configuration = service["DeploymentConfiguration"]
    assert configuration["BakeTimeInMinutes"] == 10
    # wait_minutes: the green tasks serve the test listener alone for 5 minutes, then ECS continues.
    assert configuration["LifecycleHooks"] == [
        {
            "TargetType": "PAUSE",
            "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "TimeoutConfiguration": {"TimeoutInMinutes": 5, "Action": "CONTINUE"},
        }
    ]
    role = template["Resources"]["WebInfrastructureRole"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["ecs.amazonaws.com"]
    }
    assert template["Outputs"]["WebInfrastructureRoleArn"]["Value"] == {"Fn::GetAtt": ["WebInfrastructureRole", "Arn"]}


def test_linear_canary_and_rolling_carry_their_own_settings_only() -> None:
    linear = _of_type(_ecs(strategy="ecs-linear", step_percent=25, step_bake_minutes=3), "AWS::ECS::Service")
    assert linear["DeploymentConfiguration"]["LinearConfiguration"] == {"StepPercent": 25.0, "StepBakeTimeInMinutes": 3}
    canary = _of_type(_ecs(strategy="ecs-canary", canary_percent=10), "AWS::ECS::Service")
    assert canary["DeploymentConfiguration"]["CanaryConfiguration"] == {
        "CanaryPercent": 10.0,
        "CanaryBakeTimeInMinutes": 10,
    }
    rolling_template = _ecs(strategy="ecs-rolling")
    rolling = _of_type(rolling_template, "AWS::ECS::Service")
    assert rolling["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert "AdvancedConfiguration" not in rolling["LoadBalancers"][0]
    assert "WebInfrastructureRole" not in rolling_template["Resources"]
    assert "WebGreenTargetGroupArn" not in rolling_template["Parameters"]


@pytest.mark.parametrize(
    ("deployment", "field"),
    [
        ({"strategy": "ecs-rolling", "step_percent": 20}, "step_percent"),
        ({"strategy": "ecs-linear", "canary_percent": 20}, "canary_percent"),
        ({"strategy": "codedeploy", "bake_minutes": 5}, "bake_minutes"),
        ({"strategy": "ecs-rolling", "wait_minutes": 5}, "wait_minutes"),
        ({"strategy": "ecs-linear", "step_percent": 2}, "step_percent"),
        ({"strategy": "blue-green"}, "strategy"),
    ],
)
def test_deployment_options_that_the_strategy_ignores_are_errors(deployment: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        make_blueprint(services=[{**WEB, "deployment": deployment}])


def test_a_service_deployment_section_replaces_the_blueprint_default() -> None:
    blueprint = make_blueprint(
        services=[
            WEB,
            {
                "name": "api",
                "port": 8080,
                "listener_port": 81,
                "test_listener_port": 8081,
                "deployment": {"strategy": "codedeploy"},
            },
        ],
        deployment={"strategy": "ecs-canary", "canary_percent": 20},
    )
    web, api = blueprint.services
    assert blueprint.deployment_of(web).canary_percent == 20 and blueprint.deployment_of(api).uses_codedeploy
    with pytest.raises(ValueError, match="are CodeDeploy lifecycle hooks, but the service deploys with strategy"):
        make_blueprint(
            services=[
                {
                    **WEB,
                    "deploy_hooks": {"AfterAllowTestTraffic": "smoke"},
                    "deployment": {"strategy": "ecs-blue-green"},
                }
            ]
        )


def test_a_step_percent_that_the_schemas_multiple_of_check_refuses_is_refused_at_load() -> None:
    """Found by the property tests: 33.3 has one decimal, but 33.3 / 0.1 is not a whole number in floating point, and
    AWS::ECS::Service's schema (multipleOf 0.1) fails it in cfn-lint; the blueprint says so and offers neighbours."""
    with pytest.raises(ValueError, match=r"33\.3 does not pass the resource schema's multipleOf 0\.1 check"):
        make_blueprint(
            services=[{"name": "api", "port": 8080, "deployment": {"strategy": "ecs-linear", "step_percent": 33.3}}]
        )
    make_blueprint(
        services=[{"name": "api", "port": 8080, "deployment": {"strategy": "ecs-linear", "step_percent": 33.2}}]
    )


def test_a_rollout_longer_than_the_deploy_stage_can_follow_is_refused_at_load() -> None:
    """Found by the property tests: the deploy stage is a CodeBuild build, which runs at most 2,160 minutes
    (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html); a linear rollout of 32 steps
    of a day each made a project cfn-lint refuses (E3034) and AWS would too."""
    with pytest.raises(ValueError, match="CodeBuild stops a build after 2160"):
        make_blueprint(
            services=[
                {
                    "name": "api",
                    "port": 8080,
                    "deployment": {"strategy": "ecs-linear", "step_percent": 3.0, "step_bake_minutes": 1440},
                }
            ]
        )
    longest = make_blueprint(
        services=[
            {
                "name": "api",
                "port": 8080,
                "deployment": {
                    "strategy": "ecs-canary",
                    "canary_bake_minutes": 1440,
                    "wait_minutes": 300,
                    "bake_minutes": 300,
                },
            }
        ]
    )
    assert longest.deployment_of(longest.services[0]).deploy_stage_minutes <= 2160

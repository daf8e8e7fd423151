"""The service stacks: one per service, its task definition, ECS service, and auto scaling.

How a new task definition reaches the service depends on its deployment strategy
(``Blueprint.deployment_of``). Under ``codedeploy`` (the default, the guide's design)
the CODE_DEPLOY controller runs it and the pipeline deploys; under the ``ecs-*``
strategies the ECS controller runs it and CloudFormation itself rolls out each new
revision this stack registers (see :func:`_ecs_deployment`).

Once CODE_DEPLOY controls an ECS service, ECS refuses every change to the
properties in :data:`CODE_DEPLOY_OWNED_PROPERTIES` unless CodeDeploy makes it.
The service resource here keeps them stable under ordinary blueprint edits:
- ``TaskDefinition`` is the task definition *family*, a fixed string. At creation
  ECS resolves it to the latest active revision, the one this stack registers
  (hence the DependsOn); later edits register new revisions in the family
  without touching the service, and the pipeline deploys them.
- ``LoadBalancers`` names the blue target group (a stable ARN), the container and
  its port; ``NetworkConfiguration`` names the private subnets and the task
  security group; ``CapacityProviderStrategy`` names the cluster's provider.
  They change only when the container port, the AZs or the cluster's provider
  change: README, "Edits that need the pipeline", says what to do then, and the
  deployer refuses a change set that would touch them.
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import ecr, elasticloadbalancing, logs, rds_db, ssmmessages
from awacs.aws import Statement
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.applicationautoscaling import (
    PredefinedMetricSpecification,
    ScalableTarget,
    ScalingPolicy,
    TargetTrackingScalingPolicyConfiguration,
)
from troposphere.ec2 import SecurityGroup, SecurityGroupIngress, SecurityGroupRule
from troposphere.ecs import (
    AdvancedConfiguration,
    AwsvpcConfiguration,
    CanaryConfiguration,
    CapacityProviderStrategyItem,
    DeploymentAlarms,
    DeploymentCircuitBreaker,
    DeploymentConfiguration,
    DeploymentController,
    DeploymentLifecycleHook,
    HookTimeoutConfig,
    LinearConfiguration,
    NetworkConfiguration,
    PlacementStrategy,
)
from troposphere.ecs import LoadBalancer as ServiceLoadBalancer
from troposphere.ecs import Service as EcsService
from troposphere.logs import LogGroup

from cfngen.blueprint import Blueprint, Deployment, Service
from cfngen.builders import _test_traffic, contracts, iam
from cfngen.builders.base import add_output, add_parameter, new_template, role_path
from cfngen.builders.database_proxy import uses_proxy
from cfngen.builders.database_users import connect_arn, database_user, database_user_id
from cfngen.builders.taskdef import (
    PLACEHOLDER_IMAGE,
    container_name,
    execution_role_id,
    family,
    log_group_id,
    task_definition,
    task_definition_id,
    task_role_id,
)
from cfngen.synth._stack import NestedStack

SCALE_OUT_COOLDOWN_S = 60
SCALE_IN_COOLDOWN_S = 300
# DeploymentConfiguration.Strategy of each ecs-* deployment strategy.
ECS_STRATEGIES = {
    "ecs-blue-green": "BLUE_GREEN",
    "ecs-linear": "LINEAR",
    "ecs-canary": "CANARY",
    "ecs-rolling": "ROLLING",
}
ECS_PRINCIPAL = "ecs.amazonaws.com"


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """One stack per service, named "service-<name>"."""
    for service in blueprint.services:
        yield NestedStack(f"service-{service.name}", build(blueprint, service), service=service.name)


def service_id(service: Service) -> str:
    """Logical id of the ECS service resource."""
    return f"{service.logical_name}Service"


def build(blueprint: Blueprint, service: Service) -> Template:
    """Log group, roles, task security group, task definition, ECS service and auto scaling of `service`."""
    deployment = blueprint.deployment_of(service)
    template = new_template(
        blueprint, f"ECS service {service.name} under {_rolled_out_by(deployment)}, with auto scaling"
    )
    _add_parameters(template, blueprint, service)
    _add_log_group(template, blueprint, service)
    _add_roles(template, blueprint, service)
    if _uses_advanced_configuration(deployment):
        _add_infrastructure_role(template, blueprint, service)
    _add_task_security_group(template, blueprint, service)
    if _test_traffic.tests_traffic(blueprint, service):
        _test_traffic.add(template, blueprint, service)
    if service.database:
        _add_database_access(template, blueprint, service)
    template.add_resource(task_definition(blueprint, service))
    _add_service(template, blueprint, service)
    _add_auto_scaling(template, service)
    _add_outputs(template, blueprint, service)
    return template


def _rolled_out_by(deployment: Deployment) -> str:
    if deployment.uses_codedeploy:
        return "CodeDeploy blue/green"
    return f"ECS {ECS_STRATEGIES[deployment.strategy].lower().replace('_', '/')} deployments"


def _uses_advanced_configuration(deployment: Deployment) -> bool:
    """ECS blue/green, linear and canary: ECS moves the listeners between the two target groups itself."""
    return deployment.shifts_traffic and not deployment.uses_codedeploy


def infrastructure_role_id(service: Service) -> str:
    """Logical id of the role ECS assumes to move the service's listeners between its target groups."""
    return f"{service.logical_name}InfrastructureRole"


def _load_balancer_security_group(blueprint: Blueprint, service: Service) -> str:
    return contracts.of_load_balancer(blueprint.load_balancer_of(service), "SecurityGroupId")


def _add_parameters(template: Template, blueprint: Blueprint, service: Service) -> None:
    add_parameter(template, contracts.CLUSTER_NAME, "String", "ECS cluster the service runs in")
    add_parameter(template, contracts.CAPACITY_PROVIDER_NAME, "String", "Capacity provider the tasks are placed with")
    add_parameter(template, contracts.VPC_ID, "AWS::EC2::VPC::Id", "VPC of the tasks")
    add_parameter(
        template, contracts.PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Subnets of the tasks, one per AZ"
    )
    add_parameter(
        template,
        _load_balancer_security_group(blueprint, service),
        "AWS::EC2::SecurityGroup::Id",
        "Security group of the load balancer, the only source the tasks admit",
    )
    add_parameter(
        template,
        contracts.of_service(service, "BlueTargetGroupArn"),
        "String",
        "Target group the service starts behind",
    )
    if _uses_advanced_configuration(blueprint.deployment_of(service)):
        add_parameter(
            template,
            contracts.of_service(service, "GreenTargetGroupArn"),
            "String",
            "Target group the new tasks of a deployment start behind",
        )
        for role in ("Production", "Test"):
            add_parameter(
                template,
                contracts.of_listener(service, role),
                "String",
                f"{role} listener that ECS points at the new tasks during a deployment",
            )
    add_parameter(
        template,
        contracts.of_service(service, "RepositoryArn"),
        "String",
        "ECR repository the service's images come from",
    )
    add_parameter(template, contracts.LOGS_KMS_KEY_ARN, "String", "KMS key that encrypts the log group")
    add_parameter(
        template,
        contracts.image_parameter(service),
        "String",
        f"Image of the first deployment of {service.name}; later images arrive through its pipeline",
        Default=service.image or PLACEHOLDER_IMAGE,
    )
    if _test_traffic.tests_traffic(blueprint, service):
        _test_traffic.add_parameters(template, blueprint, service)
    if service.database:
        _add_database_parameters(template, blueprint)


def _add_database_parameters(template: Template, blueprint: Blueprint) -> None:
    add_parameter(template, contracts.DATABASE_PORT, "Number", "Port of the database")
    if uses_proxy(blueprint):
        add_parameter(template, contracts.DATABASE_PROXY_ENDPOINT, "String", "Endpoint of the RDS Proxy")
        add_parameter(
            template,
            contracts.DATABASE_PROXY_RESOURCE_ID,
            "String",
            "Resource id of the proxy, in the rds-db:connect ARN of the service's user",
        )
        add_parameter(
            template,
            contracts.DATABASE_PROXY_SECURITY_GROUP_ID,
            "AWS::EC2::SecurityGroup::Id",
            "Security group of the RDS Proxy",
        )
        return
    add_parameter(template, contracts.DATABASE_ENDPOINT, "String", "Writer endpoint of the database")
    add_parameter(
        template,
        contracts.DATABASE_CLUSTER_RESOURCE_ID,
        "String",
        "Resource id of the database cluster, in the rds-db:connect ARN of the service's user",
    )
    add_parameter(
        template,
        contracts.DATABASE_USER_FUNCTION_ARN,
        "String",
        "Function that creates the service's database user (Custom::DatabaseUser)",
    )
    add_parameter(
        template,
        contracts.DATABASE_SECURITY_GROUP_ID,
        "AWS::EC2::SecurityGroup::Id",
        "Security group of the database",
    )


def _add_log_group(template: Template, blueprint: Blueprint, service: Service) -> None:
    template.add_resource(
        LogGroup(
            log_group_id(service),
            RetentionInDays=blueprint.logs.retention_days,
            KmsKeyId=Ref(contracts.LOGS_KMS_KEY_ARN),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )


def _add_roles(template: Template, blueprint: Blueprint, service: Service) -> None:
    statements = [
        iam.allow([ecr.GetAuthorizationToken], ["*"]),
        iam.allow(
            [ecr.BatchCheckLayerAvailability, ecr.GetDownloadUrlForLayer, ecr.BatchGetImage],
            [Ref(contracts.of_service(service, "RepositoryArn"))],
        ),
        iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(log_group_id(service), "Arn")]),
    ]
    template.add_resource(
        iam.service_role(
            execution_role_id(service),
            "ecs-tasks.amazonaws.com",
            {"start-tasks": statements},
            path=role_path(blueprint),
            description=f"ECS starting {service.name} tasks: its image repository, its log group",
        )
    )
    task_policies: dict[str, list[Statement]] = {}
    if service.database:
        # IAM database authentication (to the cluster or the proxy): the task signs a token for its own database
        # user, and no other.
        task_policies["database-user"] = [iam.allow([rds_db.connect], [connect_arn(service, blueprint)])]
    if service.exec:
        task_policies["ecs-exec"] = exec_statements(service)
    template.add_resource(
        iam.service_role(
            task_role_id(service),
            "ecs-tasks.amazonaws.com",
            task_policies,
            path=role_path(blueprint),
            description=f"The {service.name} application itself: no permissions until the service needs some"
            + (f"; connects to the database as {service.database_user}" if service.database else "")
            + ("; ECS Exec sessions, logged to its log group" if service.exec else ""),
        )
    )


def exec_statements(service: Service) -> list[Statement]:
    """What the SSM agent inside an ECS Exec task needs: its message channels, and the service's own (encrypted)
    log group for the session logs, the default logging of ECS Exec (the task definition's awslogs settings).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html (IAM permissions, logging)"""
    return [
        iam.allow(
            [
                ssmmessages.CreateControlChannel,
                ssmmessages.CreateDataChannel,
                ssmmessages.OpenControlChannel,
                ssmmessages.OpenDataChannel,
            ],
            ["*"],
        ),
        # The agent lists the log groups to find the task's: a listing, which has no resource type.
        iam.allow([logs.DescribeLogGroups], ["*"]),
        iam.allow(
            [logs.CreateLogStream, logs.DescribeLogStreams, logs.PutLogEvents], [GetAtt(log_group_id(service), "Arn")]
        ),
    ]


def _add_infrastructure_role(template: Template, blueprint: Blueprint, service: Service) -> None:
    """The role ECS uses to shift traffic, scoped to this service's two target groups and two listeners.

    It grants what AmazonECSInfrastructureRolePolicyForLoadBalancers grants on every load balancer
    of the account, narrowed to this service: register and deregister targets, point a listener at
    the other target group; the Describe calls support no resource-level permission.
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
    """
    template.add_resource(
        iam.service_role(
            infrastructure_role_id(service),
            ECS_PRINCIPAL,
            {
                "shift-traffic-of-one-service": [
                    iam.allow(
                        [
                            elasticloadbalancing.DescribeListeners,
                            elasticloadbalancing.DescribeRules,
                            elasticloadbalancing.DescribeTargetGroups,
                            elasticloadbalancing.DescribeTargetHealth,
                        ],
                        ["*"],
                    ),
                    iam.allow(
                        [elasticloadbalancing.RegisterTargets, elasticloadbalancing.DeregisterTargets],
                        [
                            Ref(contracts.of_service(service, colour))
                            for colour in ("BlueTargetGroupArn", "GreenTargetGroupArn")
                        ],
                    ),
                    iam.allow(
                        [elasticloadbalancing.ModifyListener],
                        [Ref(contracts.of_listener(service, role)) for role in ("Production", "Test")],
                    ),
                ]
            },
            path=role_path(blueprint),
            description=f"Lets ECS move {service.name}'s listeners between its blue and green target groups",
        )
    )


def _add_task_security_group(template: Template, blueprint: Blueprint, service: Service) -> None:
    template.add_resource(
        SecurityGroup(
            f"{service.logical_name}TaskSecurityGroup",
            GroupDescription=f"{blueprint.name} {service.name} tasks: container port from the load balancer only",
            VpcId=Ref(contracts.VPC_ID),
            SecurityGroupIngress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=service.port,
                    ToPort=service.port,
                    SourceSecurityGroupId=Ref(_load_balancer_security_group(blueprint, service)),
                    Description="traffic and health checks from the load balancer",
                )
            ],
        )
    )


def _add_database_access(template: Template, blueprint: Blueprint, service: Service) -> None:
    # The database <-> services cycle, broken here: the database stack (or, with access: proxy, the database-users
    # stack that holds the proxy) owns the security group and opens nothing, and comes earlier in the stack order;
    # each service that uses the database adds its own rule to that group. The database never needs to know the
    # services, and removing a service removes its rule.
    proxy = uses_proxy(blueprint)
    template.add_resource(
        SecurityGroupIngress(
            f"{service.logical_name}DatabaseIngress",
            GroupId=Ref(contracts.DATABASE_PROXY_SECURITY_GROUP_ID if proxy else contracts.DATABASE_SECURITY_GROUP_ID),
            IpProtocol="tcp",
            FromPort=Ref(contracts.DATABASE_PORT),
            ToPort=Ref(contracts.DATABASE_PORT),
            SourceSecurityGroupId=Ref(f"{service.logical_name}TaskSecurityGroup"),
            Description=f"MySQL from the {service.name} tasks" + (", to the RDS Proxy" if proxy else ""),
        )
    )
    if not proxy:
        # With access: proxy the user is made in the database-users stack, with its secret.
        template.add_resource(database_user(service, Ref(contracts.DATABASE_USER_FUNCTION_ARN)))


def _add_service(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    deployment = blueprint.deployment_of(service)
    if deployment.uses_codedeploy:
        # See the module docstring: the family keeps this property stable; the DependsOn makes the
        # revision this stack registers the one ECS resolves the family to at creation.
        rollout: dict[str, object] = {
            "DependsOn": [task_definition_id(service)],
            "TaskDefinition": family(blueprint, service),
            "DeploymentController": DeploymentController(Type="CODE_DEPLOY"),
        }
    else:
        rollout = _ecs_deployment(blueprint, service, deployment)
    target = ServiceLoadBalancer(
        ContainerName=container_name(service),
        ContainerPort=service.port,
        TargetGroupArn=Ref(contracts.of_service(service, "BlueTargetGroupArn")),
    )
    if _uses_advanced_configuration(deployment):
        target.AdvancedConfiguration = AdvancedConfiguration(
            AlternateTargetGroupArn=Ref(contracts.of_service(service, "GreenTargetGroupArn")),
            ProductionListenerRule=Ref(contracts.of_listener(service, "Production")),
            TestListenerRule=Ref(contracts.of_listener(service, "Test")),
            RoleArn=GetAtt(infrastructure_role_id(service), "Arn"),
        )
    ecs_service = template.add_resource(
        EcsService(
            service_id(service),
            ServiceName=service.name,
            Cluster=Ref(contracts.CLUSTER_NAME),
            DesiredCount=service.desired_count,
            CapacityProviderStrategy=[
                CapacityProviderStrategyItem(CapacityProvider=Ref(contracts.CAPACITY_PROVIDER_NAME), Weight=1)
            ],
            PlacementStrategies=[
                PlacementStrategy(Type="spread", Field="attribute:ecs.availability-zone"),
                PlacementStrategy(Type="spread", Field="instanceId"),
            ],
            LoadBalancers=[target],
            NetworkConfiguration=NetworkConfiguration(
                AwsvpcConfiguration=AwsvpcConfiguration(
                    Subnets=Ref(contracts.PRIVATE_SUBNET_IDS),
                    SecurityGroups=[Ref(f"{prefix}TaskSecurityGroup")],
                    AssignPublicIp="DISABLED",
                )
            ),
            HealthCheckGracePeriodSeconds=service.health_check_grace_period_s,
            PropagateTags="SERVICE",
            EnableECSManagedTags=True,
            **({"EnableExecuteCommand": True} if service.exec else {}),
            **rollout,
        )
    )
    if service.database and not uses_proxy(blueprint):
        # No task starts before its database user exists: it could not sign in. (With access: proxy it is made in
        # the database-users stack, which comes first.)
        ecs_service.DependsOn = [*getattr(ecs_service, "DependsOn", []), database_user_id(service)]


def _ecs_deployment(blueprint: Blueprint, service: Service, deployment: Deployment) -> dict[str, object]:
    """The ECS controller's rollout: CloudFormation deploys each revision this stack registers.

    ``TaskDefinition`` names the revision (not the family), so a blueprint edit that registers a new
    revision, or a new image parameter from the pipeline, is a service update that ECS rolls out with
    the strategy; it rolls back on the service's alarms, and a rolling update also when its tasks
    never reach a steady state (circuit breaker). After the test traffic shift, ``test`` runs the test
    traffic function (a failure rolls back), then ``wait_minutes`` is a PAUSE hook that continues by
    itself when its time is up.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html
    """
    configuration = DeploymentConfiguration(
        Strategy=ECS_STRATEGIES[deployment.strategy],
        Alarms=DeploymentAlarms(
            AlarmNames=contracts.service_alarm_names(blueprint, service), Enable=True, Rollback=True
        ),
    )
    if deployment.bake_minutes is not None:
        configuration.BakeTimeInMinutes = deployment.bake_minutes
    if deployment.strategy == "ecs-rolling":
        configuration.DeploymentCircuitBreaker = DeploymentCircuitBreaker(Enable=True, Rollback=True)
    elif deployment.strategy == "ecs-linear":
        configuration.LinearConfiguration = LinearConfiguration(
            StepPercent=deployment.step_percent, StepBakeTimeInMinutes=deployment.step_bake_minutes
        )
    elif deployment.strategy == "ecs-canary":
        configuration.CanaryConfiguration = CanaryConfiguration(
            CanaryPercent=deployment.canary_percent, CanaryBakeTimeInMinutes=deployment.canary_bake_minutes
        )
    hooks = []
    if deployment.test is not None:
        hooks.append(_test_traffic.ecs_lifecycle_hook(service))
    if deployment.wait_minutes is not None:
        hooks.append(
            DeploymentLifecycleHook(
                TargetType="PAUSE",
                LifecycleStages=[_test_traffic.ECS_HOOK_STAGE],
                TimeoutConfiguration=HookTimeoutConfig(TimeoutInMinutes=deployment.wait_minutes, Action="CONTINUE"),
            )
        )
    if hooks:
        configuration.LifecycleHooks = hooks
    return {
        "TaskDefinition": Ref(task_definition_id(service)),
        "DeploymentController": DeploymentController(Type="ECS"),
        "DeploymentConfiguration": configuration,
    }


def _add_auto_scaling(template: Template, service: Service) -> None:
    prefix = service.logical_name
    template.add_resource(
        ScalableTarget(
            f"{prefix}ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Sub(f"service/${{ClusterName}}/${{{service_id(service)}.Name}}"),
            MinCapacity=service.scaling.min,
            MaxCapacity=service.scaling.max,
        )
    )
    template.add_resource(
        ScalingPolicy(
            f"{prefix}CpuScalingPolicy",
            PolicyName=f"{service.name}-cpu-target-tracking",
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(f"{prefix}ScalableTarget"),
            TargetTrackingScalingPolicyConfiguration=TargetTrackingScalingPolicyConfiguration(
                PredefinedMetricSpecification=PredefinedMetricSpecification(
                    PredefinedMetricType="ECSServiceAverageCPUUtilization"
                ),
                TargetValue=float(service.scaling.cpu_target),
                ScaleOutCooldown=SCALE_OUT_COOLDOWN_S,
                ScaleInCooldown=SCALE_IN_COOLDOWN_S,
            ),
        )
    )


def _add_outputs(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    if _uses_advanced_configuration(blueprint.deployment_of(service)):
        add_output(
            template,
            contracts.of_service(service, "InfrastructureRoleArn"),
            GetAtt(infrastructure_role_id(service), "Arn"),
            f"Role ECS shifts {service.name}'s traffic with",
        )
    add_output(
        template,
        contracts.of_service(service, "ServiceName"),
        GetAtt(service_id(service), "Name"),
        f"ECS service name of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "ServiceArn"),
        Ref(service_id(service)),
        f"ECS service ARN of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "TaskSecurityGroupId"),
        GetAtt(f"{prefix}TaskSecurityGroup", "GroupId"),
        f"Security group of the {service.name} tasks",
    )
    add_output(
        template,
        contracts.of_service(service, "ExecutionRoleArn"),
        GetAtt(execution_role_id(service), "Arn"),
        f"Task execution role of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "TaskRoleArn"),
        GetAtt(task_role_id(service), "Arn"),
        f"Task role of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "LogGroupName"),
        Ref(log_group_id(service)),
        f"Log group of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "TaskDefinitionArn"),
        Ref(task_definition_id(service)),
        f"Task definition revision of {service.name}'s first deployment (later ones come from its pipeline)",
    )

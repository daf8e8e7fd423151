"""The names that cross a stack boundary, each written once: producer and consumer both use this module.

Stacks are wired by name (cfngen.synth._stackset): a child's Parameter ``P`` receives
``!GetAtt <Producer>.Outputs.P`` from the one earlier stack that outputs ``P``. An output name
is therefore an interface between two builders, and renaming one is a breaking change for every
consumer. Physical names that another stack computes instead of receiving (alarm names, which
the pipelines name before the monitoring stack creates them) live here for the same reason.

:data:`OUTPUTS` describes every output a stack gives to another; ``docs/wiring.md`` is generated
from it (``make goldens``) and ``tests/test_contracts.py`` checks that the synthesized stacks give
and take exactly these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cfngen.blueprint import Blueprint, Service
from cfngen.builders.base import owned_name

# Platform-wide outputs, one stack each.
LOGS_KMS_KEY_ARN = "LogsKmsKeyArn"
VPC_ID = "VpcId"
VPC_CIDR = "VpcCidr"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
PRIVATE_SUBNET_IDS = "PrivateSubnetIds"
DATABASE_CLUSTER_ID = "DatabaseClusterId"
DATABASE_ENDPOINT = "DatabaseEndpoint"
DATABASE_READER_ENDPOINT = "DatabaseReaderEndpoint"
DATABASE_PORT = "DatabasePort"
DATABASE_SECRET_ARN = "DatabaseSecretArn"
DATABASE_SECURITY_GROUP_ID = "DatabaseSecurityGroupId"
DATABASE_INSTANCE_IDS = "DatabaseInstanceIds"
DATABASE_CLUSTER_RESOURCE_ID = "DatabaseClusterResourceId"
DATABASE_USER_FUNCTION_ARN = "DatabaseUserFunctionArn"
DATABASE_PROXY_ENDPOINT = "DatabaseProxyEndpoint"
DATABASE_PROXY_RESOURCE_ID = "DatabaseProxyResourceId"
DATABASE_PROXY_SECURITY_GROUP_ID = "DatabaseProxySecurityGroupId"
CLUSTER_NAME = "ClusterName"
CLUSTER_ARN = "ClusterArn"
CAPACITY_PROVIDER_NAME = "CapacityProviderName"
AUTO_SCALING_GROUP_NAME = "AutoScalingGroupName"
ALARM_TOPIC_ARN = "AlarmTopicArn"
# The bootstrap stack, outside every blueprint: the deployer reads the templates bucket from its outputs, and the
# CI policy lets CI read them.
BOOTSTRAP_STACK_NAME = "cfngen-bootstrap"

# Root parameters: no stack produces them; the root takes them with the child's default.
ECS_AMI_ID = "EcsAmiId"

# Outputs of a service's stacks, each prefixed with the service's PascalCase name.
ServiceOutput = Literal[
    "RepositoryName",
    "RepositoryArn",
    "RepositoryUri",
    "SourceRepositoryName",
    "SourceRepositoryArn",
    "ProductionListenerArn",
    "TestListenerArn",
    "BlueTargetGroupArn",
    "BlueTargetGroupName",
    "BlueTargetGroupFullName",
    "GreenTargetGroupName",
    "GreenTargetGroupFullName",
    "ServiceName",
    "ServiceArn",
    "TaskSecurityGroupId",
    "ExecutionRoleArn",
    "TaskRoleArn",
    "LogGroupName",
    "TaskDefinitionArn",
    "GreenTargetGroupArn",
    "InfrastructureRoleArn",
    "TestTrafficHookRoleArn",
    "PipelineName",
    "BuildProjectName",
    "CodeDeployApplicationName",
    "DeploymentGroupName",
    "DeployProjectName",
]
# Outputs of a load balancer's stack; load balancer n >= 2 puts its number after "LoadBalancer".
LoadBalancerOutput = Literal["Arn", "FullName", "DnsName", "SecurityGroupId"]

# Alarm kinds per service, each an alarm that a bad release can trip.
SERVICE_ALARM_KINDS = ("cpu-high", "memory-high", "running-tasks-low", "unhealthy-targets")


def of_service(service: Service, output: ServiceOutput) -> str:
    """The name of `service`'s output `output`: "{Svc}RepositoryArn" and so on."""
    return f"{service.logical_name}{output}"


def of_load_balancer(number: int, output: LoadBalancerOutput) -> str:
    """The name of the output `output` of load balancer `number` (from 1): "LoadBalancerArn", "LoadBalancer2Arn"."""
    return f"LoadBalancer{output}" if number == 1 else f"LoadBalancer{number}{output}"


def of_listener(service: Service, role: Literal["Production", "Test"]) -> str:
    """The name of the output holding `service`'s production or test listener ARN."""
    return of_service(service, "ProductionListenerArn" if role == "Production" else "TestListenerArn")


def of_target_group(service: Service, colour: Literal["Blue", "Green"], form: Literal["Name", "FullName"]) -> str:
    """The name of the output holding `service`'s blue or green target group name, or its CloudWatch dimension."""
    return f"{service.logical_name}{colour}TargetGroup{form}"


def image_parameter(service: Service) -> str:
    """The root parameter holding the image of the service's first deployment: "{Svc}Image"."""
    return f"{service.logical_name}Image"


def service_alarm_name(blueprint: Blueprint, service: Service, kind: str) -> str:
    """The alarm name for one `kind` of SERVICE_ALARM_KINDS: "<blueprint>--<service>-<kind>".

    The pipeline stack's deployment group rolls back on these alarms, and the monitoring stack
    creates them: computing the names here, instead of passing them as outputs, keeps the
    monitoring stack after the pipelines in the wiring order without a cycle.
    """
    if kind not in SERVICE_ALARM_KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}; expected one of {', '.join(SERVICE_ALARM_KINDS)}")
    return owned_name(blueprint, service.name, kind)


def service_alarm_names(blueprint: Blueprint, service: Service) -> list[str]:
    """Every alarm name of `service`, in SERVICE_ALARM_KINDS order."""
    return [service_alarm_name(blueprint, service, kind) for kind in SERVICE_ALARM_KINDS]


def alarm_topic_name(blueprint: Blueprint) -> str:
    """Name of the SNS topic of alarms, failure rules and approval requests; its key's alias is alias/<name>.

    The pipelines, built before the monitoring stack, name it in their approval step.
    """
    return f"{blueprint.name}-alarms"


# Upstream registries the build reaches through an ECR pull-through cache, each under its own repository prefix.
CacheUpstream = Literal["ecr-public", "docker-hub"]
_CACHE_SUFFIX: dict[CacheUpstream, str] = {"ecr-public": "pub", "docker-hub": "hub"}


def pull_through_cache_prefix(blueprint: Blueprint, upstream: CacheUpstream) -> str:
    """The ECR repository prefix of the blueprint's pull-through cache rule for `upstream`: "<blueprint>_pub".

    The image-cache stack creates the rule; the build projects reach the cache and are granted its
    repositories under this prefix. Rules are per account and region, so the prefix carries the blueprint's
    name; "_" cannot occur in a blueprint or service name, so a cache prefix never starts a service's
    repository name (<blueprint>/<service>) or another blueprint's prefix. At most 24 + 4 characters: ECR
    allows 30.
    """
    return f"{blueprint.name}_{_CACHE_SUFFIX[upstream]}"


@dataclass(frozen=True)
class Output:
    """One output that crosses a stack boundary: its name (``{Svc}``/``<n>`` patterns), its stack and meaning."""

    name: str
    stack: str
    meaning: str


_SERVICE = "{Svc}"
_LB = "LoadBalancer<n>"
OUTPUTS: tuple[Output, ...] = (
    Output(LOGS_KMS_KEY_ARN, "keys", "KMS key that encrypts every log group"),
    Output(VPC_ID, "network", "VPC id"),
    Output(VPC_CIDR, "network", "VPC IPv4 CIDR"),
    Output(PUBLIC_SUBNET_IDS, "network", "public subnets, one per AZ (comma-joined)"),
    Output(PRIVATE_SUBNET_IDS, "network", "private subnets, one per AZ (comma-joined)"),
    Output(f"{_SERVICE}RepositoryName", "registry-<svc>", "ECR repository name"),
    Output(f"{_SERVICE}RepositoryArn", "registry-<svc>", "ECR repository ARN"),
    Output(f"{_SERVICE}RepositoryUri", "registry-<svc>", "ECR repository URI"),
    Output(f"{_SERVICE}SourceRepositoryName", "registry-<svc>", "CodeCommit repository name (CodeCommit source)"),
    Output(f"{_SERVICE}SourceRepositoryArn", "registry-<svc>", "CodeCommit repository ARN (CodeCommit source)"),
    Output(DATABASE_CLUSTER_ID, "database", "Aurora cluster identifier"),
    Output(DATABASE_ENDPOINT, "database", "writer endpoint"),
    Output(DATABASE_READER_ENDPOINT, "database", "reader endpoint"),
    Output(DATABASE_PORT, "database", "MySQL port"),
    Output(DATABASE_SECRET_ARN, "database", "secret with the master user's credentials (database-users task only)"),
    Output(DATABASE_SECURITY_GROUP_ID, "database", "security group of the cluster (services add their ingress)"),
    Output(DATABASE_INSTANCE_IDS, "database", "instance identifiers, writer first (comma-joined)"),
    Output(DATABASE_CLUSTER_RESOURCE_ID, "database", "cluster resource id, in the ARNs of rds-db:connect"),
    Output(
        DATABASE_USER_FUNCTION_ARN,
        "database-users",
        "function behind Custom::DatabaseUser (creates a service's database user)",
    ),
    Output(DATABASE_PROXY_ENDPOINT, "database-users", "RDS Proxy endpoint the services connect to (access: proxy)"),
    Output(
        DATABASE_PROXY_RESOURCE_ID,
        "database-users",
        "proxy resource id (prx-...), in the services' rds-db:connect ARNs (access: proxy)",
    ),
    Output(
        DATABASE_PROXY_SECURITY_GROUP_ID,
        "database-users",
        "security group of the proxy (services add their ingress; access: proxy)",
    ),
    Output(CLUSTER_NAME, "cluster", "ECS cluster name"),
    Output(CLUSTER_ARN, "cluster", "ECS cluster ARN"),
    Output(CAPACITY_PROVIDER_NAME, "cluster", "capacity provider of the cluster"),
    Output(AUTO_SCALING_GROUP_NAME, "cluster", "Auto Scaling group of the container instances"),
    Output(f"{_LB}Arn", "load-balancer[-<n>]", "Network Load Balancer ARN"),
    Output(f"{_LB}FullName", "load-balancer[-<n>]", "load balancer name as CloudWatch dimensions spell it"),
    Output(f"{_LB}DnsName", "load-balancer[-<n>]", "DNS name clients connect to"),
    Output(f"{_LB}SecurityGroupId", "load-balancer[-<n>]", "security group of the load balancer"),
    Output(f"{_SERVICE}ProductionListenerArn", "load-balancer[-<n>]", "production listener"),
    Output(f"{_SERVICE}TestListenerArn", "load-balancer[-<n>]", "test listener"),
    Output(f"{_SERVICE}BlueTargetGroupArn", "load-balancer[-<n>]", "target group the service starts behind"),
    Output(f"{_SERVICE}BlueTargetGroupName", "load-balancer[-<n>]", "blue target group name (codedeploy)"),
    Output(f"{_SERVICE}BlueTargetGroupFullName", "load-balancer[-<n>]", "blue target group, CloudWatch dimension"),
    Output(f"{_SERVICE}GreenTargetGroupName", "load-balancer[-<n>]", "green target group name (codedeploy)"),
    Output(
        f"{_SERVICE}GreenTargetGroupArn",
        "load-balancer[-<n>]",
        "target group ECS starts the new tasks behind (ecs-blue-green/linear/canary)",
    ),
    Output(f"{_SERVICE}GreenTargetGroupFullName", "load-balancer[-<n>]", "green target group, CloudWatch dimension"),
    Output(f"{_SERVICE}ServiceName", "service-<svc>", "ECS service name"),
    Output(f"{_SERVICE}ServiceArn", "service-<svc>", "ECS service ARN"),
    Output(f"{_SERVICE}TaskSecurityGroupId", "service-<svc>", "security group of the tasks"),
    Output(f"{_SERVICE}ExecutionRoleArn", "service-<svc>", "task execution role"),
    Output(f"{_SERVICE}TaskRoleArn", "service-<svc>", "task role"),
    Output(f"{_SERVICE}LogGroupName", "service-<svc>", "log group of the tasks"),
    Output(f"{_SERVICE}TaskDefinitionArn", "service-<svc>", "task definition the stack registered"),
    Output(
        f"{_SERVICE}InfrastructureRoleArn",
        "service-<svc>",
        "role ECS shifts traffic with (ecs-blue-green/linear/canary)",
    ),
    Output(
        f"{_SERVICE}TestTrafficHookRoleArn",
        "service-<svc>",
        "role ECS invokes the test traffic function with (ecs-blue-green/linear/canary with deployment.test)",
    ),
    Output(f"{_SERVICE}PipelineName", "pipeline-<svc>", "delivery pipeline"),
    Output(f"{_SERVICE}BuildProjectName", "pipeline-<svc>", "CodeBuild project"),
    Output(f"{_SERVICE}CodeDeployApplicationName", "pipeline-<svc>", "CodeDeploy application (codedeploy)"),
    Output(f"{_SERVICE}DeploymentGroupName", "pipeline-<svc>", "CodeDeploy deployment group (codedeploy)"),
    Output(
        f"{_SERVICE}DeployProjectName",
        "pipeline-<svc>",
        "CodeBuild project that rolls images out through the root stack (ecs-*)",
    ),
    Output(ALARM_TOPIC_ARN, "monitoring", "SNS topic of alarms, failures and budget alerts"),
)

"""The task definition of a service, from one function for every consumer.

The service stack registers it with CloudFormation for the service's first
deployment; after that, new revisions reach the service only through the
pipeline (CodeDeploy refuses task definition changes from anywhere else), and
the pipeline's ``taskdef.json`` is rendered from the same object, so the two can
never drift apart.

What the task definition refers to outside itself (image, roles, log group,
database endpoint) arrives as :class:`TaskDefinitionValues`. The
default, :func:`stack_values`, names the service stack's own parameters and
resources; a renderer of ``taskdef.json`` passes literal values or the
CodeDeploy placeholders (``<IMAGE1_NAME>``) instead.
"""

from __future__ import annotations

import functools
import shlex
from dataclasses import dataclass
from typing import Any

from troposphere import GetAtt, Ref, Region
from troposphere.ecs import (
    ContainerDefinition,
    Environment,
    HealthCheck,
    LinuxParameters,
    LogConfiguration,
    PortMapping,
    SystemControl,
    TaskDefinition,
    Tmpfs,
)

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import contracts
from cfngen.builders.base import owned_name, tagged
from cfngen.builders.database_proxy import uses_proxy

# Listens for HTTP on $HTTP_PORT and answers every path with 200; runs as uid 1000, writes nothing to its
# filesystem, and its Alpine base has the wget the container health check uses.
PLACEHOLDER_IMAGE = "ghcr.io/mendhak/http-https-echo:38"
PLACEHOLDER_HTTPS_PORT = 8443
# Private scratch space for a read-only root filesystem: in memory, not executable.
TMP_PATH = "/tmp"
TMP_SIZE_MIB = 64
UNPRIVILEGED_PORT_START = 1024
MAX_HEALTH_CHECK_START_PERIOD_S = 300
HEALTH_CHECK_INTERVAL_S = 15
HEALTH_CHECK_TIMEOUT_S = 5
HEALTH_CHECK_RETRIES = 3
LOG_STREAM_PREFIX = "ecs"


@dataclass(frozen=True)
class TaskDefinitionValues:
    """Values the task definition takes from outside: intrinsics in the stack, literals in taskdef.json."""

    image: Any
    execution_role_arn: Any
    task_role_arn: Any
    log_group_name: Any
    region: Any
    database_host: Any = None
    database_port: Any = None


@functools.cache
def register_task_definition_fields() -> tuple[str, ...]:
    """The request fields of ECS RegisterTaskDefinition, from botocore's model of the API, sorted.

    What `describe-task-definition` returns beyond them (ARN, revision, status...) is read-only.
    """
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    return tuple(sorted(model.operation_model("RegisterTaskDefinition").input_shape.members))


def family(blueprint: Blueprint, service: Service) -> str:
    """The task definition family: "<blueprint>--<service>"; the service stack's revisions and the pipeline's share it."""
    return owned_name(blueprint, service.name)


def container_name(service: Service) -> str:
    """Name of the one container; the load balancer and CodeDeploy's AppSpec address it by this name."""
    return service.name


def task_definition_id(service: Service) -> str:
    """Logical id of the service's task definition."""
    return f"{service.logical_name}TaskDefinition"


def execution_role_id(service: Service) -> str:
    """Logical id of the role ECS uses to pull the image and write logs."""
    return f"{service.logical_name}ExecutionRole"


def task_role_id(service: Service) -> str:
    """Logical id of the role the application itself runs with."""
    return f"{service.logical_name}TaskRole"


def log_group_id(service: Service) -> str:
    """Logical id of the service's log group."""
    return f"{service.logical_name}LogGroup"


def stack_values(blueprint: Blueprint, service: Service) -> TaskDefinitionValues:
    """The values inside the service stack: its image parameter, its roles and log group, the database's outputs."""
    database = {}
    if service.database:
        database = {
            "database_host": Ref(
                contracts.DATABASE_PROXY_ENDPOINT if uses_proxy(blueprint) else contracts.DATABASE_ENDPOINT
            ),
            "database_port": Ref(contracts.DATABASE_PORT),
        }
    return TaskDefinitionValues(
        image=Ref(contracts.image_parameter(service)),
        execution_role_arn=GetAtt(execution_role_id(service), "Arn"),
        task_role_arn=GetAtt(task_role_id(service), "Arn"),
        log_group_name=Ref(log_group_id(service)),
        region=Region,
        **database,
    )


def task_definition(
    blueprint: Blueprint, service: Service, values: TaskDefinitionValues | None = None
) -> TaskDefinition:
    """The service's task definition: awsvpc on EC2, one essential container, logs, health check."""
    values = values or stack_values(blueprint, service)
    # Tagged in its own right, not only by the stack: the revisions the pipeline registers from
    # taskdef.json, rendered from this object, carry the tags too.
    return tagged(
        TaskDefinition(
            task_definition_id(service),
            Family=family(blueprint, service),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["EC2"],
            Cpu=str(service.cpu),
            Memory=str(service.memory),
            ExecutionRoleArn=values.execution_role_arn,
            TaskRoleArn=values.task_role_arn,
            ContainerDefinitions=[_container(blueprint, service, values)],
        ),
        blueprint,
    )


def environment(blueprint: Blueprint, service: Service, values: TaskDefinitionValues) -> dict[str, Any]:
    """Plain environment of the container, by name: placeholder port, the blueprint's variables, database endpoint.

    Never a secret, and none is needed: the service's own database user signs in with an IAM authentication
    token its task role generates (builders/database_users.py); DB_NAME is the schema of its first grant.
    """
    variables: dict[str, Any] = {"HTTP_PORT": str(service.port)}
    if service.port == PLACEHOLDER_HTTPS_PORT:
        # The placeholder's HTTPS listener would take the container port; move it out of the way.
        variables["HTTPS_PORT"] = str(PLACEHOLDER_HTTPS_PORT + 1)
    variables.update(service.environment)
    if service.database and blueprint.database is not None:
        variables.update(
            DB_HOST=values.database_host,
            DB_PORT=values.database_port,
            DB_NAME=service.database_grants[0].schema_name,
            DB_USERNAME=service.database_user,
        )
    return variables


def _container(blueprint: Blueprint, service: Service, values: TaskDefinitionValues) -> ContainerDefinition:
    container = ContainerDefinition(
        Name=container_name(service),
        Image=values.image,
        Essential=True,
        PortMappings=[PortMapping(ContainerPort=service.port, Protocol="tcp")],
        Environment=[
            Environment(Name=name, Value=value)
            for name, value in sorted(environment(blueprint, service, values).items())
        ],
        LogConfiguration=LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": values.log_group_name,
                "awslogs-region": values.region,
                "awslogs-stream-prefix": LOG_STREAM_PREFIX,
            },
        ),
        ReadonlyRootFilesystem=service.read_only_root_filesystem,
    )
    if service.health_check is not None:
        container.HealthCheck = _health_check(service, service.health_check.path)
    if service.user is not None:
        container.User = service.user
    if service.read_only_root_filesystem:
        container.LinuxParameters = LinuxParameters(
            Tmpfs=[
                Tmpfs(
                    ContainerPath=TMP_PATH,
                    Size=TMP_SIZE_MIB,
                    MountOptions=["noexec", "nosuid", "nodev"],
                )
            ]
        )
    if service.port < UNPRIVILEGED_PORT_START:
        # Lets a non-root user bind the container port; in awsvpc mode the setting is the task's own namespace.
        container.SystemControls = [
            SystemControl(Namespace="net.ipv4.ip_unprivileged_port_start", Value=str(service.port))
        ]
    return container


def _health_check(service: Service, path: str) -> HealthCheck:
    # The path is the blueprint's text: quoted, it stays one argument of wget/curl in the shell.
    url = shlex.quote(f"http://127.0.0.1:{service.port}{path}")
    return HealthCheck(
        Command=["CMD-SHELL", f"wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url} || exit 1"],
        Interval=HEALTH_CHECK_INTERVAL_S,
        Timeout=HEALTH_CHECK_TIMEOUT_S,
        Retries=HEALTH_CHECK_RETRIES,
        StartPeriod=min(service.health_check_grace_period_s, MAX_HEALTH_CHECK_START_PERIOD_S),
    )

"""What the database-users stack's one-off tasks and functions share: the MySQL client container and the function
that starts such a task and waits for it (_database_user_handler.py, inline).

A Lambda function with inline code has only the standard library and boto3, no MySQL driver; so every statement
cfngen runs on the database runs in a one-off Fargate task of the MySQL client image, which the function starts.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from awacs import ecs
from awacs import iam as iam_actions
from awacs.aws import Condition, Statement, StringEquals
from troposphere import GetAtt, Join, Ref
from troposphere.awslambda import Code, Environment, Function, LoggingConfig
from troposphere.ecs import ContainerDefinition, LogConfiguration, Secret, TaskDefinition
from troposphere.ecs import Environment as ContainerEnvironment

from cfngen.blueprint import Blueprint
from cfngen.builders import contracts, iam
from cfngen.builders.base import tagged
from cfngen.synth.suppress import skip_check

# The official MySQL image on ECR Public (no Docker Hub rate limit); its 8.4 LTS client speaks to Aurora MySQL 3.
MYSQL_CLIENT_IMAGE = "public.ecr.aws/docker/library/mysql:8.4"
CONTAINER = "mysql-client"
LOG_PREFIX = "database-users"
LOG_GROUP = "DatabaseUsersLogGroup"
SECURITY_GROUP = "DatabaseUsersSecurityGroup"
HANDLER_SOURCE = Path(__file__).with_name("_database_user_handler.py")
FUNCTION_TIMEOUT_S = 900
TASK_CPU = "256"
TASK_MEMORY_MIB = "512"
HTTPS_PORT = 443
# A password cfngen hands to SQL is letters and digits only (the secrets and the rotation generate no punctuation);
# the scripts refuse anything else, so that a hand-edited secret can never end the quoted string early.
REFUSE_UNLESS_ALPHANUMERIC = (
    'case "${value}" in ""|*[!A-Za-z0-9]*) echo "refused: ${name} is not letters and digits only" >&2; exit 3;; esac'
)


# The shell function the scripts call: the MySQL client over TLS as $DB_USER (the password in $MYSQL_PWD, which
# keeps it off the command line).
CLIENT = 'client() { mysql --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" --ssl-mode=REQUIRED --batch "$@"; }'


def refuse_unless_alphanumeric(variable: str, value: str) -> str:
    """The shell line that ends the task (exit 3) unless `value` (a shell expression) is letters and digits only."""
    return REFUSE_UNLESS_ALPHANUMERIC.replace("${value}", value).replace("${name}", variable)


def container(
    script: str, *, log_prefix: str, environment: dict[str, Any], secrets: dict[str, Any]
) -> ContainerDefinition:
    """The MySQL client container running `script` (sh), its variables, secrets (name -> ValueFrom) and log."""
    return ContainerDefinition(
        Name=CONTAINER,
        Image=MYSQL_CLIENT_IMAGE,
        Essential=True,
        EntryPoint=["sh", "-c"],
        Command=[script],
        User="mysql",
        ReadonlyRootFilesystem=True,
        Environment=[ContainerEnvironment(Name=name, Value=value) for name, value in sorted(environment.items())],
        Secrets=[Secret(Name=name, ValueFrom=value) for name, value in sorted(secrets.items())],
        LogConfiguration=LogConfiguration(
            LogDriver="awslogs",
            Options={
                "awslogs-group": Ref(LOG_GROUP),
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": log_prefix,
            },
        ),
    )


def function(
    logical_id: str, *, handler: str, role: str, description: str, variables: dict[str, Any], invoker: str
) -> Function:
    """The inline function (handler `index.<handler>`) that starts one-off client tasks and waits for them."""
    created = Function(
        logical_id,
        Description=description,
        Runtime="python3.13",
        Handler=f"index.{handler}",
        Code=Code(ZipFile=handler_code()),
        Role=GetAtt(role, "Arn"),
        Timeout=FUNCTION_TIMEOUT_S,
        MemorySize=128,
        LoggingConfig=LoggingConfig(LogGroup=Ref(LOG_GROUP)),
        Environment=Environment(
            Variables={
                "CLUSTER": Ref(contracts.CLUSTER_NAME),
                "SUBNETS": Join(",", Ref(contracts.PRIVATE_SUBNET_IDS)),
                "SECURITY_GROUP": GetAtt(SECURITY_GROUP, "GroupId"),
                "CONTAINER": CONTAINER,
                "LOG_GROUP": Ref(LOG_GROUP),
                **variables,
            }
        ),
    )
    for check, reason in (
        (
            "CKV_AWS_115",
            f"runs only when {invoker} calls it; reserving concurrency would take it from the account's pool",
        ),
        (
            "CKV_AWS_116",
            f"{invoker} invokes it and waits for its answer; a failure is reported to it, "
            "so there is nothing for a dead-letter queue to keep",
        ),
        (
            "CKV_AWS_117",
            "calls AWS APIs only and never the database (its task does); outside the VPC it needs "
            "no endpoint or NAT route of its own",
        ),
        (
            "CKV_AWS_173",
            "the variables hold names and ids only (cluster, task definition, subnets, security group), no secret",
        ),
        (
            "CKV_AWS_272",
            "inline code written into the template by cfngen, reviewed with the template; code "
            "signing applies to uploaded packages",
        ),
    ):
        skip_check(created, check, reason)
    return created


def task_definition(
    logical_id: str, blueprint: Blueprint, *, family: str, script: str, role: str, secrets: dict[str, object]
) -> TaskDefinition:
    """A one-off Fargate task of the MySQL client running `script` against the writer, with `secrets`."""
    return tagged(
        TaskDefinition(
            logical_id,
            Family=family,
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            Cpu=TASK_CPU,
            Memory=TASK_MEMORY_MIB,
            ExecutionRoleArn=GetAtt(role, "Arn"),
            ContainerDefinitions=[
                container(
                    script,
                    log_prefix=LOG_PREFIX,
                    environment={
                        "DB_HOST": Ref(contracts.DATABASE_ENDPOINT),
                        "DB_PORT": Ref(contracts.DATABASE_PORT),
                    },
                    secrets=secrets,
                )
            ],
        ),
        blueprint,
    )


def run_task_statements(task_definitions: object, execution_role: str) -> list[Statement]:
    """What a function needs to start `task_definitions` on the cluster (passing `execution_role`) and watch them."""
    return [
        iam.allow(
            [ecs.RunTask],
            [task_definitions],
            condition=Condition(StringEquals({"ecs:cluster": Ref(contracts.CLUSTER_ARN)})),
        ),
        iam.allow([ecs.DescribeTasks], [iam.arn("ecs", f"task/${{{contracts.CLUSTER_NAME}}}/*")]),
        iam.allow(
            [iam_actions.PassRole],
            [GetAtt(execution_role, "Arn")],
            condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"})),
        ),
    ]


def handler_code() -> str:
    """The functions' inline source (_database_user_handler.py): the standard library and boto3 only."""
    return HANDLER_SOURCE.read_text(encoding="utf-8")

"""The database-users stack: what creates each service's own database user, and nothing else reads the master secret.

Each service with ``database: true`` connects as its own user with IAM database authentication: no password
exists, the task role signs a 15-minute token (``rds-db:connect`` on that one user), so nothing has to survive a
rotation, and the master password RDS rotates is used by this stack's one-off task alone.
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.html

Creating the user takes SQL, and a Lambda function with inline code has only the standard library and boto3,
no MySQL driver. So the function behind ``Custom::DatabaseUser`` (one resource per service, in the service's
own stack, see :func:`database_user`) starts a one-off Fargate task of the MySQL client image with the
statements (builders/_database_sql.py) in its environment, waits for the task to stop, and reports its exit
code to CloudFormation. Only that task's definition holds the master secret; the function may start that one
task definition and pass its one execution role; the task's security group reaches the database and HTTPS
(image pull, the secret, its log) only.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from awacs import ecs, logs, secretsmanager
from awacs import iam as iam_actions
from awacs.aws import Condition, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, Template
from troposphere.awslambda import Code, Environment, Function, LoggingConfig
from troposphere.cloudformation import CustomResource
from troposphere.ec2 import SecurityGroup, SecurityGroupIngress, SecurityGroupRule
from troposphere.ecs import ContainerDefinition, LogConfiguration, Secret, TaskDefinition
from troposphere.ecs import Environment as ContainerEnvironment
from troposphere.logs import LogGroup

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import _database_sql, contracts, iam
from cfngen.builders.base import add_output, add_parameter, new_template, owned_name, role_path, tagged
from cfngen.synth._stack import NestedStack
from cfngen.synth.suppress import skip_check

STACK = "database-users"
# The official MySQL image on ECR Public (no Docker Hub rate limit); its 8.4 LTS client speaks to Aurora MySQL 3.
MYSQL_CLIENT_IMAGE = "public.ecr.aws/docker/library/mysql:8.4"
CONTAINER = "mysql-client"
# The statements arrive on stdin; --verbose echoes each one into the task's log, and a failed one ends the
# client with a non-zero exit code, which the function reports. MYSQL_PWD keeps the password off the command line.
CLIENT_SCRIPT = (
    'printf "%s\\n" "$SQL" | mysql --host="$DB_HOST" --port="$DB_PORT" --user="$DB_USER" '
    "--ssl-mode=REQUIRED --batch --verbose"
)
# Keys of the RDS-managed master secret (ManageMasterUserPassword) -> the task's variables.
MASTER_SECRET_KEYS = {"DB_USER": "username", "MYSQL_PWD": "password"}
HANDLER_SOURCE = Path(__file__).with_name("_database_user_handler.py")
# CloudFormation's limit on inline (ZipFile) function code.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html
MAX_INLINE_CODE_CHARS = 4096
FUNCTION_TIMEOUT_S = 900
# CloudFormation waits this long for the function's answer (instead of the default hour) before failing.
CUSTOM_RESOURCE_TIMEOUT_S = FUNCTION_TIMEOUT_S + 60
HTTPS_PORT = 443
TASK_CPU = "256"
TASK_MEMORY_MIB = "512"
CUSTOM_TYPE = "Custom::DatabaseUser"


class DatabaseUser(CustomResource):  # type: ignore[misc]  # troposphere is untyped
    """One service's database user, created, converged and dropped by the database-users function."""

    resource_type = CUSTOM_TYPE
    props = {
        **CustomResource.props,
        "User": (str, True),
        "Statements": ([str], True),
        "DropStatements": ([str], True),
    }


def needed(blueprint: Blueprint) -> bool:
    """Whether any service uses the database (and so needs a user created)."""
    return blueprint.database is not None and any(service.database for service in blueprint.services)


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The database-users stack, when a service uses the database."""
    if needed(blueprint):
        yield NestedStack(STACK, build(blueprint))


def build(blueprint: Blueprint) -> Template:
    """Log group, the MySQL client task (definition, roles, security group) and the function that runs it."""
    template = new_template(blueprint, "the function and one-off task that create each service's database user")
    add_parameter(template, contracts.VPC_ID, "AWS::EC2::VPC::Id", "VPC of the one-off task")
    add_parameter(template, contracts.PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Subnets of the task")
    add_parameter(template, contracts.LOGS_KMS_KEY_ARN, "String", "KMS key that encrypts the log group")
    add_parameter(template, contracts.CLUSTER_NAME, "String", "ECS cluster the task runs in (on Fargate)")
    add_parameter(template, contracts.CLUSTER_ARN, "String", "ARN of that cluster")
    add_parameter(template, contracts.DATABASE_ENDPOINT, "String", "Writer endpoint of the database")
    add_parameter(template, contracts.DATABASE_PORT, "Number", "Port of the database")
    add_parameter(template, contracts.DATABASE_SECRET_ARN, "String", "The master user's secret, read by the task only")
    add_parameter(
        template, contracts.DATABASE_SECURITY_GROUP_ID, "AWS::EC2::SecurityGroup::Id", "Security group of the database"
    )
    _add_log_group(template, blueprint)
    _add_task(template, blueprint)
    _add_function(template, blueprint)
    add_output(
        template,
        contracts.DATABASE_USER_FUNCTION_ARN,
        GetAtt("DatabaseUsersFunction", "Arn"),
        f"Service token of {CUSTOM_TYPE}",
    )
    return template


def _add_log_group(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        LogGroup(
            "DatabaseUsersLogGroup",
            RetentionInDays=blueprint.logs.retention_days,
            KmsKeyId=Ref(contracts.LOGS_KMS_KEY_ARN),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )


def _add_task(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        iam.service_role(
            "DatabaseUsersExecutionRole",
            "ecs-tasks.amazonaws.com",
            {
                "start-the-client": [
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt("DatabaseUsersLogGroup", "Arn")]),
                    iam.allow([secretsmanager.GetSecretValue], [Ref(contracts.DATABASE_SECRET_ARN)]),
                ]
            },
            path=role_path(blueprint),
            description=f"ECS starting the {blueprint.name} database-users task: the master secret, its log group",
        )
    )
    template.add_resource(
        SecurityGroup(
            "DatabaseUsersSecurityGroup",
            GroupDescription=f"{blueprint.name} database-users task: MySQL to the database, HTTPS out, nothing in",
            VpcId=Ref(contracts.VPC_ID),
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=Ref(contracts.DATABASE_PORT),
                    ToPort=Ref(contracts.DATABASE_PORT),
                    DestinationSecurityGroupId=Ref(contracts.DATABASE_SECURITY_GROUP_ID),
                    Description="MySQL to the database",
                ),
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=HTTPS_PORT,
                    ToPort=HTTPS_PORT,
                    CidrIp="0.0.0.0/0",
                    Description="HTTPS: the image from ECR Public, the secret, the log (NAT or VPC endpoints)",
                ),
            ],
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            "DatabaseUsersDatabaseIngress",
            GroupId=Ref(contracts.DATABASE_SECURITY_GROUP_ID),
            IpProtocol="tcp",
            FromPort=Ref(contracts.DATABASE_PORT),
            ToPort=Ref(contracts.DATABASE_PORT),
            SourceSecurityGroupId=GetAtt("DatabaseUsersSecurityGroup", "GroupId"),
            Description="MySQL from the database-users task",
        )
    )
    template.add_resource(
        tagged(
            TaskDefinition(
                "DatabaseUsersTaskDefinition",
                Family=owned_name(blueprint, STACK),
                NetworkMode="awsvpc",
                RequiresCompatibilities=["FARGATE"],
                Cpu=TASK_CPU,
                Memory=TASK_MEMORY_MIB,
                ExecutionRoleArn=GetAtt("DatabaseUsersExecutionRole", "Arn"),
                ContainerDefinitions=[
                    ContainerDefinition(
                        Name=CONTAINER,
                        Image=MYSQL_CLIENT_IMAGE,
                        Essential=True,
                        EntryPoint=["sh", "-c"],
                        Command=[CLIENT_SCRIPT],
                        User="mysql",
                        ReadonlyRootFilesystem=True,
                        Environment=[
                            ContainerEnvironment(Name="DB_HOST", Value=Ref(contracts.DATABASE_ENDPOINT)),
                            ContainerEnvironment(Name="DB_PORT", Value=Ref(contracts.DATABASE_PORT)),
                        ],
                        Secrets=[
                            Secret(
                                Name=name,
                                ValueFrom=Sub(f"${{{contracts.DATABASE_SECRET_ARN}}}:{key}::"),
                            )
                            for name, key in sorted(MASTER_SECRET_KEYS.items())
                        ],
                        LogConfiguration=LogConfiguration(
                            LogDriver="awslogs",
                            Options={
                                "awslogs-group": Ref("DatabaseUsersLogGroup"),
                                "awslogs-region": Ref("AWS::Region"),
                                "awslogs-stream-prefix": STACK,
                            },
                        ),
                    )
                ],
            ),
            blueprint,
        )
    )


def _add_function(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        iam.service_role(
            "DatabaseUsersFunctionRole",
            "lambda.amazonaws.com",
            {
                "run-the-client-task": [
                    iam.allow(
                        [ecs.RunTask],
                        [Ref("DatabaseUsersTaskDefinition")],
                        condition=Condition(StringEquals({"ecs:cluster": Ref(contracts.CLUSTER_ARN)})),
                    ),
                    iam.allow([ecs.DescribeTasks], [iam.arn("ecs", f"task/${{{contracts.CLUSTER_NAME}}}/*")]),
                    iam.allow(
                        [iam_actions.PassRole],
                        [GetAtt("DatabaseUsersExecutionRole", "Arn")],
                        condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"})),
                    ),
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt("DatabaseUsersLogGroup", "Arn")]),
                ]
            },
            path=role_path(blueprint),
            description=f"The {blueprint.name} database-users function: start the MySQL client task, watch it",
        )
    )
    function = Function(
        "DatabaseUsersFunction",
        Description=f"{CUSTOM_TYPE} of {blueprint.name}: runs a service's user SQL in a one-off MySQL client task",
        Runtime="python3.13",
        Handler="index.handler",
        Code=Code(ZipFile=handler_code()),
        Role=GetAtt("DatabaseUsersFunctionRole", "Arn"),
        Timeout=FUNCTION_TIMEOUT_S,
        MemorySize=128,
        LoggingConfig=LoggingConfig(LogGroup=Ref("DatabaseUsersLogGroup")),
        Environment=Environment(
            Variables={
                "CLUSTER": Ref(contracts.CLUSTER_NAME),
                "TASK_DEFINITION": Ref("DatabaseUsersTaskDefinition"),
                "SUBNETS": Join(",", Ref(contracts.PRIVATE_SUBNET_IDS)),
                "SECURITY_GROUP": GetAtt("DatabaseUsersSecurityGroup", "GroupId"),
                "CONTAINER": CONTAINER,
                "LOG_GROUP": Ref("DatabaseUsersLogGroup"),
            }
        ),
    )
    for check, reason in (
        (
            "CKV_AWS_115",
            "runs only when CloudFormation changes a database user; reserving concurrency would "
            "take it from the account's pool",
        ),
        (
            "CKV_AWS_116",
            "CloudFormation invokes it and waits for its answer; a failure fails the stack operation, "
            "so there is nothing for a dead-letter queue to keep",
        ),
        (
            "CKV_AWS_117",
            "calls the ECS API only and never the database (its task does); outside the VPC it needs "
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
        skip_check(function, check, reason)
    template.add_resource(function)


def handler_code() -> str:
    """The function's inline source (_database_user_handler.py): the standard library and boto3 only."""
    return HANDLER_SOURCE.read_text(encoding="utf-8")


def database_user_id(service: Service) -> str:
    """Logical id of the service's Custom::DatabaseUser, in its service stack."""
    return f"{service.logical_name}DatabaseUser"


def database_user(service: Service) -> DatabaseUser:
    """The service's own database user and grants, for its service stack (removing the service drops the user)."""
    return DatabaseUser(
        database_user_id(service),
        ServiceToken=Ref(contracts.DATABASE_USER_FUNCTION_ARN),
        ServiceTimeout=CUSTOM_RESOURCE_TIMEOUT_S,
        User=service.database_user,
        Statements=_database_sql.user_statements(service.database_user, service.database_grants),
        DropStatements=_database_sql.drop_statements(service.database_user),
    )


def connect_arn(service: Service) -> Sub:
    """The rds-db:connect resource of the service's user: dbuser:<cluster resource id>/<user>.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html"""
    return iam.arn("rds-db", f"dbuser:${{{contracts.DATABASE_CLUSTER_RESOURCE_ID}}}/{service.database_user}")

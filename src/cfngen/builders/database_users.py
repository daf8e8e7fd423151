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

from awacs import logs, secretsmanager
from awacs.aws import Statement
from troposphere import GetAtt, Ref, Sub, Template
from troposphere.cloudformation import CustomResource
from troposphere.ec2 import SecurityGroup, SecurityGroupIngress, SecurityGroupRule
from troposphere.logs import LogGroup

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import _database_sql, _mysql_client, contracts, database_proxy, iam
from cfngen.builders.base import add_output, add_parameter, new_template, owned_name, role_path
from cfngen.synth._stack import NestedStack

STACK = "database-users"
# The statements arrive in $SQL. With access: proxy they carry the password marker, which is replaced by the
# service's password, read from the task variable the request names (ECS put the secret there). A failed statement
# ends the client with a non-zero exit code (and its line number), which the function reports. The statements are
# not echoed: with access: proxy they hold a password.
CLIENT_SCRIPT = "\n".join(
    (
        _mysql_client.CLIENT,
        'PASSWORD=""',
        'if [ -n "$PASSWORD_VARIABLE" ]; then',
        '  PASSWORD="$(printenv "$PASSWORD_VARIABLE")"',
        "  " + _mysql_client.refuse_unless_alphanumeric("$PASSWORD_VARIABLE", "$PASSWORD"),
        "fi",
        f'printf "%s\\n" "$SQL" | sed "s/{_database_sql.PASSWORD_MARKER}/$PASSWORD/g" | client',
    )
)
# Keys of the RDS-managed master secret (ManageMasterUserPassword) -> the task's variables.
MASTER_SECRET_KEYS = {"DB_USER": "username", "MYSQL_PWD": "password"}
# CloudFormation waits this long for the function's answer (instead of the default hour) before failing.
CUSTOM_RESOURCE_TIMEOUT_S = _mysql_client.FUNCTION_TIMEOUT_S + 60
CUSTOM_TYPE = "Custom::DatabaseUser"


class DatabaseUser(CustomResource):  # type: ignore[misc]  # troposphere is untyped
    """One service's database user, created, converged and dropped by the database-users function."""

    resource_type = CUSTOM_TYPE
    props = {
        **CustomResource.props,
        "User": (str, True),
        "Statements": ([str], True),
        "DropStatements": ([str], True),
        # access: proxy: the task variable that holds the user's password, and the secret it comes from.
        "PasswordVariable": (str, False),
        "SecretArn": (Ref, False),
    }


def needed(blueprint: Blueprint) -> bool:
    """Whether any service uses the database (and so needs a user created)."""
    return blueprint.database is not None and any(service.database for service in blueprint.services)


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The database-users stack, when a service uses the database."""
    if needed(blueprint):
        yield NestedStack(STACK, build(blueprint))


def build(blueprint: Blueprint) -> Template:
    """Log group, the MySQL client task (definition, roles, security group) and the function that runs it; with
    database.access: proxy also each service's secret and user, their rotation and the proxy (database_proxy)."""
    proxy = database_proxy.uses_proxy(blueprint)
    template = new_template(
        blueprint,
        "the function and one-off task that create each service's database user"
        + ("; the services' secrets, their rotation and the RDS Proxy" if proxy else ""),
    )
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
    if proxy:
        add_parameter(template, contracts.DATABASE_CLUSTER_ID, "String", "Aurora cluster the proxy connects to")
        users = database_proxy.database_services(blueprint)
        database_proxy.add_secrets(template, blueprint)
        for service in users:
            template.add_resource(database_user(service, GetAtt("DatabaseUsersFunction", "Arn"), proxy=True))
        database_proxy.add_rotation(template, blueprint, {service.name: database_user_id(service) for service in users})
        database_proxy.add_proxy(template, blueprint)
    return template


def _add_log_group(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        LogGroup(
            _mysql_client.LOG_GROUP,
            RetentionInDays=blueprint.logs.retention_days,
            KmsKeyId=Ref(contracts.LOGS_KMS_KEY_ARN),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )


def _add_task(template: Template, blueprint: Blueprint) -> None:
    reads: list[Statement] = [iam.allow([secretsmanager.GetSecretValue], [Ref(contracts.DATABASE_SECRET_ARN)])]
    passwords = {}
    if database_proxy.uses_proxy(blueprint):
        # The users' first passwords: ECS puts each service's password into its own variable.
        reads.append(iam.allow([secretsmanager.GetSecretValue], [database_proxy.SECRETS_OF_THIS_STACK]))
        passwords = {
            database_proxy.password_variable(service): database_proxy.secret_key(service, "password")
            for service in database_proxy.database_services(blueprint)
        }
    template.add_resource(
        iam.service_role(
            "DatabaseUsersExecutionRole",
            "ecs-tasks.amazonaws.com",
            {
                "start-the-client": [
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(_mysql_client.LOG_GROUP, "Arn")]),
                    *reads,
                ]
            },
            path=role_path(blueprint),
            description=f"ECS starting the {blueprint.name} database-users task: the master secret, its log group"
            + (", the services' first passwords" if passwords else ""),
        )
    )
    template.add_resource(
        SecurityGroup(
            _mysql_client.SECURITY_GROUP,
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
                    FromPort=_mysql_client.HTTPS_PORT,
                    ToPort=_mysql_client.HTTPS_PORT,
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
            SourceSecurityGroupId=GetAtt(_mysql_client.SECURITY_GROUP, "GroupId"),
            Description="MySQL from the database-users task",
        )
    )
    template.add_resource(
        _mysql_client.task_definition(
            "DatabaseUsersTaskDefinition",
            blueprint,
            family=owned_name(blueprint, STACK),
            script=CLIENT_SCRIPT,
            role="DatabaseUsersExecutionRole",
            secrets={
                **{
                    name: Sub(f"${{{contracts.DATABASE_SECRET_ARN}}}:{key}::")
                    for name, key in MASTER_SECRET_KEYS.items()
                },
                **passwords,
            },
        )
    )


def _add_function(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        iam.service_role(
            "DatabaseUsersFunctionRole",
            "lambda.amazonaws.com",
            {
                "run-the-client-task": [
                    *_mysql_client.run_task_statements(
                        Ref("DatabaseUsersTaskDefinition"), "DatabaseUsersExecutionRole"
                    ),
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(_mysql_client.LOG_GROUP, "Arn")]),
                ]
            },
            path=role_path(blueprint),
            description=f"The {blueprint.name} database-users function: start the MySQL client task, watch it",
        )
    )
    template.add_resource(
        _mysql_client.function(
            "DatabaseUsersFunction",
            handler="handler",
            role="DatabaseUsersFunctionRole",
            description=f"{CUSTOM_TYPE} of {blueprint.name}: runs a service's user SQL in a one-off MySQL client task",
            variables={"TASK_DEFINITION": Ref("DatabaseUsersTaskDefinition")},
            invoker="CloudFormation",
        )
    )


def database_user_id(service: Service) -> str:
    """Logical id of the service's Custom::DatabaseUser (in its service stack; with access: proxy, in this one)."""
    return f"{service.logical_name}DatabaseUser"


def database_user(service: Service, service_token: object, *, proxy: bool = False) -> DatabaseUser:
    """The service's own database user and grants (removing the service drops the user). IAM authentication, or
    with `proxy` the password of the service's secret, which the proxy signs in with."""
    authentication = _database_sql.PASSWORD_AUTHENTICATION if proxy else _database_sql.IAM_AUTHENTICATION
    password = (
        {
            "PasswordVariable": database_proxy.password_variable(service),
            "SecretArn": Ref(database_proxy.secret_id(service)),
        }
        if proxy
        else {}
    )
    return DatabaseUser(
        database_user_id(service),
        ServiceToken=service_token,
        ServiceTimeout=CUSTOM_RESOURCE_TIMEOUT_S,
        User=service.database_user,
        Statements=_database_sql.user_statements(
            service.database_user, service.database_grants, authentication=authentication
        ),
        DropStatements=_database_sql.drop_statements(service.database_user),
        **password,
    )


def connect_arn(service: Service, blueprint: Blueprint) -> Sub:
    """The rds-db:connect resource of the service's user: dbuser:<cluster or proxy resource id>/<user>.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.IAMDBAuth.IAMPolicy.html
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-iam-setup.html"""
    resource_id = (
        contracts.DATABASE_PROXY_RESOURCE_ID
        if database_proxy.uses_proxy(blueprint)
        else contracts.DATABASE_CLUSTER_RESOURCE_ID
    )
    return iam.arn("rds-db", f"dbuser:${{{resource_id}}}/{service.database_user}")

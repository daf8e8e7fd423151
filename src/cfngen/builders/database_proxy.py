"""database.access: proxy: an RDS Proxy in front of the cluster, a secret per service, rotated by Secrets Manager.

Part of the database-users stack (builders/database_users.py adds it there): the secrets, the users created with
their passwords, the rotation and the proxy that reads the secrets live and go together, ahead of the services.

- Each service's task still signs in with an IAM token, now to the proxy (``IAMAuth: REQUIRED``, TLS required):
  no password reaches a task, so a rotation never breaks a running one.
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-connecting.html#rds-proxy-connecting-iam
- The proxy signs in to the cluster as the service's own user, with the password of the service's own secret. Its
  role may read those secrets only.
  https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-secrets-arns.html
- Secrets Manager rotates each secret every ``database.secret_rotation_days``, single-user strategy, through the
  rotation function (the database-users function's code, entry point ``rotate``): its setSecret step runs the
  service's rotation task, a one-off MySQL client that signs in with the current password, sets the pending one
  (``SET PASSWORD``, which a user may run on its own account) and signs in with it.
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-one-user-one-password.html
  https://dev.mysql.com/doc/refman/8.0/en/set-password.html
  The hosted rotation functions of the ``AWS::SecretsManager`` transform are not used: CloudFormation runs a template
  with macros and nested stacks only through CreateStack/UpdateStack, never through the change sets cfngen deploys
  with (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html, Capabilities).
- The secrets are named ``<this stack's name>/<user>`` so that each policy names them by one pattern whatever the
  number of services; CloudFormation deletes a secret without a recovery window, so a service removed and added
  back gets its name again (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from awacs import logs, secretsmanager
from troposphere import GetAtt, Ref, Select, Split, Sub, Template
from troposphere.awslambda import Permission
from troposphere.ec2 import SecurityGroup, SecurityGroupIngress, SecurityGroupRule
from troposphere.rds import AuthFormat, ConnectionPoolConfigurationInfoFormat, DBProxy, DBProxyTargetGroup
from troposphere.secretsmanager import GenerateSecretString, RotationRules, RotationSchedule, Secret

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import _mysql_client, contracts, iam
from cfngen.builders.base import add_output, owned_name, role_path
from cfngen.synth.suppress import skip_check

# Every secret of this stack, by name (see the module docstring).
SECRETS_OF_THIS_STACK = iam.arn("secretsmanager", "secret:${AWS::StackName}/*")
PROXY = "DatabaseProxy"
PROXY_SECURITY_GROUP = "DatabaseProxySecurityGroup"
ROTATION_FUNCTION = "DatabaseSecretRotationFunction"
ROTATION_EXECUTION_ROLE = "DatabaseRotationExecutionRole"
# The password the secrets and the rotation generate: letters and digits (the client tasks quote it in SQL).
PASSWORD_LENGTH = 32
# The proxy keeps a share of the writer's max_connections for its pool, leaving room for the provisioning tasks.
MAX_CONNECTIONS_PERCENT = 90
# The rotation task: sign in with the current password, set the pending one unless a retried step already did,
# sign in with it (the test the testSecret step would make).
ROTATION_SCRIPT = "\n".join(
    (
        _mysql_client.CLIENT,
        _mysql_client.refuse_unless_alphanumeric("the pending password", "$NEW_PASSWORD"),
        'MYSQL_PWD="$NEW_PASSWORD" client -e "SELECT 1" >/dev/null 2>&1 || '
        "client -e \"SET PASSWORD = '$NEW_PASSWORD'\"",
        'MYSQL_PWD="$NEW_PASSWORD" client -e "SELECT CURRENT_USER()"',
    )
)


def uses_proxy(blueprint: Blueprint) -> bool:
    """Whether the services reach the database through the proxy (database.access: proxy)."""
    return blueprint.database is not None and blueprint.database.access == "proxy"


def database_services(blueprint: Blueprint) -> list[Service]:
    """The services with database: true, in blueprint order."""
    return [service for service in blueprint.services if service.database]


def secret_id(service: Service) -> str:
    """Logical id of the service's database secret."""
    return f"{service.logical_name}DatabaseSecret"


def rotation_schedule_id(service: Service) -> str:
    """Logical id of the rotation schedule of the service's secret."""
    return f"{service.logical_name}DatabaseSecretRotation"


def password_variable(service: Service) -> str:
    """The database-users task's variable that holds the service's password (ECS reads it from the secret)."""
    return f"PASSWORD_{service.database_user.upper()}"


def secret_key(service: Service, key: str, stage: str = "") -> Sub:
    """ECS's reference to one key of the service's secret, at a version stage (default AWSCURRENT).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    return Sub(f"${{{secret_id(service)}}}:{key}:{stage}:")


def rotation_family_prefix(blueprint: Blueprint) -> str:
    """Task definition family of a service's rotation task, without the user name."""
    return owned_name(blueprint, "rotate") + "-"


def add_secrets(template: Template, blueprint: Blueprint) -> None:
    """One secret per service that uses the database: its user name and a generated password."""
    for service in database_services(blueprint):
        secret = Secret(
            secret_id(service),
            Name=Sub(f"${{AWS::StackName}}/{service.database_user}"),
            Description=f"{blueprint.name}: the database user {service.database_user} of {service.name}, which "
            "the RDS Proxy signs in as; rotated",
            GenerateSecretString=GenerateSecretString(
                SecretStringTemplate=json.dumps({"engine": "mysql", "username": service.database_user}, sort_keys=True),
                GenerateStringKey="password",
                PasswordLength=PASSWORD_LENGTH,
                ExcludePunctuation=True,
            ),
            # Goes with its service: the user it signs in as is dropped then too. A replaced secret gets its
            # password set on the user again (the user's SecretArn changes, so its statements run again).
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
        skip_check(
            secret,
            "CKV_AWS_149",
            "the AWS managed key of Secrets Manager: the proxy, the rotation and the provisioning read the secret "
            "through Secrets Manager only, and a customer key would be one more policy to keep in step with them",
        )
        template.add_resource(secret)


def add_rotation(template: Template, blueprint: Blueprint, users: Mapping[str, str]) -> None:
    """The rotation function, its task per service and a schedule per secret, each after the user it rotates
    (`users`: service name -> logical id of its Custom::DatabaseUser)."""
    assert blueprint.database is not None
    services = database_services(blueprint)
    template.add_resource(
        iam.service_role(
            ROTATION_EXECUTION_ROLE,
            "ecs-tasks.amazonaws.com",
            {
                "start-the-rotation": [
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(_mysql_client.LOG_GROUP, "Arn")]),
                    iam.allow([secretsmanager.GetSecretValue], [SECRETS_OF_THIS_STACK]),
                ]
            },
            path=role_path(blueprint),
            description=f"ECS starting the {blueprint.name} rotation tasks: the services' secrets, the log group",
        )
    )
    for service in services:
        template.add_resource(
            _mysql_client.task_definition(
                f"{service.logical_name}DatabaseRotationTaskDefinition",
                blueprint,
                family=rotation_family_prefix(blueprint) + service.database_user,
                script=ROTATION_SCRIPT,
                role=ROTATION_EXECUTION_ROLE,
                secrets={
                    "DB_USER": secret_key(service, "username"),
                    "MYSQL_PWD": secret_key(service, "password", "AWSCURRENT"),
                    "NEW_PASSWORD": secret_key(service, "password", "AWSPENDING"),
                },
            )
        )
    family_pattern = iam.arn("ecs", f"task-definition/{rotation_family_prefix(blueprint)}*")
    template.add_resource(
        iam.service_role(
            f"{ROTATION_FUNCTION}Role",
            "lambda.amazonaws.com",
            {
                "rotate-the-secrets": [
                    iam.allow(
                        [
                            secretsmanager.DescribeSecret,
                            secretsmanager.GetSecretValue,
                            secretsmanager.PutSecretValue,
                            secretsmanager.UpdateSecretVersionStage,
                        ],
                        [SECRETS_OF_THIS_STACK],
                    ),
                    iam.allow([secretsmanager.GetRandomPassword], ["*"]),
                    *_mysql_client.run_task_statements(family_pattern, ROTATION_EXECUTION_ROLE),
                    iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(_mysql_client.LOG_GROUP, "Arn")]),
                ]
            },
            path=role_path(blueprint),
            description=f"Rotation of the {blueprint.name} database secrets: their versions, the rotation tasks",
        )
    )
    template.add_resource(
        _mysql_client.function(
            ROTATION_FUNCTION,
            handler="rotate",
            role=f"{ROTATION_FUNCTION}Role",
            description=f"{blueprint.name}: rotates a service's database password through its one-off rotation task",
            variables={"ROTATION_FAMILY_PREFIX": rotation_family_prefix(blueprint)},
            invoker="Secrets Manager",
        )
    )
    template.add_resource(
        Permission(
            f"{ROTATION_FUNCTION}Permission",
            FunctionName=GetAtt(ROTATION_FUNCTION, "Arn"),
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
            SourceAccount=Ref("AWS::AccountId"),
        )
    )
    for service in services:
        template.add_resource(
            RotationSchedule(
                rotation_schedule_id(service),
                # Rotated first right away: the user exists with the secret's password, and the first deploy proves
                # that the rotation works.
                DependsOn=[users[service.name], f"{ROTATION_FUNCTION}Permission"],
                SecretId=Ref(secret_id(service)),
                RotationLambdaARN=GetAtt(ROTATION_FUNCTION, "Arn"),
                RotationRules=RotationRules(AutomaticallyAfterDays=blueprint.database.secret_rotation_days),
            )
        )


def add_proxy(template: Template, blueprint: Blueprint) -> None:
    """The proxy (its role, security group, target group) and the outputs the service stacks take."""
    services = database_services(blueprint)
    template.add_resource(
        iam.service_role(
            f"{PROXY}Role",
            "rds.amazonaws.com",
            {"read-the-service-secrets": [iam.allow([secretsmanager.GetSecretValue], [SECRETS_OF_THIS_STACK])]},
            path=role_path(blueprint),
            description=f"The {blueprint.name} RDS Proxy: the services' database secrets, nothing else",
        )
    )
    template.add_resource(
        SecurityGroup(
            PROXY_SECURITY_GROUP,
            GroupDescription=f"{blueprint.name} RDS Proxy: MySQL from the services (their rules), to the database",
            VpcId=Ref(contracts.VPC_ID),
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=Ref(contracts.DATABASE_PORT),
                    ToPort=Ref(contracts.DATABASE_PORT),
                    DestinationSecurityGroupId=Ref(contracts.DATABASE_SECURITY_GROUP_ID),
                    Description="MySQL to the database",
                )
            ],
        )
    )
    template.add_resource(
        SecurityGroupIngress(
            f"{PROXY}DatabaseIngress",
            GroupId=Ref(contracts.DATABASE_SECURITY_GROUP_ID),
            IpProtocol="tcp",
            FromPort=Ref(contracts.DATABASE_PORT),
            ToPort=Ref(contracts.DATABASE_PORT),
            SourceSecurityGroupId=GetAtt(PROXY_SECURITY_GROUP, "GroupId"),
            Description="MySQL from the RDS Proxy",
        )
    )
    template.add_resource(
        DBProxy(
            PROXY,
            # Proxy names allow no "--" (owned_name's separator): letters, digits and single hyphens.
            DBProxyName=f"{blueprint.name}-db-proxy",
            EngineFamily="MYSQL",
            Auth=[
                AuthFormat(
                    AuthScheme="SECRETS",
                    SecretArn=Ref(secret_id(service)),
                    IAMAuth="REQUIRED",
                    Description=f"{service.name}: signs in with IAM as {service.database_user}",
                )
                for service in services
            ],
            RequireTLS=True,
            RoleArn=GetAtt(f"{PROXY}Role", "Arn"),
            VpcSubnetIds=Ref(contracts.PRIVATE_SUBNET_IDS),
            VpcSecurityGroupIds=[GetAtt(PROXY_SECURITY_GROUP, "GroupId")],
        )
    )
    template.add_resource(
        DBProxyTargetGroup(
            f"{PROXY}TargetGroup",
            DBProxyName=Ref(PROXY),
            TargetGroupName="default",
            DBClusterIdentifiers=[Ref(contracts.DATABASE_CLUSTER_ID)],
            ConnectionPoolConfigurationInfo=ConnectionPoolConfigurationInfoFormat(
                MaxConnectionsPercent=MAX_CONNECTIONS_PERCENT
            ),
        )
    )
    add_output(template, contracts.DATABASE_PROXY_ENDPOINT, GetAtt(PROXY, "Endpoint"), "Endpoint of the RDS Proxy")
    # The proxy's ARN ends in its resource id (arn:...:db-proxy:prx-...), which rds-db:connect ARNs name.
    add_output(
        template,
        contracts.DATABASE_PROXY_RESOURCE_ID,
        Select(6, Split(":", GetAtt(PROXY, "DBProxyArn"))),
        "Resource id of the proxy (prx-...), in the services' rds-db:connect ARNs",
    )
    add_output(
        template,
        contracts.DATABASE_PROXY_SECURITY_GROUP_ID,
        GetAtt(PROXY_SECURITY_GROUP, "GroupId"),
        "Security group of the proxy; services add their own ingress rules to it",
    )

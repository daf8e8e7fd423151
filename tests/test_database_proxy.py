"""database.access: proxy: the RDS Proxy, the services' secrets and their rotation.

The rotation function is run by the emulator's Secrets Manager itself: RotateSecret invokes it step by step
(createSecret, setSecret, testSecret, finishSecret), as AWS does, and it works on the emulator's secret versions.
Only the one-off rotation task (ECS on Fargate, a MySQL client) is answered by a stand-in: the emulator runs no
containers. The SQL the tasks run is run on a real MariaDB in tests/test_database_users.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from cfngen import Deployer, review, synthesize
from cfngen.blueprint import Blueprint
from cfngen.builders import _database_sql, _database_user_handler, database_proxy, database_users, service
from cfngen.local import LocalAws
from tests.stack_helpers import make_blueprint, statements

PROXY_DATABASE = {"instance_class": "db.r6g.large", "readers": 1, "access": "proxy", "secret_rotation_days": 14}


def _blueprint(services: int = 2, **database: Any) -> Blueprint:
    return make_blueprint(
        database={**PROXY_DATABASE, **database},
        services=[
            {
                "name": f"svc-{n}",
                "port": 3000,
                "listener_port": 1000 + n,
                "test_listener_port": 20000 + n,
                "database": True,
            }
            for n in range(services)
        ]
        + [{"name": "web", "port": 2999}],
    )


@pytest.fixture(scope="module")
def users_stack() -> dict[str, Any]:
    return json.loads(database_users.build(_blueprint()).to_json())["Resources"]  # type: ignore[no-any-return]


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in template.items() if resource["Type"] == kind}


# --- the blueprint ---------------------------------------------------------------------------------------------


def test_iam_is_the_default_and_proxy_is_refused_beyond_what_one_stack_and_one_proxy_hold() -> None:
    """The refusal's file, line and field: tests/test_bad_inputs.py (proxy_over_limit)."""
    assert make_blueprint(database={"instance_class": "db.r6g.large"}).database.access == "iam"  # type: ignore[union-attr]
    assert len(database_proxy.database_services(_blueprint(100))) == 100
    with pytest.raises(ValueError, match="is proxy, which holds at most 100 services .*; 101 have it: use access: iam"):
        _blueprint(101)


def test_the_largest_proxy_blueprint_fits_cloudformation() -> None:
    """100 services with database: true: the database-users stack stays within 500 resources (synthesis checks the
    quotas and refuses a stack over them)."""
    stack = synthesize(_blueprint(100)).child("database-users")
    assert 400 < len(stack.template.resources) <= 500


# --- the stack -------------------------------------------------------------------------------------------------


def test_each_service_has_its_own_secret_user_rotation_task_and_schedule(users_stack: dict[str, Any]) -> None:
    secrets = _of_type(users_stack, "AWS::SecretsManager::Secret")
    assert sorted(secrets) == ["Svc0DatabaseSecret", "Svc1DatabaseSecret"]
    generated = secrets["Svc0DatabaseSecret"]["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"engine": "mysql", "username": "svc_0"}
    assert generated["ExcludePunctuation"] is True and generated["PasswordLength"] == 32
    schedules = _of_type(users_stack, "AWS::SecretsManager::RotationSchedule")
    schedule = schedules["Svc0DatabaseSecretRotation"]
    assert schedule["Properties"]["RotationRules"] == {"AutomaticallyAfterDays": 14}
    assert schedule["Properties"]["SecretId"] == {"Ref": "Svc0DatabaseSecret"}
    # The first rotation runs at once, so only after the user exists with the secret's first password.
    assert "Svc0DatabaseUser" in schedule["DependsOn"]
    user = users_stack["Svc0DatabaseUser"]["Properties"]
    assert user["ServiceToken"] == {"Fn::GetAtt": ["DatabaseUsersFunction", "Arn"]}
    assert user["PasswordVariable"] == "PASSWORD_SVC_0" and user["SecretArn"] == {"Ref": "Svc0DatabaseSecret"}
    assert user["Statements"][0] == (
        "CREATE USER IF NOT EXISTS 'svc_0'@'%' IDENTIFIED BY '@@password@@' REQUIRE SSL;"
    ), "the statements carry the marker, never a password"


def test_the_proxy_requires_iam_and_tls_and_reads_only_the_services_secrets(users_stack: dict[str, Any]) -> None:
    (proxy,) = _of_type(users_stack, "AWS::RDS::DBProxy").values()
    auth = proxy["Properties"]["Auth"]
    assert [entry["SecretArn"] for entry in auth] == [{"Ref": "Svc0DatabaseSecret"}, {"Ref": "Svc1DatabaseSecret"}]
    assert {entry["IAMAuth"] for entry in auth} == {"REQUIRED"} and proxy["Properties"]["RequireTLS"] is True
    (grant,) = statements(users_stack["DatabaseProxyRole"])
    assert grant["Action"] == ["secretsmanager:GetSecretValue"]
    assert grant["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/*"}
    ]
    (target,) = _of_type(users_stack, "AWS::RDS::DBProxyTargetGroup").values()
    assert target["Properties"]["DBClusterIdentifiers"] == [{"Ref": "DatabaseClusterId"}]


def test_only_the_provisioning_task_holds_the_master_secret(users_stack: dict[str, Any]) -> None:
    holders = {
        name
        for name, definition in _of_type(users_stack, "AWS::ECS::TaskDefinition").items()
        if "DatabaseSecretArn" in json.dumps(definition)
    }
    assert holders == {"DatabaseUsersTaskDefinition"}
    rotation = users_stack["Svc1DatabaseRotationTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {secret["Name"]: secret["ValueFrom"] for secret in rotation["Secrets"]} == {
        "DB_USER": {"Fn::Sub": "${Svc1DatabaseSecret}:username::"},
        "MYSQL_PWD": {"Fn::Sub": "${Svc1DatabaseSecret}:password:AWSCURRENT:"},
        "NEW_PASSWORD": {"Fn::Sub": "${Svc1DatabaseSecret}:password:AWSPENDING:"},
    }
    assert rotation["Command"] == [database_proxy.ROTATION_SCRIPT]


def test_the_rotation_function_may_run_only_the_rotation_tasks(users_stack: dict[str, Any]) -> None:
    granted = {
        action: statement
        for statement in statements(users_stack["DatabaseSecretRotationFunctionRole"])
        for action in statement["Action"]
    }
    assert granted["ecs:RunTask"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/unit--rotate-*"}
    ]
    assert granted["iam:PassRole"]["Resource"] == [{"Fn::GetAtt": ["DatabaseRotationExecutionRole", "Arn"]}]
    assert granted["secretsmanager:GetRandomPassword"]["Resource"] == ["*"]
    assert "secretsmanager:DeleteSecret" not in granted and "rds-db:connect" not in granted


def test_a_service_signs_in_to_the_proxy_with_iam_as_its_own_user() -> None:
    blueprint = _blueprint()
    template = json.loads(service.build(blueprint, blueprint.services[0]).to_json())
    assert not _of_type(template["Resources"], database_users.CUSTOM_TYPE), "the user lives with its secret"
    (role,) = [r for name, r in template["Resources"].items() if name == "Svc0TaskRole"]
    (connect,) = statements(role)
    assert connect["Action"] == ["rds-db:connect"]
    assert connect["Resource"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:"
            "${DatabaseProxyResourceId}/svc_0"
        }
    ]
    (ingress,) = _of_type(template["Resources"], "AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["GroupId"] == {"Ref": "DatabaseProxySecurityGroupId"}
    (definition,) = _of_type(template["Resources"], "AWS::ECS::TaskDefinition").values()
    variables = {v["Name"]: v["Value"] for v in definition["Properties"]["ContainerDefinitions"][0]["Environment"]}
    assert variables["DB_HOST"] == {"Ref": "DatabaseProxyEndpoint"} and variables["DB_USERNAME"] == "svc_0"
    assert "Secrets" not in definition["Properties"]["ContainerDefinitions"][0], "no password reaches a task"


def test_the_review_shows_the_proxy_and_the_rotation_schedule() -> None:
    document = review(synthesize(_blueprint())).markdown()
    assert re.search(
        r"\| `svc_0` \| IAM database authentication to the RDS Proxy.*\| .*rotated every 14 days", document
    )
    assert (
        "database-users/Svc0DatabaseSecret` | secret | Delete | Delete | yes (aws/secretsmanager) | none: generated"
        in (document)
    )


def test_the_stacks_deploy_on_the_emulator_and_the_services_get_the_proxy(aws: LocalAws) -> None:
    """The emulator does not model RDS Proxy, rotation schedules or custom resources (each a listed placeholder);
    it checks the wiring: every reference resolves, the proxy's resource id is taken from its ARN, and the service
    stack receives the proxy's outputs."""
    deployer = Deployer(region="us-east-1", poll_s=0.05)
    deployer.bootstrap()
    outcome = deployer.apply(deployer.plan(deployer.package(synthesize(_blueprint(1)))))
    assert (outcome.result, outcome.stack_status) == ("applied", "CREATE_COMPLETE")
    client = boto3.client("cloudformation", region_name="us-east-1")
    (parameters,) = [
        {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        for stack in client.describe_stacks()["Stacks"]
        if any(p["ParameterKey"] == "DatabaseProxyResourceId" for p in stack.get("Parameters", []))
    ]
    assert parameters["DatabaseProxyResourceId"] == "DBProxyArn", "the last part of the proxy's (placeholder) ARN"
    assert parameters["DatabaseProxyEndpoint"] == "not-emulated:DatabaseProxy.Endpoint"


# --- the rotation function, run by the emulator's Secrets Manager ----------------------------------------------


class _RotationTask:
    """ECS's two calls for the one-off rotation task; the task 'signs in' by recording the pending password."""

    def __init__(self, exit_code: int = 0) -> None:
        self.exit_code = exit_code
        self.started: list[str] = []

    def run_task(self, **request: Any) -> dict[str, Any]:
        self.started.append(request["taskDefinition"])
        return {"tasks": [{"taskArn": "arn:aws:ecs:us-west-2:123456789012:task/c/1"}], "failures": []}

    def describe_tasks(self, **request: Any) -> dict[str, Any]:
        return {"tasks": [{"lastStatus": "STOPPED", "containers": [{"exitCode": self.exit_code}]}]}


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture()
def rotation(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, _RotationTask]]:
    """A secret as the stack makes it, whose rotation function is the handler's `rotate`, invoked by the emulator."""
    from moto.awslambda import utils

    client = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url, region_name="us-west-2")
    task = _RotationTask()
    for name, value in {
        "CLUSTER": "c",
        "SUBNETS": "subnet-1",
        "SECURITY_GROUP": "sg-1",
        "CONTAINER": "mysql-client",
        "LOG_GROUP": "users-log",
        "ROTATION_FAMILY_PREFIX": "shop--rotate-",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_database_user_handler, "POLL_S", 0)

    class RotationFunction:
        """Secrets Manager's view of the Lambda service: the rotation function exists, invoking it runs `rotate`."""

        def get_function(self, *args: Any) -> None:
            return None

        def invoke(self, function_name: str, qualifier: Any, body: str, headers: Any, response_headers: Any) -> bytes:
            _database_user_handler.rotate(json.loads(body), _Context(), client, task)
            return b""

    monkeypatch.setattr(utils, "get_backend", lambda account, region: RotationFunction())
    client.create_secret(Name="stack/svc_0", SecretString=json.dumps({"username": "svc_0", "password": "first"}))
    yield client, task


def _rotate(client: Any) -> None:
    client.rotate_secret(
        SecretId="stack/svc_0",
        RotationLambdaARN="arn:aws:lambda:us-west-2:123456789012:function:rotation",
        RotationRules={"AutomaticallyAfterDays": 14},
    )


def test_a_rotation_sets_a_new_alphanumeric_password_through_the_service_task(
    rotation: tuple[Any, _RotationTask],
) -> None:
    client, task = rotation
    _rotate(client)
    current = json.loads(client.get_secret_value(SecretId="stack/svc_0")["SecretString"])
    assert current["username"] == "svc_0" and current["password"] != "first"
    assert re.fullmatch(r"[A-Za-z0-9]{32}", current["password"])
    assert task.started == ["shop--rotate-svc_0"], "setSecret ran the service's own rotation task"
    previous = client.get_secret_value(SecretId="stack/svc_0", VersionStage="AWSPREVIOUS")
    assert json.loads(previous["SecretString"])["password"] == "first"


def test_a_failed_rotation_task_keeps_the_current_password(rotation: tuple[Any, _RotationTask]) -> None:
    client, task = rotation
    task.exit_code = 1
    with pytest.raises(Exception, match="exit code 1"):
        _rotate(client)
    assert json.loads(client.get_secret_value(SecretId="stack/svc_0")["SecretString"])["password"] == "first"


def test_a_secret_naming_a_user_cfngen_never_made_is_refused(rotation: tuple[Any, _RotationTask]) -> None:
    client, task = rotation
    client.put_secret_value(SecretId="stack/svc_0", SecretString=json.dumps({"username": "root'--", "password": "x"}))
    with pytest.raises(Exception, match="names no database user cfngen created"):
        _rotate(client)
    assert task.started == []


def test_the_password_marker_never_occurs_in_a_name() -> None:
    assert not re.search(r"^[a-z][a-z0-9_]*$", _database_sql.PASSWORD_MARKER)

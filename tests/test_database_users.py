"""Per-service database users: the SQL (pure, and run on a real MariaDB when one is installed), the function
that runs it in a one-off task, the database-users stack, and the blueprint's database_access block."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cfngen import review, synthesize
from cfngen.blueprint import Blueprint, DatabaseGrant
from cfngen.builders import _database_sql, _database_user_handler, database_users
from cfngen.builders._mysql_client import handler_code
from tests.stack_helpers import make_blueprint, resources

DATABASE = {"instance_class": "db.r6g.large", "readers": 1}


def _grant(schema: str, *privileges: str) -> DatabaseGrant:
    return DatabaseGrant.model_validate({"schema": schema, "privileges": list(privileges) or ["ALL"]})


# --- the SQL ---------------------------------------------------------------------------------------------------


def test_a_default_user_is_iam_only_over_tls_with_all_on_its_own_schema() -> None:
    assert _database_sql.user_statements("orders", [_grant("orders")]) == [
        "CREATE USER IF NOT EXISTS 'orders'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;",
        "ALTER USER 'orders'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL;",
        "CREATE DATABASE IF NOT EXISTS `orders`;",
        "REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'orders'@'%';",
        "GRANT ALL PRIVILEGES ON `orders`.* TO 'orders'@'%';",
    ]


def test_stated_grants_are_granted_after_everything_is_revoked() -> None:
    statements = _database_sql.user_statements("web", [_grant("web"), _grant("orders", "SELECT", "SHOW VIEW")])
    revoke = statements.index("REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'web'@'%';")
    assert statements[revoke + 1 :] == [
        "GRANT ALL PRIVILEGES ON `web`.* TO 'web'@'%';",
        "GRANT SELECT, SHOW VIEW ON `orders`.* TO 'web'@'%';",
    ]
    assert statements[2:revoke] == ["CREATE DATABASE IF NOT EXISTS `web`;", "CREATE DATABASE IF NOT EXISTS `orders`;"]


def test_names_are_quoted_so_that_none_can_end_a_string_or_an_identifier() -> None:
    assert _database_sql.quote_identifier("a`b") == "`a``b`"
    assert _database_sql.quote_string("o'k\\") == "'o''k\\\\'"
    assert _database_sql.account("x'; DROP USER root; --") == "'x''; DROP USER root; --'@'%'"


def test_removing_a_service_drops_its_user_and_keeps_its_data() -> None:
    assert _database_sql.drop_statements("web") == ["DROP USER IF EXISTS 'web'@'%';"]


# --- the same SQL on a real server -----------------------------------------------------------------------------

MARIADB = shutil.which("mariadbd") or shutil.which("mysqld", path="/usr/sbin:/usr/bin")
# MariaDB has no AWSAuthenticationPlugin: the run checks the rest (syntax, idempotence, converging grants) with
# a password clause in its place.
PASSWORD_AUTHENTICATION = "IDENTIFIED BY 'not-used'"


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A private MariaDB server on a Unix socket in a temporary directory; the client command that reaches it."""
    if MARIADB is None or shutil.which("mariadb-install-db") is None:
        pytest.skip("no MariaDB server installed (Debian: apt-get install mariadb-server)")
    directory = tmp_path_factory.mktemp("mariadb")
    data, socket = directory / "data", directory / "socket"
    subprocess.run(
        ["mariadb-install-db", f"--datadir={data}", "--user=root", "--auth-root-authentication-method=normal"],
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [MARIADB, "--no-defaults", f"--datadir={data}", f"--socket={socket}", "--skip-networking", "--user=root"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = ["mariadb", "--no-defaults", f"--socket={socket}", "--user=root", "--batch", "--skip-column-names"]
    try:
        for _ in range(100):
            if subprocess.run([*client, "-e", "SELECT 1"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        yield client
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run(client: list[str], statements: list[str]) -> str:
    done = subprocess.run(client, input="\n".join(statements), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _grants(client: list[str], user: str) -> list[str]:
    return sorted(_run(client, [f"SHOW GRANTS FOR {_database_sql.account(user)};"]).splitlines())


def test_the_statements_run_twice_and_converge_the_grants_on_mariadb(mariadb: list[str]) -> None:
    def statements(*grants: DatabaseGrant) -> list[str]:
        return _database_sql.user_statements("web", grants, authentication=PASSWORD_AUTHENTICATION)

    _run(mariadb, statements(_grant("web"), _grant("orders", "SELECT")))
    _run(mariadb, statements(_grant("web"), _grant("orders", "SELECT")))  # an update re-runs them: no error
    granted = _grants(mariadb, "web")
    assert "GRANT ALL PRIVILEGES ON `web`.* TO `web`@`%`" in granted
    assert "GRANT SELECT ON `orders`.* TO `web`@`%`" in granted
    _run(mariadb, statements(_grant("web", "SELECT", "INSERT")))  # grants taken away are revoked
    granted = _grants(mariadb, "web")
    assert "GRANT SELECT, INSERT ON `web`.* TO `web`@`%`" in granted
    assert not [line for line in granted if "`orders`" in line or "ALL PRIVILEGES ON `web`" in line]
    assert "REQUIRE SSL" in " ".join(granted)
    _run(mariadb, _database_sql.drop_statements("web"))
    _run(mariadb, _database_sql.drop_statements("web"))  # a repeated delete is no error
    assert "web" not in _run(mariadb, ["SELECT User FROM mysql.user;"]).split()
    assert {"web", "orders"} <= set(_run(mariadb, ["SHOW DATABASES;"]).split()), "the data stays"


# --- the function behind Custom::DatabaseUser ------------------------------------------------------------------


class _Ecs:
    """The two ECS calls the function makes, answering with a task that stops with `exit_code`."""

    def __init__(self, exit_code: int | None = 0, failures: list[dict[str, str]] | None = None) -> None:
        self.exit_code = exit_code
        self.failures = failures or []
        self.started: list[dict[str, Any]] = []

    def run_task(self, **request: Any) -> dict[str, Any]:
        self.started.append(request)
        tasks = [] if self.failures else [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/c/1"}]
        return {"tasks": tasks, "failures": self.failures}

    def describe_tasks(self, **request: Any) -> dict[str, Any]:
        container = {} if self.exit_code is None else {"exitCode": self.exit_code}
        return {
            "tasks": [
                {"lastStatus": "STOPPED", "stoppedReason": "Essential container exited", "containers": [container]}
            ]
        }


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture()
def responses(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server standing in for CloudFormation's presigned response URL; the bodies it received."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 (the http.server naming)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name, value in {
        "CLUSTER": "c",
        "TASK_DEFINITION": "td",
        "SUBNETS": "subnet-1,subnet-2",
        "SECURITY_GROUP": "sg-1",
        "CONTAINER": "mysql-client",
        "LOG_GROUP": "users-log",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_database_user_handler, "POLL_S", 0)
    try:
        yield f"http://127.0.0.1:{server.server_port}/response", received
    finally:
        server.shutdown()


def _event(url: str, request_type: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": url,
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "WebDatabaseUser",
        "ResourceProperties": {"User": "web", "Statements": ["CREATE 1;", "GRANT 2;"], "DropStatements": ["DROP 3;"]},
    }


def test_a_create_runs_the_statements_in_the_task_and_reports_success(
    responses: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = responses
    ecs = _Ecs()
    _database_user_handler.handler(_event(url, "Create"), _Context(), ecs)
    (request,) = ecs.started
    assert request["launchType"] == "FARGATE" and request["taskDefinition"] == "td"
    assert request["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-1", "subnet-2"],
        "securityGroups": ["sg-1"],
        "assignPublicIp": "DISABLED",
    }
    assert request["overrides"]["containerOverrides"] == [
        {"name": "mysql-client", "environment": [{"name": "SQL", "value": "CREATE 1;\nGRANT 2;"}]}
    ]
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and answer["PhysicalResourceId"] == "web"
    assert (answer["StackId"], answer["RequestId"], answer["LogicalResourceId"]) == (
        "stack",
        "request",
        "WebDatabaseUser",
    )


@pytest.mark.parametrize(
    ("ecs", "reason"),
    [
        (
            _Ecs(exit_code=1),
            "ended with exit code 1 (Essential container exited); its output is in log group users-log",
        ),
        (_Ecs(exit_code=None), "ended with exit code None"),
        (_Ecs(failures=[{"reason": "RESOURCE:ENI"}]), "the task did not start"),
    ],
    ids=["sql failed", "container never ran", "task not started"],
)
def test_a_failed_task_fails_the_create_with_its_reason(
    responses: tuple[str, list[dict[str, Any]]], ecs: _Ecs, reason: str
) -> None:
    url, received = responses
    _database_user_handler.handler(_event(url, "Update"), _Context(), ecs)
    (answer,) = received
    assert answer["Status"] == "FAILED" and reason in answer["Reason"]


def test_a_delete_runs_the_drop_and_never_blocks_the_stack(responses: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = responses
    ecs = _Ecs(exit_code=1)
    _database_user_handler.handler(_event(url, "Delete"), _Context(), ecs)
    (request,) = ecs.started
    assert request["overrides"]["containerOverrides"][0]["environment"][0]["value"] == "DROP 3;"
    (answer,) = received
    assert answer["Status"] == "SUCCESS" and "exit code 1" in answer["Reason"]


def test_the_function_gives_up_before_its_own_timeout(responses: tuple[str, list[dict[str, Any]]]) -> None:
    class Late(_Context):
        def get_remaining_time_in_millis(self) -> int:
            return _database_user_handler.MARGIN_MS

    url, received = responses
    _database_user_handler.handler(_event(url, "Create"), Late(), _Ecs())
    (answer,) = received
    assert answer["Status"] == "FAILED" and "still running" in answer["Reason"]


# --- the stack -------------------------------------------------------------------------------------------------


def test_the_inline_code_uses_the_standard_library_and_boto3_only() -> None:
    """Inline code is no longer capped at 4,096 characters: CloudFormation zips it, up to 4 MB (the ZipFile
    property in cfn-lint's schema of AWS::Lambda::Function says so)."""
    code = handler_code()
    compile(code, "index.py", "exec")
    imports = {line.split()[1] for line in code.splitlines() if line.startswith(("import ", "from "))}
    assert imports == {"json", "os", "re", "time", "urllib.request", "typing", "boto3", "botocore.config"}


def _blueprint(**service: Any) -> Blueprint:
    return make_blueprint(database=DATABASE, services=[{"name": "web", "port": 3000, **service}])


def test_the_stack_exists_only_when_a_service_uses_the_database() -> None:
    names = [child.name for child in synthesize(_blueprint(database=True)).children]
    assert names.index("database") < names.index("cluster") < names.index("database-users") < names.index("service-web")
    assert "database-users" not in [child.name for child in synthesize(_blueprint()).children]


def test_the_function_environment_names_what_the_handler_reads() -> None:
    """Both functions of the stack (database.access: proxy adds the rotation function) get exactly the variables
    their entry points read."""
    template = database_users.build(
        make_blueprint(
            database={**DATABASE, "access": "proxy"}, services=[{"name": "web", "port": 3000, "database": True}]
        )
    )
    functions = resources(template, "AWS::Lambda::Function")
    assert set(functions) == {"DatabaseUsersFunction", "DatabaseSecretRotationFunction"}
    read = set(re.findall(r"environ\[[\"']([A-Z_]+)[\"']\]|env\[[\"']([A-Z_]+)[\"']\]", handler_code()))
    names = {name for pair in read for name in pair if name}
    common = {"CLUSTER", "SUBNETS", "SECURITY_GROUP", "CONTAINER", "LOG_GROUP"}
    assert set(functions["DatabaseUsersFunction"]["Properties"]["Environment"]["Variables"]) == {
        *common,
        "TASK_DEFINITION",
    }
    assert set(functions["DatabaseSecretRotationFunction"]["Properties"]["Environment"]["Variables"]) == {
        *common,
        "ROTATION_FAMILY_PREFIX",
    }
    assert names == {*common, "TASK_DEFINITION", "ROTATION_FAMILY_PREFIX"}


def test_the_task_reaches_the_database_and_https_only_and_admits_nothing() -> None:
    template = database_users.build(_blueprint(database=True))
    (group,) = resources(template, "AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    egress = group["Properties"]["SecurityGroupEgress"]
    assert [rule.get("DestinationSecurityGroupId", rule.get("CidrIp")) for rule in egress] == [
        {"Ref": "DatabaseSecurityGroupId"},
        "0.0.0.0/0",
    ]
    assert egress[1]["FromPort"] == egress[1]["ToPort"] == 443


# --- the blueprint ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grants", "message"),
    [
        ([{"schema": "mysql"}], "one of MySQL's own schemas"),
        ([{"schema": "Web"}], "String should match pattern"),
        ([{"schema": "web", "privileges": ["ALL", "SELECT"]}], "ALL already holds every schema privilege"),
        ([{"schema": "web", "privileges": ["SELECT", "SELECT"]}], "SELECT listed more than once"),
        ([{"schema": "web", "privileges": ["SUPER"]}], "Input should be 'ALL'"),
        ([{"schema": "web"}, {"schema": "web"}], "schema web has more than one entry"),
        ([], "at least 1 item"),
    ],
    ids=["system schema", "uppercase", "all and more", "repeated", "global privilege", "two entries", "empty"],
)
def test_bad_grants_are_refused(grants: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _blueprint(database=True, database_access={"grants": grants})


def test_a_service_cannot_take_the_master_users_name() -> None:
    with pytest.raises(ValueError, match="gives the database user 'dbadmin', which is the master user"):
        make_blueprint(database=DATABASE, services=[{"name": "dbadmin", "port": 3000, "database": True}])


def test_a_user_is_the_service_name_with_underscores() -> None:
    (service,) = make_blueprint(
        database=DATABASE, services=[{"name": "order-api", "port": 3000, "database": True}]
    ).services
    assert service.database_user == "order_api"
    assert [(grant.schema_name, grant.privileges) for grant in service.database_grants] == [("order_api", ["ALL"])]


def test_the_handler_source_is_the_module_the_tests_import() -> None:
    assert Path(_database_user_handler.__file__).read_text(encoding="utf-8") == handler_code()


def test_the_review_names_each_services_user_how_it_signs_in_and_its_grants() -> None:
    blueprint = _blueprint(
        database=True, database_access={"grants": [{"schema": "web"}, {"schema": "orders", "privileges": ["SELECT"]}]}
    )
    report = review(synthesize(blueprint), findings=[])
    assert [(user.stack, user.user, user.grants) for user in report.database_users] == [
        ("service-web", "web", ("ALL PRIVILEGES on web", "SELECT on orders"))
    ]
    (user,) = report.database_users
    assert user.authentication == "IAM database authentication, TLS only" and "nothing to rotate" in user.credentials
    assert "| `service-web` | `web` | IAM database authentication" in report.markdown()


def test_a_service_under_ecs_deployments_also_waits_for_its_user() -> None:
    """Under the ECS controller the service has no DependsOn of its own (it names its revision by Ref)."""
    blueprint = _blueprint(database=True, deployment={"strategy": "ecs-rolling"})
    (service,) = resources(synthesize(blueprint).child("service-web").template, "AWS::ECS::Service").values()
    assert service["DependsOn"] == ["WebDatabaseUser"]

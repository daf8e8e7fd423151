"""Custom::DatabaseUser and the rotation of the services' database secrets, both through one-off MySQL client tasks.

`handler` answers CloudFormation: it runs the user's SQL in the database-users task and reports the exit code.
`rotate` is the Secrets Manager rotation function of a service's secret (database.access: proxy), single-user
strategy: createSecret stores a new password as AWSPENDING, setSecret runs the service's rotation task (which signs
in with AWSCURRENT, sets AWSPENDING and signs in with it), finishSecret makes AWSPENDING current. testSecret has
nothing left to do: the rotation task already signed in with the new password.
https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
"""

import json
import os
import re
import time
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

POLL_S = 10
MARGIN_MS = 30000
# Many services start their tasks at once on a first deploy: RunTask is throttled, so retry with backoff.
RETRIES = Config(retries={"max_attempts": 10, "mode": "standard"})
PASSWORD_LENGTH = 32
# A user name as the blueprint validates it: it also names the service's rotation task definition.
USER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def handler(event: dict[str, Any], context: Any, ecs: Any = None) -> None:
    props = event["ResourceProperties"]
    delete = event["RequestType"] == "Delete"
    status, reason = "SUCCESS", "done"
    try:
        variables = {"SQL": "\n".join(props["DropStatements" if delete else "Statements"])}
        if props.get("PasswordVariable"):
            variables["PASSWORD_VARIABLE"] = props["PasswordVariable"]
        run(ecs or boto3.client("ecs", config=RETRIES), os.environ["TASK_DEFINITION"], variables, context)
    except Exception as error:
        # A failed create or update rolls back; a failed drop is reported but never blocks a stack deletion.
        status, reason = ("SUCCESS" if delete else "FAILED"), str(error)[:900]
    body = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": props["User"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    print(json.dumps({"status": status, "reason": reason}))
    request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")
    request.add_header("Content-Type", "")
    urllib.request.urlopen(request, timeout=30).close()


def rotate(event: dict[str, Any], context: Any, secrets: Any = None, ecs: Any = None) -> None:
    secrets = secrets or boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    described = secrets.describe_secret(SecretId=arn)
    if not described.get("RotationEnabled"):
        raise ValueError(f"rotation is not enabled on {arn}")
    stages = described["VersionIdsToStages"].get(token)
    if stages is None:
        raise ValueError(f"{arn} has no version {token} to rotate to")
    if "AWSCURRENT" in stages:
        return  # a repeated step of a rotation that already finished
    if "AWSPENDING" not in stages:
        raise ValueError(f"version {token} of {arn} is not AWSPENDING")
    current = json.loads(secrets.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])
    if step == "createSecret":
        try:
            secrets.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            return  # created by an earlier attempt of this step
        except secrets.exceptions.ResourceNotFoundException:
            pass
        # Letters and digits only: the client tasks put the password between quotes in SQL.
        password = secrets.get_random_password(PasswordLength=PASSWORD_LENGTH, ExcludePunctuation=True)
        pending = {**current, "password": password["RandomPassword"]}
        secrets.put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(pending), VersionStages=["AWSPENDING"]
        )
    elif step == "setSecret":
        user = str(current.get("username", ""))
        if not USER.match(user):
            raise ValueError(f"{arn} names no database user cfngen created: {user!r}")
        ecs = ecs or boto3.client("ecs", config=RETRIES)
        run(ecs, os.environ["ROTATION_FAMILY_PREFIX"] + user, {}, context)
    elif step == "finishSecret":
        (previous,) = [
            version
            for version, version_stages in described["VersionIdsToStages"].items()
            if "AWSCURRENT" in version_stages
        ]
        secrets.update_secret_version_stage(
            SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=previous
        )
    elif step != "testSecret":
        raise ValueError(f"unknown rotation step {step!r}")


def run(ecs: Any, task_definition: str, variables: dict[str, str], context: Any) -> None:
    env = os.environ
    started = ecs.run_task(
        cluster=env["CLUSTER"],
        taskDefinition=task_definition,
        launchType="FARGATE",
        startedBy="cfngen",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": env["SUBNETS"].split(","),
                "securityGroups": [env["SECURITY_GROUP"]],
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={
            "containerOverrides": [
                {
                    "name": env["CONTAINER"],
                    "environment": [{"name": name, "value": value} for name, value in variables.items()],
                }
            ]
        },
    )
    if started["failures"] or not started["tasks"]:
        raise RuntimeError(f"the task did not start: {started['failures']}")
    arn = started["tasks"][0]["taskArn"]
    while context.get_remaining_time_in_millis() > MARGIN_MS:
        time.sleep(POLL_S)
        (task,) = ecs.describe_tasks(cluster=env["CLUSTER"], tasks=[arn])["tasks"]
        if task["lastStatus"] == "STOPPED":
            code = task["containers"][0].get("exitCode")
            if code == 0:
                return
            raise RuntimeError(
                f"task {arn} ended with exit code {code} ({task.get('stoppedReason', '')}); "
                f"its output is in log group {env['LOG_GROUP']}"
            )
    raise RuntimeError(f"task {arn} was still running when the function's time ran out")

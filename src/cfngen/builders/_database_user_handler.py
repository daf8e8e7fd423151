"""Custom::DatabaseUser: run the user's SQL in a one-off MySQL client task, report to CloudFormation."""

import json
import os
import time
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

POLL_S = 10
MARGIN_MS = 30000
# Many services start their tasks at once on a first deploy: RunTask is throttled, so retry with backoff.
RETRIES = Config(retries={"max_attempts": 10, "mode": "standard"})


def handler(event: dict[str, Any], context: Any, ecs: Any = None) -> None:
    props = event["ResourceProperties"]
    delete = event["RequestType"] == "Delete"
    status, reason = "SUCCESS", "done"
    try:
        run(ecs or boto3.client("ecs", config=RETRIES), props["DropStatements" if delete else "Statements"], context)
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


def run(ecs: Any, statements: list[str], context: Any) -> None:
    env = os.environ
    started = ecs.run_task(
        cluster=env["CLUSTER"],
        taskDefinition=env["TASK_DEFINITION"],
        launchType="FARGATE",
        startedBy="cloudformation",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": env["SUBNETS"].split(","),
                "securityGroups": [env["SECURITY_GROUP"]],
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={
            "containerOverrides": [
                {"name": env["CONTAINER"], "environment": [{"name": "SQL", "value": "\n".join(statements)}]}
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

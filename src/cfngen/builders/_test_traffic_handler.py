"""cfngen test traffic check: the green tasks answer through the test listener, or the rollout stops.

Inline code of the service's test function (deployment.test). CodeDeploy invokes it at AfterAllowTestTraffic
with {"DeploymentId", "LifecycleEventHookExecutionId"} and waits for PutLifecycleEventHookExecutionStatus;
ECS invokes it at POST_TEST_TRAFFIC_SHIFT and reads {"hookStatus": "SUCCEEDED" | "FAILED"} from its answer.
The load balancer's DNS name leads outside the VPC, while the test listener admits the VPC only: the
requests go to its nodes' private addresses, its network interfaces ("ELB <full name>").
Standard library only, and the boto3 that the Lambda runtime ships.
"""

import http.client
import json
import os
import time
from typing import Any

ATTEMPTS = 5
PAUSE_S = 3.0
TIMEOUT_S = 5.0


def handler(event: dict[str, Any], context: object) -> dict[str, str] | None:
    passed, detail = check(addresses())
    print(json.dumps({"passed": passed, "detail": detail}))
    if "LifecycleEventHookExecutionId" in event:
        import boto3

        boto3.client("codedeploy").put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status="Succeeded" if passed else "Failed",
        )
        return None
    return {"hookStatus": "SUCCEEDED" if passed else "FAILED"}


def addresses() -> list[str]:
    import boto3

    pages: Any = (
        boto3.client("ec2")
        .get_paginator("describe_network_interfaces")
        .paginate(Filters=[{"Name": "description", "Values": ["ELB " + os.environ["LOAD_BALANCER"]]}])
    )
    return sorted(eni["PrivateIpAddress"] for page in pages for eni in page["NetworkInterfaces"])


def check(hosts: list[str]) -> tuple[bool, str]:
    """Every node of the load balancer must answer the expected status; a few tries each while targets settle."""
    port, path, expect = int(os.environ["TEST_PORT"]), os.environ["TEST_PATH"], int(os.environ["EXPECT_STATUS"])
    if not hosts:
        return False, "found no address of the load balancer " + os.environ["LOAD_BALANCER"]
    for host in hosts:
        for attempt in range(ATTEMPTS):
            answer = request(host, port, path)
            if answer == expect:
                break
            if attempt < ATTEMPTS - 1:
                time.sleep(PAUSE_S)
        else:
            return False, f"{host}:{port}{path} answered {answer}, expected {expect}"
    return True, f"{len(hosts)} load balancer nodes answered {expect} on {port}{path}"


def request(host: str, port: int, path: str) -> int | str:
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        connection.request("GET", path, headers={"User-Agent": "cfngen-test-traffic"})
        return connection.getresponse().status
    except OSError as exc:
        return f"nothing ({exc})"
    finally:
        connection.close()

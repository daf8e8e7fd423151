"""deployment.test: the generated function tests the green tasks through the test listener before production traffic.

The handler runs in process against a local HTTP server (real requests), finding the load balancer's
address among the emulator's network interfaces as it does on AWS; the templates are checked for the
hook wiring and least privilege (lint and checkov run on the goldens, blueprints/delivery.yaml).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import yaml

from cfngen import Blueprint
from cfngen.builders import _test_traffic, _test_traffic_handler, pipeline, service
from cfngen.local import LocalAws

LOAD_BALANCER = "net/shop-lb/0123456789abcdef"


class _Green(BaseHTTPRequestHandler):
    """Green tasks behind the test listener: /health answers 200, anything else 503."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def test_listener() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Green)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def node(aws: LocalAws) -> None:
    """The load balancer's node: a network interface described as AWS describes an NLB's, at 127.0.0.1."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="127.0.0.1", Description=f"ELB {LOAD_BALANCER}")


def _environment(monkeypatch: pytest.MonkeyPatch, port: int, path: str, expect: int = 200) -> None:
    monkeypatch.setattr(_test_traffic_handler, "PAUSE_S", 0.0)
    for name, value in {
        "LOAD_BALANCER": LOAD_BALANCER,
        "TEST_PORT": str(port),
        "TEST_PATH": path,
        "EXPECT_STATUS": str(expect),
    }.items():
        monkeypatch.setenv(name, value)


# The event ECS sends a POST_TEST_TRAFFIC_SHIFT hook (the function reads none of it; ECS reads hookStatus back).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html
ECS_EVENT = {
    "executionId": "a1b2c3",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/shop/web/abc",
}


@pytest.mark.usefixtures("node")
@pytest.mark.parametrize(("path", "expect", "status"), [("/health", 200, "SUCCEEDED"), ("/missing", 200, "FAILED")])
def test_the_ecs_hook_answers_from_real_requests_to_the_test_listener(
    monkeypatch: pytest.MonkeyPatch, test_listener: int, path: str, expect: int, status: str
) -> None:
    _environment(monkeypatch, test_listener, path, expect)
    assert _test_traffic_handler.handler(ECS_EVENT, None) == {"hookStatus": status}


@pytest.mark.usefixtures("node")
def test_an_unexpected_status_or_nothing_listening_fails(monkeypatch: pytest.MonkeyPatch, test_listener: int) -> None:
    _environment(monkeypatch, test_listener, "/health", 204)
    assert _test_traffic_handler.handler(ECS_EVENT, None) == {"hookStatus": "FAILED"}
    _environment(monkeypatch, 1, "/health")  # port 1: nothing listens
    passed, detail = _test_traffic_handler.check(["127.0.0.1"])
    assert not passed and "127.0.0.1:1/health answered nothing" in detail


def test_no_load_balancer_address_fails(aws: LocalAws, monkeypatch: pytest.MonkeyPatch, test_listener: int) -> None:
    _environment(monkeypatch, test_listener, "/health")
    assert _test_traffic_handler.handler(ECS_EVENT, None) == {"hookStatus": "FAILED"}


@pytest.mark.usefixtures("node")
@pytest.mark.parametrize(("path", "status"), [("/health", "Succeeded"), ("/missing", "Failed")])
def test_the_codedeploy_hook_reports_to_codedeploy(
    monkeypatch: pytest.MonkeyPatch, test_listener: int, path: str, status: str
) -> None:
    """CodeDeploy invokes the hook with DeploymentId and LifecycleEventHookExecutionId and waits for
    PutLifecycleEventHookExecutionStatus (Succeeded or Failed). The emulator has no CodeDeploy hooks, so the
    request is captured after botocore validated it against the API model; the answer is the API's empty one.
    https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#reference-appspec-file-structure-hooks-section-structure-ecs-sample-function
    https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html
    """
    from botocore.awsrequest import AWSResponse

    _environment(monkeypatch, test_listener, path)
    reports: list[dict[str, Any]] = []

    def capture(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        reports.append(json.loads(params["body"]))
        return AWSResponse("", 200, {}, None), {"lifecycleEventHookExecutionId": "hook-1"}

    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.codedeploy.PutLifecycleEventHookExecutionStatus", capture)
    event = {"DeploymentId": "d-ABC123", "LifecycleEventHookExecutionId": "hook-1"}
    assert _test_traffic_handler.handler(event, None) is None
    assert reports == [{"deploymentId": "d-ABC123", "lifecycleEventHookExecutionId": "hook-1", "status": status}]


def _blueprint(strategy: str, **test: Any) -> Blueprint:
    return Blueprint.model_validate(
        {
            "name": "shop",
            "deployment": {"strategy": strategy, "test": {"path": "/health", **test}},
            "services": [{"name": "web", "port": 8080, "test_listener_port": 9090}],
        }
    )


def _statements(template: dict[str, Any], role: str) -> dict[str, list[Any]]:
    policies = template["Resources"][role]["Properties"]["Policies"]
    return {
        action: statement["Resource"]
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }


@pytest.mark.parametrize("strategy", ["codedeploy", "ecs-blue-green"])
def test_the_function_runs_in_the_private_subnets_and_reaches_only_the_test_listener(strategy: str) -> None:
    blueprint = _blueprint(strategy, expect=204)
    template = service.build(blueprint, blueprint.services[0]).to_dict()
    function = template["Resources"]["WebTestTrafficFunction"]["Properties"]
    assert function["FunctionName"] == "shop--web-test-traffic"
    assert function["Code"]["ZipFile"].startswith('"""cfngen test traffic check')
    assert function["VpcConfig"]["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    assert function["Environment"]["Variables"] == {
        "LOAD_BALANCER": {"Ref": "LoadBalancerFullName"},
        "TEST_PORT": "9090",
        "TEST_PATH": "/health",
        "EXPECT_STATUS": "204",
    }
    group = template["Resources"]["WebTestTrafficSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [(rule["FromPort"], rule["ToPort"], rule["CidrIp"]) for rule in group["SecurityGroupEgress"]] == [
        (9090, 9090, {"Ref": "VpcCidr"}),
        (443, 443, "0.0.0.0/0"),
    ]
    grants = _statements(template, "WebTestTrafficRole")
    assert [action for action, resources in grants.items() if resources == ["*"]] == ["ec2:DescribeNetworkInterfaces"]
    reports = grants.get("codedeploy:PutLifecycleEventHookExecutionStatus")
    if strategy == "codedeploy":
        group_arn = (
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:shop--web/shop--web"
        )
        assert reports == [{"Fn::Sub": group_arn}]
    else:
        assert reports is None


def test_codedeploy_runs_the_function_at_after_allow_test_traffic() -> None:
    blueprint = _blueprint("codedeploy")
    web = blueprint.services[0]
    appspec = yaml.safe_load(pipeline.derive_spec(blueprint, web))["phases"]["build"]["commands"][-1]
    assert '- AfterAllowTestTraffic: "shop--web-test-traffic"' in appspec
    template = pipeline.build(blueprint, web).to_dict()
    assert _statements(template, "WebCodeDeployRole")["lambda:InvokeFunction"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:shop--web-test-traffic"}
    ]
    assert "WebTestTrafficHookRole" not in service.build(blueprint, web).to_dict()["Resources"]


@pytest.mark.parametrize("strategy", ["ecs-blue-green", "ecs-linear", "ecs-canary"])
def test_ecs_runs_the_function_at_post_test_traffic_shift_with_a_role_that_invokes_it_only(strategy: str) -> None:
    blueprint = _blueprint(strategy)
    web = blueprint.services[0]
    template = service.build(blueprint, web).to_dict()
    configuration = template["Resources"]["WebService"]["Properties"]["DeploymentConfiguration"]
    assert configuration["LifecycleHooks"] == [
        {
            "TargetType": "AWS_LAMBDA",
            "HookTargetArn": {"Fn::GetAtt": ["WebTestTrafficFunction", "Arn"]},
            "RoleArn": {"Fn::GetAtt": ["WebTestTrafficHookRole", "Arn"]},
            "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        }
    ]
    role = template["Resources"]["WebTestTrafficHookRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": ["ecs.amazonaws.com"]}
    assert _statements(template, "WebTestTrafficHookRole") == {
        "lambda:InvokeFunction": [{"Fn::GetAtt": ["WebTestTrafficFunction", "Arn"]}]
    }
    # The pipeline's stack update hands the role to ECS: it may pass it, to ECS only.
    passes = [
        statement
        for policy in pipeline.build(blueprint, web).to_dict()["Resources"]["WebDeployRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Action"] == ["iam:PassRole"] and {"Ref": "WebTestTrafficHookRoleArn"} in statement["Resource"]
    ]
    assert [statement["Condition"] for statement in passes] == [
        {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    ]


def test_a_wait_after_the_test_keeps_its_pause_hook() -> None:
    blueprint = Blueprint.model_validate(
        {
            "name": "shop",
            "deployment": {"strategy": "ecs-blue-green", "wait_minutes": 5, "test": {"path": "/"}},
            "services": [{"name": "web", "port": 8080}],
        }
    )
    template = service.build(blueprint, blueprint.services[0]).to_dict()
    hooks = template["Resources"]["WebService"]["Properties"]["DeploymentConfiguration"]["LifecycleHooks"]
    assert [hook["TargetType"] for hook in hooks] == ["AWS_LAMBDA", "PAUSE"]
    assert hooks[1]["TimeoutConfiguration"] == {"TimeoutInMinutes": 5, "Action": "CONTINUE"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"deployment": {"strategy": "ecs-rolling", "test": {"path": "/"}}}, "no test listener stage"),
        ({"deployment": {"test": {"path": "health"}}}, "should match pattern"),
        ({"deployment": {"test": {"path": "/", "expect": 700}}}, "less than or equal to 599"),
        (
            {
                "deployment": {"test": {"path": "/"}},
                "services": [{"name": "web", "port": 8080, "deploy_hooks": {"AfterAllowTestTraffic": "mine"}}],
            },
            "taken by the test function",
        ),
    ],
)
def test_a_test_that_cannot_run_is_refused_at_load(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Blueprint.model_validate({"name": "shop", "services": [{"name": "web", "port": 8080}], **data})


def test_the_function_name_fits_lambdas_limit_at_the_longest_names() -> None:
    blueprint = Blueprint.model_validate(
        {
            "name": "b" * 24,
            "deployment": {"test": {"path": "/"}},
            "services": [{"name": "s" * 24, "port": 8080}],
        }
    )
    assert len(_test_traffic.function_name(blueprint, blueprint.services[0])) <= 64


def test_a_service_with_a_test_deploys_on_the_emulator(aws: LocalAws) -> None:
    """The function, its role, security group and log group, and the ECS hook that names them, create."""
    from cfngen import Deployer, synthesize

    blueprint = _blueprint("ecs-blue-green").model_copy(update={"region": "us-east-1"})
    deployer = Deployer(region="us-east-1", poll_s=0.05, timeout_s=600)
    deployer.bootstrap()
    assert deployer.apply(deployer.plan(deployer.package(synthesize(blueprint)))).stack_status == "CREATE_COMPLETE"
    function = boto3.client("lambda", region_name="us-east-1").get_function(FunctionName="shop--web-test-traffic")
    assert function["Configuration"]["Environment"]["Variables"]["TEST_PATH"] == "/health"

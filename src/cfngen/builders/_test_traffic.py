"""The test traffic function of a service with ``deployment.test``, in the service's stack.

Before production traffic moves, the green tasks already serve the test listener. The function
(inline code: :mod:`cfngen.builders._test_traffic_handler`) requests ``deployment.test.path``
through the test listener from every load balancer node and expects ``deployment.test.expect``:
- under ``codedeploy`` it is the appspec's ``AfterAllowTestTraffic`` hook and reports with
  ``codedeploy:PutLifecycleEventHookExecutionStatus``, allowed on the service's deployment group only
  (https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html#appspec-hooks-ecs);
- under ``ecs-blue-green``, ``ecs-linear`` and ``ecs-canary`` it is the service's lifecycle hook at
  ``POST_TEST_TRAFFIC_SHIFT``, invoked with a role that may invoke this function only, and answers
  ``{"hookStatus": ...}``
  (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-permissions.html).
A failed test rolls the deployment back in both cases.

The function runs in the private subnets. Its security group opens nothing inward and lets out only
the test listener's port, to the VPC (the load balancer's nodes have private addresses there, and
the test listener admits the VPC only), and HTTPS for the two AWS APIs it calls: EC2, to find those
addresses (the network interfaces described "ELB <load balancer full name>",
https://repost.aws/knowledge-center/elb-find-load-balancer-IP), and CodeDeploy, to report.
"""

from __future__ import annotations

from importlib import resources

from awacs import awslambda, codedeploy, ec2, logs
from awacs.aws import Condition, StringEquals
from troposphere import GetAtt, Ref, Template
from troposphere.awslambda import Code, Environment, Function, LoggingConfig, VPCConfig
from troposphere.ec2 import SecurityGroup, SecurityGroupRule
from troposphere.ecs import DeploymentLifecycleHook

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import contracts, iam
from cfngen.builders.base import add_output, add_parameter, named_log_group, owned_name, role_path
from cfngen.synth.suppress import skip_check

CODEDEPLOY_HOOK = "AfterAllowTestTraffic"
ECS_HOOK_STAGE = "POST_TEST_TRAFFIC_SHIFT"
RUNTIME = "python3.12"
# The handler tries each load balancer node up to 5 times (5 s timeout, 3 s apart); 3 nodes at most.
TIMEOUT_S = 180
HTTPS = 443
LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
ECS_PRINCIPAL = "ecs.amazonaws.com"


def tests_traffic(blueprint: Blueprint, service: Service) -> bool:
    """True when `service` has a test traffic function (deployment.test)."""
    return blueprint.deployment_of(service).test is not None


def function_name(blueprint: Blueprint, service: Service) -> str:
    """The function's physical name, which the appspec's hook names: "<blueprint>--<service>-test-traffic"."""
    return owned_name(blueprint, service.name, "test-traffic")


def function_id(service: Service) -> str:
    """Logical id of the test traffic function."""
    return f"{service.logical_name}TestTrafficFunction"


def hook_role_id(service: Service) -> str:
    """Logical id of the role ECS invokes the function with."""
    return f"{service.logical_name}TestTrafficHookRole"


def codedeploy_hooks(blueprint: Blueprint, service: Service) -> dict[str, str]:
    """The appspec's hooks, event -> function name: the service's deploy_hooks and the test function."""
    hooks: dict[str, str] = {str(event): function for event, function in service.deploy_hooks.items()}
    if tests_traffic(blueprint, service) and blueprint.deployment_of(service).uses_codedeploy:
        hooks[CODEDEPLOY_HOOK] = function_name(blueprint, service)
    return hooks


def add_parameters(template: Template, blueprint: Blueprint, service: Service) -> None:
    """The inputs the function takes besides the service stack's own: the VPC CIDR, the load balancer's name."""
    add_parameter(template, contracts.VPC_CIDR, "String", "VPC CIDR: the test listener admits it only")
    add_parameter(
        template,
        _load_balancer_name(blueprint, service),
        "String",
        "Load balancer whose nodes the test traffic function sends requests to",
    )


def add(template: Template, blueprint: Blueprint, service: Service) -> None:
    """Security group, log group, role and function; under ecs-* also the role ECS invokes it with."""
    _add_security_group(template, blueprint, service)
    _add_log_group(template, blueprint, service)
    _add_role(template, blueprint, service)
    _add_function(template, blueprint, service)
    if not blueprint.deployment_of(service).uses_codedeploy:
        _add_hook_role(template, blueprint, service)


def ecs_lifecycle_hook(service: Service) -> DeploymentLifecycleHook:
    """The service's lifecycle hook that runs the function once the green tasks serve the test listener."""
    return DeploymentLifecycleHook(
        TargetType="AWS_LAMBDA",
        HookTargetArn=GetAtt(function_id(service), "Arn"),
        RoleArn=GetAtt(hook_role_id(service), "Arn"),
        LifecycleStages=[ECS_HOOK_STAGE],
    )


def _load_balancer_name(blueprint: Blueprint, service: Service) -> str:
    return contracts.of_load_balancer(blueprint.load_balancer_of(service), "FullName")


def _prefix(service: Service) -> str:
    return f"{service.logical_name}TestTraffic"


def _add_security_group(template: Template, blueprint: Blueprint, service: Service) -> None:
    template.add_resource(
        SecurityGroup(
            f"{_prefix(service)}SecurityGroup",
            GroupDescription=f"{blueprint.name} {service.name} test traffic function: the test listener, AWS APIs",
            VpcId=Ref(contracts.VPC_ID),
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=service.test_listener_port,
                    ToPort=service.test_listener_port,
                    CidrIp=Ref(contracts.VPC_CIDR),
                    Description=f"{service.name} test listener, at the load balancer's private addresses",
                ),
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=HTTPS,
                    ToPort=HTTPS,
                    CidrIp="0.0.0.0/0",
                    Description="EC2 API (the load balancer's addresses) and CodeDeploy API (the result)",
                ),
            ],
        )
    )


def _add_log_group(template: Template, blueprint: Blueprint, service: Service) -> None:
    name = f"/aws/lambda/{function_name(blueprint, service)}"
    template.add_resource(named_log_group(f"{_prefix(service)}LogGroup", name, blueprint, contracts.LOGS_KMS_KEY_ARN))


def _add_role(template: Template, blueprint: Blueprint, service: Service) -> None:
    """Logs, the network interfaces Lambda attaches in the VPC, the load balancer's addresses, the report.

    The interface actions are the ones AWSLambdaVPCAccessExecutionRole grants, on interfaces of this VPC
    only (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
    """
    prefix = _prefix(service)
    in_this_vpc = Condition(StringEquals({"ec2:Vpc": iam.arn("ec2", f"vpc/${{{contracts.VPC_ID}}}")}))
    policies = {
        "write-logs": [
            iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(f"{prefix}LogGroup", "Arn")]),
        ],
        "attach-to-the-vpc": [
            iam.allow(
                [ec2.CreateNetworkInterface],
                [iam.arn("ec2", "network-interface/*"), iam.arn("ec2", "subnet/*"), iam.arn("ec2", "security-group/*")],
                condition=in_this_vpc,
            ),
            iam.allow(
                [ec2.DeleteNetworkInterface, ec2.AssignPrivateIpAddresses, ec2.UnassignPrivateIpAddresses],
                [iam.arn("ec2", "network-interface/*")],
                condition=in_this_vpc,
            ),
            iam.allow([ec2.DescribeNetworkInterfaces], ["*"]),
        ],
    }
    if blueprint.deployment_of(service).uses_codedeploy:
        name = owned_name(blueprint, service.name)  # the CodeDeploy application and deployment group (pipeline.py)
        policies["report-to-codedeploy"] = [
            iam.allow(
                [codedeploy.PutLifecycleEventHookExecutionStatus],
                [iam.arn("codedeploy", f"deploymentgroup:{name}/{name}")],
            )
        ]
    template.add_resource(
        iam.service_role(
            f"{prefix}Role",
            LAMBDA_PRINCIPAL,
            policies,
            path=role_path(blueprint),
            description=f"Lets {service.name}'s test traffic function find the test listener and report",
        )
    )


def _add_function(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = _prefix(service)
    test = blueprint.deployment_of(service).test
    assert test is not None  # add() runs only for services that test traffic
    source = resources.files("cfngen.builders").joinpath("_test_traffic_handler.py").read_text(encoding="utf-8")
    function = template.add_resource(
        Function(
            function_id(service),
            FunctionName=function_name(blueprint, service),
            Description=f"Tests {service.name}'s green tasks through the test listener before production traffic",
            Runtime=RUNTIME,
            Handler="index.handler",
            Code=Code(ZipFile=source),
            Role=GetAtt(f"{prefix}Role", "Arn"),
            Timeout=TIMEOUT_S,
            MemorySize=128,
            VpcConfig=VPCConfig(
                SubnetIds=Ref(contracts.PRIVATE_SUBNET_IDS), SecurityGroupIds=[Ref(f"{prefix}SecurityGroup")]
            ),
            Environment=Environment(
                Variables={
                    "LOAD_BALANCER": Ref(_load_balancer_name(blueprint, service)),
                    "TEST_PORT": str(service.test_listener_port),
                    "TEST_PATH": test.path,
                    "EXPECT_STATUS": str(test.expect),
                }
            ),
            LoggingConfig=LoggingConfig(LogGroup=Ref(f"{prefix}LogGroup")),
        )
    )
    skip_check(
        function,
        "CKV_AWS_115",
        "a deployment invokes it once per hook; reserved concurrency would take from the account's "
        "unreserved pool, which new accounts keep at its minimum",
    )
    skip_check(
        function,
        "CKV_AWS_116",
        "invoked synchronously by CodeDeploy or ECS, which act on its failure: there is no event to keep",
    )
    skip_check(function, "CKV_AWS_173", "its variables are a load balancer name, a port, a path and a status")
    skip_check(function, "CKV_AWS_272", "inline code written by cfngen into the template that lint and review check")


def _add_hook_role(template: Template, blueprint: Blueprint, service: Service) -> None:
    template.add_resource(
        iam.service_role(
            hook_role_id(service),
            ECS_PRINCIPAL,
            {
                "invoke-the-test-traffic-function": [
                    iam.allow([awslambda.InvokeFunction], [GetAtt(function_id(service), "Arn")])
                ]
            },
            path=role_path(blueprint),
            description=f"Lets ECS run {service.name}'s test traffic function during a deployment",
        )
    )
    add_output(
        template,
        contracts.of_service(service, "TestTrafficHookRoleArn"),
        GetAtt(hook_role_id(service), "Arn"),
        f"Role ECS invokes {service.name}'s test traffic function with",
    )

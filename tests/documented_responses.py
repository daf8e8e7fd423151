"""Hand-written CloudFormation responses, in the documented shapes, for what the emulator cannot model yet.

These are not recordings. moto creates no nested change sets, fills no Replacement/Details fields,
never rolls back and has no DescribeEvents, so these responses follow the CloudFormation API
reference, page by page:
- DescribeChangeSet with IncludeNestedStacks, ResourceChange and ResourceChangeDetail:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/change-sets-for-nested-stacks.html
- DescribeStackEvents of a nested stack whose update failed:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html
- DescribeEvents (early validation of a change set):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeEvents.html

:class:`DocumentedCloudFormation` answers a client's calls from a table keyed by operation and the
request's identifying parameters, in any order (the deployer's call order is not part of the
contract), and validates every answer against botocore's service model, as Stubber does. Each case
becomes an emulator scenario once the emulator models the behaviour (issue 23).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

Answer = dict[str, Any] | Callable[[], dict[str, Any]]


class DocumentedCloudFormation:
    """Answers `client`'s calls from `answers[(operation, key)]`, key the request's StackName/ChangeSetName
    (plus "#" and NextToken for a later page), or `answers[(operation, "")]` for any request of that operation.

    An answer may be a callable (state that changes, such as a stack's status after ExecuteChangeSet);
    an answer {"Error": {...}} is returned as an HTTP 400 error. A request without an answer fails the test.
    """

    def __init__(self, client: Any, answers: Mapping[tuple[str, str], Answer]) -> None:
        from botocore.validate import ParamValidator

        self.answers = dict(answers)
        self.calls: list[tuple[str, str]] = []
        self._validator = ParamValidator()
        self._model = client.meta.service_model
        client.meta.events.register("before-call.cloudformation", self._answer)

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        body = params.get("body") or {}
        key = str(body.get("StackName") or body.get("ChangeSetName") or "")
        if body.get("NextToken"):
            key += "#" + str(body["NextToken"])
        self.calls.append((model.name, key))
        answer = self.answers.get((model.name, key), self.answers.get((model.name, "")))
        if answer is None:
            raise AssertionError(f"no documented answer for {model.name} {key!r}")
        response = answer() if callable(answer) else answer
        if "Error" in response:
            return AWSResponse("", 400, {}, None), {**response, "ResponseMetadata": {"HTTPStatusCode": 400}}
        report = self._validator.validate(response, model.output_shape)
        if report.has_errors():
            raise AssertionError(f"{model.name} answer does not match the service model: {report.generate_report()}")
        return AWSResponse("", 200, {}, None), {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}


ACCOUNT = "123456789012"
REGION = "us-west-2"
T0 = datetime(2024, 5, 2, 10, 0, 0, tzinfo=timezone.utc)


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/0c9e8f30-0870-11ef-9a43-0a1b2c3d4e5f"


def change_set_id(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/{name}/7d2f1a6e-3b4c-4d5e-8f90-a1b2c3d4e5f6"


ROOT = stack_id("shop")
NETWORK = stack_id("shop-Network-1X2Y3Z4W5V6U")
DATABASE = stack_id("shop-Database-9A8B7C6D5E4F")
SERVICE = stack_id("shop-ServiceServiceA-QWERTY123456")
REGISTRY = stack_id("shop-Registry-A1B2C3D4E5F6")
ROOT_CHANGE_SET = change_set_id("cfngen-20240502-100000-abcdef12")
NETWORK_CHANGE_SET = change_set_id("shop-Network-1X2Y3Z4W5V6U-cs")
DATABASE_CHANGE_SET = change_set_id("shop-Database-9A8B7C6D5E4F-cs")
SERVICE_CHANGE_SET = change_set_id("shop-ServiceServiceA-QWERTY123456-cs")


def _change(
    action: str,
    logical_id: str,
    resource_type: str,
    *,
    replacement: str = "",
    physical_id: str = "",
    details: list[dict[str, Any]] | None = None,
    nested: str = "",
) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Scope": ["Properties"] if details else [],
        "Details": details or [],
    }
    if replacement:
        change["Replacement"] = replacement
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if nested:
        change["ChangeSetId"] = nested
    return {"Type": "Resource", "ResourceChange": change}


def _detail(name: str, recreation: str, *, source: str = "DirectModification", causing: str = "") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": recreation},
        "Evaluation": "Static",
        "ChangeSource": source,
    }
    if causing:
        detail["CausingEntity"] = causing
    return detail


def _change_set(
    stack: str, name: str, cs_id: str, changes: list[dict[str, Any]], *, parent: str = "", token: str = ""
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "ChangeSetName": name,
        "ChangeSetId": cs_id,
        "StackId": stack,
        "StackName": stack.split("/")[1],
        "ExecutionStatus": "AVAILABLE",
        "Status": "CREATE_COMPLETE",
        "CreationTime": T0,
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        "IncludeNestedStacks": True,
        "RootChangeSetId": ROOT_CHANGE_SET,
        "Changes": changes,
    }
    if parent:
        response["ParentChangeSetId"] = parent
    if token:
        response["NextToken"] = token
    return response


# The root change set, in two pages; each nested stack resource names the child's own change set.
ROOT_PAGE_1 = _change_set(
    ROOT,
    "cfngen-20240502-100000-abcdef12",
    ROOT_CHANGE_SET,
    [
        _change(
            "Modify",
            "Network",
            "AWS::CloudFormation::Stack",
            replacement="False",
            physical_id=NETWORK,
            details=[_detail("TemplateURL", "Never")],
            nested=NETWORK_CHANGE_SET,
        ),
    ],
    token="page-2",
)
ROOT_PAGE_2 = _change_set(
    ROOT,
    "cfngen-20240502-100000-abcdef12",
    ROOT_CHANGE_SET,
    [
        _change(
            "Modify",
            "Database",
            "AWS::CloudFormation::Stack",
            replacement="False",
            physical_id=DATABASE,
            details=[_detail("TemplateURL", "Never")],
            nested=DATABASE_CHANGE_SET,
        ),
        _change(
            "Modify",
            "ServiceServiceA",
            "AWS::CloudFormation::Stack",
            replacement="False",
            physical_id=SERVICE,
            details=[_detail("TemplateURL", "Never")],
            nested=SERVICE_CHANGE_SET,
        ),
    ],
)
# An update of the network stack alone, whose nested change set the rollback case does not need.
NETWORK_ONLY = _change_set(
    ROOT,
    "cfngen-20240502-100000-abcdef12",
    ROOT_CHANGE_SET,
    [
        _change(
            "Modify",
            "Network",
            "AWS::CloudFormation::Stack",
            replacement="False",
            physical_id=NETWORK,
            details=[_detail("TemplateURL", "Never")],
        ),
    ],
)
NETWORK_CHANGES = _change_set(
    NETWORK,
    "shop-Network-1X2Y3Z4W5V6U-cs",
    NETWORK_CHANGE_SET,
    [
        _change(
            "Modify",
            "PublicSubnet1",
            "AWS::EC2::Subnet",
            replacement="True",
            physical_id="subnet-0a1b2c3d",
            details=[_detail("CidrBlock", "Always"), _detail("Tags", "Never")],
        ),
        _change(
            "Modify",
            "FlowLogGroup",
            "AWS::Logs::LogGroup",
            replacement="Conditional",
            physical_id="shop-flow-logs",
            details=[_detail("LogGroupName", "Conditionally"), _detail("RetentionInDays", "Never")],
        ),
    ],
    parent=ROOT_CHANGE_SET,
)
DATABASE_CHANGES = _change_set(
    DATABASE,
    "shop-Database-9A8B7C6D5E4F-cs",
    DATABASE_CHANGE_SET,
    [
        _change(
            "Modify",
            "DatabaseCluster",
            "AWS::RDS::DBCluster",
            replacement="True",
            physical_id="shop-db",
            details=[_detail("StorageEncrypted", "Always")],
        ),
        _change("Remove", "DatabaseReader1", "AWS::RDS::DBInstance", physical_id="shop-db-reader-1"),
        _change("Add", "DatabaseReader2", "AWS::RDS::DBInstance"),
    ],
    parent=ROOT_CHANGE_SET,
)
SERVICE_CHANGES = _change_set(
    SERVICE,
    "shop-ServiceServiceA-QWERTY123456-cs",
    SERVICE_CHANGE_SET,
    [
        _change(
            "Modify",
            "ServiceATaskDefinition",
            "AWS::ECS::TaskDefinition",
            replacement="True",
            physical_id="arn:aws:ecs:us-west-2:123456789012:task-definition/service-a:3",
            details=[_detail("ContainerDefinitions", "Always")],
        ),
        _change(
            "Modify",
            "ServiceAService",
            "AWS::ECS::Service",
            replacement="False",
            physical_id="arn:aws:ecs:us-west-2:123456789012:service/shop/service-a",
            details=[
                _detail("TaskDefinition", "Never", source="ResourceReference", causing="ServiceATaskDefinition"),
                _detail("DesiredCount", "Never"),
            ],
        ),
    ],
    parent=ROOT_CHANGE_SET,
)


def _event(
    stack: str, logical_id: str, resource_type: str, status: str, reason: str, seconds: int, physical_id: str = ""
) -> dict[str, Any]:
    event = {
        "StackId": stack,
        "EventId": f"{logical_id}-{status}-{seconds}",
        "StackName": stack.split("/")[1],
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": T0 + timedelta(seconds=seconds),
        "ResourceStatus": status,
        "PhysicalResourceId": physical_id or logical_id,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


# An update whose NAT gateway could not get an Elastic IP: the real cause is in the nested stack;
# the root and the sibling resources only repeat it. Newest first, as DescribeStackEvents returns them.
OLD_ROOT_EVENT = _event(ROOT, "shop", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", "", -600, ROOT)
OLD_NETWORK_EVENT = _event(
    NETWORK, "shop-Network-1X2Y3Z4W5V6U", "AWS::CloudFormation::Stack", "UPDATE_COMPLETE", "", -610, NETWORK
)
ROOT_EVENTS = [
    _event(ROOT, "shop", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", "", 90, ROOT),
    _event(
        ROOT,
        "Network",
        "AWS::CloudFormation::Stack",
        "UPDATE_FAILED",
        f"Embedded stack {NETWORK} was not successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with "
        "reason: The following resource(s) failed to create: [NatGateway1].",
        31,
        NETWORK,
    ),
    _event(ROOT, "shop", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated", 1, ROOT),
    OLD_ROOT_EVENT,
]
NETWORK_EVENTS = [
    _event(
        NETWORK, "shop-Network-1X2Y3Z4W5V6U", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", "", 80, NETWORK
    ),
    _event(NETWORK, "NatGateway2", "AWS::EC2::NatGateway", "CREATE_FAILED", "Resource creation cancelled", 30),
    _event(
        NETWORK,
        "NatGateway1",
        "AWS::EC2::NatGateway",
        "CREATE_FAILED",
        'Resource handler returned message: "The maximum number of addresses has been reached. '
        '(Service: Ec2, Status Code: 400, Request ID: 5e1c2d3a-4b5c-6d7e-8f90-a1b2c3d4e5f6)"',
        29,
    ),
    _event(NETWORK, "NatGateway1", "AWS::EC2::NatGateway", "CREATE_IN_PROGRESS", "", 10),
    _event(NETWORK, "shop-Network-1X2Y3Z4W5V6U", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "", 5, NETWORK),
    OLD_NETWORK_EVENT,
]


def stack(status: str, name: str = "shop", stack_arn: str = ROOT) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": stack_arn,
                "StackName": name,
                "CreationTime": T0 - timedelta(days=3),
                "LastUpdatedTime": T0 - timedelta(minutes=10),
                "StackStatus": status,
            }
        ]
    }


def nested_resource(logical_id: str, physical_id: str, status: str = "UPDATE_COMPLETE") -> dict[str, Any]:
    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical_id,
                "PhysicalResourceId": physical_id,
                "ResourceType": "AWS::CloudFormation::Stack",
                "LastUpdatedTimestamp": T0,
                "ResourceStatus": status,
            }
        ]
    }


NO_RESOURCES: dict[str, Any] = {"StackResourceSummaries": []}

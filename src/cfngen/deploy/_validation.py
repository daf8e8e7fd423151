"""CloudFormation's early validation of a change set, read before execution.

Since November 2025 CloudFormation validates a change set when it is created (names that already
exist, buckets that are not empty, ...) and marks it FAILED or attaches warnings; the details come
only from DescribeEvents with the change set's name and the failed-events filter
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeEvents.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-change-sets-early-validation.html).
An endpoint without the action (an older emulator) answers with an error: there is then nothing to show.
"""

from __future__ import annotations

from typing import Any

from cfngen.deploy._plan import ValidationFinding
from cfngen.deploy._protections import stack_name

# Error codes of an endpoint that does not know DescribeEvents (older partitions, emulators).
UNSUPPORTED = ("InvalidAction", "UnknownOperation", "UnknownOperationException", "NotImplemented")
# How the embedded emulator (moto) says that it lacks an action.
NOT_IMPLEMENTED = "has not been implemented"


def findings(cloudformation: Any, change_set_id: str) -> tuple[ValidationFinding, ...]:
    """The early-validation failures and warnings of a change set (nested stacks' included), oldest first."""
    from botocore.exceptions import ClientError

    found = []
    token: str | None = None
    try:
        while True:
            page = cloudformation.describe_events(
                ChangeSetName=change_set_id, Filters={"FailedEvents": True}, **({"NextToken": token} if token else {})
            )
            found += [
                _finding(event)
                for event in page.get("OperationEvents", [])
                if event.get("EventType") == "VALIDATION_ERROR"
            ]
            token = page.get("NextToken")
            if not token:
                return tuple(found)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in UNSUPPORTED or NOT_IMPLEMENTED in str(error.get("Message", "")):
            return ()
        raise


def _finding(event: dict[str, Any]) -> ValidationFinding:
    return ValidationFinding(
        stack=stack_name(str(event.get("StackId", ""))),
        logical_id=str(event.get("LogicalResourceId", "")),
        resource_type=str(event.get("ResourceType", "")),
        mode=str(event.get("ValidationFailureMode", "FAIL")),
        name=str(event.get("ValidationName", "")),
        reason=str(event.get("ValidationStatusReason") or event.get("ResourceStatusReason") or ""),
    )

"""Stack drift detection for the emulator: moto has none of DetectStackDrift and the calls that read its result.

Emulator: moto answers "not implemented" to DetectStackDrift, DescribeStackDriftDetectionStatus and
DescribeStackResourceDrifts.
AWS: (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/detect-drift-stack.html)
DetectStackDrift compares each resource's live properties with the properties the stack's template
and parameters give it, on that stack only (a nested stack's own resources need a detection on the
nested stack); resource types without drift support are NOT_CHECKED. The detection runs in the
background; DescribeStackDriftDetectionStatus says when it is done and whether the stack DRIFTED, and
DescribeStackResourceDrifts gives each resource's status with its property differences.

What this model does: the same calls with the same shapes, answered at once (the detection is
DETECTION_COMPLETE when it is first asked about). It reads live values from moto's service backends
for the few properties below, the ones an operator edits by hand in practice (a log group's retention,
a service's desired count, a parameter's value); every other resource is NOT_CHECKED, as a type
without drift support is on AWS. Template values are resolved with moto's own intrinsic-function
resolution over the stack's resources and parameters.
Test: tests/test_drift.py::test_a_hand_edit_is_drift_with_template_and_live_values
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from cfngen.local.patches import Target

# Resource type -> (backend lookup of the live resource by physical id -> {property: live value}).
Reader = Callable[[str, str, str], dict[str, Any] | None]
_DETECTIONS: dict[str, dict[str, Any]] = {}
TARGETS = tuple(
    Target(f"moto.cloudformation.responses:CloudFormationResponse.{action}", "")
    for action in ("detect_stack_drift", "describe_stack_drift_detection_status", "describe_stack_resource_drifts")
)


def apply() -> None:
    """Add the three drift calls to moto's CloudFormation responses (in the emulator's process only)."""
    from moto.cloudformation import responses

    setattr(responses.CloudFormationResponse, "detect_stack_drift", _detect_stack_drift)
    setattr(responses.CloudFormationResponse, "describe_stack_drift_detection_status", _detection_status)
    setattr(responses.CloudFormationResponse, "describe_stack_resource_drifts", _resource_drifts)


def _log_group(account: str, region: str, physical_id: str) -> dict[str, Any] | None:
    from moto.logs.models import logs_backends

    group = logs_backends[account][region].groups.get(physical_id)
    return None if group is None else {"RetentionInDays": group.retention_in_days}


def _ecs_service(account: str, region: str, physical_id: str) -> dict[str, Any] | None:
    from moto.ecs.models import ecs_backends

    for service in ecs_backends[account][region].services.values():
        if physical_id in (getattr(service, "arn", None), service.name):
            return {"DesiredCount": service.desired_count}
    return None


def _ssm_parameter(account: str, region: str, physical_id: str) -> dict[str, Any] | None:
    from moto.ssm.models import ssm_backends

    parameter = ssm_backends[account][region].get_parameter(physical_id)
    return None if parameter is None else {"Value": parameter.value}


READERS: Mapping[str, Reader] = {
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ECS::Service": _ecs_service,
    "AWS::SSM::Parameter": _ssm_parameter,
}


def _detect_stack_drift(response: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    drifts = [
        _drift(stack, logical_id, resource, response.current_account, response.region)
        for logical_id, resource in stack.template_dict.get("Resources", {}).items()
    ]
    detection_id = str(uuid.uuid4())
    _DETECTIONS[detection_id] = {
        "stack": stack,
        "drifts": [drift for drift in drifts if drift is not None],
        "timestamp": datetime.now(timezone.utc),
    }
    return ActionResult({"StackDriftDetectionId": detection_id})


def _detection_status(response: Any) -> Any:
    from moto.core.responses import ActionResult

    detection_id = response._get_param("StackDriftDetectionId")
    detection = _DETECTIONS[detection_id]
    drifted = [drift for drift in detection["drifts"] if drift["StackResourceDriftStatus"] == "MODIFIED"]
    return ActionResult(
        {
            "StackId": detection["stack"].stack_id,
            "StackDriftDetectionId": detection_id,
            "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": len(drifted),
            "Timestamp": detection["timestamp"],
        }
    )


def _resource_drifts(response: Any) -> Any:
    from moto.core.responses import ActionResult

    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    wanted = set(response._get_param("StackResourceDriftStatusFilters") or [])
    latest = [detection for detection in _DETECTIONS.values() if detection["stack"].stack_id == stack.stack_id]
    drifts = max(latest, key=lambda detection: detection["timestamp"])["drifts"] if latest else []
    return ActionResult(
        {
            "StackResourceDrifts": [
                drift for drift in drifts if not wanted or drift["StackResourceDriftStatus"] in wanted
            ]
        }
    )


def _drift(
    stack: Any, logical_id: str, resource: Mapping[str, Any], account: str, region: str
) -> dict[str, Any] | None:
    from moto.cloudformation.parsing import clean_json

    # Not .get(): moto's ResourceMap parses (and so creates) a resource on lookup; `in` only reads the template.
    model = stack.resource_map[logical_id] if logical_id in stack.resource_map else None  # noqa: SIM401
    if model is None:
        return None
    physical_id = str(getattr(model, "physical_resource_id", ""))
    reader = READERS.get(resource.get("Type", ""))
    live = reader(account, region, physical_id) if reader else None
    drift: dict[str, Any] = {
        "StackId": stack.stack_id,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "ResourceType": resource.get("Type", ""),
        "Timestamp": datetime.now(timezone.utc),
        "StackResourceDriftStatus": "NOT_CHECKED",
    }
    if live is None:
        return drift
    declared = resource.get("Properties", {})
    expected = {name: clean_json(declared[name], stack.resource_map) for name in live if name in declared}
    actual = {name: live[name] for name in expected}
    differences = [
        {
            "PropertyPath": f"/{name}",
            "ExpectedValue": str(expected[name]),
            "ActualValue": str(actual[name]),
            "DifferenceType": "NOT_EQUAL",
        }
        for name in expected
        if str(expected[name]) != str(actual[name])
    ]
    drift.update(
        ExpectedProperties=json.dumps(expected),
        ActualProperties=json.dumps(actual),
        PropertyDifferences=differences,
        StackResourceDriftStatus="MODIFIED" if differences else "IN_SYNC",
    )
    return drift

"""Drift: which resources of a stack tree were changed outside CloudFormation, property by property.

CloudFormation detects drift one stack at a time: a detection on the root does not look into its
nested stacks (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/detect-drift-stack.html),
so :func:`detect` starts one detection on every stack of the tree, then waits for each.

Some values change by design, and reporting them would bury real drift under noise every day:
an ECS service's desired count under Application Auto Scaling (the scaling policy sets it:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-auto-scaling.html), and, during a
blue/green deployment, the listeners' actions and target-group weights and the properties CodeDeploy
owns on the service (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-bluegreen.html).
:func:`managed_on_purpose` names them; the report lists them apart as "managed by AWS".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cfngen._text import visible
from cfngen.deploy import _tree
from cfngen.facts.resource_types import CODE_DEPLOY_OWNED_PROPERTIES

ECS_SERVICE = "AWS::ECS::Service"
LISTENER_TYPES = {
    "AWS::ElasticLoadBalancingV2::Listener": "DefaultActions",
    "AWS::ElasticLoadBalancingV2::ListenerRule": "Actions",
}
SCALES_DESIRED_COUNT = "ecs:service:DesiredCount"
FINISHED = ("DETECTION_COMPLETE", "DETECTION_FAILED")


@dataclass(frozen=True)
class PropertyDrift:
    """One property whose live value differs from the template's."""

    path: str
    expected: str
    actual: str
    difference: str
    managed_by: str = ""  # why AWS changes this value on purpose; empty for real drift


@dataclass(frozen=True)
class ResourceDrift:
    """A resource that drifted (MODIFIED, or DELETED outside CloudFormation)."""

    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    status: str
    properties: tuple[PropertyDrift, ...] = ()

    @property
    def drifted(self) -> bool:
        """True unless every differing property is one AWS manages on purpose."""
        return self.status == "DELETED" or any(not prop.managed_by for prop in self.properties)


@dataclass(frozen=True)
class DriftReport:
    """Drift of every stack of one tree: the stacks' own status and each resource that differs."""

    stack_name: str
    region: str
    stacks: tuple[tuple[str, str], ...]  # (stack path, detection status: DRIFTED, IN_SYNC, or why it failed)
    resources: tuple[ResourceDrift, ...] = ()

    @property
    def has_drift(self) -> bool:
        """True when some resource drifted in a way AWS does not do on purpose."""
        return any(resource.drifted for resource in self.resources)

    def render(self) -> str:
        """Drifted resources with their properties (expected -> actual), then what AWS manages on purpose."""
        drifted = [resource for resource in self.resources if resource.drifted]
        lines = [
            f"stack {self.stack_name} ({self.region}): {len(self.stacks)} stacks checked, "
            f"{len(drifted)} resource{'s' if len(drifted) != 1 else ''} drifted"
        ]
        for resource in drifted:
            lines.append(
                f"  {resource.stack} {resource.logical_id} {resource.resource_type} {resource.physical_id} "
                f"{resource.status}"
            )
            # Live values may hold any character (a policy document spans lines): each shows escaped, on one line.
            lines += [
                f"    {prop.path}: template {visible(prop.expected)} -> live {visible(prop.actual)}"
                for prop in resource.properties
                if not prop.managed_by
            ]
        managed = [(resource, prop) for resource in self.resources for prop in resource.properties if prop.managed_by]
        if managed:
            lines.append("not drift (values AWS changes on purpose):")
            lines += [
                f"  {resource.stack} {resource.logical_id} {prop.path}: {visible(prop.actual)} ({prop.managed_by})"
                for resource, prop in managed
            ]
        failed = [(path, status) for path, status in self.stacks if status not in ("DRIFTED", "IN_SYNC")]
        lines += [f"  {path}: detection {status}" for path, status in failed]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "has_drift": self.has_drift,
            **asdict(self),
            "stacks": [{"stack": path, "status": status} for path, status in self.stacks],
        }


def detect(
    cloudformation: Any,
    stack: Mapping[str, Any],
    region: str,
    wait: Callable[[Callable[[float], dict[str, Any] | None], str], dict[str, Any]],
) -> DriftReport:
    """Detect drift on every stack under the root `stack` (a DescribeStacks entry).

    `wait(check, what)` calls check(elapsed) until it returns the finished detection status.
    """
    tree = list(_tree.stacks(cloudformation, stack["StackId"], stack["StackName"]))
    started = [
        (path, stack_id, cloudformation.detect_stack_drift(StackName=stack_id)["StackDriftDetectionId"])
        for path, stack_id in tree
    ]  # all at once: AWS runs them side by side
    templates = {path: _tree.template(cloudformation, stack_id) for path, stack_id in tree}
    blue_green = any(
        _blue_green(resource) for template in templates.values() for resource in template.get("Resources", {}).values()
    )
    statuses: list[tuple[str, str]] = []
    resources: list[ResourceDrift] = []
    for path, stack_id, detection_id in started:

        def check(elapsed: float, detection_id: str = detection_id) -> dict[str, Any] | None:
            status: dict[str, Any] = cloudformation.describe_stack_drift_detection_status(
                StackDriftDetectionId=detection_id
            )
            return status if status["DetectionStatus"] in FINISHED else None

        status = wait(check, f"detecting drift on {path}")
        statuses.append(
            (
                path,
                str(status.get("StackDriftStatus"))
                if status["DetectionStatus"] == "DETECTION_COMPLETE"
                else f"FAILED: {status.get('DetectionStatusReason', 'no reason given')}",
            )
        )
        resources += [_resource(path, raw, templates[path], blue_green) for raw in _drifts(cloudformation, stack_id)]
    return DriftReport(stack["StackName"], region, tuple(statuses), tuple(resources))


def managed_on_purpose(
    template: Mapping[str, Any], logical_id: str, resource_type: str, path: str, blue_green: bool
) -> str:
    """Why AWS itself changes property `path` ("/DesiredCount") of this resource; empty when it does not."""
    name = path.strip("/").split("/")[0]
    resources = template.get("Resources", {})
    if (
        resource_type == ECS_SERVICE
        and name == "DesiredCount"
        and any(
            resource.get("Type") == "AWS::ApplicationAutoScaling::ScalableTarget"
            and resource.get("Properties", {}).get("ScalableDimension") == SCALES_DESIRED_COUNT
            for resource in resources.values()
        )
    ):
        return "Application Auto Scaling sets the desired count"
    if (
        resource_type == ECS_SERVICE
        and name in CODE_DEPLOY_OWNED_PROPERTIES
        and _blue_green(resources.get(logical_id, {}))
    ):
        return "the blue/green deployment sets it"
    if blue_green and LISTENER_TYPES.get(resource_type) == name:
        return "blue/green deployments shift traffic by rewriting the listener's actions"
    return ""


def _blue_green(resource: Mapping[str, Any]) -> bool:
    """An ECS service deployed blue/green, by CodeDeploy or by ECS itself."""
    if resource.get("Type") != ECS_SERVICE:
        return False
    properties = resource.get("Properties", {})
    return bool(
        properties.get("DeploymentController", {}).get("Type") == "CODE_DEPLOY"
        or properties.get("DeploymentConfiguration", {}).get("Strategy") == "BLUE_GREEN"
    )


def _drifts(cloudformation: Any, stack_id: str) -> list[dict[str, Any]]:
    drifts: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = cloudformation.describe_stack_resource_drifts(
            StackName=stack_id,
            StackResourceDriftStatusFilters=["MODIFIED", "DELETED"],
            **({"NextToken": token} if token else {}),
        )
        drifts += page.get("StackResourceDrifts", [])
        token = page.get("NextToken")
        if not token:
            return drifts


def _resource(path: str, raw: Mapping[str, Any], template: Mapping[str, Any], blue_green: bool) -> ResourceDrift:
    logical_id, resource_type = raw["LogicalResourceId"], raw["ResourceType"]
    properties = tuple(
        PropertyDrift(
            path=difference["PropertyPath"],
            expected=difference.get("ExpectedValue", ""),
            actual=difference.get("ActualValue", ""),
            difference=difference.get("DifferenceType", ""),
            managed_by=managed_on_purpose(template, logical_id, resource_type, difference["PropertyPath"], blue_green),
        )
        for difference in raw.get("PropertyDifferences", [])
    )
    return ResourceDrift(
        stack=path,
        logical_id=logical_id,
        resource_type=resource_type,
        physical_id=raw.get("PhysicalResourceId", ""),
        status=raw["StackResourceDriftStatus"],
        properties=properties,
    )

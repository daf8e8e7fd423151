"""Tear-down: what deleting a stack tree deletes and keeps, the known hang taken out of its way, the deletion.

CloudFormation deletes a stack tree in one ``DeleteStack`` on the root; nested stacks go with it.
What it keeps is written in the templates: a resource whose ``DeletionPolicy`` is ``Retain`` (or
``RetainExceptOnCreate``) stays with its data, one whose policy is ``Snapshot`` is deleted after a final
snapshot (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
:func:`inventory` reads the deployed templates (GetTemplate), not the local blueprint, so that it
lists what the stack really holds.

The known hang: an Auto Scaling group whose instances are protected from scale-in (as an ECS capacity
provider with managed termination protection wants them) cannot be deleted: CloudFormation waits for
instances that never terminate until the deletion fails hours later
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/managed-termination-protection.html,
https://github.com/aws/containers-roadmap/issues/631). :func:`release_scale_in_protection` turns the
protection off, for new instances and for the running ones, before the deletion starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from cfngen.deploy import _tree

AUTO_SCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
KEPT = {"Retain": "retained", "RetainExceptOnCreate": "retained", "Snapshot": "snapshot kept"}
# One command removes any retained resource whose type the Cloud Control API supports (the identifier is
# the physical id CloudFormation reports): https://docs.aws.amazon.com/cloudcontrolapi/latest/userguide/resource-operations-delete.html
REMOVE = "aws cloudcontrol delete-resource --type-name {type} --identifier {physical_id} --region {region}"
# Where a plain delete is refused while the resource holds data, say how to empty it first.
EMPTY_FIRST = {
    "AWS::S3::Bucket": "empty it first: aws s3 rm s3://{physical_id} --recursive (and its object versions)",
    "AWS::ECR::Repository": "or, images included: aws ecr delete-repository --repository-name {physical_id} --force",
}
SNAPSHOTS = (
    "its final snapshot stays until you delete it: aws rds describe-db-cluster-snapshots "
    "--db-cluster-identifier {physical_id} --snapshot-type manual --region {region}"
)


@dataclass(frozen=True)
class Kept:
    """A resource that deleting the tree leaves behind (or leaves a snapshot of)."""

    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    deletion_policy: str

    def removal(self, region: str) -> str:
        """How to remove it (or its snapshot) once the stack is gone."""
        values = {"type": self.resource_type, "physical_id": self.physical_id, "region": region}
        if self.deletion_policy == "Snapshot":
            return SNAPSHOTS.format(**values)
        hint = EMPTY_FIRST.get(self.resource_type)
        return REMOVE.format(**values) + (f"  ({hint.format(**values)})" if hint else "")


@dataclass(frozen=True)
class Teardown:
    """What `destroy` is about to do to one stack tree: every stack and resource it deletes, what it keeps."""

    stack_name: str
    stack_id: str
    region: str
    stack_status: str
    termination_protection: bool
    stacks: tuple[str, ...] = ()
    deleted: tuple[tuple[str, str, str], ...] = ()  # (stack, logical id, type)
    kept: tuple[Kept, ...] = ()
    protected_groups: tuple[str, ...] = ()  # Auto Scaling groups whose scale-in protection goes

    def render(self) -> str:
        """The list a person confirms: what goes, what stays and why."""
        lines = [
            f"stack {self.stack_name} ({self.region}, {self.stack_status}): {len(self.stacks)} stacks, "
            f"{len(self.deleted)} resources to delete, {len(self.kept)} kept"
        ]
        width = max(len(word) for word in ("delete", *KEPT.values()))
        lines += [
            f"  {'delete':<{width}}  {stack} {logical_id} {resource_type}"
            for stack, logical_id, resource_type in self.deleted
        ]
        lines += [
            f"  {KEPT[kept.deletion_policy]:<{width}}  {kept.stack} {kept.logical_id} {kept.resource_type} "
            f"{kept.physical_id} (DeletionPolicy {kept.deletion_policy})"
            for kept in self.kept
        ]
        if self.termination_protection:
            lines.append("termination protection is on: destroy turns it off, then deletes")
        lines += [
            f"Auto Scaling group {group}: instance scale-in protection is turned off first, "
            "or CloudFormation waits on protected instances"
            for group in self.protected_groups
        ]
        return "\n".join(lines)

    def removals(self) -> str:
        """Each kept resource with how to remove it."""
        return "\n".join(
            f"  {kept.stack} {kept.logical_id} {kept.resource_type} {kept.physical_id}\n    {kept.removal(self.region)}"
            for kept in self.kept
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (kept resources with their removal command)."""
        data = asdict(self)
        data["kept"] = [{**asdict(kept), "removal": kept.removal(self.region)} for kept in self.kept]
        data["deleted"] = [dict(zip(("stack", "logical_id", "resource_type"), row)) for row in self.deleted]
        return data


def inventory(cloudformation: Any, stack: Mapping[str, Any], region: str) -> Teardown:
    """Everything under the root `stack` (a DescribeStacks entry), read from the deployed templates."""
    deleted: list[tuple[str, str, str]] = []
    kept: list[Kept] = []
    groups: list[str] = []
    stacks: list[str] = []
    for path, stack_id in _tree.stacks(cloudformation, stack["StackId"], stack["StackName"]):
        stacks.append(path)
        policies = {
            logical_id: str(resource.get("DeletionPolicy", "Delete"))
            for logical_id, resource in _tree.template(cloudformation, stack_id).get("Resources", {}).items()
        }
        for resource in _tree.resources(cloudformation, stack_id):
            logical_id, resource_type = resource["LogicalResourceId"], resource["ResourceType"]
            physical_id = resource.get("PhysicalResourceId", "")
            policy = policies.get(logical_id, "Delete")  # no DeletionPolicy written: Delete
            if policy in KEPT:
                kept.append(Kept(path, logical_id, resource_type, physical_id, policy))
            if policy not in KEPT or policy == "Snapshot":
                deleted.append((path, logical_id, resource_type))
            if resource_type == AUTO_SCALING_GROUP and physical_id:
                groups.append(physical_id)
    return Teardown(
        stack_name=stack["StackName"],
        stack_id=stack["StackId"],
        region=region,
        stack_status=stack["StackStatus"],
        termination_protection=bool(stack.get("EnableTerminationProtection")),
        stacks=tuple(stacks),
        deleted=tuple(deleted),
        kept=tuple(kept),
        protected_groups=tuple(groups),
    )


def release_scale_in_protection(autoscaling: Any, groups: tuple[str, ...]) -> list[str]:
    """Stop protecting new and running instances of `groups` from scale-in; returns the instances released."""
    released: list[str] = []
    if not groups:
        return released
    described = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=list(groups))["AutoScalingGroups"]
    for group in described:
        name = group["AutoScalingGroupName"]
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, NewInstancesProtectedFromScaleIn=False)
        protected = [
            instance["InstanceId"] for instance in group.get("Instances", []) if instance.get("ProtectedFromScaleIn")
        ]
        # SetInstanceProtection takes at most 50 instances per call.
        for start in range(0, len(protected), 50):
            autoscaling.set_instance_protection(
                AutoScalingGroupName=name, InstanceIds=protected[start : start + 50], ProtectedFromScaleIn=False
            )
        released += protected
    return released

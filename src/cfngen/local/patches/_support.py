"""What the patches share: the placeholder model, the reasons its events give, and how an event is added."""

from __future__ import annotations

from typing import Any

NOT_EMULATED = "not-emulated"
NOT_EMULATED_REASON = "not created: the local AWS emulator (moto) does not model {type}; a placeholder stands in for it"
ATTRIBUTE_PREFIX = "attribute "
ATTRIBUTE_REASON = (
    ATTRIBUTE_PREFIX + "{attribute} not emulated: the local AWS emulator (moto) does not give it for "
    "{type}; a placeholder value stands in"
)
NOT_RUN_REASON = (
    "not run: the local AWS emulator (moto) does not run the code behind {type} (its ServiceToken); a placeholder "
    "stands in, its attributes placeholder values"
)
STAND_IN_MARK = "the local AWS emulator (moto)"  # in every reason above
EMULATOR_FAILURE = "EmulatorFailure"
EMULATOR_FAILURE_MESSAGE = "the local AWS emulator (moto) failed on this request: {error}"


def announce(
    account_id: str,
    region_name: str,
    stack_id: str,
    resource: Any,
    status: str,
    reason: str | None,
    once: bool = False,
) -> None:
    """Add an event about `resource` to its stack, so the deploy output shows what the emulator did (or did not do).

    With `once`, not when the stack has that event already (moto resolves a GetAtt each time a value is read).
    """
    from moto.cloudformation.models import Event, cloudformation_backends

    stack = cloudformation_backends[account_id][region_name].stacks.get(stack_id)
    if stack is None:
        return
    if once and any(
        event.logical_resource_id == resource.logical_resource_id and event.resource_status_reason == reason
        for event in stack.events
    ):
        return
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=resource.logical_resource_id,
            physical_resource_id=getattr(resource, "physical_resource_id", ""),
            resource_type=resource.cf_resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def live_stack(backend: Any, name_or_stack_id: str) -> Any:
    """The stack (not deleted) of that id or name in a CloudFormation backend, or None."""
    stacks = backend.stacks
    return stacks.get(name_or_stack_id) or next(
        (stack for stack in stacks.values() if stack.name == name_or_stack_id), None
    )


class NotEmulated:
    """Placeholder for a resource of a type the emulator does not model; it only records that it exists."""

    REASON = NOT_EMULATED_REASON  # what its event says

    def __init__(self, logical_id: str, resource_type: str, region: str = "", account: str = "") -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = f"{NOT_EMULATED}:{logical_id}"
        self.region = region
        self.account = account

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> NotEmulated:
        """Called by moto's template parser, for a type it does not model, instead of a real model."""
        resource_type = kwargs["ResourceType"]
        resource = cls(kwargs["LogicalId"], resource_type, region_name, account_id)
        announce(
            account_id,
            region_name,
            kwargs["StackId"],
            resource,
            "CREATE_COMPLETE",
            cls.REASON.format(type=resource_type),
        )
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: NotEmulated,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> NotEmulated:
        """Nothing to update: the placeholder has no state."""
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        """Nothing to delete."""

    def is_created(self) -> bool:
        """Ready at once."""
        return True

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        """Every attribute exists, with a visibly fake value."""
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        """The attribute's placeholder value (placeholder_attribute)."""
        return placeholder_attribute(self.logical_resource_id, attribute, self.region, self.account)


def placeholder_attribute(logical_id: str, attribute: str, region: str, account: str) -> str:
    """`not-emulated:<LogicalId>.<Attribute>`, or for an ARN attribute (its name ends in "Arn") an ARN of AWS's shape,
    `arn:aws:not-emulated:<region>:<account>:<LogicalId>:<Attribute>`: a template may split an ARN on ':' to take
    its resource id (AWS::RDS::DBProxy's DBProxyArn is the only way to its prx- id), and that works as on AWS.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"""
    if attribute.endswith("Arn"):
        return f"arn:aws:{NOT_EMULATED}:{region}:{account}:{logical_id}:{attribute}"
    return f"{NOT_EMULATED}:{logical_id}.{attribute}"


class ResourceFailed(Exception):
    """A resource of a stack failed to create or update; its event is added already."""

    def __init__(self, stack_id: str, logical_id: str, reason: str) -> None:
        super().__init__(f"{logical_id}: {reason}")
        self.stack_id = stack_id
        self.logical_id = logical_id
        self.reason = reason

"""What a stack's current status allows: create, update, replace a failed create, wait, or a person's attention."""

from __future__ import annotations

from enum import Enum

from cfngen.errors import DeployError

UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)


class Next(Enum):
    """The step a stack status leads to."""

    CREATE = "CREATE"
    UPDATE = "UPDATE"
    RECREATE = "RECREATE"
    WAIT = "WAIT"


def next_step(stack_name: str, status: str | None, *, region: str, replace_failed: bool = False) -> Next:
    """What to do with a stack in `status` (None: it does not exist); DeployError when a person must act first."""
    if status is None or status == "REVIEW_IN_PROGRESS":
        return Next.CREATE
    if status in UPDATABLE:
        return Next.UPDATE
    if status.endswith("_IN_PROGRESS"):
        return Next.WAIT
    if status == "ROLLBACK_COMPLETE":
        if replace_failed:
            return Next.RECREATE
        raise DeployError(
            f"stack {stack_name} is ROLLBACK_COMPLETE: its first create failed and it cannot be updated. "
            "Run again with --replace-failed to delete it and create it anew (its events show why it failed)"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        raise DeployError(
            f"stack {stack_name} is UPDATE_ROLLBACK_FAILED: a rollback could not finish. Fix the cause shown in "
            f"its events, then run:\n  aws cloudformation continue-update-rollback --stack-name {stack_name} "
            f"--region {region}\n(add --resources-to-skip LOGICAL_ID for resources that cannot roll back)"
        )
    raise DeployError(
        f"stack {stack_name} is {status}; cfngen cannot deploy to it. "
        "Look at its events in the CloudFormation console, fix or delete it, then run again"
    )

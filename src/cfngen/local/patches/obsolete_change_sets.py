"""Executing a change set makes the stack's other change sets OBSOLETE, and those can no longer be executed.

Emulator: moto leaves them AVAILABLE, so a stale plan applies over someone else's update and, of two concurrent
deploys, both report success and one update is silently lost.
AWS: ExecutionStatus "OBSOLETE: The execution of the change set is obsolete because the stack was updated"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ChangeSetSummary.html); executing one is
refused with InvalidChangeSetStatus
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html#API_ExecuteChangeSet_Errors).
Test: tests/test_local_aws.py::test_an_update_sets_last_updated_time_and_makes_other_change_sets_obsolete
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),)


def apply() -> None:
    """Wrap ChangeSet execution."""
    from moto.cloudformation import models

    setattr(
        models.CloudFormationBackend, "execute_change_set", _obsoleting(models.CloudFormationBackend.execute_change_set)
    )


def _obsoleting(execute: Callable[..., None]) -> Callable[..., None]:
    def execute_available_only(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        from moto.core.exceptions import ServiceException

        class InvalidChangeSetStatus(ServiceException):
            code = "InvalidChangeSetStatus"

        change_set = backend.describe_change_set(change_set_name)
        if change_set.execution_status != "AVAILABLE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]"
            )
        for other in backend.change_sets.values():
            if other.stack_id == change_set.stack_id and other is not change_set:
                other.execution_status = "OBSOLETE"
        # AWS: DescribeChangeSet says EXECUTE_IN_PROGRESS while the change set runs (the execution sets the outcome).
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        try:
            execute(backend, change_set_name, stack_name)
        except Exception:  # refused (not executed)
            change_set.execution_status = "AVAILABLE"
            raise

    return execute_available_only

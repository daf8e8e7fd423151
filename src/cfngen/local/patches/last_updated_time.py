"""A stack's LastUpdatedTime is set by every update (and its rollback).

Emulator: moto never sets it, so a plan cannot see that someone else updated the stack since.
AWS: "LastUpdatedTime: The time the stack was last updated. This field will only be returned if the stack has been
updated at least once." (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html).
Test: tests/test_local_aws.py::test_an_update_sets_last_updated_time_and_makes_other_change_sets_obsolete
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.cloudformation.models:Stack.last_updated_time", ""),
    Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),
)


def apply() -> None:
    """Wrap ChangeSet execution (after the rollback patch: a rolled-back update was an update too)."""
    from moto.cloudformation import models

    setattr(models.Stack, "last_updated_time", None)  # moto's serializer reads it as LastUpdatedTime
    setattr(
        models.CloudFormationBackend, "execute_change_set", _stamped(models.CloudFormationBackend.execute_change_set)
    )


def _stamped(execute: Callable[..., None]) -> Callable[..., None]:
    def execute_and_stamp(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        from moto.core.utils import utcnow

        change_set = backend.describe_change_set(change_set_name)
        execute(backend, change_set_name, stack_name)
        if change_set.change_set_type == "UPDATE":
            backend.stacks[change_set.stack_id].last_updated_time = utcnow()

    return execute_and_stamp

"""An operation on a stack while another is in progress is refused, as AWS refuses it.

Emulator: moto runs two executions of one stack at once (its server answers requests in parallel threads), and never
shows a stack in progress.
AWS: the stack is in ``*_IN_PROGRESS`` while it changes, and an update then fails with ValidationError
"Stack:<arn> is in UPDATE_IN_PROGRESS state and can not be updated."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
Test: tests/test_local_aws.py::test_an_operation_while_another_is_in_progress_is_refused
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),
    Target("moto.cloudformation.models:CloudFormationBackend.create_change_set", "4668670ac84b203d"),
)
_LOCK = threading.Lock()  # check-and-set of a stack's status, across the server's request threads


def apply() -> None:
    """Wrap ChangeSet creation and execution."""
    from moto.cloudformation import models

    backend = models.CloudFormationBackend
    setattr(backend, "execute_change_set", _exclusive(backend.execute_change_set))
    setattr(backend, "create_change_set", _refused_while_busy(backend.create_change_set))


def busy(stack: Any) -> bool:
    """Whether an operation runs on `stack` (REVIEW_IN_PROGRESS only waits for one)."""
    return bool(stack.status.endswith("_IN_PROGRESS")) and stack.status != "REVIEW_IN_PROGRESS"


def refusal(stack: Any) -> Exception:
    """AWS's ValidationError for an operation on a stack that is busy."""
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


def _exclusive(execute: Callable[..., None]) -> Callable[..., None]:
    def execute_alone(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = backend.describe_change_set(change_set_name)
        stack = backend.stacks[change_set.stack_id]
        with _LOCK:
            if busy(stack):
                raise refusal(stack)
            before, stack.status = stack.status, f"{change_set.change_set_type}_IN_PROGRESS"
        try:
            execute(backend, change_set_name, stack_name)
        except Exception:  # refused (not executed): the stack is as it was
            stack.status = before
            raise

    return execute_alone


def _refused_while_busy(create_change_set: Callable[..., tuple[str, str]]) -> Callable[..., tuple[str, str]]:
    def create_unless_busy(backend: Any, stack_name: str, *args: Any, **kwargs: Any) -> tuple[str, str]:
        with _LOCK:
            for stack in backend.stacks.values():
                if stack.name == stack_name and busy(stack):
                    raise refusal(stack)
        return create_change_set(backend, stack_name, *args, **kwargs)

    return create_unless_busy

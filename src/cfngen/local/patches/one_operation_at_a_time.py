"""An operation on a stack while another is in progress is refused, as AWS refuses it.

Emulator: moto runs two executions of one stack at once (its server answers requests in parallel threads), and never
shows a stack in progress.
AWS: the stack is in ``*_IN_PROGRESS`` while it changes; an update (a change set, its execution, UpdateStack) then
fails with ValidationError "Stack:<arn> is in UPDATE_IN_PROGRESS state and can not be updated.", a deletion with
ValidationError "Stack [<arn>] cannot be deleted while in status UPDATE_IN_PROGRESS", and a deletion of a stack being
deleted already changes nothing
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-update-rollback-failed,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html).
AWS cancels a create in progress when the stack is deleted; the emulator, whose create runs in one request, refuses
that deletion like the others (the README lists it).
Test: tests/test_local_aws.py::test_an_operation_while_another_is_in_progress_is_refused,
tests/test_local_aws.py::test_update_stack_and_delete_stack_are_refused_while_another_operation_runs
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import live_stack

TARGETS = (
    Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),
    Target("moto.cloudformation.models:CloudFormationBackend.create_change_set", "4668670ac84b203d"),
    Target("moto.cloudformation.models:CloudFormationBackend.update_stack", "83a62d954ef05565"),
    Target("moto.cloudformation.models:CloudFormationBackend.delete_stack", "d0113177c342c294"),
)
_LOCK = threading.Lock()  # check-and-set of a stack's status, across the server's request threads


def apply() -> None:
    """Wrap ChangeSet creation and execution, UpdateStack and DeleteStack (after stack_deletion replaced it)."""
    from moto.cloudformation import models

    backend = models.CloudFormationBackend
    setattr(backend, "execute_change_set", _exclusive(backend.execute_change_set))
    setattr(backend, "create_change_set", _refused_while_busy(backend.create_change_set))
    setattr(backend, "update_stack", _update_alone(backend.update_stack))
    setattr(backend, "delete_stack", _delete_alone(backend.delete_stack))


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


def _update_alone(update_stack: Callable[..., Any]) -> Callable[..., Any]:
    def update_unless_busy(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        stack = live_stack(backend, name)
        if stack is None:
            return update_stack(backend, name, *args, **kwargs)  # moto's "does not exist"
        with _LOCK:
            if busy(stack):
                raise refusal(stack)
            before, stack.status = stack.status, "UPDATE_IN_PROGRESS"
        try:
            return update_stack(backend, name, *args, **kwargs)
        except Exception:
            stack.status = before
            raise

    return update_unless_busy


def _delete_alone(delete_stack: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
    def delete_unless_busy(backend: Any, name_or_stack_id: str) -> None:
        from moto.cloudformation.exceptions import ValidationError

        stack = live_stack(backend, name_or_stack_id)
        if stack is None:
            return delete_stack(backend, name_or_stack_id)
        with _LOCK:
            if stack.status == "DELETE_IN_PROGRESS":
                return None  # being deleted: another DeleteStack changes nothing
            if busy(stack):
                raise ValidationError(
                    message=f"Stack [{stack.stack_id}] cannot be deleted while in status {stack.status}"
                )
            before, stack.status = stack.status, "DELETE_IN_PROGRESS"
        try:
            return delete_stack(backend, name_or_stack_id)
        except Exception:
            stack.status = before
            raise

    return delete_unless_busy

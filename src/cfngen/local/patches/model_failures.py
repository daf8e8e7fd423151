"""A resource that fails to create or update fails, with its reason, instead of becoming a placeholder.

Emulator: moto lets the failure of one resource's model escape as an HTTP 500 (or, before this patch, cfngen stood a
CREATE_COMPLETE placeholder in for it), so the stack completed where AWS fails it.
AWS: the resource ends CREATE_FAILED (UPDATE_FAILED) with a status reason, and the stack operation fails and rolls
back (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html). This module fails
the resource, with an event naming it and the reason; :mod:`cfngen.local.patches.rollback` rolls the stack back.
Placeholders stay only for types moto does not model at all (:mod:`cfngen.local.patches.not_emulated`).
Test: tests/test_local_aws.py::test_a_resource_that_fails_to_create_rolls_the_stack_back
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import ResourceFailed, announce

TARGETS = (
    Target("moto.cloudformation.parsing:parse_and_create_resource", "ea3c10d68d2c03e6"),
    Target("moto.cloudformation.parsing:parse_and_update_resource", "2ef032cfb9ed3c9b"),
)


def apply() -> None:
    """Wrap moto's create and update steps for one resource."""
    from moto.cloudformation import parsing

    parsing.parse_and_create_resource = _failing(parsing.parse_and_create_resource, "CREATE_FAILED")
    parsing.parse_and_update_resource = _failing(parsing.parse_and_update_resource, "UPDATE_FAILED")


def _failing(step: Callable[..., Any], status: str) -> Callable[..., Any]:
    """moto's `step` for one resource; where it fails, the resource fails (event + ResourceFailed)."""

    def failing_step(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        try:
            return step(logical_id, resource_json, resources_map, account_id, region_name)
        except ValidationError:  # a template error: AWS refuses the request, as moto does
            raise
        except ResourceFailed as failure:
            if failure.stack_id == resources_map.stack_id:  # a sibling's, met through a reference: reported there
                raise
            reason = failure.reason  # a nested stack's failure is its resource's reason in the parent
        except Exception as exc:
            reason = _reason(exc)
        resource = _Failed(logical_id, resource_json.get("Type", ""))
        announce(account_id, region_name, resources_map.stack_id, resource, status, reason)
        raise ResourceFailed(resources_map.stack_id, logical_id, reason)

    return failing_step


def _reason(exc: Exception) -> str:
    """The AWS error's code and message where moto raised one, else the exception's type and text."""
    from cfngen.local.patches.template_url import TemplateNotFound

    if isinstance(exc, TemplateNotFound):
        return str(exc)
    error = getattr(exc, "response", {}).get("Error") if hasattr(exc, "response") else None
    if isinstance(error, dict):  # botocore's ClientError, from a handler's API call
        return f"{error.get('Code')}: {error.get('Message')}"[:500]
    message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None) or type(exc).__name__
    return f"{code}: {message}"[:500]


class _Failed:
    """What an event needs to name a resource that does not exist."""

    def __init__(self, logical_id: str, resource_type: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = ""

"""An executed change set leaves its template, parameters, tags, description and outputs on the stack.

Emulator: moto creates or updates the resources but leaves the stack's template, parameters, tags and outputs as they
were (empty after a CREATE change set): no outputs, and a re-plan that sees changes where there are none.
AWS: after ExecuteChangeSet the stack is the change set's template, parameters and tags
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html).
Test: tests/test_local_aws.py::test_an_executed_change_set_leaves_its_template_and_outputs_on_the_stack
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.models:ChangeSet.apply", "1644afa9d35ce893"),)


def apply() -> None:
    """Wrap moto's ChangeSet.apply."""
    from moto.cloudformation import models

    original_apply = models.ChangeSet.apply

    def apply_and_record(change_set: Any) -> None:
        original_apply(change_set)
        _record(change_set)

    setattr(models.ChangeSet, "apply", apply_and_record)


def _record(change_set: Any) -> None:
    stack = change_set.stack
    stack.template = change_set.template
    stack._parse_template()
    # Every parameter, defaults included, as moto reads them back for UsePreviousValue (what a re-plan sends).
    stack.parameters = dict(stack.stack_parameters)
    stack.tags = dict(change_set.tags or {})
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()

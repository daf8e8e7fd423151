"""A resource type moto does not model gets a visible placeholder instead of being skipped.

Emulator: moto skips the resource with a log line, and every ``Ref``/``GetAtt`` to it then breaks the template.
AWS: every resource type of the template is created
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html); the
emulator cannot, so it says so: the placeholder's physical id and attributes are visibly fake (``not-emulated:...``),
and a stack event says that it was not created, so the deploy output and ``stand_ins()`` list it.
Test: tests/test_local_aws.py::test_a_type_moto_does_not_model_gets_a_visible_placeholder
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import NotEmulated

TARGETS = (Target("moto.cloudformation.parsing:resource_class_from_type", "ca766bc34c1950ae"),)


def apply() -> None:
    """moto's type lookup, answering the placeholder where it has no model (and no deliberate null model)."""
    from moto.cloudformation import parsing

    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return original(resource_type) or (None if resource_type in parsing.NULL_MODELS else NotEmulated)

    parsing.resource_class_from_type = resource_class_from_type

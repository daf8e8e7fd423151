"""A resource type moto does not model gets a visible placeholder instead of being skipped.

Emulator: moto skips the resource with a log line, and every ``Ref``/``GetAtt`` to it then breaks the template.
AWS: every resource type of the template is created
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html); the
emulator cannot, so it says so: the placeholder's physical id and attributes are visibly fake (``not-emulated:...``),
and a stack event says that it was not created, so the deploy output and ``stand_ins()`` list it.
A custom resource (``Custom::*``) gets the placeholder too while Lambda functions do not run (no
``--lambda-docker``): moto would invoke its function without running it, and the stack would wait for an
answer that never comes.
Test: tests/test_local_aws.py::test_a_type_moto_does_not_model_gets_a_visible_placeholder,
tests/test_local_aws.py::test_a_custom_resource_is_a_placeholder_while_functions_do_not_run
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
        if resource_type.startswith("Custom::") and not _functions_run():
            return NotEmulated
        return original(resource_type) or (None if resource_type in parsing.NULL_MODELS else NotEmulated)

    parsing.resource_class_from_type = resource_class_from_type


def _functions_run() -> bool:
    """Whether moto runs Lambda functions (in Docker): LocalAws(lambda_docker=True)."""
    from moto.core.config import default_user_config

    return bool(default_user_config.get("lambda", {}).get("use_docker", True))

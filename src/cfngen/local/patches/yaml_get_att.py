"""The YAML short form ``!GetAtt A.B.C`` is split at the first dot only.

Emulator: moto splits it at every dot, so ``!GetAtt Child.Outputs.Name`` loses ``.Name``.
AWS: the logical id is what comes before the first dot; the attribute is the rest
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getatt.html).
Test: tests/test_local_aws.py::test_one_nested_stack_output_feeds_a_sibling_parameter
"""

from __future__ import annotations

from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.cloudformation.utils:yaml_tag_constructor", "d5c3b8a0d6300f9e"),
    Target("moto.cloudformation.models:yaml_tag_constructor", "d5c3b8a0d6300f9e"),
    Target("moto.cloudformation.responses:yaml_tag_constructor", "d5c3b8a0d6300f9e"),
)


def apply() -> None:
    """Both modules look the constructor up by name each time they parse a template."""
    from moto.cloudformation import models, responses

    for module in (models, responses):
        setattr(module, "yaml_tag_constructor", _yaml_tag_constructor)


def _yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
    """moto's constructor for the YAML short forms (`!Ref`, `!GetAtt`, `!Sub` ...), with `!GetAtt` split once."""
    from moto.cloudformation.utils import yaml_tag_constructor

    if tag == "!GetAtt" and isinstance(node.value, str):
        return {"Fn::GetAtt": node.value.split(".", 1)}
    return yaml_tag_constructor(loader, tag, node)

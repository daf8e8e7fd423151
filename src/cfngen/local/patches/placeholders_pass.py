"""A placeholder's value passed into a ``Number`` parameter of another stack passes unparsed.

Emulator: a placeholder (``not-emulated:...``) passed into a Number parameter crashes moto's number parsing
(HTTP 500). AWS: the value would be a real number (the resource exists there)
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html); the emulator keeps
the placeholder visible downstream instead, where a resource needing the real number gets a placeholder of its own.
Test: tests/test_local_aws.py::test_a_placeholder_passes_into_a_number_parameter
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import NOT_EMULATED

TARGETS = (Target("moto.cloudformation.parsing:ResourceMap.load_parameters", "610002572ab16950"),)


def apply() -> None:
    """Wrap moto's parameter loading."""
    from moto.cloudformation import parsing

    setattr(parsing.ResourceMap, "load_parameters", _placeholders_pass(parsing.ResourceMap.load_parameters))


def _placeholders_pass(load_parameters: Callable[[Any], None]) -> Callable[[Any], None]:
    def load(resource_map: Any) -> None:
        template = resource_map._template
        slots = template.get("Parameters", {})
        numeric = {
            key
            for key, value in resource_map.input_parameters.items()
            if str(value).startswith(NOT_EMULATED) and "Number" in slots.get(key, {}).get("Type", "")
        }
        if not numeric:
            return load_parameters(resource_map)
        resource_map._template = {
            **template,
            "Parameters": {key: {**slot, "Type": "String"} if key in numeric else slot for key, slot in slots.items()},
        }
        try:
            load_parameters(resource_map)
        finally:
            resource_map._template = template

    return load

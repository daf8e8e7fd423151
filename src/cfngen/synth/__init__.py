"""Synthesis, the second stage: a Blueprint -> a ``StackSet`` of nested templates.

``_stack`` holds the stack model every builder returns (``NestedStack``, the
per-stack quotas, the generated mark); it sits below ``cfngen.builders`` (one module
per nested stack), which synthesis runs. ``_stackset`` runs the builders in wiring order, wires each
child's parameters to an earlier child's outputs through the root, groups
service stacks when the root outgrows its quotas, and renders and writes the
files (``_yamldump``). ``suppress`` writes reasoned check suppressions into a
resource's metadata.
"""

from cfngen.synth._stack import (
    FORMATS,
    GENERATED_MARK,
    MAX_OUTPUTS,
    MAX_PARAMETERS,
    MAX_RESOURCES,
    ROOT_METADATA_KEY,
    ROOT_NAME,
    Format,
    NestedStack,
)
from cfngen.synth._stackset import MAX_GROUP_SERVICES, StackSet, synthesize

__all__ = [
    "FORMATS",
    "GENERATED_MARK",
    "MAX_GROUP_SERVICES",
    "MAX_OUTPUTS",
    "MAX_PARAMETERS",
    "MAX_RESOURCES",
    "ROOT_METADATA_KEY",
    "ROOT_NAME",
    "Format",
    "NestedStack",
    "StackSet",
    "synthesize",
]

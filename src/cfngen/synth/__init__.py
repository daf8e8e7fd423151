"""Synthesis, the second stage: a Blueprint -> a ``StackSet`` of nested templates.

``_stack`` holds the stack model every builder returns (``NestedStack``, the
per-stack quotas, the generated mark); it sits below ``cfngen.builders`` (one
module per nested stack), which synthesis runs. ``_stackset`` runs them in
wiring order; ``_wiring`` wires each child's parameters to an earlier child's
outputs through the root; ``_grouping`` moves service stacks into group stacks
when the root outgrows its quotas; ``_writing`` renders (``_yamldump``) and
writes the files. ``suppress`` writes reasoned check suppressions into a
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

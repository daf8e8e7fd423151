"""cfngen's own replacement analysis of an update: the deployed templates against the package's, stack by stack.

A change set's preview can hide a replacement: a nested change set on AWS may say only "Modify" for
a resource whose create-only property changed, and the emulator makes no nested change sets at all.
The template diff (``cfngen.diff``) knows the create-only properties from the resource schemas, so
the safety rules see every replacement and removal whichever preview CloudFormation gave.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from cfngen.deploy._plan import ResourceChange
from cfngen.deploy._safety import controller_switch

STACK_FILE = "stack.json"


def template_changes(
    path: str, deployed: Mapping[str, Any], new: Mapping[str, Any], *, region: str
) -> list[ResourceChange]:
    """The replacements and removals that turning `deployed` into `new` makes in the stack at `path`, and the
    ECS services whose deployment controller it switches (the safety rules decide whether AWS allows that)."""
    from cfngen.report._template_diff import diff_texts

    found = diff_texts({STACK_FILE: json.dumps(deployed)}, {STACK_FILE: json.dumps(new)}, region=region)
    changes = [
        ResourceChange(
            stack=path,
            logical_id=resource.logical_id,
            resource_type=resource.type,
            action=resource.action,
            replacement="true" if resource.action == "replace" else "",
            causes=_causes(resource.changes, resource.reason),
            source="template",
        )
        for _, resource in found.replacements()
    ]
    before, after = deployed.get("Resources", {}), new.get("Resources", {})
    for logical_id, resource in after.items():
        switch = controller_switch(before.get(logical_id), resource)
        if switch:
            changes.append(
                ResourceChange(
                    stack=path,
                    logical_id=logical_id,
                    resource_type=str(resource.get("Type", "")),
                    action="modify",
                    causes=("DeploymentController",),
                    source="template",
                    controller_switch=switch,
                )
            )
    return changes


def merged(previewed: Iterable[ResourceChange], analysed: Iterable[ResourceChange]) -> tuple[ResourceChange, ...]:
    """The change set's rows, each upgraded to what the template analysis found where that is more destructive."""
    rows = {(change.stack, change.logical_id): change for change in previewed}
    for change in analysed:
        key = (change.stack, change.logical_id)
        shown = rows.get(key)
        if change.controller_switch:  # a modification the preview may show too: the row learns the switch
            rows[key] = change if shown is None else replace(shown, controller_switch=change.controller_switch)
        elif shown is None or not (shown.replaces or shown.action == "remove"):
            rows[key] = (
                change
                if shown is None
                else replace(
                    shown, action=change.action, replacement=change.replacement, causes=change.causes, source="template"
                )
            )
    return tuple(rows.values())


def _causes(changes: Iterable[Any], reason: str) -> tuple[str, ...]:
    forcing = [change.path.removeprefix("Properties.") for change in changes if change.forces_replacement]
    return tuple(dict.fromkeys(forcing)) or ((reason,) if reason else ())

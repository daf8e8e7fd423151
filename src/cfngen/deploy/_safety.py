"""Safety rules, checked before a change set runs, and the stack policy converged on every deploy.

A change set is refused (exit 3) when it would
- replace or remove a stateful resource (data that no template can bring back), or a nested
  stack, which may hold some, unless the caller names its logical id in `allow_replace`. A
  ``Conditional`` replacement or a ``Dynamic`` action counts as a replacement: CloudFormation
  decides it only while executing. The rows come from the change set and from cfngen's own
  template analysis (deploy/_replacements.py), so a preview that says only "modify" hides nothing;
- change a property of an ECS service under the CODE_DEPLOY controller that the deployment
  pipeline owns: CloudFormation cannot update those once CodeDeploy runs the service;
- switch an ECS service's deployment controller where AWS documents no in-place path
  (facts.resource_types.IN_PLACE_CONTROLLER_SWITCHES; ECS -> CODE_DEPLOY is one), unless the caller
  names the service's logical id in `allow_replace`: the service has to be created anew.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cfngen.deploy._package import Package
from cfngen.deploy._plan import Plan, ResourceChange
from cfngen.errors import SafetyError
from cfngen.facts.resource_types import (
    CODE_DEPLOY_OWNED_PROPERTIES,
    DEFAULT_CONTROLLER,
    IN_PLACE_CONTROLLER_SWITCHES,
    NESTED_STACK,
    PROTECTED_TYPES,
    STATEFUL_TYPES,
)


@dataclass(frozen=True)
class Violation:
    """One change a safety rule refuses, and what to do about it."""

    change: ResourceChange
    message: str

    def __str__(self) -> str:
        return f"{self.change.stack}/{self.change.logical_id} ({self.change.resource_type}): {self.message}"


def violations(changes: Plan | Iterable[ResourceChange], allow_replace: Collection[str] = ()) -> list[Violation]:
    """Every change (of a plan, or of any list of ResourceChange) that a safety rule refuses; empty when all may run."""
    found = []
    for change in changes.changes if isinstance(changes, Plan) else changes:
        destroys = change.replaces or change.action == "remove"
        if (
            destroys
            and (change.resource_type in STATEFUL_TYPES or change.resource_type == NESTED_STACK)
            and change.logical_id not in allow_replace
        ):
            what = (
                "removes"
                if change.action == "remove"
                else "may replace"
                if change.action == "dynamic" or change.replacement == "conditional"
                else "replaces"
            )
            subject = (
                "a nested stack (and any data in it)" if change.resource_type == NESTED_STACK else "a stateful resource"
            )
            found.append(
                Violation(
                    change,
                    f"the change set {what} {subject}; if that is intended, "
                    f"run again with --allow-replace {change.logical_id}",
                )
            )
        if len(change.controller_switch) == 2:
            before, after = change.controller_switch
            if (before, after) not in IN_PLACE_CONTROLLER_SWITCHES and change.logical_id not in allow_replace:
                found.append(
                    Violation(
                        change,
                        f"switches the service's deployment controller {before} -> {after}, for which AWS documents "
                        f"no in-place path (only {', '.join(f'{a} -> {b}' for a, b in IN_PLACE_CONTROLLER_SWITCHES)}"
                        "): the service has to be created anew, its tasks stopped meanwhile: remove it from the "
                        "blueprint and deploy, then add it back; or keep its strategy. --allow-replace "
                        f"{change.logical_id} runs the change set anyway (ECS then decides)",
                    )
                )
            continue  # until the switch, the pipeline does not own the service: the next rule does not apply
        if change.pipeline_owned:
            found.append(
                Violation(
                    change,
                    (
                        f"changes {', '.join(change.pipeline_owned)} of an ECS service under the CODE_DEPLOY controller; "
                        "the pipeline owns these (CloudFormation cannot update them): ship a new task definition "
                        "through the service's pipeline (taskdef.json), and keep the service resource unchanged"
                    ),
                )
            )
    return found


def check(plan: Plan | Iterable[ResourceChange], allow_replace: Collection[str] = ()) -> None:
    """Raise SafetyError listing every violation of `plan` (or of a list of changes); return when it may run."""
    problems = violations(plan, allow_replace)
    if problems:
        raise SafetyError("refused to execute the change set:\n" + "\n".join(f"  {p}" for p in problems))


def pipeline_owned(template: Mapping[str, Any] | None, change: Mapping[str, Any]) -> tuple[str, ...]:
    """The pipeline-owned properties a raw ResourceChange touches, when its resource is a CODE_DEPLOY service."""
    if template is None or change.get("ResourceType") != "AWS::ECS::Service" or change.get("Action") != "Modify":
        return ()
    resource = template.get("Resources", {}).get(change.get("LogicalResourceId", ""), {})
    controller = resource.get("Properties", {}).get("DeploymentController", {}).get("Type")
    if controller != "CODE_DEPLOY":
        return ()
    touched = {
        detail["Target"]["Name"].split(".")[0]
        for detail in change.get("Details", [])
        if detail.get("Target", {}).get("Attribute") == "Properties" and detail["Target"].get("Name")
    }
    return tuple(name for name in CODE_DEPLOY_OWNED_PROPERTIES if name in touched)


def controller_switch(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[str, ...]:
    """(before, after) deployment controller types when an ECS service resource switches controller, else ()."""
    if not before or not after or after.get("Type") != "AWS::ECS::Service" or before.get("Type") != after.get("Type"):
        return ()
    types = tuple(
        str(resource.get("Properties", {}).get("DeploymentController", {}).get("Type", DEFAULT_CONTROLLER))
        for resource in (before, after)
    )
    return types if types[0] != types[1] else ()


def stack_policy(package: Package) -> str:
    """A stack policy that denies Update:Replace and Update:Delete on the database and the VPC.

    The same document is set on the root and on every nested stack: a condition on the
    resource type protects the resources themselves wherever they are, and the root also
    protects, by logical id, the nested stacks that hold them.
    """
    holders = sorted(
        logical_id
        for logical_id, resource in package.root.get("Resources", {}).items()
        if resource.get("Type") == NESTED_STACK
        and _holds_protected(package.template_of(resource["Properties"]["TemplateURL"]))
    )
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": "*",
            "Condition": {"StringEquals": {"ResourceType": list(PROTECTED_TYPES)}},
        },
    ]
    if holders:
        statements.append(
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in holders],
            }
        )
    return json.dumps({"Statement": statements}, indent=2, sort_keys=True)


def _holds_protected(template: Mapping[str, Any] | None) -> bool:
    return template is not None and any(
        resource.get("Type") in PROTECTED_TYPES for resource in template.get("Resources", {}).values()
    )

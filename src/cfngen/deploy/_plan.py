"""The plan: every change of a root change set and of its nested change sets, as rows, a table and a JSON file.

CloudFormation describes a nested change set as a ``ResourceChange`` of type
``AWS::CloudFormation::Stack`` whose ``ChangeSetId`` names the child's own change set;
:func:`describe_tree` follows those ids depth-first, page by page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from cfngen._files import write_text
from cfngen._text import visible
from cfngen.builders.cluster import REFRESH_MIN_HEALTHY_PERCENT
from cfngen.errors import UsageError
from cfngen.facts.resource_types import IN_PLACE_CONTROLLER_SWITCHES, NESTED_STACK

PLAN_FORMAT = 1
ROOT_PATH = "root"
ACTIONS = {"Add": "add", "Modify": "modify", "Remove": "remove", "Import": "import", "Dynamic": "dynamic"}
REPLACEMENTS = {"True": "true", "Conditional": "conditional"}
RECREATING = ("Always", "Conditionally")
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"
AUTO_SCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
# What a property change of a drift-aware change set does (its AttributeChangeType), in the plan's words.
DRIFT_EFFECTS = {
    "Modify": "sets the template value",
    "Add": "adds the template value",
    "Remove": "removes the live value",
    "SyncWithActual": "keeps the live value (the template matches it)",
}


@dataclass(frozen=True)
class ResourceChange:
    """One row of the plan: what happens to one resource of one (nested) stack."""

    stack: str
    logical_id: str
    resource_type: str
    action: str
    replacement: str = ""
    causes: tuple[str, ...] = ()
    physical_id: str = ""
    pipeline_owned: tuple[str, ...] = ()
    # drift-aware change sets only: (property path, template value, live value, what the change does)
    properties: tuple[tuple[str, str, str, str], ...] = ()
    # "template" when cfngen's own template analysis found the change (the change set's preview did not show it).
    source: str = ""
    # An ECS service whose deployment controller changes: (before, after), such as ("CODE_DEPLOY", "ECS").
    controller_switch: tuple[str, ...] = ()

    @property
    def replaces(self) -> bool:
        """True when CloudFormation will (or may) create a new physical resource in place of the old one.

        A ``Dynamic`` action is decided only at execution (it depends on a value CloudFormation
        cannot know while planning), so it counts as a possible replacement.
        https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
        """
        return self.action in ("replace", "dynamic")


@dataclass(frozen=True)
class ValidationFinding:
    """One early-validation result of a change set (DescribeEvents): a failure blocks execution, a warning not."""

    stack: str
    logical_id: str
    resource_type: str
    mode: str
    name: str
    reason: str

    def __str__(self) -> str:
        where = "/".join(part for part in (self.stack, self.logical_id) if part)
        kind = "fails" if self.mode == "FAIL" else "warns"
        return f"{where} ({self.resource_type or 'stack'}): early validation {self.name} {kind}: {self.reason}"


@dataclass(frozen=True)
class Plan:
    """A reviewed change set and what it does; apply() executes exactly this change set."""

    stack_name: str
    region: str
    change_set_type: str
    change_set_id: str = ""
    stack_id: str = ""
    changes: tuple[ResourceChange, ...] = ()
    nested_change_sets: tuple[str, ...] = ()
    template_url: str = ""
    template_hashes: Mapping[str, str] = field(default_factory=dict)
    parameters: Mapping[str, str] = field(default_factory=dict)
    previous_parameters: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    stack_status: str = ""
    stack_updated: str = ""
    termination_protection: bool = True
    stack_policy: str = ""
    status_reason: str = ""
    not_drift_aware: tuple[str, ...] = ()  # --revert-drift: stacks whose change set CloudFormation left plain
    last_operation: str = ""
    # The id of a stack whose first create failed: apply() deletes it, then creates the stack anew.
    replaces_stack: str = ""
    on_failure: str = ""
    protection_gaps: tuple[str, ...] = ()
    validation: tuple[ValidationFinding, ...] = ()

    @property
    def has_changes(self) -> bool:
        """False when CloudFormation found nothing to do (the change set was deleted)."""
        return bool(self.change_set_id or self.replaces_stack)

    @property
    def validation_failed(self) -> bool:
        """True when CloudFormation's early validation refuses the change set."""
        return any(finding.mode == "FAIL" for finding in self.validation)

    def render(self) -> str:
        """The whole nested tree of changes as a table, with a one-line summary."""
        head = f"stack {self.stack_name} ({self.region}), {self.change_set_type.lower()}"
        notes = [f"protection differs: {gap} (deploy restores it)" for gap in self.protection_gaps]
        if not self.has_changes:
            return "\n".join([f"{head}: no changes", *self._property_changes(), *notes])
        if self.replaces_stack:
            notes.insert(
                0,
                f"the failed stack {self.replaces_stack} (ROLLBACK_COMPLETE) is deleted at apply, "
                "then created anew; its change set is made and checked then",
            )
        notes += self._rolling_instances()
        notes.append(self._failure_note())
        notes += [str(finding) for finding in self.validation]
        lines = _table(
            ("stack", "logical id", "type", "action", "replacement", "caused by"),
            [
                (c.stack, c.logical_id, c.resource_type, c.action, c.replacement or "-", ", ".join(c.causes) or "-")
                for c in self.changes
            ],
        )
        counts: dict[str, int] = {}
        for change in self.changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        summary = ", ".join(f"{count} to {action}" for action, count in sorted(counts.items()))
        return "\n".join(
            [
                head,
                *lines,
                f"{len(self.changes)} changes: {summary}",
                *self._adopted(),
                *self._controller_switches(),
                *self._property_changes(),
                *notes,
            ]
        )

    def _adopted(self) -> list[str]:
        """Retained resources of the same names that the change set imports instead of creating anew."""
        adopted = [change for change in self.changes if change.action == "import"]
        if not adopted:
            return []
        return [
            f"adopts {len(adopted)} existing resource{'s' if len(adopted) != 1 else ''} (kept by an earlier "
            "stack; ImportExistingResources):",
            *(f"  {c.stack} {c.logical_id} {c.resource_type} {c.physical_id}".rstrip() for c in adopted),
        ]

    def _controller_switches(self) -> list[str]:
        """Which path each deployment controller switch takes: in place where AWS documents one, else refused."""
        lines = []
        for change in self.changes:
            if len(change.controller_switch) != 2:
                continue
            before, after = change.controller_switch
            page = IN_PLACE_CONTROLLER_SWITCHES.get((before, after))
            path = (
                f"in place, AWS's documented migration ({page})"
                if page
                else "no in-place path AWS documents: the service has to be created anew "
                f"(refused without --allow-replace {change.logical_id})"
            )
            lines.append(
                f"{change.stack}/{change.logical_id} switches deployment controller {before} -> {after}: {path}"
            )
        return lines

    def _property_changes(self) -> list[str]:
        """Drift-aware change sets: per property, the template value, the live value and what the change does."""
        rows = [(c.stack, c.logical_id, *prop) for c in self.changes for prop in c.properties]
        lines = (
            [
                "property changes (drift-aware change set):",
                *_table(("stack", "logical id", "property", "template", "live", "change"), rows),
            ]
            if rows
            else []
        )
        if self.not_drift_aware:
            lines.append(
                "not drift-aware (CloudFormation did not apply REVERT_DRIFT; drift in these stays): "
                + ", ".join(self.not_drift_aware)
            )
        return lines

    def _rolling_instances(self) -> list[str]:
        """Stacks whose instances an instance refresh replaces: their launch template changes (a new AMI, or any
        other setting), and the Auto Scaling group follows its latest version under the AutoScalingInstanceRefresh
        update policy cfngen gives it (builders.cluster.instance_refresh)."""
        rolled = dict.fromkeys(
            change.stack
            for change in self.changes
            if change.resource_type == LAUNCH_TEMPLATE and change.action in ("modify", "replace", "dynamic")
        )
        groups = {
            change.stack: change.logical_id for change in self.changes if change.resource_type == AUTO_SCALING_GROUP
        }
        return [
            f"instances roll: {stack} {groups.get(stack, 'Auto Scaling group')} (instance refresh, min healthy "
            f"{REFRESH_MIN_HEALTHY_PERCENT} %)"
            for stack in rolled
        ]

    def _failure_note(self) -> str:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
        retain = "resources created by this run are deleted even with DeletionPolicy Retain (RetainExceptOnCreate)"
        if self.change_set_type == "CREATE":
            what = {
                "ROLLBACK": "rolls back",
                "DELETE": "rolls back and deletes the stack",
                "DO_NOTHING": "keeps what was created (no rollback)",
            }.get(self.on_failure or "ROLLBACK", "rolls back")
            return (
                f"on failure: the create {what}; {retain}"
                if self.on_failure != "DO_NOTHING"
                else f"on failure: the create {what}"
            )
        return f"on failure: the update rolls back; {retain}, existing ones stay"

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain JSON-ready data (what --json prints and --out writes)."""
        return {"format": PLAN_FORMAT, "has_changes": self.has_changes, **asdict(self)}

    def to_json(self) -> str:
        """The plan file's text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the plan file, readable by its owner only (it holds parameter values); returns its path."""
        return write_text(path, self.to_json(), mode=0o600)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """The plan recorded by to_dict(); UsageError on a file that is not a cfngen plan."""
        if not isinstance(data, Mapping) or data.get("format") != PLAN_FORMAT:
            raise UsageError(f"not a cfngen plan file (format {PLAN_FORMAT})")
        names = {f.name for f in fields(cls)}
        try:
            values = {key: value for key, value in data.items() if key in names}
            values["changes"] = tuple(
                ResourceChange(
                    **{
                        **change,
                        "causes": tuple(change.get("causes", ())),
                        "pipeline_owned": tuple(change.get("pipeline_owned", ())),
                        "controller_switch": tuple(change.get("controller_switch", ())),
                        "properties": tuple(tuple(row) for row in change.get("properties", ())),
                    }
                )
                for change in values.get("changes", ())
            )
            values["validation"] = tuple(ValidationFinding(**finding) for finding in values.get("validation", ()))
            for key in (
                "nested_change_sets",
                "previous_parameters",
                "capabilities",
                "not_drift_aware",
                "protection_gaps",
            ):
                values[key] = tuple(values.get(key, ()))
            return cls(**values)
        except TypeError as exc:
            raise UsageError(f"plan file is damaged: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """Read a plan file written by save()."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the plan: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON: {exc}") from None
        return cls.from_dict(data)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell; the last one is not padded. Cells are values from AWS (a live
    property value may hold any character): each control character, line breaks included, shows as an escape, so no
    value can end a row, fake another or drive the terminal."""
    rows = [tuple(visible(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in (header, *rows)
    ]


@dataclass(frozen=True)
class ChangeTree:
    """Every resource change of a change set and its nested ones, and the nested change set ids."""

    changes: tuple[ResourceChange, ...]
    nested_change_sets: tuple[str, ...]


def describe_tree(
    cloudformation: Any,
    change_set_id: str,
    pipeline_owned: Callable[[str, Mapping[str, Any]], tuple[str, ...]] = lambda stack, change: (),
) -> ChangeTree:
    """Walk a change set and every nested change set under it.

    `pipeline_owned(stack path, raw ResourceChange)` names the properties of the change that a
    deployment pipeline owns (an ECS service under the CODE_DEPLOY controller), for the safety rules.
    """
    changes: list[ResourceChange] = []
    nested: list[str] = []

    def walk(change_set: str, path: str) -> None:
        for raw in _raw_changes(cloudformation, change_set):
            changes.append(to_change(path, raw, pipeline_owned(path, raw)))
            child = raw.get("ChangeSetId")
            if child and raw.get("ResourceType") == NESTED_STACK:
                nested.append(child)
                walk(child, f"{path}/{raw['LogicalResourceId']}")

    walk(change_set_id, ROOT_PATH)
    return ChangeTree(tuple(changes), tuple(nested))


def _raw_changes(cloudformation: Any, change_set_id: str) -> Iterator[Mapping[str, Any]]:
    token: str | None = None
    while True:
        page = cloudformation.describe_change_set(
            ChangeSetName=change_set_id, **({"NextToken": token} if token else {})
        )
        for change in page.get("Changes", []):
            if change.get("Type") == "Resource":
                yield change["ResourceChange"]
        token = page.get("NextToken")
        if not token:
            return


def to_change(stack: str, raw: Mapping[str, Any], pipeline_owned: tuple[str, ...] = ()) -> ResourceChange:
    """One ResourceChange of DescribeChangeSet as a plan row."""
    replacement = REPLACEMENTS.get(raw.get("Replacement", ""), "")
    action = ACTIONS.get(raw.get("Action", ""), str(raw.get("Action", "")).lower())
    if action == "modify" and replacement:
        action = "replace"
    details = raw.get("Details", [])
    recreating = [
        _target(detail) for detail in details if detail.get("Target", {}).get("RequiresRecreation") in RECREATING
    ]
    causes = recreating or [_target(detail) for detail in details]
    return ResourceChange(
        stack=stack,
        logical_id=raw.get("LogicalResourceId", ""),
        resource_type=raw.get("ResourceType", ""),
        action=action,
        replacement=replacement,
        causes=tuple(dict.fromkeys(causes)),
        physical_id=raw.get("PhysicalResourceId", ""),
        pipeline_owned=pipeline_owned,
        properties=tuple(
            _drift_row(detail["Target"]) for detail in details if "BeforeValueFrom" in detail.get("Target", {})
        ),
    )


def _drift_row(target: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """A property of a drift-aware change set (BeforeValueFrom is set only there): path, template value, live
    value (ActualValue of its drift, else the before value read from the live resource), what the change does.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html"""
    live = target.get("Drift", {}).get("ActualValue", target.get("BeforeValue", ""))
    effect = DRIFT_EFFECTS.get(target.get("AttributeChangeType", ""), str(target.get("AttributeChangeType", "")))
    return (str(target.get("Path") or target.get("Name") or "?"), str(target.get("AfterValue", "")), str(live), effect)


def _target(detail: Mapping[str, Any]) -> str:
    target = detail.get("Target", {})
    name = target.get("Name")
    return str(name) if name and target.get("Attribute") == "Properties" else str(target.get("Attribute", "?"))

"""Change summary: what differs from an earlier set of templates, in the terms a reviewer must not miss.

Resource changes come from :mod:`cfngen.report._template_diff` (the same comparison `cfngen
diff` prints: renames, replacements forced by create-only properties, whether
the old resource's data is kept). This module adds what a template diff does
not say: IAM permissions and exposure gained and lost, compared as sets of
facts, what runs and with what (:mod:`cfngen.report._runs`), and the estimated
cost before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from cfngen.facts.resource_types import STATEFUL_TYPES
from cfngen.report import _access as access
from cfngen.report import _exposure as exposure
from cfngen.report import _runs as runs
from cfngen.report._access import Permission
from cfngen.report._cost import estimate
from cfngen.report._model import TemplateSet
from cfngen.report._template_diff import ABSENT, PropertyChange, ResourceDiff, TemplateDiff, diff_texts

ACTIONS = {"add": "added", "modify": "modified", "replace": "replaced", "remove": "removed"}
POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
MAX_DETAILS = 8
RUN_KINDS = ("image", "command", "environment", "build", "hook")
SHORT_VALUE = 60


@dataclass(frozen=True)
class ChangeRow:
    """One resource change as the report shows it."""

    stack: str
    resource: str
    type: str
    change: str
    warning: str
    details: tuple[str, ...]
    refused: tuple[str, ...] = ()  # the deployer's reasons to refuse the change


@dataclass(frozen=True)
class RunChange:
    """One change to what runs: an image, command, environment variable, build setting or hook."""

    kind: str
    where: str
    name: str
    before: str  # "" when added
    after: str  # "" when removed
    note: str

    @property
    def change(self) -> str:
        """ "added", "removed" or "changed"."""
        return "added" if not self.before else "removed" if not self.after else "changed"


@dataclass(frozen=True)
class Changes:
    """Everything that differs between the templates under review and the earlier ones."""

    against: str
    note: str
    diff: TemplateDiff
    permissions_gained: tuple[str, ...]  # "holder: Effect action, action on resource [when condition]"
    permissions_lost: tuple[str, ...]
    exposure_gained: tuple[str, ...]
    exposure_lost: tuple[str, ...]
    cost_before: float
    cost_after: float
    runs_changed: tuple[RunChange, ...] = ()

    def runs_kinds(self) -> tuple[str, ...]:
        """The kinds of what-runs facts that changed (image, command, ...), in a fixed order."""
        kinds = {change.kind for change in self.runs_changed}
        return tuple(kind for kind in RUN_KINDS if kind in kinds)

    def runs_flagged(self) -> int:
        """How many what-runs changes carry a warning (a secret-looking value, a hook outside the blueprint)."""
        return sum(1 for change in self.runs_changed if change.note and change.after)

    def count(self, change: str) -> int:
        """How many resources were `change`d ("added", "modified", "replaced", "removed")."""
        action = {label: action for action, label in ACTIONS.items()}[change]
        return self.diff.counts()[action]

    def stacks_with(self, status: str) -> tuple[str, ...]:
        """Stacks "added" or "removed" as a whole."""
        return tuple(_stem(stack.file) for stack in self.diff.stacks if stack.status == status)

    def refused(self) -> tuple[ChangeRow, ...]:
        """The changes the deployer would refuse."""
        return tuple(row for row in self.rows() if row.refused)

    def rows(self) -> tuple[ChangeRow, ...]:
        """Every resource change, stack by stack, with a warning where data may be lost."""
        return tuple(_row(_stem(stack.file), resource) for stack, resource in self.diff.resources())

    @property
    def empty(self) -> bool:
        """True when nothing differs."""
        return not (
            self.diff
            or self.permissions_gained
            or self.permissions_lost
            or self.exposure_gained
            or self.exposure_lost
            or self.runs_changed
        )


def compare(old: Mapping[str, str], new: Mapping[str, str], *, name: str, region: str, against: str) -> Changes:
    """What changed from the `old` template texts to the `new` ones (file name -> text)."""
    before = TemplateSet.from_texts(name, old)
    after = TemplateSet.from_texts(name, new)
    old_permissions = access.analyse(before).permissions()
    new_permissions = access.analyse(after).permissions()
    old_paths = {path.summary for path in exposure.analyse(before).paths}
    new_paths = {path.summary for path in exposure.analyse(after).paths}
    return Changes(
        against=against,
        note="" if old else f"{against} has no templates of {name}: every stack is new.",
        diff=diff_texts(old, new, region=region, against=against),
        permissions_gained=_grouped(new_permissions - old_permissions),
        permissions_lost=_grouped(old_permissions - new_permissions),
        exposure_gained=tuple(sorted(new_paths - old_paths)),
        exposure_lost=tuple(sorted(old_paths - new_paths)),
        cost_before=estimate(before).total,
        cost_after=estimate(after).total,
        runs_changed=runs_changed(runs.analyse(before), runs.analyse(after)),
    )


def runs_changed(before: tuple[runs.Running, ...], after: tuple[runs.Running, ...]) -> tuple[RunChange, ...]:
    """Every what-runs fact added, removed or changed in value, in the order of RUN_KINDS, then by place."""
    old = {fact.key: fact for fact in before}
    new = {fact.key: fact for fact in after}
    changes = [
        RunChange(
            kind,
            where,
            name,
            old[key].value if key in old else "",
            new[key].value if key in new else "",
            (new.get(key) or old[key]).note,
        )
        for key in sorted(old.keys() | new.keys())
        for kind, where, name in [key]
        if key not in old or key not in new or old[key].value != new[key].value
    ]
    return tuple(sorted(changes, key=lambda change: (RUN_KINDS.index(change.kind), change.where, change.name)))


def _grouped(facts: set[Permission]) -> tuple[str, ...]:
    """One line per holder, effect, resource and condition, naming every action of the group."""
    actions: dict[tuple[str, str, str, str], list[str]] = {}
    for fact in sorted(facts):
        actions.setdefault((fact.holder, fact.effect, fact.resource, fact.condition), []).append(fact.action)
    return tuple(
        sorted(
            str(Permission(holder, effect, ", ".join(names), resource, condition))
            for (holder, effect, resource, condition), names in actions.items()
        )
    )


def _stem(file: str) -> str:
    return PurePosixPath(file).stem


def _row(stack: str, resource: ResourceDiff) -> ChangeRow:
    details = [resource.reason] if resource.reason and resource.action == "replace" else []
    details += [_describe(change) for change in resource.changes]
    if len(details) > MAX_DETAILS:
        details = [*details[:MAX_DETAILS], f"{len(details) - MAX_DETAILS} more changes"]
    name = resource.logical_id + (f" (was {resource.renamed_from})" if resource.renamed_from else "")
    return ChangeRow(
        stack, name, resource.type, ACTIONS[resource.action], _warning(resource), tuple(details), resource.refused
    )


def _warning(resource: ResourceDiff) -> str:
    """Why a reviewer must look twice: stateful data deleted, or its deletion policy loosened."""
    if resource.type not in STATEFUL_TYPES:
        return ""
    if resource.action in ("replace", "remove"):
        return "stateful: old data is kept" if resource.keeps_data else "⚠️ stateful: its data is deleted"
    if any(change.path in POLICIES for change in resource.changes):
        return "⚠️ stateful: deletion policy changed"
    return ""


def _describe(change: PropertyChange) -> str:
    path = change.path.removeprefix("Properties.")
    forced = " (forces replacement)" if change.forces_replacement else ""
    if change.old is ABSENT:
        return f"{path} added{forced}"
    if change.new is ABSENT:
        return f"{path} removed{forced}"
    before, after = _short(change.old), _short(change.new)
    if isinstance(change.old, list) and isinstance(change.new, list) and len(change.old) != len(change.new):
        return f"{path}: {len(change.old)} → {len(change.new)} items{forced}"
    return (f"{path}: {before} → {after}" if before and after else f"{path} changed") + forced


def _short(value: Any) -> str:
    """A scalar as text when it is short; empty for anything longer or structured."""
    if isinstance(value, (dict, list)):
        return ""
    text = str(value)
    return text if len(text) <= SHORT_VALUE else ""

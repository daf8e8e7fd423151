"""Change summary: what differs from an earlier set of templates, in the terms a reviewer must not miss.

Resources are matched by stack and logical id (the contract cfngen keeps), so
a renamed logical id shows as one removal and one addition: exactly what
CloudFormation would do to it. Permissions and exposure are compared as sets
of facts, so a one-word change buried in a large template diff still shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cfngen.report import access, exposure
from cfngen.report.cost import estimate
from cfngen.report.model import TemplateSet
from cfngen.report.safety import STATEFUL

ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "Metadata")
POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")
MAX_DETAILS = 8
SHORT_VALUE = 60


@dataclass(frozen=True)
class ResourceChange:
    """One resource added, removed or modified; `details` say what changed."""

    stack: str
    resource: str
    type: str
    change: str
    details: tuple[str, ...]
    stateful: bool

    @property
    def risky(self) -> bool:
        """A stateful resource removed, replaced, or with a changed deletion or replace policy: data may be lost."""
        return self.stateful and (self.change in ("removed", "replaced")
                                  or any(detail.startswith(POLICIES) for detail in self.details))


@dataclass(frozen=True)
class Changes:
    """Everything that differs between the templates under review and the earlier ones."""

    against: str
    note: str
    stacks_added: tuple[str, ...]
    stacks_removed: tuple[str, ...]
    resources: tuple[ResourceChange, ...]
    permissions_gained: tuple[str, ...]
    permissions_lost: tuple[str, ...]
    exposure_gained: tuple[str, ...]
    exposure_lost: tuple[str, ...]
    cost_before: float
    cost_after: float

    def count(self, change: str) -> int:
        """How many resources were `change`d ("added", "removed", "modified", "replaced")."""
        return sum(1 for item in self.resources if item.change == change)

    @property
    def empty(self) -> bool:
        """True when nothing differs."""
        return not (self.stacks_added or self.stacks_removed or self.resources or self.permissions_gained
                    or self.permissions_lost or self.exposure_gained or self.exposure_lost)


def compare(old: TemplateSet, new: TemplateSet, *, against: str) -> Changes:
    """What changed from `old` to `new`; `against` names the old side in the report."""
    old_stacks = {stack.name: stack for stack in old.stacks() if stack.template}
    new_stacks = {stack.name: stack for stack in new.stacks()}
    resources: list[ResourceChange] = []
    for name, stack in new_stacks.items():
        before = old_stacks[name].resources if name in old_stacks else {}
        resources += _resource_changes(name, before, stack.resources)
    for name, stack in old_stacks.items():
        if name not in new_stacks:
            resources += _resource_changes(name, stack.resources, {})
    old_permissions = {str(fact) for fact in access.analyse(old).permissions()}
    new_permissions = {str(fact) for fact in access.analyse(new).permissions()}
    old_paths = {path.summary for path in exposure.analyse(old).paths}
    new_paths = {path.summary for path in exposure.analyse(new).paths}
    return Changes(
        against=against,
        note=old.note,
        stacks_added=tuple(name for name in new_stacks if name not in old_stacks),
        stacks_removed=tuple(name for name in old_stacks if name not in new_stacks),
        resources=tuple(resources),
        permissions_gained=tuple(sorted(new_permissions - old_permissions)),
        permissions_lost=tuple(sorted(old_permissions - new_permissions)),
        exposure_gained=tuple(sorted(new_paths - old_paths)),
        exposure_lost=tuple(sorted(old_paths - new_paths)),
        cost_before=estimate(old).total,
        cost_after=estimate(new).total,
    )


def _resource_changes(stack: str, before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[ResourceChange]:
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        kind = str((new or old or {}).get("Type", ""))
        stateful = kind in STATEFUL or str((old or {}).get("Type")) in STATEFUL
        if old is None:
            changes.append(ResourceChange(stack, name, kind, "added", (), stateful))
        elif new is None:
            changes.append(ResourceChange(stack, name, kind, "removed", (), stateful))
        elif old.get("Type") != new.get("Type"):
            changes.append(ResourceChange(stack, name, kind, "replaced", (f"type {old.get('Type')} → {kind}",), stateful))
        elif old != new:
            changes.append(ResourceChange(stack, name, kind, "modified", _details(old, new), stateful))
    return changes


def _details(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """What changed, as property paths with old and new values where they are short enough to read."""
    details = list(_differences(old.get("Properties") or {}, new.get("Properties") or {}, ""))
    for attribute in ATTRIBUTES:
        if old.get(attribute) != new.get(attribute):
            if attribute in POLICIES:
                details.append(f"{attribute} {old.get(attribute, 'unset')} → {new.get(attribute, 'unset')}")
            else:
                details.append(f"{attribute} changed")
    if len(details) > MAX_DETAILS:
        details = [*details[:MAX_DETAILS], f"{len(details) - MAX_DETAILS} more changes"]
    return tuple(details)


def _differences(old: Any, new: Any, path: str) -> Iterator[str]:
    """Paths (``LaunchTemplateData.InstanceType``) at which `old` and `new` differ."""
    if isinstance(old, dict) and isinstance(new, dict) and not _intrinsic(old) and not _intrinsic(new):
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}" if path else str(key)
            if key not in old:
                yield f"{where} added"
            elif key not in new:
                yield f"{where} removed"
            else:
                yield from _differences(old[key], new[key], where)
    elif isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            yield f"{path}: {len(old)} → {len(new)} items"
        else:
            for index, (before, after) in enumerate(zip(old, new)):
                yield from _differences(before, after, f"{path}[{index}]")
    elif _canonical(old) != _canonical(new):
        before, after = _short(old), _short(new)
        yield f"{path}: {before} → {after}" if before and after else f"{path} changed"


def _intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def _short(value: Any) -> str:
    """A scalar as text when it is short; empty for anything longer or structured."""
    if isinstance(value, (dict, list)):
        return ""
    text = str(value)
    return text if len(text) <= SHORT_VALUE else ""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)

"""What would change: the generated templates against a committed version, stack by stack, resource by resource.

A reviewer needs to see what a raw template diff hides: which resources
CloudFormation will *replace* (a changed logical id, a changed type, or a
change to a property that the resource schema marks create-only) and which of
those hold data (their DeletionPolicy keeps or snapshots them). Both templates
are decoded the same way (cfn-lint's decoder), so YAML and JSON compare equal.
Each change the deployer would refuse carries the deployer's own message: the
changes become the deployer's ResourceChange records and go through its safety
rules (:func:`cfngen.deploy._safety.violations`), so review and deploy cannot disagree.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from cfngen.deploy._plan import Plan, ResourceChange
from cfngen.deploy._safety import pipeline_owned, violations
from cfngen.errors import UsageError
from cfngen.facts.resource_schemas import create_only_properties, forces_replacement
from cfngen.facts.resource_types import DEFAULT_CONTROLLER
from cfngen.synth import FORMATS, ROOT_NAME, Format, StackSet

ResourceAction = Literal["add", "remove", "modify", "replace"]
StackStatus = Literal["added", "removed", "modified"]
SECTIONS = ("Parameters", "Outputs")
# Keeping the old resource's data is what these DeletionPolicy values are for.
KEEPS_DATA = ("Retain", "RetainExceptOnCreate", "Snapshot")
# The old or new side of a PropertyChange where the value is not written at all.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


@dataclass(frozen=True)
class PropertyChange:
    """One changed value inside a resource (``Properties.CidrBlock``, ``DeletionPolicy``...)."""

    path: str
    old: Any
    new: Any
    forces_replacement: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON form; an absent side is left out."""
        data: dict[str, Any] = {"path": self.path}
        data.update({side: value for side, value in (("old", self.old), ("new", self.new)) if value is not ABSENT})
        data["forces_replacement"] = self.forces_replacement
        return data


@dataclass(frozen=True)
class ResourceDiff:
    """A resource added, removed, modified in place or replaced."""

    logical_id: str
    type: str
    action: ResourceAction
    changes: tuple[PropertyChange, ...] = ()
    renamed_from: str | None = None
    reason: str = ""
    keeps_data: bool = False
    refused: tuple[str, ...] = ()  # why the deployer would refuse this change (its safety rules' messages)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "logical_id": self.logical_id,
            "type": self.type,
            "action": self.action,
            "renamed_from": self.renamed_from,
            "reason": self.reason,
            "keeps_data": self.keeps_data,
            "refused": list(self.refused),
            "changes": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class ItemChange:
    """A parameter or output added, removed or changed."""

    section: str
    name: str
    action: Literal["add", "remove", "modify"]


@dataclass(frozen=True)
class StackDiff:
    """The changes of one template file (one stack)."""

    file: str
    status: StackStatus
    resources: tuple[ResourceDiff, ...] = ()
    items: tuple[ItemChange, ...] = ()
    sections: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "file": self.file,
            "status": self.status,
            "resources": [resource.to_dict() for resource in self.resources],
            "parameters_and_outputs": [vars(item) for item in self.items],
            "other_sections": list(self.sections),
        }


@dataclass(frozen=True)
class TemplateDiff:
    """Every stack that differs between two versions of a blueprint's templates."""

    against: str
    stacks: tuple[StackDiff, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.stacks)

    def resources(self) -> Iterator[tuple[StackDiff, ResourceDiff]]:
        """Every resource change, with its stack."""
        for stack in self.stacks:
            for resource in stack.resources:
                yield stack, resource

    def refusals(self) -> list[tuple[StackDiff, ResourceDiff]]:
        """The changes the deployer would refuse."""
        return [(stack, resource) for stack, resource in self.resources() if resource.refused]

    def replacements(self) -> list[tuple[StackDiff, ResourceDiff]]:
        """The resources CloudFormation would replace (and those it would remove)."""
        return [(stack, resource) for stack, resource in self.resources() if resource.action in ("replace", "remove")]

    def counts(self) -> dict[str, int]:
        """How many resources each action touches."""
        counts = {action: 0 for action in ("add", "modify", "replace", "remove")}
        for _, resource in self.resources():
            counts[resource.action] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON form, for scripts."""
        return {"against": self.against, "counts": self.counts(), "stacks": [stack.to_dict() for stack in self.stacks]}


def diff(stacks: StackSet, against: str | Path = "HEAD", *, directory: str | Path | None = None) -> TemplateDiff:
    """Compare `stacks` with the templates of `against`: a directory of templates, or a git revision.

    With a git revision, the templates are read from `directory` (default
    ``templates/<blueprint name>``, relative to the working directory) as
    committed at that revision. Returns a TemplateDiff; raises UsageError when
    `against` is neither a directory nor a revision, or holds no templates of this blueprint.
    """
    directory = Path(directory) if directory is not None else Path("templates") / stacks.blueprint.name
    old = read_blueprint_templates(str(against), directory, stacks.blueprint.name)
    fmt: Format = "json" if any(name.endswith(".json") for name in old) else "yaml"
    return diff_texts(old, stacks.render(fmt), region=stacks.blueprint.region, against=str(against))


def read_templates(against: str, directory: Path) -> dict[str, str]:
    """File name -> text of the templates in directory `against`, or in `directory` at git revision `against`."""
    candidate = Path(against)
    if candidate.is_dir():
        return {path.name: path.read_text(encoding="utf-8") for path in _template_files(candidate)}
    return _templates_at_revision(against, directory)


def read_blueprint_templates(against: str, directory: Path, name: str) -> dict[str, str]:
    """:func:`read_templates`, refusing (UsageError) a place that holds no templates of blueprint `name`: a
    comparison with nothing would show every stack as new, and a reviewer would approve a diff that means nothing."""
    texts = read_templates(against, directory)
    where = against if Path(against).is_dir() else f"{directory} at git revision {against}"
    root = next((text for file, text in texts.items() if Path(file).stem == ROOT_NAME), None)
    if root is None:
        raise UsageError(f"--against {against}: no templates of blueprint {name!r} in {where}")
    description = str(decode_template(f"{ROOT_NAME} of {against}", root).get("Description", ""))
    owner = description.split(":", 1)[0]
    if owner != name:
        raise UsageError(f"--against {against}: the templates in {where} are of blueprint {owner!r}, not {name!r}")
    return texts


def diff_texts(old: Mapping[str, str], new: Mapping[str, str], *, region: str, against: str = "") -> TemplateDiff:
    """Compare two sets of template texts (file name -> text); stacks match by file stem."""
    old_by_stem = {Path(name).stem: name for name in old}
    new_by_stem = {Path(name).stem: name for name in new}
    stacks = []
    for stem in [*new_by_stem, *(stem for stem in old_by_stem if stem not in new_by_stem)]:
        old_template = decode_template(old_by_stem[stem], old[old_by_stem[stem]]) if stem in old_by_stem else None
        new_template = decode_template(new_by_stem[stem], new[new_by_stem[stem]]) if stem in new_by_stem else None
        stack = _stack_diff(new_by_stem.get(stem) or old_by_stem[stem], old_template, new_template, region)
        if stack is not None:
            stacks.append(stack)
    return TemplateDiff(against=against, stacks=tuple(stacks))


def _stack_diff(file: str, old: dict[str, Any] | None, new: dict[str, Any] | None, region: str) -> StackDiff | None:
    status: StackStatus = "added" if old is None else "removed" if new is None else "modified"
    old, new = old or {}, new or {}
    resources = _refused(
        Path(file).stem, new, _resource_changes(old.get("Resources", {}), new.get("Resources", {}), region), region
    )
    items = tuple(
        ItemChange(section, name, "add" if name not in before else "remove" if name not in after else "modify")
        for section in SECTIONS
        for before, after in [(old.get(section, {}), new.get(section, {}))]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )
    sections = tuple(
        sorted(
            key for key in set(old) | set(new) if key not in ("Resources", *SECTIONS) and old.get(key) != new.get(key)
        )
    )
    if status == "modified" and not (resources or items or sections):
        return None
    return StackDiff(file=file, status=status, resources=resources, items=items, sections=sections)


def _resource_changes(old: dict[str, Any], new: dict[str, Any], region: str) -> tuple[ResourceDiff, ...]:
    added = [logical_id for logical_id in new if logical_id not in old]
    removed = [logical_id for logical_id in old if logical_id not in new]
    renames = _renames(old, new, added, removed)
    changes: list[ResourceDiff] = []
    for logical_id, resource in new.items():
        kind = str(resource.get("Type", ""))
        if logical_id in renames:
            before = old[renames[logical_id]]
            changes.append(
                ResourceDiff(
                    logical_id,
                    kind,
                    "replace",
                    _property_changes(before, resource, region),
                    renames[logical_id],
                    f"logical id changed from {renames[logical_id]}: CloudFormation creates a new resource and "
                    "deletes the old one",
                    _keeps_data(before),
                )
            )
        elif logical_id not in old:
            changes.append(ResourceDiff(logical_id, kind, "add"))
        elif old[logical_id] != resource:
            changes.append(_modified(logical_id, old[logical_id], resource, region))
    changes += [
        ResourceDiff(
            logical_id,
            str(old[logical_id].get("Type", "")),
            "remove",
            reason="deleted from the template",
            keeps_data=_keeps_data(old[logical_id]),
        )
        for logical_id in removed
        if logical_id not in renames.values()
    ]
    return tuple(changes)


def _refused(
    stack: str, template: Mapping[str, Any], resources: tuple[ResourceDiff, ...], region: str
) -> tuple[ResourceDiff, ...]:
    """`resources` with the deployer's reasons to refuse each, from its own safety rules."""
    plan = Plan(
        stack_name=stack,
        region=region,
        change_set_type="UPDATE",
        changes=tuple(_deploy_change(stack, template, resource) for resource in resources),
    )
    reasons: dict[str, list[str]] = {}
    for violation in violations(plan):
        reasons.setdefault(violation.change.logical_id, []).append(violation.message)
    return tuple(
        replace(resource, refused=tuple(reasons[resource.logical_id])) if resource.logical_id in reasons else resource
        for resource in resources
    )


def _deploy_change(stack: str, template: Mapping[str, Any], resource: ResourceDiff) -> ResourceChange:
    """`resource` as the row of a change set that CloudFormation would describe for it."""
    raw = {
        "ResourceType": resource.type,
        "Action": resource.action.capitalize(),
        "LogicalResourceId": resource.logical_id,
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": change.path.removeprefix("Properties.")}}
            for change in resource.changes
            if change.path.startswith("Properties.")
        ],
    }
    switches = [
        (_controller(change.old, change.path), _controller(change.new, change.path))
        for change in resource.changes
        if resource.type == "AWS::ECS::Service"
        and change.path in ("Properties.DeploymentController", "Properties.DeploymentController.Type")
    ]
    return ResourceChange(
        stack=stack,
        logical_id=resource.logical_id,
        resource_type=resource.type,
        action=resource.action,
        pipeline_owned=pipeline_owned(template, raw),
        controller_switch=switches[0] if switches else (),
    )


def _controller(value: Any, path: str) -> str:
    """The deployment controller type one side of a DeploymentController change names (absent = ECS)."""
    if value is ABSENT:
        return DEFAULT_CONTROLLER
    return str(value.get("Type", DEFAULT_CONTROLLER) if path.endswith("DeploymentController") else value)


def _modified(logical_id: str, old: dict[str, Any], new: dict[str, Any], region: str) -> ResourceDiff:
    kind = str(new.get("Type", ""))
    if old.get("Type") != kind:
        return ResourceDiff(
            logical_id,
            kind,
            "replace",
            _property_changes(old, new, region),
            reason=f"type changed from {old.get('Type')}",
            keeps_data=_keeps_data(old),
        )
    changes = _property_changes(old, new, region)
    forcing = [change.path.removeprefix("Properties.") for change in changes if change.forces_replacement]
    if forcing:
        return ResourceDiff(
            logical_id,
            kind,
            "replace",
            changes,
            reason=f"{', '.join(forcing)} cannot change in place",
            keeps_data=_keeps_data(old),
        )
    return ResourceDiff(logical_id, kind, "modify", changes)


def _renames(old: dict[str, Any], new: dict[str, Any], added: list[str], removed: list[str]) -> dict[str, str]:
    """New logical id -> old one, for an added and a removed resource of one type that are otherwise alike."""
    renames: dict[str, str] = {}
    candidates = list(removed)
    for logical_id in added:
        same_type = [old_id for old_id in candidates if old[old_id].get("Type") == new[logical_id].get("Type")]
        scored = sorted(((_likeness(old[old_id], new[logical_id]), old_id) for old_id in same_type), reverse=True)
        if scored and scored[0][0] >= 0.5:
            renames[logical_id] = scored[0][1]
            candidates.remove(scored[0][1])
    return renames


def _likeness(old: dict[str, Any], new: dict[str, Any]) -> float:
    """Share of properties (by name) with equal values."""
    before, after = old.get("Properties", {}), new.get("Properties", {})
    names = set(before) | set(after)
    if not names:
        return 1.0
    alike = sum(1 for name in names if before.get(name) == after.get(name))
    return alike / len(names)


def _property_changes(old: dict[str, Any], new: dict[str, Any], region: str) -> tuple[PropertyChange, ...]:
    create_only = create_only_properties(str(new.get("Type", old.get("Type", ""))), region)
    changes = []
    for path, before, after in _leaf_changes(
        {key: value for key, value in old.items() if key != "Type"},
        {key: value for key, value in new.items() if key != "Type"},
        (),
    ):
        forced = path[0] == "Properties" and forces_replacement(path[1:], create_only)
        changes.append(PropertyChange(".".join(map(str, path)), before, after, forced))
    return tuple(changes)


def _leaf_changes(old: Any, new: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any, Any]]:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and not (_intrinsic(old) or _intrinsic(new)):
        for key in sorted(set(old) | set(new)):
            yield from _leaf_changes(old.get(key, ABSENT), new.get(key, ABSENT), path + (key,))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new)):
            yield from _leaf_changes(before, after, path + (index,))
    else:
        yield path, old, new


def _intrinsic(value: dict[str, Any]) -> bool:
    """{"Ref": ...} or {"Fn::...": ...}: a single value, compared whole."""
    key = next(iter(value), "") if len(value) == 1 else ""
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def _keeps_data(resource: dict[str, Any]) -> bool:
    return resource.get("DeletionPolicy") in KEEPS_DATA or resource.get("UpdateReplacePolicy") in KEEPS_DATA


def decode_template(name: str, text: str) -> dict[str, Any]:
    """Template text (YAML with short-form intrinsics, or JSON) as plain dicts; UsageError naming `name` when unreadable."""
    from cfnlint.decode.decode import decode_str

    template, errors = decode_str(text)
    if errors or not isinstance(template, dict):
        detail = errors[0].message if errors else "not a template"
        raise UsageError(f"{name}: cannot read this template: {detail}")
    plain: dict[str, Any] = json.loads(json.dumps(template))  # cfn-lint's marked nodes -> plain data
    return plain


def _template_files(directory: Path) -> list[Path]:
    return sorted(path for fmt in FORMATS for path in directory.glob(f"*.{fmt}"))


def _templates_at_revision(revision: str, directory: Path) -> dict[str, str]:
    """The templates committed under `directory` at `revision`; none when the directory did not exist then."""
    anchor = directory.resolve()
    while not anchor.is_dir():
        anchor = anchor.parent
    top = _git(anchor, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise UsageError(f"--against {revision}: not a directory, and {anchor} is not inside a git repository")
    if _git(anchor, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").returncode != 0:
        raise UsageError(
            f"--against {revision}: neither a directory nor a revision of the git repository {top.stdout.strip()}"
        )
    try:
        relative = directory.resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    except ValueError:
        raise UsageError(f"{directory} is outside the git repository {top.stdout.strip()}") from None
    root = Path(top.stdout.strip())  # ls-tree filters its listing by the working directory: run it at the top
    listing = _git(root, "ls-tree", "--name-only", f"{revision}:{relative}")
    names = [name for name in listing.stdout.splitlines() if Path(name).suffix[1:] in FORMATS]
    return {name: _git(root, "show", f"{revision}:{relative}/{name}").stdout for name in names}


def _git(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(cwd), *arguments], capture_output=True, text=True, encoding="utf-8", check=False
        )
    except FileNotFoundError:
        raise UsageError("git is not installed; give --against a directory of templates instead") from None

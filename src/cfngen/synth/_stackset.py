"""Blueprint -> StackSet: run the builders in wiring order, wire the children (``_wiring``), group them when the root
outgrows its quotas (``_grouping``), and render or write them (``_writing``).

A StackSet renders each format once: everything a command does with the text (write, lint, upload, review)
reads the same rendering.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import GetAtt, Output, Template

from cfngen import _parallel as parallel
from cfngen._files import refuse_links, write_text
from cfngen.blueprint import Blueprint, logical_name
from cfngen.errors import SynthError, UsageError
from cfngen.synth import _writing
from cfngen.synth._grouping import MAX_GROUP_SERVICES, StackGroup, build_groups, group_services
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
from cfngen.synth._wiring import add_stacks, wire

__all__ = ["MAX_GROUP_SERVICES", "StackSet", "synthesize"]


@dataclass(frozen=True)
class StackSet:
    """The root template plus its nested children, ready to render, write or lint."""

    blueprint: Blueprint
    children: tuple[NestedStack, ...]
    wiring: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    groups: tuple[StackGroup, ...] = ()
    # What each format gives, built on first use: every later use of the same StackSet reads the same text.
    _templates: dict[Format, dict[str, Template]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _texts: dict[Format, dict[str, str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def child(self, name: str) -> NestedStack:
        """The child stack called `name` (file stem); KeyError when absent."""
        for child in self.children:
            if child.name == name:
                return child
        raise KeyError(name)

    def root(self, fmt: Format = "yaml") -> Template:
        """The root template; children are referenced by their file names in `fmt`."""
        return self.templates(fmt)[f"{ROOT_NAME}.{fmt}"]

    def templates(self, fmt: Format = "yaml") -> dict[str, Template]:
        """File name -> template, root first, then group stacks (if any), then children in builder order."""
        if fmt not in self._templates:
            groups = build_groups(self.blueprint, self.children, self.wiring, self.groups, fmt)
            files = {f"{ROOT_NAME}.{fmt}": _build_root(self, groups, fmt)}
            files.update((f"{stack.name}.{fmt}", stack.template) for stack in (*groups, *self.children))
            self._templates[fmt] = files
        return dict(self._templates[fmt])

    def render(self, fmt: Format = "yaml") -> dict[str, str]:
        """File name -> file text, byte-identical for the same blueprint."""
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        if fmt not in self._texts:
            self._texts[fmt] = _writing.render_all(self.templates(fmt), fmt, self.blueprint.name)
        return dict(self._texts[fmt])

    def write(self, outdir: str | Path, fmt: Format = "yaml") -> list[Path]:
        """Write every template under `outdir`; remove files cfngen wrote before that no longer exist (in
        either format: a synth in one format leaves no template of the other behind).

        Returns the paths written, root first.
        Raises UsageError, writing nothing, where `outdir` is not a directory, holds a file of the same name that
        cfngen did not generate (a blueprint next to `-o .`), or where it or a file in it is a symbolic link (a pull
        request can commit one pointing anywhere); UsageError too for a path the system refuses.
        """
        rendered = self.render(fmt)
        directory = Path(outdir)
        paths = {name: directory / name for name in rendered}
        for path in paths.values():
            refuse_links(path)
        if directory.exists() and not directory.is_dir():
            raise UsageError(f"{directory}: is not a directory; -o names the folder the templates are written to")
        foreign = [path for path in paths.values() if path.exists() and not _writing.is_generated(path)]
        if foreign:
            raise UsageError(
                f"{foreign[0]}: is not a template cfngen generated; refusing to overwrite it "
                "(choose another output directory)"
            )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for stale in _writing.stale_files(directory, rendered):
                stale.unlink()
            for name, text in rendered.items():
                if not paths[name].exists() or paths[name].read_text(encoding="utf-8") != text:
                    write_text(paths[name], text)
        except OSError as exc:
            raise UsageError(f"cannot write the templates to {directory}: {exc.strerror or exc}") from None
        return list(paths.values())

    def differences(self, outdir: str | Path, fmt: Format = "yaml") -> list[str]:
        """What differs between `outdir` and what this StackSet renders: one line per file, empty when equal."""
        directory = Path(outdir)
        rendered = self.render(fmt)
        lines = []
        for name, text in rendered.items():
            path = directory / name
            if not path.exists():
                lines.append(f"missing: {path}")
            elif path.read_text(encoding="utf-8") != text:
                lines.append(f"stale:   {path}")
        lines += [f"extra:   {path}" for path in _writing.stale_files(directory, rendered)]
        return lines

    def digest(self) -> str:
        """sha256 over every rendered file: equal digests mean equal output."""
        hasher = hashlib.sha256()
        for name, text in sorted(self.render("yaml").items()):
            hasher.update(name.encode() + b"\0" + text.encode() + b"\0")
        return hasher.hexdigest()


def synthesize(blueprint: Blueprint) -> StackSet:
    """Run every registered builder on `blueprint` and wire the children together.

    Returns a StackSet; raises SynthError when the children cannot be wired or
    a stack exceeds a CloudFormation quota.
    """
    from cfngen.builders import STACK_BUILDERS

    with parallel.collector_paused():  # the templates outlive it, and they are most of what it makes
        children: list[NestedStack] = []
        for builder in STACK_BUILDERS:
            children.extend(builder(blueprint))
        _check_unique(child.name for child in children)
        wiring = wire(children)
        groups = group_services(children, wiring)
        _check_unique([*(child.name for child in children), *(group.name for group in groups)])
        stack_set = StackSet(blueprint=blueprint, children=tuple(children), wiring=wiring, groups=groups)
        for name, template in stack_set.templates().items():
            _check_quotas(name, template)
    return stack_set


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if logical_name(name) in seen or name == ROOT_NAME:
            raise SynthError(f"two nested stacks are called {name!r}")
        seen.add(logical_name(name))


def _build_root(stack_set: StackSet, groups: list[NestedStack], fmt: Format) -> Template:
    """The root: every platform-wide child and every group, each group where its last member stood."""
    blueprint = stack_set.blueprint
    root = Template(Description=f"{blueprint.name}: root stack, nested stacks wired by outputs {GENERATED_MARK}")
    # What the templates were generated for, so that `cfngen lint DIR` checks them against that region.
    root.set_metadata({ROOT_METADATA_KEY: {"region": blueprint.region}})
    units = list(stack_set.children)
    wiring = stack_set.wiring
    if groups:
        last_members = {group.members[-1]: built for group, built in zip(stack_set.groups, groups)}
        grouped = {name for group in stack_set.groups for name in group.members}
        units = [
            last_members.get(child.name, child)
            for child in units
            if child.name not in grouped or child.name in last_members
        ]
        wiring = wire(units)
    add_stacks(root, blueprint, units, wiring, fmt)
    for unit in units:
        for output in unit.root_outputs:
            source = unit.template.outputs[output]
            root.add_output(
                Output(
                    output,
                    Description=source.properties.get("Description", output),
                    Value=GetAtt(unit.logical_id, f"Outputs.{output}"),
                )
            )
    return root


def _check_quotas(name: str, template: Template) -> None:
    for kind, items, limit in (
        ("resources", template.resources, MAX_RESOURCES),
        ("parameters", template.parameters, MAX_PARAMETERS),
        ("outputs", template.outputs, MAX_OUTPUTS),
    ):
        if len(items) > limit:
            raise SynthError(f"{name} has {len(items)} {kind}; CloudFormation allows {limit} per stack")

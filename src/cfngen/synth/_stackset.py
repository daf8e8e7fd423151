"""Blueprint -> StackSet: run the builders, wire the children through the root, write files.

Wiring is by name and happens in one place (:func:`_wire`): a child's
Parameter ``P`` receives ``!GetAtt <Producer>.Outputs.P`` from the one earlier
child that outputs ``P``. A parameter that no sibling produces but that has a
default is lifted to the root, so callers can override it at deploy time (the
service images, the AMI). Anything else is a wiring error raised at synthesis,
never a template that fails in CloudFormation. Because producers must come
earlier in the builder order, the wiring can never form a cycle.

Scale: with a couple of nested stacks per service, a root holding every child
directly outgrows CloudFormation's per-stack quotas (500 resources, 200
parameters, 200 outputs) at a few hundred services. When, and only when, the
flat root would break a quota, the stacks of services (``NestedStack.service``)
move into intermediate *group* stacks of consecutive services (:func:`_group`).
A group passes through the inputs its members take from outside it and outputs
what stacks outside it consume. What the root could not hold one of per service
stays a level down: parameters with a default that only grouped stacks take
keep their default inside their stack instead of becoming root parameters, and
grouped stacks' root outputs become outputs of their group. Blueprints that fit
keep the flat layout, byte for byte.

Moving a stack into another group replaces it (and everything in it), so group
boundaries must not shift when services are added or removed. They are
therefore content-defined, as in rsync's chunking: a service ends its group
when the hash of its name says so (one in ``GROUP_SERVICES``), or when the group
is full, and a group is named after its first service. Adding or removing a
service anywhere changes the group around it, not the groups after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from troposphere import GetAtt, Output, Parameter, Ref, Tags, Template
from troposphere.cloudformation import Stack

from cfngen import _parallel as parallel
from cfngen._files import refuse_links, write_text
from cfngen.blueprint import Blueprint, logical_name
from cfngen.errors import SynthError, UsageError
from cfngen.synth._stack import (FORMATS, GENERATED_MARK, HEADER, MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES,
                                 QUOTA_SHARE, ROOT_NAME, Format, NestedStack)
from cfngen.synth.suppress import ignore_lint_rule
from cfngen.synth._yamldump import to_yaml

# Services per group stack: GROUP_SERVICES on average (the hash boundaries),
# MAX_GROUP_SERVICES at most; a group also closes early when its services'
# inputs and outputs would break a quota. Sixteen services' pass-through
# parameters stay inside the 200 of one stack for the platform's stacks.
GROUP_SERVICES = 8
MAX_GROUP_SERVICES = 16
GROUP_PREFIX = "group"
# Blueprints of this many files or more are rendered by a worker per core (at most one per this many files).
PARALLEL_RENDER_FILES = 64
SSM_VALUE_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


@dataclass(frozen=True)
class StackGroup:
    """An intermediate nested stack holding the stacks of consecutive services (`members`, child names)."""

    name: str
    services: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class StackSet:
    """The root template plus its nested children, ready to render, write or lint."""

    blueprint: Blueprint
    children: tuple[NestedStack, ...]
    wiring: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    groups: tuple[StackGroup, ...] = ()

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
        groups = _build_groups(self, fmt)
        files = {f"{ROOT_NAME}.{fmt}": _build_root(self, groups, fmt)}
        files.update((f"{stack.name}.{fmt}", stack.template) for stack in (*groups, *self.children))
        return files

    def render(self, fmt: Format = "yaml") -> dict[str, str]:
        """File name -> file text, byte-identical for the same blueprint."""
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        return _render_all(self.templates(fmt), fmt, self.blueprint.name)

    def write(self, outdir: str | Path, fmt: Format = "yaml") -> list[Path]:
        """Write every template under `outdir`; remove files cfngen wrote before that no longer exist.

        Returns the paths written, root first. Raises UsageError, before anything is written, when `outdir`
        or a file in it is a symbolic link (a pull request can commit one pointing anywhere).
        """
        rendered = self.render(fmt)
        directory = Path(outdir)
        paths = {name: directory / name for name in rendered}
        for path in paths.values():
            refuse_links(path)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in stale_files(directory, rendered, fmt):
            stale.unlink()
        for name, text in rendered.items():
            if not paths[name].exists() or paths[name].read_text(encoding="utf-8") != text:
                write_text(paths[name], text)
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
        lines += [f"extra:   {path}" for path in stale_files(directory, rendered, fmt)]
        return lines

    def digest(self) -> str:
        """sha256 over every rendered file: equal digests mean equal output."""
        hasher = hashlib.sha256()
        for name, text in sorted(self.render("yaml").items()):
            hasher.update(name.encode() + b"\0" + text.encode() + b"\0")
        return hasher.hexdigest()


def stale_files(directory: Path, rendered: Mapping[str, str], fmt: Format) -> Iterator[Path]:
    """Files in `directory` that cfngen generated earlier but would not generate now."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*.{fmt}")):
        # a link is never a file cfngen wrote, and reading one may read anything (/dev/zero)
        if path.name not in rendered and not path.is_symlink() and _is_generated(path):
            yield path


def _is_generated(path: Path) -> bool:
    """True for files cfngen wrote: a YAML header line, or a JSON Description that says so."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".yaml":
        return text.startswith(HEADER.split("{", 1)[0])
    try:
        description = json.loads(text).get("Description", "")
    except (ValueError, AttributeError):
        return False
    return isinstance(description, str) and description.endswith(GENERATED_MARK)


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
        wiring = _wire(children)
        groups = _group(children, wiring)
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


def _wire(children: list[NestedStack]) -> dict[str, dict[str, str]]:
    """Child name -> {parameter: producing child name, or "" for a root parameter}."""
    producers: dict[str, str] = {}
    wiring: dict[str, dict[str, str]] = {}
    hoisted: dict[str, tuple[str, dict[str, object]]] = {}
    for child in children:
        inputs: dict[str, str] = {}
        for name, parameter in sorted(child.template.parameters.items()):
            if name in producers:
                inputs[name] = producers[name]
            elif "Default" in parameter.properties:
                spec = parameter.to_dict()
                if name in hoisted and hoisted[name][1] != spec:
                    raise SynthError(
                        f"parameter {name!r} of stack {child.name!r} differs from the one of stack "
                        f"{hoisted[name][0]!r}; a root parameter must mean one thing"
                    )
                hoisted.setdefault(name, (child.name, spec))
                inputs[name] = ""
            else:
                raise SynthError(
                    f"stack {child.name!r} takes parameter {name!r}, but no earlier stack outputs it "
                    f"and it has no default (outputs so far: {', '.join(sorted(producers)) or 'none'})"
                )
        wiring[child.name] = inputs
        for output in child.template.outputs:
            if output in producers:
                raise SynthError(f"stacks {producers[output]!r} and {child.name!r} both output {output!r}")
            producers[output] = child.name
    return wiring


def _group(children: list[NestedStack], wiring: Mapping[str, Mapping[str, str]]) -> tuple[StackGroup, ...]:
    """No groups while the flat root fits its quotas; else services in blueprint order, cut where the hash says."""
    if _fits(_flat_root_counts(children, wiring)):
        return ()
    by_service: dict[str, list[NestedStack]] = {}
    for child in children:
        if child.service:
            by_service.setdefault(child.service, []).append(child)
    consumers = _consumers(wiring)
    groups: list[StackGroup] = []
    services: list[str] = []
    for service in by_service:
        candidate = [*services, service]
        if services and (len(candidate) > MAX_GROUP_SERVICES or not _fits(
                _group_counts([child for name in candidate for child in by_service[name]], wiring, consumers))):
            groups.append(_new_group(services, by_service))
            candidate = [service]
        services = candidate
        if _ends_group(service):
            groups.append(_new_group(services, by_service))
            services = []
    if services:
        groups.append(_new_group(services, by_service))
    return tuple(groups)


def _ends_group(service: str) -> bool:
    """True for about one service name in GROUP_SERVICES, the same one on every run and machine."""
    digest = hashlib.sha256(service.encode()).digest()
    return int.from_bytes(digest[:4], "big") % GROUP_SERVICES == 0


def _new_group(services: list[str], by_service: Mapping[str, list[NestedStack]]) -> StackGroup:
    return StackGroup(name=f"{GROUP_PREFIX}-{services[0]}", services=tuple(services),
                      members=tuple(child.name for service in services for child in by_service[service]))


def _fits(counts: tuple[int, int, int]) -> bool:
    """True when a stack of these resource, parameter and output counts stays within QUOTA_SHARE of each quota."""
    limits = (MAX_RESOURCES, MAX_PARAMETERS, MAX_OUTPUTS)
    return all(count <= limit * QUOTA_SHARE for count, limit in zip(counts, limits))


def _flat_root_counts(children: list[NestedStack], wiring: Mapping[str, Mapping[str, str]]) -> tuple[int, int, int]:
    hoisted = {name for inputs in wiring.values() for name, producer in inputs.items() if not producer}
    return len(children), len(hoisted), sum(len(child.root_outputs) for child in children)


def _group_counts(members: list[NestedStack], wiring: Mapping[str, Mapping[str, str]],
                  consumers: Mapping[str, set[str]]) -> tuple[int, int, int]:
    """Resources, parameters (an upper bound: every input from outside) and outputs of a group of `members`."""
    names = {child.name for child in members}
    parameters = {name for child in members for name, producer in wiring[child.name].items() if producer not in names}
    outputs = {name for child in members for name in _outputs_leaving(child, consumers, names)}
    return len(members), len(parameters), len(outputs)


def _consumers(wiring: Mapping[str, Mapping[str, str]]) -> dict[str, set[str]]:
    """Output name -> the children whose parameters it feeds."""
    consumers: dict[str, set[str]] = {}
    for child, inputs in wiring.items():
        for name, producer in inputs.items():
            if producer:
                consumers.setdefault(name, set()).add(child)
    return consumers


def _outputs_leaving(child: NestedStack, consumers: Mapping[str, set[str]], members: set[str]) -> list[str]:
    """The outputs of `child` that a stack outside `members`, or the root's outputs, need."""
    return [name for name in child.template.outputs
            if name in child.root_outputs or consumers.get(name, set()) - members]


def _build_groups(stack_set: StackSet, fmt: Format) -> list[NestedStack]:
    """The template of every group stack, each as a NestedStack the root wires like any other child.

    A group's parameters are the inputs its members take from outside the group,
    and the root parameters they share with platform-wide stacks; a parameter
    with a default that only grouped stacks take is not passed, so its stack
    keeps the default. A group's outputs are what stacks outside it, or the root, need.
    """
    if not stack_set.groups:
        return []
    by_name = {child.name: child for child in stack_set.children}
    grouped = {name for group in stack_set.groups for name in group.members}
    root_parameters = {name for child in stack_set.children if child.name not in grouped
                       for name, producer in stack_set.wiring[child.name].items() if not producer}
    consumers = _consumers(stack_set.wiring)
    return [_build_group(stack_set, group, [by_name[name] for name in group.members], root_parameters, consumers, fmt)
            for group in stack_set.groups]


def _build_group(stack_set: StackSet, group: StackGroup, members: list[NestedStack], root_parameters: set[str],
                 consumers: Mapping[str, set[str]], fmt: Format) -> NestedStack:
    blueprint = stack_set.blueprint
    names = set(group.members)
    services = " to ".join(dict.fromkeys((group.services[0], group.services[-1])))
    template = Template(Description=f"{blueprint.name}: the nested stacks of services {services}, grouped to keep "
                                    f"the root within CloudFormation's quotas {GENERATED_MARK}")
    inputs: dict[str, dict[str, str]] = {}
    for child in members:
        wired = {}
        for name, producer in stack_set.wiring[child.name].items():
            if producer in names:
                wired[name] = producer
            elif producer or name in root_parameters:
                wired[name] = ""
                if producer and name not in template.parameters:
                    # String whatever the member's type: a parent may pass only strings to a nested stack.
                    template.add_parameter(Parameter(name, Type="String",
                                                     Description=f"{name}, passed through to the group's stacks"))
        inputs[child.name] = wired
    _add_stacks(template, blueprint, members, inputs, fmt)
    for child in members:
        for name in _outputs_leaving(child, consumers, names):
            description = child.template.outputs[name].properties.get("Description", name)
            template.add_output(Output(name, Description=description, Value=GetAtt(child.logical_id, f"Outputs.{name}")))
    # Its members' root outputs stop at the group: one per service would not fit in the root's 200 either.
    return NestedStack(group.name, template)


def _build_root(stack_set: StackSet, groups: list[NestedStack], fmt: Format) -> Template:
    """The root: every platform-wide child and every group, each group where its last member stood."""
    blueprint = stack_set.blueprint
    root = Template(Description=f"{blueprint.name}: root stack, nested stacks wired by outputs {GENERATED_MARK}")
    units = list(stack_set.children)
    wiring = stack_set.wiring
    if groups:
        last_members = {group.members[-1]: built for group, built in zip(stack_set.groups, groups)}
        grouped = {name for group in stack_set.groups for name in group.members}
        units = [last_members.get(child.name, child) for child in units
                 if child.name not in grouped or child.name in last_members]
        wiring = _wire(units)
    _add_stacks(root, blueprint, units, wiring, fmt)
    for unit in units:
        for output in unit.root_outputs:
            source = unit.template.outputs[output]
            root.add_output(Output(output, Description=source.properties.get("Description", output),
                                   Value=GetAtt(unit.logical_id, f"Outputs.{output}")))
    return root


def _add_stacks(parent: Template, blueprint: Blueprint, children: Iterable[NestedStack],
                wiring: Mapping[str, Mapping[str, str]], fmt: Format) -> None:
    """One AWS::CloudFormation::Stack per child, its parameters wired from siblings or from the parent's parameters.

    A parameter wired to "" is one of the parent's own: the parent copies the
    child's declaration unless it already declares it.
    """
    for child in children:
        parameters: dict[str, object] = {}
        for name, producer in wiring[child.name].items():
            if producer:
                parameters[name] = GetAtt(logical_name(producer), f"Outputs.{name}")
            else:
                if name not in parent.parameters:
                    parent.add_parameter(_copy_parameter(child.template.parameters[name]))
                parameters[name] = Ref(name)
        stack = Stack(child.logical_id, TemplateURL=f"{child.name}.{fmt}",
                      DeletionPolicy="Delete", UpdateReplacePolicy="Delete")
        ignore_lint_rule(stack, "W3002", "the deployer uploads the child file and replaces this local path "
                                         "with its content-addressed S3 URL (cfngen deploy / Deployer.package)")
        if parameters:
            stack.Parameters = parameters
        if blueprint.tags:
            stack.Tags = Tags(**blueprint.tags)
        parent.add_resource(stack)


def _copy_parameter(parameter: Parameter) -> Parameter:
    properties = dict(parameter.properties)
    if str(properties["Type"]).startswith(SSM_VALUE_TYPE_PREFIX):
        # A root parameter of an SSM value type would resolve the value (an AMI id) and hand that to a
        # child that expects the SSM parameter's name; the root takes the name and the child resolves it.
        properties["Type"] = "AWS::SSM::Parameter::Name"
    return Parameter(parameter.title, **properties)


def _check_quotas(name: str, template: Template) -> None:
    for kind, items, limit in (
        ("resources", template.resources, MAX_RESOURCES),
        ("parameters", template.parameters, MAX_PARAMETERS),
        ("outputs", template.outputs, MAX_OUTPUTS),
    ):
        if len(items) > limit:
            raise SynthError(f"{name} has {len(items)} {kind}; CloudFormation allows {limit} per stack")


def _render_all(templates: Mapping[str, Template], fmt: Format, blueprint_name: str) -> dict[str, str]:
    """File name -> text of every template; many of them are rendered by forked workers, one per core.

    Rendering is most of the time `synth` takes for a large blueprint (YAML representation runs in
    Python), and a forked worker inherits the templates rather than receiving them.
    """
    global _RENDERING
    workers = _render_workers(len(templates))
    if not workers:
        return {name: _render(template, fmt, blueprint_name) for name, template in templates.items()}
    from concurrent.futures import ProcessPoolExecutor  # only here: small blueprints never pay for the import

    _RENDERING = (templates, fmt, blueprint_name)
    try:
        with parallel.frozen_heap(), ProcessPoolExecutor(workers, mp_context=parallel.pool_context()) as pool:
            texts = pool.map(_render_named, templates, chunksize=PARALLEL_RENDER_FILES // 4)
            return dict(zip(templates, texts))
    finally:
        _RENDERING = None


def _render_workers(count: int) -> int:
    """How many forked workers render `count` templates: 0 when this process renders them itself."""
    workers = min(parallel.available_cores(), count // PARALLEL_RENDER_FILES)
    if workers < 2 or not parallel.fork_is_safe():
        return 0
    import multiprocessing

    return 0 if multiprocessing.parent_process() is not None else workers  # a worker renders alone


# What the forked rendering workers render: set by _render_all around the pool, inherited by the fork.
_RENDERING: tuple[Mapping[str, Template], Format, str] | None = None


def _render_named(name: str) -> str:
    assert _RENDERING is not None, "only forked rendering workers render by name"
    templates, fmt, blueprint_name = _RENDERING
    return _render(templates[name], fmt, blueprint_name)


def _render(template: Template, fmt: Format, blueprint_name: str) -> str:
    if fmt == "json":
        return json.dumps(template.to_dict(), indent=2, sort_keys=True) + "\n"
    return HEADER.format(name=blueprint_name) + to_yaml(template)

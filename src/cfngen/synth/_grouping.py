"""Grouping: what keeps the root within CloudFormation's quotas at any number of services.

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
from collections.abc import Mapping
from dataclasses import dataclass

from troposphere import GetAtt, Output, Parameter, Template

from cfngen.blueprint import Blueprint
from cfngen.synth._stack import (
    GENERATED_MARK,
    MAX_OUTPUTS,
    MAX_PARAMETERS,
    MAX_RESOURCES,
    QUOTA_SHARE,
    Format,
    NestedStack,
)
from cfngen.synth._wiring import add_stacks, consumers_of

# Services per group stack: GROUP_SERVICES on average (the hash boundaries),
# MAX_GROUP_SERVICES at most; a group also closes early when its services'
# inputs and outputs would break a quota. Sixteen services' pass-through
# parameters stay inside the 200 of one stack for the platform's stacks.
GROUP_SERVICES = 8
MAX_GROUP_SERVICES = 16
GROUP_PREFIX = "group"


@dataclass(frozen=True)
class StackGroup:
    """An intermediate nested stack holding the stacks of consecutive services (`members`, child names)."""

    name: str
    services: tuple[str, ...]
    members: tuple[str, ...]


def group_services(children: list[NestedStack], wiring: Mapping[str, Mapping[str, str]]) -> tuple[StackGroup, ...]:
    """No groups while the flat root fits its quotas; else services in blueprint order, cut where the hash says."""
    if _fits(flat_root_counts(children, wiring)):
        return ()
    by_service: dict[str, list[NestedStack]] = {}
    for child in children:
        if child.service:
            by_service.setdefault(child.service, []).append(child)
    consumers = consumers_of(wiring)
    groups: list[StackGroup] = []
    services: list[str] = []
    for service in by_service:
        candidate = [*services, service]
        if services and (
            len(candidate) > MAX_GROUP_SERVICES
            or not _fits(_group_counts([child for name in candidate for child in by_service[name]], wiring, consumers))
        ):
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
    return StackGroup(
        name=f"{GROUP_PREFIX}-{services[0]}",
        services=tuple(services),
        members=tuple(child.name for service in services for child in by_service[service]),
    )


def _fits(counts: tuple[int, int, int]) -> bool:
    """True when a stack of these resource, parameter and output counts stays within QUOTA_SHARE of each quota."""
    limits = (MAX_RESOURCES, MAX_PARAMETERS, MAX_OUTPUTS)
    return all(count <= limit * QUOTA_SHARE for count, limit in zip(counts, limits))


def flat_root_counts(children: list[NestedStack], wiring: Mapping[str, Mapping[str, str]]) -> tuple[int, int, int]:
    hoisted = {name for inputs in wiring.values() for name, producer in inputs.items() if not producer}
    return len(children), len(hoisted), sum(len(child.root_outputs) for child in children)


def _group_counts(
    members: list[NestedStack], wiring: Mapping[str, Mapping[str, str]], consumers: Mapping[str, set[str]]
) -> tuple[int, int, int]:
    """Resources, parameters (an upper bound: every input from outside) and outputs of a group of `members`."""
    names = {child.name for child in members}
    parameters = {name for child in members for name, producer in wiring[child.name].items() if producer not in names}
    outputs = {name for child in members for name in outputs_leaving(child, consumers, names)}
    return len(members), len(parameters), len(outputs)


def outputs_leaving(child: NestedStack, consumers: Mapping[str, set[str]], members: set[str]) -> list[str]:
    """The outputs of `child` that a stack outside `members`, or the root's outputs, need."""
    return [
        name for name in child.template.outputs if name in child.root_outputs or consumers.get(name, set()) - members
    ]


def build_groups(
    blueprint: Blueprint,
    children: tuple[NestedStack, ...],
    wiring: Mapping[str, Mapping[str, str]],
    groups: tuple[StackGroup, ...],
    fmt: Format,
) -> list[NestedStack]:
    """The template of every group stack, each as a NestedStack the root wires like any other child.

    A group's parameters are the inputs its members take from outside the group,
    and the root parameters they share with platform-wide stacks; a parameter
    with a default that only grouped stacks take is not passed, so its stack
    keeps the default. A group's outputs are what stacks outside it, or the root, need.
    """
    if not groups:
        return []
    by_name = {child.name: child for child in children}
    grouped = {name for group in groups for name in group.members}
    root_parameters = {
        name
        for child in children
        if child.name not in grouped
        for name, producer in wiring[child.name].items()
        if not producer
    }
    consumers = consumers_of(wiring)
    return [
        _build_group(
            blueprint, wiring, group, [by_name[name] for name in group.members], root_parameters, consumers, fmt
        )
        for group in groups
    ]


def _build_group(
    blueprint: Blueprint,
    wiring: Mapping[str, Mapping[str, str]],
    group: StackGroup,
    members: list[NestedStack],
    root_parameters: set[str],
    consumers: Mapping[str, set[str]],
    fmt: Format,
) -> NestedStack:
    names = set(group.members)
    services = " to ".join(dict.fromkeys((group.services[0], group.services[-1])))
    template = Template(
        Description=f"{blueprint.name}: the nested stacks of services {services}, grouped to keep "
        f"the root within CloudFormation's quotas {GENERATED_MARK}"
    )
    inputs: dict[str, dict[str, str]] = {}
    for child in members:
        wired = {}
        for name, producer in wiring[child.name].items():
            if producer in names:
                wired[name] = producer
            elif producer or name in root_parameters:
                wired[name] = ""
                if producer and name not in template.parameters:
                    # String whatever the member's type: a parent may pass only strings to a nested stack.
                    template.add_parameter(
                        Parameter(name, Type="String", Description=f"{name}, passed through to the group's stacks")
                    )
        inputs[child.name] = wired
    add_stacks(template, blueprint, members, inputs, fmt)
    for child in members:
        for name in outputs_leaving(child, consumers, names):
            description = child.template.outputs[name].properties.get("Description", name)
            template.add_output(
                Output(name, Description=description, Value=GetAtt(child.logical_id, f"Outputs.{name}"))
            )
    # Its members' root outputs stop at the group: one per service would not fit in the root's 200 either.
    return NestedStack(group.name, template)

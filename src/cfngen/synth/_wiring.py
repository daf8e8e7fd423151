"""Wiring by name: a child's Parameter ``P`` receives ``!GetAtt <Producer>.Outputs.P`` from the one earlier child
that outputs ``P``.

A parameter that no sibling produces but that has a default is lifted to the
parent, so callers can override it at deploy time (the service images, the
AMI). Anything else is a wiring error raised at synthesis, never a template that
fails in CloudFormation. Because producers must come earlier in the builder
order, the wiring can never form a cycle. The names themselves are declared in
:mod:`cfngen.builders.contracts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from troposphere import GetAtt, Parameter, Ref, Tags, Template
from troposphere.cloudformation import Stack

from cfngen.blueprint import Blueprint, logical_name
from cfngen.errors import SynthError
from cfngen.synth._stack import Format, NestedStack
from cfngen.synth.suppress import ignore_lint_rule

SSM_VALUE_TYPE_PREFIX = "AWS::SSM::Parameter::Value<"


def wire(children: list[NestedStack]) -> dict[str, dict[str, str]]:
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


def consumers_of(wiring: Mapping[str, Mapping[str, str]]) -> dict[str, set[str]]:
    """Output name -> the children whose parameters it feeds."""
    consumers: dict[str, set[str]] = {}
    for child, inputs in wiring.items():
        for name, producer in inputs.items():
            if producer:
                consumers.setdefault(name, set()).add(child)
    return consumers


def add_stacks(
    parent: Template,
    blueprint: Blueprint,
    children: Iterable[NestedStack],
    wiring: Mapping[str, Mapping[str, str]],
    fmt: Format,
) -> None:
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
        stack = Stack(
            child.logical_id, TemplateURL=f"{child.name}.{fmt}", DeletionPolicy="Delete", UpdateReplacePolicy="Delete"
        )
        ignore_lint_rule(
            stack,
            "W3002",
            "the deployer uploads the child file and replaces this local path "
            "with its content-addressed S3 URL (cfngen deploy / Deployer.package)",
        )
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

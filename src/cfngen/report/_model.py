"""Generated templates as plain data, the wiring between them, and readable names for the values in them.

Every section of the review reads templates, not builders: the same code
describes what cfngen generates now, what a directory of old templates holds,
or what a git ref committed. :class:`TemplateSet` is that common input;
:class:`Names` turns intrinsic functions into text a reviewer can read, and
follows a child's parameter through the root to the sibling resource that
produces it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cfngen.errors import UsageError
from cfngen.facts.resource_types import NESTED_STACK
from cfngen.report._template_diff import decode_template
from cfngen.synth import ROOT_NAME, StackSet

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
# How a pseudo parameter standing alone reads (inside an ARN or a Sub it is boilerplate, see readable_arn).
PSEUDO_NAMES = {
    "AWS::AccountId": "this account",
    "AWS::Region": "this region",
    "AWS::Partition": "this partition",
    "AWS::StackName": "this stack's name",
    "AWS::URLSuffix": "the region's URL suffix",
}
# Attributes that name the resource itself: `GetAtt X.Arn` reads as "X".
IDENTITY_ATTRIBUTES = frozenset({"Arn", "GroupId", "Name", "Id", "LoadBalancerArn", "TargetGroupArn", "KeyArn"})
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")
# Attributes whose value the resource's own properties state: (type, attribute) -> property; when the property is
# left out, the value AWS uses for the resource's engine. Aurora's defaults: 3306 for MySQL, 5432 for PostgreSQL
# (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Overview.Endpoints.html).
_STATED_ATTRIBUTES = {
    ("AWS::RDS::DBCluster", "Endpoint.Port"): "Port",
    ("AWS::RDS::DBCluster", "ReadEndpoint.Port"): "Port",
    ("AWS::RDS::DBInstance", "Endpoint.Port"): "Port",
}
_ENGINE_PORTS = {
    "aurora-mysql": 3306,
    "aurora": 3306,
    "mysql": 3306,
    "mariadb": 3306,
    "aurora-postgresql": 5432,
    "postgres": 5432,
}

Template = Mapping[str, Any]


@dataclass(frozen=True)
class Stack:
    """One template and its name (the file stem; ``root`` for the root)."""

    name: str
    template: Template

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """Logical id -> resource."""
        resources = self.template.get("Resources") or {}
        return {name: resource for name, resource in resources.items() if isinstance(resource, dict)}

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """Parameter name -> declaration."""
        return dict(self.template.get("Parameters") or {})

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        """Output name -> declaration."""
        return dict(self.template.get("Outputs") or {})

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(logical id, resource) of every resource of one of `types`, in logical-id order."""
        for name, resource in sorted(self.resources.items()):
            if resource.get("Type") in types:
                yield name, resource


@dataclass(frozen=True)
class Input:
    """Where a child's parameter comes from: a sibling's output, or a root parameter when `producer` is empty."""

    producer: str
    output: str


@dataclass(frozen=True)
class TemplateSet:
    """A root template and its nested children, as plain data, with the wiring read from the root."""

    name: str
    root: Stack
    children: tuple[Stack, ...]
    wiring: Mapping[str, Mapping[str, Input]] = field(default_factory=dict)

    def stack(self, name: str) -> Stack:
        """The stack called `name` (a child, or the root); KeyError when absent."""
        for stack in (self.root, *self.children):
            if stack.name == name:
                return stack
        raise KeyError(name)

    def stacks(self) -> tuple[Stack, ...]:
        """The root, then the children in deployment order."""
        return (self.root, *self.children)

    @classmethod
    def from_stack_set(cls, stacks: StackSet) -> TemplateSet:
        """The templates of `stacks` exactly as `cfngen synth` writes them (YAML), read back as data."""
        return cls.from_texts(stacks.blueprint.name, stacks.render("yaml"))

    @classmethod
    def from_texts(cls, name: str, texts: Mapping[str, str]) -> TemplateSet:
        """Parse template files (file name -> text); the one called root.* is the root."""
        parsed = {PurePosixPath(file).stem: decode_template(file, text) for file, text in texts.items()}
        root = Stack(ROOT_NAME, parsed.pop(ROOT_NAME, {}))
        order = [stem for stem in _ordered_stacks(root) if stem in parsed]
        children = [Stack(stem, parsed[stem]) for stem in order]
        children += [Stack(stem, template) for stem, template in sorted(parsed.items()) if stem not in order]
        return cls(name=name, root=root, children=tuple(children), wiring=_read_wiring(root))

    @classmethod
    def from_directory(cls, name: str, directory: Path) -> TemplateSet:
        """The templates in `directory` (what `cfngen synth -o DIR` wrote)."""
        files = sorted(path for path in directory.iterdir() if path.suffix in TEMPLATE_SUFFIXES and path.is_file())
        if not files:
            raise UsageError(f"{directory}: no templates (*.yaml, *.json) in this directory")
        return cls.from_texts(name, {path.name: path.read_text(encoding="utf-8") for path in files})


def _stem(resource: Mapping[str, Any]) -> str:
    url = (resource.get("Properties") or {}).get("TemplateURL", "")
    return PurePosixPath(str(url)).stem if isinstance(url, str) else ""


def _ordered_stacks(root: Stack) -> list[str]:
    """Child stems in deployment order: by depth in the wiring (producers first), then by name.

    The root template lists its children alphabetically (templates are written
    with sorted keys), so the order is recovered from who feeds whom.
    """
    wiring = _read_wiring(root)
    depth: dict[str, int] = {}

    def depth_of(stem: str, visiting: frozenset[str] = frozenset()) -> int:
        if stem not in depth:
            producers = {
                source.producer
                for source in wiring.get(stem, {}).values()
                if source.producer and source.producer not in visiting | {stem}
            }
            depth[stem] = 1 + max((depth_of(producer, visiting | {stem}) for producer in producers), default=-1)
        return depth[stem]

    return sorted(wiring, key=lambda stem: (depth_of(stem), stem))


def _read_wiring(root: Stack) -> dict[str, dict[str, Input]]:
    """Child stem -> parameter -> Input, from the root's `Parameters` of each nested stack."""
    stems = {logical_id: _stem(resource) for logical_id, resource in root.of_type(NESTED_STACK)}
    wiring: dict[str, dict[str, Input]] = {}
    for logical_id, resource in root.of_type(NESTED_STACK):
        inputs: dict[str, Input] = {}
        for parameter, value in sorted(((resource.get("Properties") or {}).get("Parameters") or {}).items()):
            producer, output = _stack_output(value)
            if producer in stems:
                inputs[parameter] = Input(stems[producer], output)
            elif isinstance(value, dict) and "Ref" in value:
                inputs[parameter] = Input("", str(value["Ref"]))
        wiring[stems[logical_id]] = inputs
    return wiring


def _stack_output(value: Any) -> tuple[str, str]:
    """("Network", "VpcId") for GetAtt Network.Outputs.VpcId; ("", "") for anything else."""
    if not isinstance(value, dict) or "Fn::GetAtt" not in value:
        return "", ""
    target = value["Fn::GetAtt"]
    parts = target.split(".", 1) if isinstance(target, str) else list(target)
    if len(parts) == 2 and str(parts[1]).startswith("Outputs."):
        return str(parts[0]), str(parts[1]).removeprefix("Outputs.")
    return "", ""


@dataclass(frozen=True)
class Origin:
    """A value followed to where it is defined: `value` as written in stack `stack`."""

    stack: str
    value: Any

    def resource(self, templates: TemplateSet) -> tuple[str, dict[str, Any]] | None:
        """(logical id, resource) when the value is a Ref or GetAtt of a resource, else None."""
        name = referenced_resource(self.value)
        if name is None:
            return None
        resource = templates.stack(self.stack).resources.get(name)
        return (name, resource) if resource is not None else None


def referenced_resource(value: Any) -> str | None:
    """The logical id in a `Ref` or `Fn::GetAtt`, or None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target.split(".", 1)[0] if isinstance(target, str) else target[0])
    return None


class Names:
    """Readable text for template values, following parameters across stacks through the root's wiring."""

    def __init__(self, templates: TemplateSet) -> None:
        self.templates = templates

    def origin(self, stack: str, value: Any) -> Origin:
        """Follow `Ref <parameter>` to the sibling output (or root parameter) that feeds it."""
        seen: set[tuple[str, str]] = set()
        while isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
            parameter = value["Ref"]
            wired = self.templates.wiring.get(stack, {}).get(parameter)
            if (stack, parameter) in seen or wired is None or parameter not in self._parameters(stack):
                break
            seen.add((stack, parameter))
            if not wired.producer:
                return Origin(ROOT_NAME, {"Ref": wired.output})
            output = self.templates.stack(wired.producer).outputs.get(wired.output)
            if output is None:
                break
            stack, value = wired.producer, output.get("Value")
        return Origin(stack, value)

    def locate(self, stack: str, value: Any) -> tuple[str, str] | None:
        """(stack, logical id) of the resource `value` in `stack` refers to, followed through the wiring; else None."""
        origin = self.origin(stack, value)
        located = origin.resource(self.templates)
        return (origin.stack, located[0]) if located else None

    def _parameters(self, stack: str) -> dict[str, dict[str, Any]]:
        try:
            return self.templates.stack(stack).parameters
        except KeyError:
            return {}

    def default(self, origin: Origin) -> Any:
        """The default of a parameter the origin stops at, or None."""
        if isinstance(origin.value, dict) and set(origin.value) == {"Ref"}:
            declaration = self._parameters(origin.stack).get(str(origin.value["Ref"]), {})
            return declaration.get("Default")
        return None

    def literal(self, stack: str, value: Any) -> Any:
        """The value as a literal (following parameters, using root parameter defaults and the attributes a
        resource's properties state, such as a database's port), or None."""
        origin = self.origin(stack, value)
        if isinstance(origin.value, (str, int, float, bool)):
            return origin.value
        if isinstance(origin.value, dict) and set(origin.value) == {"Fn::GetAtt"}:
            return self._stated_attribute(origin)
        return self.default(origin)

    def _stated_attribute(self, origin: Origin) -> Any:
        target = origin.value["Fn::GetAtt"]
        name, attribute = target.split(".", 1) if isinstance(target, str) else (target[0], ".".join(target[1:]))
        resource = self.templates.stack(origin.stack).resources.get(str(name), {})
        prop = _STATED_ATTRIBUTES.get((str(resource.get("Type")), attribute))
        if prop is None:
            return None
        properties = resource.get("Properties") or {}
        if prop in properties:
            return self.literal(origin.stack, properties[prop])
        return _ENGINE_PORTS.get(str(self.literal(origin.stack, properties.get("Engine"))))

    def count(self, stack: str, value: Any) -> int | None:
        """How many items a list value holds (a literal list, or a comma-joined output of a sibling), or None."""
        origin = self.origin(stack, value)
        value = origin.value
        if isinstance(value, dict) and set(value) == {"Fn::Split"}:
            return self.count(origin.stack, value["Fn::Split"][1])
        if isinstance(value, dict) and set(value) == {"Fn::Join"}:
            return len(value["Fn::Join"][1]) if isinstance(value["Fn::Join"][1], list) else None
        if isinstance(value, list):
            return len(value)
        return None

    def describe(self, stack: str, value: Any, *, context: str | None = None) -> str:
        """Readable text for `value` as written in `stack`: resources by logical id, ARNs without boilerplate.

        Resources of another stack than `context` (default: `stack`) are named ``stack/LogicalId``.
        """
        return self._describe(stack if context is None else context, stack, value)

    def label(self, context: str, stack: str, logical_id: str) -> str:
        """A resource's name: its logical id, prefixed by its stack when that is not `context`."""
        return logical_id if stack == context else f"{stack}/{logical_id}"

    def _describe(self, context: str, stack: str, value: Any) -> str:
        origin = self.origin(stack, value)
        stack, value = origin.stack, origin.value
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (str, int, float)):
            return readable_arn(str(value))
        if isinstance(value, list):
            return ", ".join(self._describe(context, stack, item) for item in value)
        if not isinstance(value, dict) or len(value) != 1:
            return json.dumps(value, sort_keys=True)
        ((function, argument),) = value.items()
        if function == "Ref":
            return self._reference(context, stack, str(argument))
        if function == "Fn::GetAtt":
            name, attribute = argument.split(".", 1) if isinstance(argument, str) else [*argument, ""][:2]
            label = self._reference(context, stack, str(name))
            return label if attribute in IDENTITY_ATTRIBUTES else f"{label}.{attribute}"
        if function == "Fn::Sub":
            return readable_arn(self._substitute(context, stack, argument))
        if (
            function == "Fn::Join"
            and isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[1], list)
        ):
            return readable_arn(str(argument[0]).join(self._inline(context, stack, part) for part in argument[1]))
        if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
            return f"item {argument[0]} of {self._inline(context, stack, argument[1])}"
        if function == "Fn::GetAZs":
            return "the region's availability zones"
        if function == "Fn::ImportValue":
            return f"import {self._inline(context, stack, argument)}"
        return json.dumps(value, sort_keys=True)

    def _inline(self, context: str, stack: str, value: Any) -> str:
        """A value inside a larger string: references in braces, literals as they are."""
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PSEUDO_PARAMETERS:
            return "${" + str(value["Ref"]) + "}"
        origin = self.origin(stack, value)
        if isinstance(origin.value, (str, int, float)):
            return str(origin.value)
        return "{" + self._describe(context, stack, value) + "}"

    def _reference(self, context: str, stack: str, name: str) -> str:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_NAMES.get(name, name)
        try:
            current = self.templates.stack(stack)
        except KeyError:
            return name
        if name in current.resources:
            return self.label(context, stack, name)
        if name in current.parameters:
            default = current.parameters[name].get("Default")
            where = "root parameter" if stack == ROOT_NAME else "parameter"
            return f"{where} {name}" + (f" (default {default})" if default not in (None, "") else "")
        return name

    def _substitute(self, context: str, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in PSEUDO_PARAMETERS:
                return match.group(0)
            if name in variables:
                return self._inline(context, stack, variables[name])
            if "." in name:
                resource, attribute = name.split(".", 1)
                return self._inline(context, stack, {"Fn::GetAtt": [resource, attribute]})
            return self._inline(context, stack, {"Ref": name})

        return _SUB_VARIABLE.sub(replace, str(text))


def counted(count: int, noun: str) -> str:
    """ "1 role", "3 roles", "2 repositories", "2 addresses"."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "o", "u"):
        return f"{count} {noun[:-1]}ies"
    return f"{count} {noun}es" if noun.endswith(("s", "sh", "ch", "x")) else f"{count} {noun}s"


def readable_arn(text: str) -> str:
    """``arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:x`` -> ``logs log-group:x``.

    The partition, and the stack's own region and account, are boilerplate; a
    literal other region or account stays visible. Anything else is returned as is.
    """
    # The pseudo parameters contain "::", so they are swapped for colon-free tokens before splitting.
    tokens = {"${AWS::Partition}": "\0partition", "${AWS::Region}": "\0region", "${AWS::AccountId}": "\0account"}
    for placeholder, token in tokens.items():
        text = text.replace(placeholder, token)
    parts = text.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        _, _, service, region, account, resource = parts
        if service == "iam" and account == "aws":
            return f"AWS managed policy {resource.removeprefix('policy/')}"
        if service == "iam" and account == tokens["${AWS::AccountId}"] and resource == "root":
            return "this account"
        extra = []
        if region == "*":
            extra.append("any region")
        elif region not in ("", tokens["${AWS::Region}"]):
            extra.append(f"region {region}")
        if account not in ("", tokens["${AWS::AccountId}"]):
            extra.append("any account" if account == "*" else f"account {account}")
        text = f"{service} {resource}" + (f" ({', '.join(extra)})" if extra else "")
    for placeholder, token in tokens.items():
        text = text.replace(token, placeholder)
    return text

"""The files a service's source repository holds when its pipeline reads them from there: buildspec.yml,
appspec.yaml, taskdef.json (``pipeline.buildspec: repository``; by default the build project carries
its buildspec and writes the other two itself, see :mod:`cfngen.builders.pipeline`).

``buildspec.yml`` and ``appspec.yaml`` are jinja2 templates (package data
under ``cfngen/templates``, StrictUndefined). ``taskdef.json`` is not
templated: it is the service stack's own TaskDefinition object, converted to
the RegisterTaskDefinition request that the CodeDeployToECS action sends, so
the stack and the pipeline can never deploy two different task definitions.
Its role ARNs, log group and other deployed values come from the deployed
stacks (``aws cloudformation describe-stacks`` output: outputs and parameters),
and the request is validated against botocore's model of the ECS API.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from troposphere import Template

from cfngen._jinja import render
from cfngen.blueprint import Blueprint, Service
from cfngen.builders import pipeline
from cfngen.builders import service as service_stack
from cfngen.errors import SynthError, UsageError

# The cluster stack's output naming the capacity provider that appspec.yaml names.
CAPACITY_PROVIDER_OUTPUT = "CapacityProviderName"
# What CodeDeployToECS replaces by the image the build pushed.
IMAGE_PLACEHOLDER = f"<{pipeline.IMAGE_PLACEHOLDER_NAME}>"
# CloudFormation property names that the ECS API spells differently (all others differ in case only).
_CFN_TO_API_NAMES = {"ProxyConfigurationProperties": "properties"}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_STACK_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):cloudformation:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):stack/")


@dataclass(frozen=True)
class StackValues:
    """What deployed stacks know: their outputs and parameters by name, and where they run."""

    values: Mapping[str, str]
    partition: str
    region: str
    account_id: str
    # name -> why its value is ambiguous: two stacks disagree. An error only if a file needs that value:
    # a nested stack's SSM-typed parameter, for one, shows the value its parent's parameter name resolved to.
    conflicts: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_describe_stacks(
        cls, documents: Iterable[Mapping[str, Any]], *, root_stack: str | None = None
    ) -> StackValues:
        """Merge `aws cloudformation describe-stacks` outputs ({"Stacks": [...]}); raises UsageError on conflicts.

        With `root_stack`, only that root stack and the stacks nested in it (by their RootId) count: the
        describe-stacks output of a whole region may hold other blueprints' stacks.
        """
        values: dict[str, str] = {}
        origins: dict[str, str] = {}
        conflicts: dict[str, str] = {}
        places: set[tuple[str, str, str]] = set()
        for document in documents:
            stacks = document.get("Stacks") if isinstance(document, Mapping) else None
            if not isinstance(stacks, list) or not stacks:
                raise UsageError(
                    "expected the JSON that `aws cloudformation describe-stacks` prints: "
                    '{"Stacks": [{"StackId": ..., "Outputs": [...], "Parameters": [...]}]}'
                )
            if root_stack is not None:
                stacks = [stack for stack in stacks if _root_name(stack) == root_stack]
                if not stacks:
                    raise UsageError(
                        f"no stack of the root stack {root_stack!r} among the stack values; pass "
                        "--stack-name with the name the blueprint was deployed under"
                    )
            for stack in stacks:
                place = _STACK_ARN.match(str(stack.get("StackId", "")))
                if place is None:
                    raise UsageError(f"stack {stack.get('StackName')!r} has no StackId ARN")
                places.add((place["partition"], place["region"], place["account"]))
                pairs = [(item["OutputKey"], item["OutputValue"]) for item in stack.get("Outputs", [])]
                pairs += [(item["ParameterKey"], item["ParameterValue"]) for item in stack.get("Parameters", [])]
                for name, value in pairs:
                    if name in values and values[name] != value:
                        conflicts.setdefault(
                            name,
                            f"{name} is {values[name]!r} in stack {origins[name]!r} but "
                            f"{value!r} in stack {stack.get('StackName')!r}",
                        )
                        continue
                    values[name] = str(value)
                    origins[name] = str(stack.get("StackName"))
        if len(places) != 1:
            where = ", ".join(f"{account} in {region}" for _, region, account in sorted(places))
            raise UsageError(f"the stacks must come from one account and region, found {where}")
        ((partition, region, account_id),) = places
        return cls(values=values, partition=partition, region=region, account_id=account_id, conflicts=conflicts)


def _root_name(stack: Mapping[str, Any]) -> str:
    """Name of the root stack `stack` belongs to: its own for a root, else the one its RootId ARN names."""
    root_id = str(stack.get("RootId") or "")
    if not root_id:
        return str(stack.get("StackName", ""))
    return root_id.partition(":stack/")[2].partition("/")[0]


def load_stack_values(paths: Iterable[str | Path], *, root_stack: str | None = None) -> StackValues:
    """StackValues from files holding `aws cloudformation describe-stacks` JSON; raises UsageError.

    With `root_stack`, stacks outside that root stack's tree are left out (see StackValues.from_describe_stacks).
    """
    documents = []
    for path in paths:
        try:
            documents.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not JSON ({exc})") from None
    if not documents:
        raise UsageError("no stack values given")
    return StackValues.from_describe_stacks(documents, root_stack=root_stack)


def render_service_files(blueprint: Blueprint, service: str, *, stack_values: StackValues) -> dict[str, str]:
    """File name -> text of buildspec.yml, appspec.yaml and taskdef.json for `service`'s source repository.

    `stack_values` are the deployed stacks' outputs and parameters (see
    load_stack_values). Raises UsageError for an unknown service or missing
    values; the same blueprint and values give byte-identical files.
    """
    try:
        spec = blueprint.service(service)
    except KeyError:
        known = ", ".join(item.name for item in blueprint.services)
        raise UsageError(f"blueprint {blueprint.name!r} has no service {service!r}; it has {known}") from None
    if not blueprint.deployment_of(spec).uses_codedeploy:
        # CloudFormation deploys the task definition of an ecs-* service: its repository holds no taskdef.json.
        return {
            pipeline.BUILDSPEC_FILE: render(
                "buildspec.yml.j2",
                blueprint=blueprint.name,
                service=spec.name,
                test_command=spec.test_command,
                task_definition=None,
            )
        }
    return _service_files(blueprint, spec, service_stack.build(blueprint, spec), stack_values)


def _service_files(blueprint: Blueprint, service: Service, stack: Template, values: StackValues) -> dict[str, str]:
    """The files, from the service stack's own task definition and the container its load balancer targets."""
    (target,) = _properties(stack, "AWS::ECS::Service")["LoadBalancers"]
    task_definition = _properties(stack, "AWS::ECS::TaskDefinition")
    for container in task_definition["ContainerDefinitions"]:
        if container["Name"] == target["ContainerName"]:
            container["Image"] = IMAGE_PLACEHOLDER
    outputs = {name: output.to_dict()["Value"] for name, output in stack.outputs.items()}
    request = task_definition_request(task_definition, outputs, stack.parameters, values)
    context = {"blueprint": blueprint.name, "service": service.name}
    capacity_provider = values.values.get(CAPACITY_PROVIDER_OUTPUT)
    if capacity_provider is None or CAPACITY_PROVIDER_OUTPUT in values.conflicts:
        raise UsageError(
            f"appspec.yaml needs {CAPACITY_PROVIDER_OUTPUT}, which the stack values lack; pass the "
            "`aws cloudformation describe-stacks` output of the cluster stack too"
        )
    return {
        pipeline.BUILDSPEC_FILE: render("buildspec.yml.j2", **context, test_command=service.test_command),
        pipeline.APPSPEC_FILE: render(
            "appspec.yaml.j2",
            **context,
            container_name=target["ContainerName"],
            container_port=target["ContainerPort"],
            capacity_provider=capacity_provider,
            hooks=pipeline.appspec_hooks(blueprint, service),
        ),
        pipeline.TASK_DEFINITION_FILE: json.dumps(request, indent=2, sort_keys=True) + "\n",
    }


def _properties(template: Template, resource_type: str) -> dict[str, Any]:
    (resource,) = [item for item in template.resources.values() if item.resource_type == resource_type]
    return resource.to_dict()["Properties"]  # type: ignore[no-any-return]


def task_definition_request(
    properties: Mapping[str, Any], outputs: Mapping[str, Any], parameters: Iterable[str], values: StackValues
) -> dict[str, Any]:
    """A RegisterTaskDefinition request from a TaskDefinition's CloudFormation properties.

    `outputs` (output name -> value expression) and `parameters` are those of
    the template the task definition lives in: an intrinsic function whose
    value the template outputs, or a parameter, is looked up in `values`.
    Raises UsageError listing every value `values` lacks, SynthError when the
    result does not fit botocore's model of the ECS API.
    """
    resolver = _Resolver(outputs, set(parameters), values)
    resolved = resolver.resolve(dict(properties))
    if resolver.missing:
        raise UsageError(
            "taskdef.json needs these values of the deployed stacks, which the stack values lack: "
            f"{', '.join(sorted(resolver.missing))}; pass the `aws cloudformation describe-stacks` output of "
            "the stacks that output or take them"
        )
    shape = _register_task_definition_shape()
    request = _to_api(resolved, shape, "taskdef")
    _validate(request, shape)
    return request  # type: ignore[no-any-return]


class _Resolver:
    """Evaluates the intrinsic functions of a template fragment from the deployed stacks' values."""

    def __init__(self, outputs: Mapping[str, Any], parameters: set[str], values: StackValues) -> None:
        self._outputs = {_canonical(expression): name for name, expression in outputs.items()}
        self._parameters = parameters
        self._values = values
        self._pseudo = {
            "AWS::Partition": values.partition,
            "AWS::Region": values.region,
            "AWS::AccountId": values.account_id,
            "AWS::URLSuffix": "amazonaws.com.cn" if values.partition == "aws-cn" else "amazonaws.com",
        }
        self.missing: set[str] = set()

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1 and (next(iter(node)) == "Ref" or next(iter(node)).startswith("Fn::")):
            return self._function(node)
        return {key: self.resolve(value) for key, value in node.items()}

    def _function(self, node: Mapping[str, Any]) -> Any:
        output = self._outputs.get(_canonical(node))
        if output is not None:
            return self._lookup(output)
        ((function, argument),) = node.items()
        if function == "Ref":
            if argument in self._pseudo:
                return self._pseudo[argument]
            if argument in self._parameters:
                return self._lookup(argument)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._substitute(text, variables)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        raise SynthError(
            f"cannot evaluate {json.dumps(node, sort_keys=True)} for taskdef.json: "
            "the service stack must output that value"
        )

    def _substitute(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return str(self._function({"Fn::GetAtt": [resource, attribute]}))
            return str(self._function({"Ref": name}))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _lookup(self, name: str) -> str:
        if name in self._values.conflicts:
            raise UsageError(f"{self._values.conflicts[name]}: pass the stacks of one deployed blueprint only")
        if name not in self._values.values:
            self.missing.add(name)
            return f"<{name}>"
        return self._values.values[name]


def _canonical(expression: Any) -> str:
    """One text per intrinsic expression, whatever form it was written in (GetAtt "A.B" == ["A", "B"])."""
    if isinstance(expression, Mapping) and "Fn::GetAtt" in expression and isinstance(expression["Fn::GetAtt"], str):
        expression = {"Fn::GetAtt": expression["Fn::GetAtt"].split(".", 1)}
    return json.dumps(expression, sort_keys=True, default=str)


@functools.cache
def _register_task_definition_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def _to_api(value: Any, shape: Any, path: str) -> Any:
    """CloudFormation names and scalars -> the API's, guided by the botocore shape; map keys stay as written."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        members = {name.lower(): name for name in shape.members}
        converted = {}
        for key, item in value.items():
            name = _CFN_TO_API_NAMES.get(key) or members.get(key.lower())
            if name is None:
                raise SynthError(f"{path}.{key} has no counterpart in the ECS RegisterTaskDefinition API")
            converted[name] = _to_api(item, shape.members[name], f"{path}.{name}")
        return converted
    if kind == "list" and isinstance(value, list):
        return [_to_api(item, shape.member, f"{path}[{index}]") for index, item in enumerate(value)]
    if kind == "map" and isinstance(value, Mapping):
        return {key: _to_api(item, shape.value, f"{path}.{key}") for key, item in value.items()}
    # CloudFormation accepts numbers and booleans written as strings; the API does not.
    if kind in ("integer", "long") and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _validate(request: Mapping[str, Any], shape: Any) -> None:
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(dict(request), shape)
    if report.has_errors():
        raise SynthError(f"taskdef.json does not fit RegisterTaskDefinition: {report.generate_report()}")

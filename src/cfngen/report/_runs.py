"""What runs, and with what: the facts a reviewer must see change, read from the templates.

A pull request that swaps a service's image for `attacker.example/exfil:latest` changes only a parameter
default, and one that adds `test_command: "curl ... | sh"` changes no resource property the template diff
compares: the resource counts stay at "0 added, 0 modified". Yet that image then receives the database
credentials, and that command runs as a build step with the build role. This module lists, per stack and
resource, every image, command, environment variable, build setting and deployment hook, so the change
summary can name each one that differs (see :func:`cfngen.report._changes.compare`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cfngen.report._model import Names, TemplateSet
from cfngen.synth._stack import TEST_COMMAND_METADATA

# Environment variable names and values that usually hold a credential (checked case-insensitively). A match
# is a hint for the reviewer, not a proof: plain environment variables are readable by anyone who may describe
# the task definition or the build project, so a secret belongs in Secrets Manager.
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|api_?key|access_?key|private_?key|credential|auth", re.I)
SECRET_VALUE = re.compile(
    r"AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|gh[pousr]_[A-Za-z0-9]{20,}|"
    r"xox[abprs]-|sk_live_|://[^/\s:@]+:[^/\s@]+@"
)
SECRET_NOTE = "⚠️ looks like a secret: plain environment values are readable by whoever may describe the resource"
HOOK_NOTE = (
    "⚠️ outside the blueprint: whatever Lambda function has this name in the account runs, with its own "
    "role, at this point of every deployment"
)


@dataclass(frozen=True, order=True)
class Running:
    """One fact about what runs: `kind` (image, command, environment, build, hook) of `where`, `name` = `value`."""

    kind: str
    where: str
    name: str
    value: str
    note: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """What stays the same when the value changes."""
        return self.kind, self.where, self.name


def analyse(templates: TemplateSet) -> tuple[Running, ...]:
    """Every fact about what runs in the templates, sorted."""
    names = Names(templates)
    facts: list[Running] = []
    for stack in templates.stacks():
        for logical_id, resource in stack.of_type("AWS::ECS::TaskDefinition"):
            facts += _containers(names, stack.name, logical_id, resource.get("Properties") or {})
        for logical_id, resource in stack.of_type("AWS::CodeBuild::Project"):
            facts += _build(names, stack.name, logical_id, resource)
        for logical_id, resource in stack.of_type("AWS::IAM::Role"):
            facts += _hooks(names, stack.name, logical_id, resource.get("Properties") or {})
    return tuple(sorted(set(facts)))


def _containers(names: Names, stack: str, logical_id: str, properties: Mapping[str, Any]) -> Iterator[Running]:
    for container in properties.get("ContainerDefinitions") or []:
        where = f"{stack}/{logical_id} container {names.describe(stack, container.get('Name'))}"
        image = container.get("Image")
        # A parameter's default is the image of the first deployment; the pipeline deploys its builds later.
        literal = names.literal(stack, image)
        yield Running("image", where, "image", names.describe(stack, image) if literal is None else str(literal))
        for field in ("EntryPoint", "Command", "User", "Privileged"):
            if field in container:
                yield Running("command", where, field, names.describe(stack, container[field]))
        yield from _environment(names, stack, where, container.get("Environment") or [])
        for secret in container.get("Secrets") or []:
            yield Running(
                "environment",
                where,
                str(secret.get("Name")),
                f"secret from {names.describe(stack, secret.get('ValueFrom'))}",
            )


def _build(names: Names, stack: str, logical_id: str, resource: Mapping[str, Any]) -> Iterator[Running]:
    properties = resource.get("Properties") or {}
    where = f"{stack}/{logical_id}"
    environment = properties.get("Environment") or {}
    yield Running("build", where, "build image", names.describe(stack, environment.get("Image")))
    yield Running("build", where, "privileged mode", names.describe(stack, environment.get("PrivilegedMode", False)))
    buildspec = (properties.get("Source") or {}).get("BuildSpec", "buildspec.yml")
    yield Running("command", where, "buildspec", f"{names.describe(stack, buildspec)} of the source repository")
    test_command = ((resource.get("Metadata") or {}).get("cfngen") or {}).get(TEST_COMMAND_METADATA)
    if test_command is not None:
        yield Running("command", where, "test command (in the rendered buildspec)", str(test_command))
    for variable in environment.get("EnvironmentVariables") or []:
        if variable.get("Type", "PLAINTEXT") == "PLAINTEXT":
            yield from _environment(names, stack, where, [variable])
        else:
            yield Running(
                "environment",
                where,
                str(variable.get("Name")),
                f"{variable['Type'].lower()} {names.describe(stack, variable.get('Value'))}",
            )


def _environment(names: Names, stack: str, where: str, variables: list[Mapping[str, Any]]) -> Iterator[Running]:
    for variable in variables:
        name, value = str(variable.get("Name")), names.describe(stack, variable.get("Value"))
        literal = isinstance(variable.get("Value"), (str, int, float))
        secret = SECRET_VALUE.search(value) or (literal and SECRET_NAME.search(name))
        yield Running("environment", where, name, value, SECRET_NOTE if secret else "")


def _hooks(names: Names, stack: str, logical_id: str, properties: Mapping[str, Any]) -> Iterator[Running]:
    """Functions a role may invoke: CodeDeploy's role invokes the deployment hooks, named by the blueprint."""
    for policy in properties.get("Policies") or []:
        statements = (policy.get("PolicyDocument") or {}).get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement.get("Action") or []
            if "lambda:InvokeFunction" not in (actions if isinstance(actions, list) else [actions]):
                continue
            resources = statement.get("Resource") or []
            for target in resources if isinstance(resources, list) else [resources]:
                yield Running("hook", f"{stack}/{logical_id}", "invokes", names.describe(stack, target), HOOK_NOTE)

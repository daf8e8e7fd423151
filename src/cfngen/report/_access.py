"""Who may do what: every IAM role (its trusted principals and its statements) and every resource policy.

Roles collect their inline `Policies`, the `AWS::IAM::Policy` and
`AWS::IAM::ManagedPolicy` resources attached to them, and the names of the
managed policies they reference. A statement on ``Resource: "*"`` carries the
reason it is allowed (cfngen's list of actions without resource-level
permissions), or a warning when it has none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cfngen.builders.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL
from cfngen.report._model import Names, TemplateSet, referenced_resource

ROLE = "AWS::IAM::Role"
ATTACHED_POLICIES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
# resource policy type -> (property holding the document, property naming the resource it guards, meaning of "*")
RESOURCE_POLICIES: dict[str, tuple[str, str, str]] = {
    "AWS::KMS::Key": ("KeyPolicy", "", "this key"),
    "AWS::S3::BucketPolicy": ("PolicyDocument", "Bucket", "*"),
    "AWS::SNS::TopicPolicy": ("PolicyDocument", "Topics", "*"),
    "AWS::SQS::QueuePolicy": ("PolicyDocument", "Queues", "*"),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "SecretId", "this secret"),
    "AWS::ECR::Repository": ("RepositoryPolicyText", "", "this repository"),
}
NOT_LISTED = "no documented reason: the action is not in cfngen's list of actions without resource-level permissions"


@dataclass(frozen=True)
class Grant:
    """One statement: who (resource policies only), effect, actions, resources, condition, and why "*" is allowed."""

    policy: str
    effect: str
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: str
    wildcard: tuple[tuple[str, str], ...]  # (action, reason) for each action on Resource "*"

    @property
    def unjustified(self) -> bool:
        """True when an Allow on "*" includes an action without a documented reason."""
        return any(reason == NOT_LISTED for _, reason in self.wildcard)


@dataclass(frozen=True)
class RoleAccess:
    """One IAM role: who can assume it and what it may do."""

    stack: str
    role: str
    description: str
    trusted: tuple[str, ...]
    trust_condition: str
    managed_policies: tuple[str, ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class ResourcePolicy:
    """A policy attached to a resource (key, bucket, topic...): who may do what to it."""

    stack: str
    resource: str
    guards: str
    grants: tuple[Grant, ...]


@dataclass(frozen=True, order=True)
class Permission:
    """One (holder, effect, action, resource) fact, for comparing two reports."""

    holder: str
    effect: str
    action: str
    resource: str
    condition: str

    def __str__(self) -> str:
        condition = f" when {self.condition}" if self.condition else ""
        return f"{self.holder}: {self.effect} {self.action} on {self.resource}{condition}"


@dataclass(frozen=True)
class Access:
    """Every role and resource policy of a template set."""

    roles: tuple[RoleAccess, ...]
    resource_policies: tuple[ResourcePolicy, ...]

    def wildcard_grants(self) -> list[Grant]:
        """The roles' Allow statements on ``Resource: "*"``."""
        return [grant for role in self.roles for grant in role.grants if grant.wildcard]

    def permissions(self) -> set[Permission]:
        """Every statement flattened to one fact per action and resource."""
        facts: set[Permission] = set()
        for role in self.roles:
            facts |= _facts(f"role {role.stack}/{role.role}", role.grants)
            facts |= {
                Permission(f"role {role.stack}/{role.role}", "Allow", f"managed policy {name}", "-", "")
                for name in role.managed_policies
            }
            facts |= {
                Permission(f"role {role.stack}/{role.role}", "Trust", "sts:AssumeRole", principal, role.trust_condition)
                for principal in role.trusted
            }
        for policy in self.resource_policies:
            guards = policy.guards if "/" in policy.guards else f"{policy.stack}/{policy.guards}"
            for grant in policy.grants:
                for principal in grant.principals:
                    facts |= _facts(f"{guards} ({principal})", (grant,))
        return facts


def _facts(holder: str, grants: tuple[Grant, ...]) -> set[Permission]:
    return {
        Permission(holder, grant.effect, action, resource, grant.condition)
        for grant in grants
        for action in grant.actions
        for resource in grant.resources
    }


def analyse(templates: TemplateSet) -> Access:
    """Collect every role and resource policy."""
    names = Names(templates)
    return Access(roles=tuple(_roles(templates, names)), resource_policies=tuple(_resource_policies(templates, names)))


def _roles(templates: TemplateSet, names: Names) -> Iterator[RoleAccess]:
    for stack in templates.children:
        attached = _attached_policies(stack.name, stack.of_type(*ATTACHED_POLICIES))
        for name, role in stack.of_type(ROLE):
            properties = role.get("Properties") or {}
            grants: list[Grant] = []
            for policy in properties.get("Policies") or []:
                grants += _grants(
                    names, stack.name, f"inline {policy.get('PolicyName', '')}", policy.get("PolicyDocument")
                )
            for policy_name, document in attached.get(name, []):
                grants += _grants(names, stack.name, policy_name, document)
            trust = properties.get("AssumeRolePolicyDocument") or {}
            statements = _statements(trust)
            yield RoleAccess(
                stack=stack.name,
                role=name,
                description=str(properties.get("Description", "")),
                trusted=tuple(
                    principal
                    for statement in statements
                    for principal in _principals(names, stack.name, statement.get("Principal"))
                ),
                trust_condition="; ".join(
                    filter(
                        None, (_condition(names, stack.name, statement.get("Condition")) for statement in statements)
                    )
                ),
                managed_policies=tuple(
                    names.describe(stack.name, arn) for arn in properties.get("ManagedPolicyArns") or []
                ),
                grants=tuple(grants),
            )


def _attached_policies(stack: str, policies: Iterator[tuple[str, dict[str, Any]]]) -> dict[str, list[tuple[str, Any]]]:
    """Role logical id -> [(policy label, document)] for AWS::IAM::Policy / ManagedPolicy resources of the stack."""
    attached: dict[str, list[tuple[str, Any]]] = {}
    for name, policy in policies:
        properties = policy.get("Properties") or {}
        kind = "managed" if policy.get("Type") == "AWS::IAM::ManagedPolicy" else "policy"
        for role in properties.get("Roles") or []:
            role_name = referenced_resource(role)
            if role_name:
                attached.setdefault(role_name, []).append((f"{kind} {name}", properties.get("PolicyDocument")))
    return attached


def _resource_policies(templates: TemplateSet, names: Names) -> Iterator[ResourcePolicy]:
    for stack in templates.children:
        for name, resource in stack.of_type(*RESOURCE_POLICIES):
            document_key, target_key, star = RESOURCE_POLICIES[resource["Type"]]
            properties = resource.get("Properties") or {}
            document = properties.get(document_key)
            if isinstance(document, str):
                try:
                    document = json.loads(document)
                except ValueError:
                    continue
            if not document:
                continue
            guards = names.describe(stack.name, properties[target_key]) if target_key in properties else name
            grants = _grants(names, stack.name, name, document, star=star)
            yield ResourcePolicy(stack.name, name, guards, tuple(grants))


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement") or []
    return [
        statement
        for statement in (statements if isinstance(statements, list) else [statements])
        if isinstance(statement, dict)
    ]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants(names: Names, stack: str, policy: str, document: Any, *, star: str = "*") -> list[Grant]:
    grants = []
    for statement in _statements(document):
        effect = str(statement.get("Effect", "Allow"))
        actions = tuple(str(action) for action in _listed(statement.get("Action", statement.get("NotAction", []))))
        if "NotAction" in statement:
            actions = tuple(f"everything except {action}" for action in actions)
        raw_resources = _listed(statement.get("Resource", statement.get("NotResource", "*")))
        resources = tuple(star if resource == "*" else names.describe(stack, resource) for resource in raw_resources)
        wildcard: tuple[tuple[str, str], ...] = ()
        if effect == "Allow" and "*" in raw_resources and star == "*":
            wildcard = tuple((action, ACTIONS_WITHOUT_RESOURCE_LEVEL.get(action, NOT_LISTED)) for action in actions)
        grants.append(
            Grant(
                policy=policy,
                effect=effect,
                principals=tuple(_principals(names, stack, statement.get("Principal")))
                if "Principal" in statement
                else (),
                actions=actions,
                resources=resources,
                condition=_condition(names, stack, statement.get("Condition")),
                wildcard=wildcard,
            )
        )
    return grants


def _principals(names: Names, stack: str, principal: Any) -> Iterator[str]:
    if principal == "*" or principal == {"AWS": "*"}:
        yield "anyone"
        return
    if not isinstance(principal, dict):
        yield names.describe(stack, principal)
        return
    for kind, values in sorted(principal.items()):
        for value in _listed(values):
            described = names.describe(stack, value)
            yield (
                f"service {described}" if kind == "Service" else (described if kind == "AWS" else f"{kind} {described}")
            )


def _condition(names: Names, stack: str, condition: Any) -> str:
    """`StringEquals iam:PassedToService = ecs-tasks.amazonaws.com; ...`; empty without a condition."""
    if not isinstance(condition, dict):
        return ""
    parts = []
    for operator, tests in sorted(condition.items()):
        for key, value in sorted((tests or {}).items()):
            values = ", ".join(names.describe(stack, item) for item in _listed(value))
            parts.append(f"{operator} {key} = {values}")
    return "; ".join(parts)

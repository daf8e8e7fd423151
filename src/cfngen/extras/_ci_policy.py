"""The least IAM policy a CI role needs to deploy a blueprint with cfngen, computed from its templates.

Four parts, each only as wide as the templates make it:
- CloudFormation on this blueprint's stacks: the root stack and its nested
  stacks (named ``<root>-<ChildLogicalId>-<suffix>`` by CloudFormation).
- S3 on the templates bucket: the deployer uploads the children there, and
  CloudFormation reads them with the caller's credentials.
- ``iam:PassRole``, only when the templates create service roles, limited to the
  roles these stacks create and to the services that trust them; or, when
  CloudFormation acts through a service role, to that role alone.
- Without a service role, CloudFormation creates every resource with the
  caller's credentials: the actions its resource handlers need (the
  ``handlers.create/update/delete.permissions`` of each resource type's schema,
  shipped with cfn-lint), usable only through CloudFormation (``aws:CalledVia``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from awacs.aws import (
    Action,
    Allow,
    Condition,
    ForAnyValueStringEquals,
    Policy,
    Statement,
    StringEquals,
)

from cfngen.facts.resource_schemas import handler_permissions
from cfngen.synth import StackSet

CLOUDFORMATION = "cloudformation.amazonaws.com"
# What the deployer calls on the stacks it manages (plan, apply, watch, protect, replace a failed create);
# DescribeEvents reads a change set's early-validation results.
STACK_ACTIONS = (
    "CreateChangeSet", "DeleteChangeSet", "DeleteStack", "DescribeChangeSet", "DescribeEvents", "DescribeStackEvents",
    "DescribeStacks", "ExecuteChangeSet", "GetStackPolicy", "GetTemplate", "ListStackResources",
    "SetStackPolicy", "UpdateTerminationProtection",
)
# PutObject to upload, GetObject for CloudFormation to read (and HeadObject to skip uploads);
# ListBucket makes a missing object a 404 rather than a 403.
OBJECT_ACTIONS = ("GetObject", "PutObject")
BUCKET_ACTIONS = ("ListBucket",)
# An IAM managed policy holds at most this many characters (whitespace excluded); inline role policies 10,240.
MANAGED_POLICY_LIMIT = 6144


@dataclass(frozen=True)
class CiPolicy:
    """The policy document, and what a reader must know about it."""

    document: dict[str, Any]
    notes: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The document as indented JSON, ready for ``aws iam put-role-policy``."""
        return json.dumps(self.document, indent=2) + "\n"

    @property
    def size(self) -> int:
        """Characters IAM counts against its size limits (JSON without whitespace)."""
        return len(json.dumps(self.document, separators=(",", ":")))


def ci_policy(
    stacks: StackSet, *, bucket: str | None = None, stack_name: str | None = None, account_id: str = "*",
    service_role_arn: str | None = None,
) -> CiPolicy:
    """The IAM policy a CI role needs to plan and deploy `stacks`.

    `bucket` defaults to the one ``cfngen bootstrap`` creates, `stack_name` to the
    blueprint's name, `account_id` to any account. With `service_role_arn`,
    CloudFormation creates the resources with that role, so the policy only lets
    the caller pass it.
    """
    blueprint = stacks.blueprint
    region = blueprint.region
    partition = partition_of(region)
    stack_name = stack_name or blueprint.name
    bucket = bucket or f"cfngen-templates-{account_id}-{region}"
    templates = {name: template.to_dict() for name, template in stacks.templates().items()}
    types = sorted({str(resource.get("Type")) for template in templates.values()
                    for resource in template.get("Resources", {}).values()})
    stack_arns = [f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/*"] + [
        f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}-{child.logical_id}-*/*"
        for child in stacks.children
    ]
    provisioning, unknown = (set(), []) if service_role_arn else _provisioning_actions(types, region)
    stack_actions = {f"cloudformation:{action}" for action in STACK_ACTIONS}
    stack_actions |= {action for action in provisioning if action.startswith("cloudformation:")}
    statements = [
        _statement("DeployStacks", sorted(stack_actions), stack_arns),
        _statement("UploadTemplates", [f"s3:{action}" for action in OBJECT_ACTIONS], [f"arn:{partition}:s3:::{bucket}/*"]),
        _statement("FindTemplates", [f"s3:{action}" for action in BUCKET_ACTIONS], [f"arn:{partition}:s3:::{bucket}"]),
    ]
    if service_role_arn:
        statements.append(_statement("PassStackRole", ["iam:PassRole"], [service_role_arn],
                                     Condition(StringEquals({"iam:PassedToService": [CLOUDFORMATION]}))))
    roles = [] if service_role_arn else list(_service_roles(templates.values()))
    if roles:
        statements.append(_statement(
            "PassServiceRoles", ["iam:PassRole"],
            sorted({_role_arn(partition, account_id, stack_name, role) for role, _ in roles}),
            Condition(StringEquals({"iam:PassedToService": sorted({s for _, trusted in roles for s in trusted})}))))
    if provisioning:
        statements.append(_statement(
            "ProvisionResourcesThroughCloudFormation",
            sorted(provisioning - stack_actions - {"iam:PassRole"}), ["*"],
            Condition(ForAnyValueStringEquals({"aws:CalledVia": [CLOUDFORMATION]}))))
    notes = [f"{kind}: cfn-lint's schema lists no handler permissions; grant what it needs by hand"
             for kind in unknown]
    policy = CiPolicy(json.loads(Policy(Version="2012-10-17", Statement=statements).to_json()), tuple(notes))
    if policy.size > MANAGED_POLICY_LIMIT:
        notes.append(f"the policy is {policy.size} characters: too big for a managed policy "
                     f"({MANAGED_POLICY_LIMIT}); attach it as an inline role policy (10,240)")
    return CiPolicy(policy.document, tuple(notes))


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                              ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f")):
        if region.startswith(prefix):
            return partition
    return "aws"


def _provisioning_actions(types: Iterable[str], region: str) -> tuple[set[str], list[str]]:
    actions: set[str] = set()
    unknown: list[str] = []
    for kind in types:
        permissions = handler_permissions(kind, region)
        if permissions is None:
            unknown.append(kind)
        else:
            actions |= permissions
    return actions, unknown


def _service_roles(templates: Iterable[Mapping[str, Any]]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """Each role the templates create that an AWS service assumes, with the services it trusts."""
    for template in templates:
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") != "AWS::IAM::Role":
                continue
            properties = resource.get("Properties", {})
            trusted = [service for statement in properties.get("AssumeRolePolicyDocument", {}).get("Statement", [])
                       for service in _as_list(statement.get("Principal", {}).get("Service", []))]
            if trusted:
                yield properties, trusted


def _role_arn(partition: str, account_id: str, stack_name: str, role: Mapping[str, Any]) -> str:
    """The role's ARN, or a pattern: CloudFormation names an unnamed role after its (nested) stack."""
    name = _glob(role["RoleName"]) if "RoleName" in role else f"{stack_name}-*"
    return f"arn:{partition}:iam::{account_id}:role{_glob(role.get('Path', '/'))}{name}"


def _glob(value: Any) -> str:
    """A literal name, or a pattern for one built from intrinsic functions (their values become "*")."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        return re.sub(r"\$\{[^}!][^}]*\}", "*", text)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_glob(part) for part in parts)
    return "*"


def _statement(sid: str, actions: Iterable[str], resources: list[str], condition: Condition | None = None) -> Statement:
    statement = Statement(Sid=sid, Effect=Allow, Action=[Action(*action.split(":", 1)) for action in actions],
                          Resource=resources)
    if condition is not None:
        statement.Condition = condition
    return statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]

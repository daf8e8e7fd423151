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

IAM caps a managed policy at 6,144 characters (whitespace excluded) and a role at
10 managed policies (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
The document is therefore split into parts that each fit one managed policy:
statements are packed together, and a statement too big for one part is cut into
statements of fewer actions (or resources) with the same condition, so a part
never grants more than the whole did. Stacks inside a group stack are reached
through the group's name (CloudFormation names a nested stack
``<parent stack name>-<logical id>-<suffix>``), which is exact, not wider.
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
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import GetAtt, Output, Sub, Template
from troposphere.iam import ManagedPolicy, Role

from cfngen.blueprint import logical_name
from cfngen.builders.contracts import BOOTSTRAP_STACK_NAME
from cfngen.deploy._package import Package, inline
from cfngen.errors import SynthError, UsageError
from cfngen.facts.resource_schemas import handler_permissions
from cfngen.facts.resource_types import NESTED_STACK
from cfngen.synth import StackSet
from cfngen.synth.suppress import ignore_lint_rule

CLOUDFORMATION = "cloudformation.amazonaws.com"
# What the deployer calls on the stacks it manages (plan, apply, watch, protect, replace a failed create, destroy,
# drift); DescribeEvents reads a change set's early-validation results. DetectStackDrift is also authorized as
# DetectStackResourceDrift on the same stack, and DescribeStackDriftDetectionStatus takes no resource (below).
STACK_ACTIONS = (
    "CreateChangeSet",
    "DeleteChangeSet",
    "DeleteStack",
    "DescribeChangeSet",
    "DescribeEvents",
    "DescribeStackEvents",
    "DescribeStackResourceDrifts",
    "DescribeStacks",
    "DetectStackDrift",
    "DetectStackResourceDrift",
    "ExecuteChangeSet",
    "GetStackPolicy",
    "GetTemplate",
    "ListStackResources",
    "SetStackPolicy",
    "UpdateTerminationProtection",
)
# Actions the deployer calls that support no resource-level permission, so only Resource "*" grants them
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html):
# drift polls its detection by id; destroy finds the Auto Scaling groups it releases.
UNSCOPED_ACTIONS = ("cloudformation:DescribeStackDriftDetectionStatus",)
GROUP_LOOKUP_ACTIONS = ("autoscaling:DescribeAutoScalingGroups",)
# What destroy calls on the stacks' Auto Scaling groups to lift scale-in protection (deploy/_destroy.py).
GROUP_ACTIONS = ("autoscaling:SetInstanceProtection", "autoscaling:UpdateAutoScalingGroup")
AUTO_SCALING_GROUP = "AWS::AutoScaling::AutoScalingGroup"
# Drift detection reads every resource with the caller's credentials, as the read handlers do
# (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/detect-drift-stack.html).
PROVISIONING_HANDLERS = ("create", "read", "update", "delete")
# PutObject to upload, GetObject for CloudFormation to read (and HeadObject to skip uploads);
# ListBucket makes a missing object a 404 rather than a 403.
OBJECT_ACTIONS = ("GetObject", "PutObject")
BUCKET_ACTIONS = ("ListBucket",)
# An IAM managed policy holds at most this many characters (whitespace excluded); inline role policies 10,240;
# a role takes at most this many managed policies (the default quota, which AWS raises on request up to 20).
MANAGED_POLICY_LIMIT = 6144
MANAGED_POLICIES_PER_ROLE = 10
MANAGED_POLICIES_PER_ROLE_RAISED = 20
POLICY_VERSION = "2012-10-17"
PROVISION_SID = "ProvisionResourcesThroughCloudFormation"
# The role template's output: the ARN CI assumes.
ROLE_OUTPUT = "DeployRoleArn"
# The CI role's stack is named after the blueprint, apart from the blueprint's own stacks (which the role may change).
CI_ROLE_STACK_PREFIX = "cfngen-ci-role-"
# GitHub Actions' OIDC issuer and the audience its AWS credentials action asks for:
# https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"
# Stand for the deploying account and its partition in the role template, where CloudFormation substitutes them
# (Fn::Sub); a part's size counts each at the length of the longest value it can take.
ACCOUNT_PLACEHOLDER = "${AWS::AccountId}"
PARTITION_PLACEHOLDER = "${AWS::Partition}"
PARTITIONS = {
    "cn-": "aws-cn",
    "us-gov-": "aws-us-gov",
    "us-isob-": "aws-iso-b",
    "us-iso-": "aws-iso",
    "eu-isoe-": "aws-iso-e",
    "us-isof-": "aws-iso-f",
}
_PLACEHOLDER_LENGTHS = {ACCOUNT_PLACEHOLDER: 12, PARTITION_PLACEHOLDER: max(len(name) for name in PARTITIONS.values())}


@dataclass(frozen=True)
class CiPolicy:
    """The policy document, its split into managed policies (`parts`), and what a reader must know about it."""

    document: dict[str, Any]
    notes: tuple[str, ...] = ()
    parts: tuple[dict[str, Any], ...] = ()
    max_parts: int = MANAGED_POLICIES_PER_ROLE

    def to_json(self) -> str:
        """The parts as indented JSON, each with its size and the limit it meets (for ``aws iam create-policy``)."""
        return (
            json.dumps(
                {
                    "ManagedPolicies": [
                        {
                            "PolicyName": f"deploy-{index}",
                            "Characters": size(part),
                            "Limit": f"fits one IAM managed policy ({size(part):,} of {MANAGED_POLICY_LIMIT:,} characters "
                            "without whitespace)",
                            "PolicyDocument": part,
                        }
                        for index, part in enumerate(self.parts, start=1)
                    ],
                    "Limit": f"{len(self.parts)} managed policies, within the role's quota of {self.max_parts}",
                },
                indent=2,
            )
            + "\n"
        )

    @property
    def size(self) -> int:
        """Characters IAM counts against its size limits (JSON without whitespace), all parts together."""
        return size(self.document)


def size(document: Mapping[str, Any]) -> int:
    """Characters IAM counts against a policy's size limit: the JSON without whitespace (placeholders substituted)."""
    text = json.dumps(document, separators=(",", ":"))
    return len(text) - sum(text.count(name) * (len(name) - length) for name, length in _PLACEHOLDER_LENGTHS.items())


def ci_policy(
    stacks: StackSet,
    *,
    bucket: str | None = None,
    stack_name: str | None = None,
    account_id: str = "*",
    service_role_arn: str | None = None,
    partition: str | None = None,
    max_parts: int = MANAGED_POLICIES_PER_ROLE,
) -> CiPolicy:
    """The IAM policy a CI role needs to plan and deploy `stacks`.

    `bucket` defaults to the one ``cfngen bootstrap`` creates, `stack_name` to the
    blueprint's name, `account_id` to any account. With `service_role_arn`,
    CloudFormation creates the resources with that role, so the policy only lets
    the caller pass it. `partition` defaults to the region's. Raises UsageError when the parts
    outnumber `max_parts` (the account's quota of managed policies per role).
    """
    blueprint = stacks.blueprint
    region = blueprint.region
    partition = partition or partition_of(region)
    stack_name = stack_name or blueprint.name
    # Without a bucket named, the deployer finds the one `cfngen bootstrap` made in its stack's outputs.
    bootstrap_stack = (
        [] if bucket else [f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{BOOTSTRAP_STACK_NAME}/*"]
    )
    bucket = bucket or f"cfngen-templates-{account_id}-{region}"
    templates = {name: template.to_dict() for name, template in stacks.templates().items()}
    types = sorted(
        {
            str(resource.get("Type"))
            for template in templates.values()
            for resource in template.get("Resources", {}).values()
        }
    )
    # The root's nested stacks are its children or the group stacks holding them; a group's pattern covers the
    # stacks nested in it, whose names start with the group's own.
    nested = sorted(
        logical_id
        for logical_id, resource in templates["root.yaml"].get("Resources", {}).items()
        if resource.get("Type") == NESTED_STACK
    )
    stack_arns = [f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/*"] + [
        f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}-{logical_id}-*/*"
        for logical_id in nested
    ]
    provisioning, unknown = (set(), []) if service_role_arn else _provisioning_actions(types, region)
    stack_actions = {f"cloudformation:{action}" for action in STACK_ACTIONS}
    stack_actions |= {action for action in provisioning if action.startswith("cloudformation:")}
    statements = [
        _statement("DeployStacks", sorted(stack_actions), stack_arns),
        _statement(
            "UploadTemplates", [f"s3:{action}" for action in OBJECT_ACTIONS], [f"arn:{partition}:s3:::{bucket}/*"]
        ),
        _statement("FindTemplates", [f"s3:{action}" for action in BUCKET_ACTIONS], [f"arn:{partition}:s3:::{bucket}"]),
    ]
    if bootstrap_stack:
        statements.append(_statement("FindTemplatesBucket", ["cloudformation:DescribeStacks"], bootstrap_stack))
    statements.append(_statement("WatchDriftDetection", list(UNSCOPED_ACTIONS), ["*"]))
    groups = _group_arns(stacks, partition, region, account_id, stack_name)
    if groups:
        statements += [
            _statement("FindAutoScalingGroups", list(GROUP_LOOKUP_ACTIONS), ["*"]),
            _statement("ReleaseScaleInProtection", list(GROUP_ACTIONS), groups),
        ]
    if service_role_arn:
        statements.append(
            _statement(
                "PassStackRole",
                ["iam:PassRole"],
                [service_role_arn],
                Condition(StringEquals({"iam:PassedToService": [CLOUDFORMATION]})),
            )
        )
    roles = [] if service_role_arn else list(_service_roles(templates.values()))
    if roles:
        statements.append(
            _statement(
                "PassServiceRoles",
                ["iam:PassRole"],
                sorted({_role_arn(partition, account_id, stack_name, role) for role, _ in roles}),
                Condition(StringEquals({"iam:PassedToService": sorted({s for _, trusted in roles for s in trusted})})),
            )
        )
    if provisioning:
        statements.append(
            _statement(
                PROVISION_SID,
                sorted(provisioning - stack_actions - {"iam:PassRole"}),
                ["*"],
                Condition(ForAnyValueStringEquals({"aws:CalledVia": [CLOUDFORMATION]})),
            )
        )
    notes = [f"{kind}: cfn-lint's schema lists no handler permissions; grant what it needs by hand" for kind in unknown]
    document = json.loads(Policy(Version=POLICY_VERSION, Statement=statements).to_json())
    parts = split(document["Statement"])
    if len(parts) > max_parts:
        raise UsageError(
            f"the CI policy of {stack_name} needs {len(parts)} managed policies of at most "
            f"{MANAGED_POLICY_LIMIT:,} characters, more than the {max_parts} the role may have; ask AWS "
            f"to raise the quota 'Managed policies per role' (up to {MANAGED_POLICIES_PER_ROLE_RAISED}) "
            "and pass --max-policies"
        )
    return CiPolicy(document, tuple(notes), parts, max_parts)


def split(statements: list[dict[str, Any]], limit: int = MANAGED_POLICY_LIMIT) -> tuple[dict[str, Any], ...]:
    """Policy documents of `statements`, each within `limit` characters: statements packed first-fit in order,
    a statement too big for one document cut into several with fewer actions or resources (never wider)."""
    budget = limit - size({"Version": POLICY_VERSION, "Statement": []})
    parts: list[list[dict[str, Any]]] = []
    for piece in (piece for statement in statements for piece in _cut(statement, budget)):
        # +1: the comma between two statements
        home = next((part for part in parts if sum(size(item) + 1 for item in part) + size(piece) <= budget), None)
        if home is None:
            parts.append([piece])
        else:
            home.append(piece)
    return tuple({"Version": POLICY_VERSION, "Statement": part} for part in parts)


def _cut(statement: dict[str, Any], budget: int) -> list[dict[str, Any]]:
    """`statement` as statements of at most `budget` characters: its longest list (actions or resources) in runs."""
    if size(statement) <= budget:
        return [statement]
    key = max(("Action", "Resource"), key=lambda name: size({name: _as_list(statement.get(name, []))}))
    items = _as_list(statement[key])
    if len(items) < 2:
        raise UsageError(f"statement {statement.get('Sid')} alone exceeds {budget} characters and cannot be cut")
    pieces: list[dict[str, Any]] = []
    run: list[Any] = []
    for item in items:
        candidate = {**statement, "Sid": f"{statement['Sid']}{len(pieces) + 1}", key: [*run, item]}
        if run and size(candidate) > budget:
            pieces.append({**statement, "Sid": f"{statement['Sid']}{len(pieces) + 1}", key: run})
            run = [item]
        else:
            run.append(item)
    pieces.append({**statement, "Sid": f"{statement['Sid']}{len(pieces) + 1}", key: run})
    return pieces


def role_template(policy: CiPolicy, *, github_repository: str | None = None, account_id: str | None = None) -> Template:
    """A CloudFormation template of the CI deploy role: its trust, its managed policies (`policy.parts`), its ARN.

    Trust GitHub Actions of `github_repository` ("ORG/REPO") through the account's OIDC provider for
    token.actions.githubusercontent.com, or the account `account_id` (its administrators decide who assumes it).
    The account and partition placeholders in the parts become the deploying account's.
    """
    if (github_repository is None) == (account_id is None):
        raise UsageError("the CI role trusts either a GitHub repository or an account: give exactly one")
    template = Template(
        Description="cfngen CI deploy role: plans and deploys the blueprint's stacks (cfngen ci-policy)"
    )
    if github_repository is not None:
        trust = Statement(
            Effect=Allow,
            Action=[Action("sts", "AssumeRoleWithWebIdentity")],
            Principal=Principal(
                "Federated", Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC_HOST}")
            ),
            Condition=Condition(
                [
                    StringEquals({f"{GITHUB_OIDC_HOST}:aud": GITHUB_OIDC_AUDIENCE}),
                    StringLike({f"{GITHUB_OIDC_HOST}:sub": f"repo:{github_repository}:*"}),
                ]
            ),
        )
    else:
        trust = Statement(
            Effect=Allow,
            Action=[Action("sts", "AssumeRole")],
            Principal=Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{account_id}:root")),
        )
    role = template.add_resource(
        Role("DeployRole", AssumeRolePolicyDocument=Policy(Version=POLICY_VERSION, Statement=[trust]))
    )
    for index, part in enumerate(policy.parts, start=1):
        managed = template.add_resource(
            ManagedPolicy(
                f"DeployPolicy{index}",
                Description=f"cfngen CI deploy policy, part {index} of {len(policy.parts)}",
                PolicyDocument=_substituted(part),
                Roles=[role.ref()],
            )
        )
        if any(item["Sid"].startswith(PROVISION_SID) for item in part["Statement"]):
            ignore_lint_rule(
                managed,
                "E9101",
                "CloudFormation's resource handlers act on resources that do not "
                "exist yet, with the caller's credentials: usable only through "
                "CloudFormation (aws:CalledVia), never directly",
            )
            ignore_lint_rule(
                managed,
                "W3037",
                "the resource types' own schemas name these handler permissions, "
                "some of which IAM's action list (cfn-lint's copy) lacks",
            )
    template.add_output(Output(ROLE_OUTPUT, Description="the role CI assumes", Value=GetAtt(role, "Arn")))
    return template


def _substituted(value: Any) -> Any:
    """`value` with every string that names the account placeholder turned into an Fn::Sub."""
    if isinstance(value, dict):
        return {key: _substituted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item) for item in value]
    if isinstance(value, str) and any(name in value for name in _PLACEHOLDER_LENGTHS):
        return Sub(value)
    return value


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to."""
    for prefix, partition in PARTITIONS.items():
        if region.startswith(prefix):
            return partition
    return "aws"


def _group_arns(stacks: StackSet, partition: str, region: str, account_id: str, stack_name: str) -> list[str]:
    """The Auto Scaling groups the stacks create: CloudFormation names an unnamed one after its stack,
    ``<root>-<nested stack logical id>-<suffix>-<group logical id>-<suffix>``."""
    grouped = {member: group.name for group in stacks.groups for member in group.members}
    return sorted(
        f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/"
        f"{stack_name}-{logical_name(grouped.get(child.name, child.name))}-*"
        for child in stacks.children
        if any(resource.resource_type == AUTO_SCALING_GROUP for resource in child.template.resources.values())
    )


def _provisioning_actions(types: Iterable[str], region: str) -> tuple[set[str], list[str]]:
    actions: set[str] = set()
    unknown: list[str] = []
    for kind in types:
        permissions = handler_permissions(kind, region, PROVISIONING_HANDLERS)
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
            trusted = [
                service
                for statement in properties.get("AssumeRolePolicyDocument", {}).get("Statement", [])
                for service in _as_list(statement.get("Principal", {}).get("Service", []))
            ]
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
    statement = Statement(
        Sid=sid, Effect=Allow, Action=[Action(*action.split(":", 1)) for action in actions], Resource=resources
    )
    if condition is not None:
        statement.Condition = condition
    return statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def ci_role_package(
    stacks: StackSet, *, region: str, github_repository: str | None = None, account_id: str | None = None
) -> Package:
    """The stack of the CI role of `stacks`' blueprint (`role_template`), as a Package the Deployer plans and applies
    in `region`: named CI_ROLE_STACK_PREFIX + the blueprint's name, its template passed inline. Raises UsageError when
    the template is too big to pass inline (deploy it from the templates bucket instead)."""
    policy = ci_policy(stacks, account_id=ACCOUNT_PLACEHOLDER, partition=PARTITION_PLACEHOLDER)
    template = role_template(policy, github_repository=github_repository, account_id=account_id).to_dict()
    try:
        return inline(f"{CI_ROLE_STACK_PREFIX}{stacks.blueprint.name}", template, region=region)
    except SynthError as exc:
        raise UsageError(
            f"{exc}: deploy the role from the templates bucket instead (cfngen ci-policy --format template, then "
            "aws cloudformation deploy --s3-bucket BUCKET)"
        ) from None

"""Find the IAM policy documents in a template, and the wildcards in them that least privilege forbids.

A policy document is any mapping with a ``Statement`` inside a resource's
properties: role trust and inline policies, managed policies, bucket, topic,
queue and key policies alike, so a new kind of policy is covered without a
list to keep up to date. The ``cfngen lint`` rule E9101 and the least-privilege
tests both read templates through this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Path = tuple[str | int, ...]
PolicyKind = Literal["trust", "self", "permissions"]

# action -> why it may use Resource "*": AWS documents it as supporting no resource-level permission.
# Here rather than in builders/iam.py (which re-exports it) so that the lint rule does not import the builders.
ACTIONS_WITHOUT_RESOURCE_LEVEL: dict[str, str] = {
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* calls take no resource type; Lambda attaches a function to the "
    "VPC with it, and the test traffic function finds the load balancer's private addresses",
    "ecr:GetAuthorizationToken": "ECR's registry login token is account-wide; the action has no resource type",
    "ecs:DeregisterTaskDefinition": "takes a task definition by family:revision but has no resource type; "
    "CloudFormation calls it when it replaces a revision",
    "ecs:DescribeTaskDefinition": "has no resource type; the derive project reads the latest revision the stacks "
    "registered",
    "ecs:DiscoverPollEndpoint": "the ECS agent asks where to poll before it knows its container instance; "
    "the action has no resource type",
    "elasticloadbalancing:DescribeListeners": "ELB Describe* calls take no resource type; CodeDeploy reads listeners",
    "elasticloadbalancing:DescribeRules": "ELB Describe* calls take no resource type; CodeDeploy reads listener rules",
    "elasticloadbalancing:DescribeTargetGroups": "ELB Describe* calls take no resource type; CodeDeploy reads target groups",
    "logs:DescribeLogGroups": "a listing of the account's log groups, no resource type; the SSM agent of an ECS Exec "
    "task looks its log group up",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsessionmanagermessagegatewayservice.html
    **{
        f"ssmmessages:{verb}{kind}Channel": "Session Manager's message channels have no resource type; the SSM agent "
        "(instances, ECS Exec) opens them"
        for verb in ("Create", "Open")
        for kind in ("Control", "Data")
    },
    "elasticloadbalancing:DescribeTargetHealth": "ELB Describe* calls take no resource type; ECS blue/green reads "
    "the health of the new targets",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html
    "cloudformation:DescribeStackDriftDetectionStatus": "takes a detection id and has no resource type; "
    "cfngen drift polls its detections",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
    "secretsmanager:GetRandomPassword": "returns a random string and touches no secret: the action has no resource "
    "type; the rotation function draws the services' new database passwords with it",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2autoscaling.html
    "autoscaling:DescribeAutoScalingGroups": "Auto Scaling Describe* calls take no resource type; cfngen destroy "
    "reads the groups whose scale-in protection it lifts",
}

# Resource policies in which `Resource: "*"` means the resource the policy is attached to.
_POLICIES_ON_THEMSELVES = {
    ("AWS::KMS::Key", "KeyPolicy"),
    ("AWS::SecretsManager::ResourcePolicy", "ResourcePolicy"),
}
_UNSCOPED_ACTIONS = {action.lower() for action in ACTIONS_WITHOUT_RESOURCE_LEVEL}


@dataclass(frozen=True)
class PolicyDocument:
    """One policy document of a template and where it sits."""

    resource: str
    resource_type: str
    path: Path
    document: Mapping[str, Any]

    @property
    def kind(self) -> PolicyKind:
        """ "trust" (who may assume a role), "self" (a key policy: "*" is the key) or "permissions"."""
        if self.path[-1] == "AssumeRolePolicyDocument":
            return "trust"
        if (self.resource_type, self.path[-1]) in _POLICIES_ON_THEMSELVES:
            return "self"
        return "permissions"

    def statements(self) -> Iterator[tuple[Path, Mapping[str, Any]]]:
        """Each statement with its path in the template; a single statement mapping counts as a list of one."""
        statement = self.document.get("Statement")
        if isinstance(statement, Mapping):
            yield (*self.path, "Statement"), statement
        elif isinstance(statement, list):
            for index, item in enumerate(statement):
                if isinstance(item, Mapping):
                    yield (*self.path, "Statement", index), item


def policy_documents(template: Mapping[str, Any]) -> Iterator[PolicyDocument]:
    """Every policy document in the Resources of a template (as a plain dict), in template order."""
    resources = template.get("Resources")
    if not isinstance(resources, Mapping):
        return
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        resource_type = str(resource.get("Type", ""))
        properties = resource.get("Properties")
        for path, document in _documents(properties, ("Resources", logical_id, "Properties")):
            yield PolicyDocument(str(logical_id), resource_type, path, document)


def _documents(value: Any, path: Path) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        if "Statement" in value:
            yield path, value
            return
        for key, item in value.items():
            yield from _documents(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _documents(item, (*path, index))


def element_values(statement: Mapping[str, Any], element: str, path: Path) -> Iterator[tuple[Path, Any]]:
    """(path, value) of each value of a statement's `element` (Action, Resource...), one value or a list."""
    value = statement.get(element)
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, element, index), item
    elif value is not None:
        yield (*path, element), value


def wildcard_findings(policy: PolicyDocument) -> Iterator[tuple[Path, str]]:
    """(path, message) for each wildcard grant in the Allow statements of `policy`.

    Flags `Action: "*"` and `service:*`, and `Resource: "*"` on any action outside
    ACTIONS_WITHOUT_RESOURCE_LEVEL (in a key policy "*" is the key itself, so
    there only the actions are checked). Deny statements only take away and
    are not checked.
    """
    for path, statement in policy.statements():
        if statement.get("Effect") != "Allow":
            continue
        actions = [action for _, action in element_values(statement, "Action", path) if isinstance(action, str)]
        for action_path, action in element_values(statement, "Action", path):
            if action == "*" or (isinstance(action, str) and action.endswith(":*")):
                yield action_path, f"Allow statement grants every action ({action!r}); name the actions"
        if policy.kind != "permissions":
            continue
        scoped = sorted(action for action in actions if action.lower() not in _UNSCOPED_ACTIONS)
        for resource_path, resource in element_values(statement, "Resource", path):
            if resource == "*" and scoped:
                yield (
                    resource_path,
                    (
                        f"Allow statement grants {', '.join(scoped)} on Resource '*'; name the resources "
                        "('*' is only for actions that support no resource-level permission)"
                    ),
                )

"""Least-privilege IAM, built only from awacs objects.

Every role cfngen creates goes through :func:`service_role`: one trusted
service principal (with a confused-deputy guard on the account where the
service documents that it sends the key, see SOURCE_ACCOUNT_DOCUMENTED), inline
policies whose statements name exact resources. ARNs are built with
``arn:${AWS::Partition}:...`` so templates work in every partition.

ACTIONS_WITHOUT_RESOURCE_LEVEL lists the only actions allowed on
``Resource: "*"``: AWS documents each of them as supporting no resource-level
permission. The least-privilege test and the CFNGEN lint rule read this list;
it lives in :mod:`cfngen.facts.iam`, beside the rule's policy walker, so that
linting does not import the builders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from awacs.aws import Action, Allow, Condition, Policy, Principal, Statement, StringEquals
from troposphere import AccountId, Sub
from troposphere.iam import Policy as InlinePolicy
from troposphere.iam import Role

from cfngen.facts.iam import ACTIONS_WITHOUT_RESOURCE_LEVEL as ACTIONS_WITHOUT_RESOURCE_LEVEL
from cfngen.synth.suppress import skip_guard_rule


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """An ARN in the stack's partition, region and account: arn(\"logs\", \"log-group:x:*\")."""
    region_part = "${AWS::Region}" if region else ""
    account_part = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region_part}:{account_part}:{resource}")


def allow(actions: Sequence[Action], resources: Sequence[Any], *, condition: Condition | None = None) -> Statement:
    """One Allow statement on named resources. A "*" resource is accepted only for actions that need it."""
    if any(resource == "*" for resource in resources):
        loose = [
            str(action.JSONrepr()) for action in actions if action.JSONrepr() not in ACTIONS_WITHOUT_RESOURCE_LEVEL
        ]
        if loose:
            raise ValueError(f"Resource '*' is allowed only for {sorted(ACTIONS_WITHOUT_RESOURCE_LEVEL)}, not {loose}")
    statement = Statement(Effect=Allow, Action=list(actions), Resource=list(resources))
    if condition is not None:
        statement.Condition = condition
    return statement


def policy_document(*statements: Statement) -> Policy:
    """A policy document (2012-10-17) holding `statements`."""
    return Policy(Version="2012-10-17", Statement=list(statements))


# Service principals whose AWS documentation shows `aws:SourceAccount` in the trust policy of the roles they
# assume, i.e. the service sends that key when it calls sts:AssumeRole. Only these get the confused-deputy
# condition: a condition on a key the service does not send denies every AssumeRole, and the role is dead on
# arrival. Each page below was read for it (the text that says so is quoted after the URL). Not listed, so trusted
# without the condition, because their role pages show no such key:
# ec2.amazonaws.com (instance profiles, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/instance_IAM_role.html),
# codepipeline.amazonaws.com (https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html),
# monitoring.rds.amazonaws.com (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html),
# codebuild.amazonaws.com (its service role page, https://docs.aws.amazon.com/codebuild/latest/userguide/setting-up-service-role.html,
# gives the trust policy without a condition; only its ECR sample shows the key, on CodeBuild's calls to ECR, not on
# AssumeRole: https://docs.aws.amazon.com/codebuild/latest/userguide/sample-ecr.html).
SOURCE_ACCOUNT_DOCUMENTED: Mapping[str, str] = {
    # "It is recommended that you use the aws:SourceAccount or aws:SourceArn condition keys ... in the trust
    # relationship" (task roles; the task execution role has the same principal).
    "ecs-tasks.amazonaws.com": "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
    # "We recommend that you use the aws:SourceAccount and aws:SourceArn condition keys ... add the following
    # condition block to the previous trust policy."
    "vpc-flow-logs.amazonaws.com": "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html",
    # A full trust policy for codedeploy.amazonaws.com with aws:SourceAccount and aws:SourceArn.
    "codedeploy.amazonaws.com": "https://docs.aws.amazon.com/codedeploy/latest/userguide/security_confused_deputy.html",
    # "For EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN", with an example
    # that uses aws:SourceArn and aws:SourceAccount.
    "events.amazonaws.com": "https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html",
}


def trust(service_principal: str) -> Policy:
    """Trust policy for exactly one AWS service; limited to this account (confused-deputy guard) when the
    service documents that it sends aws:SourceAccount (SOURCE_ACCOUNT_DOCUMENTED)."""
    statement = Statement(
        Effect=Allow,
        Principal=Principal("Service", [service_principal]),
        Action=[Action("sts", "AssumeRole")],
    )
    if service_principal in SOURCE_ACCOUNT_DOCUMENTED:
        statement.Condition = Condition(StringEquals({"aws:SourceAccount": AccountId}))
    return policy_document(statement)


def service_role(
    logical_id: str,
    service_principal: str,
    policies: Mapping[str, Sequence[Statement]],
    *,
    description: str,
    path: str,
) -> Role:
    """A role that one AWS service assumes, with one inline policy per entry of `policies`, under IAM `path`."""
    role = Role(
        logical_id,
        AssumeRolePolicyDocument=trust(service_principal),
        Description=description,
        Path=path,
    )
    if policies:
        role.Policies = [
            InlinePolicy(PolicyName=name, PolicyDocument=policy_document(*statements))
            for name, statements in policies.items()
        ]
        skip_guard_rule(
            role,
            "IAM_NO_INLINE_POLICY_CHECK",
            "each role's least-privilege statements are inline so that they are created, changed and deleted "
            "with the role and no other principal can be given them; a managed policy would be a second object",
        )
    return role

"""Least-privilege IAM, built only from awacs objects.

Every role cfngen creates goes through :func:`service_role`: one trusted
service principal (with a confused-deputy guard on the account), inline
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


def arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> Sub:
    """An ARN in the stack's partition, region and account: arn(\"logs\", \"log-group:x:*\")."""
    region_part = "${AWS::Region}" if region else ""
    account_part = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{region_part}:{account_part}:{resource}")


def allow(actions: Sequence[Action], resources: Sequence[Any], *, condition: Condition | None = None) -> Statement:
    """One Allow statement on named resources. A "*" resource is accepted only for actions that need it."""
    if any(resource == "*" for resource in resources):
        loose = [str(action.JSONrepr()) for action in actions if action.JSONrepr() not in ACTIONS_WITHOUT_RESOURCE_LEVEL]
        if loose:
            raise ValueError(f"Resource '*' is allowed only for {sorted(ACTIONS_WITHOUT_RESOURCE_LEVEL)}, not {loose}")
    statement = Statement(Effect=Allow, Action=list(actions), Resource=list(resources))
    if condition is not None:
        statement.Condition = condition
    return statement


def policy_document(*statements: Statement) -> Policy:
    """A policy document (2012-10-17) holding `statements`."""
    return Policy(Version="2012-10-17", Statement=list(statements))


def trust(service_principal: str) -> Policy:
    """Trust policy for exactly one AWS service, limited to this account (confused-deputy guard)."""
    return policy_document(
        Statement(
            Effect=Allow,
            Principal=Principal("Service", [service_principal]),
            Action=[Action("sts", "AssumeRole")],
            Condition=Condition(StringEquals({"aws:SourceAccount": AccountId})),
        )
    )


def service_role(
    logical_id: str, service_principal: str, policies: Mapping[str, Sequence[Statement]], *, description: str,
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
    return role

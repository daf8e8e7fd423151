"""Two blueprints in one account never share a physical name, and no pattern of one matches the other's resources
(issue 21: blueprint `shop` with service `prod-api` and blueprint `shop-prod` with service `api`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

import pytest

from cfngen import Blueprint, StackSet, ci_policy, synthesize

# Properties that name a resource in its service's namespace (the account and region).
NAME_PROPERTIES = (
    "Name",
    "Family",
    "ApplicationName",
    "DeploymentGroupName",
    "RepositoryName",
    "LogGroupName",
    "AlarmName",
    "DashboardName",
    "TopicName",
    "AliasName",
    "ClusterName",
    "DBClusterIdentifier",
    "RoleName",
    "BudgetName",
)


def _stacks(blueprint: str, service: str) -> StackSet:
    return synthesize(
        Blueprint.model_validate(
            {"name": blueprint, "region": "us-east-1", "services": [{"name": service, "port": 8080}]}
        )
    )


@pytest.fixture(scope="module")
def pair() -> tuple[StackSet, StackSet]:
    return _stacks("shop", "prod-api"), _stacks("shop-prod", "api")


def _names(stacks: StackSet) -> Iterator[tuple[str, str, str]]:
    """(resource type, property, name) of every literal physical name in the templates."""
    for template in stacks.templates().values():
        for resource in template.to_dict().get("Resources", {}).values():
            properties: dict[str, Any] = resource.get("Properties", {})
            for key in NAME_PROPERTIES:
                if isinstance(properties.get(key), str):
                    yield resource["Type"], key, properties[key]


def _patterns(stacks: StackSet) -> Iterator[str]:
    """Every wildcard resource pattern the templates and the CI policy name (the part after the account)."""

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, str) and "*" in value and ":" in value:
            yield (
                value.replace("${AWS::Partition}", "aws")
                .replace("${AWS::Region}", "us-east-1")
                .replace("${AWS::AccountId}", "123456789012")
            )

    for template in stacks.templates().values():
        yield from walk(template.to_dict())
    yield from walk(ci_policy(stacks, account_id="123456789012").document)


def _arns(stacks: StackSet) -> set[str]:
    """The ARNs the other blueprint's resources get: by name, and roles under their path and stack name."""
    arns = {
        f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
        for kind, _, name in _names(stacks)
        if kind == "AWS::CloudWatch::Alarm"
    }
    for template in stacks.templates().values():
        for logical_id, resource in template.to_dict().get("Resources", {}).items():
            if resource["Type"] == "AWS::IAM::Role":
                path = resource["Properties"].get("Path", "/")
                # CloudFormation's name for it: the nested stack's name, the logical id, random characters.
                arns.add(f"arn:aws:iam::123456789012:role{path}{stacks.blueprint.name}-Child-ABC-{logical_id}-XYZ")
    return arns


def test_no_physical_name_is_shared(pair: tuple[StackSet, StackSet]) -> None:
    first, second = ({(kind, name) for kind, _, name in _names(stacks)} for stacks in pair)
    assert first and second
    assert first & second == set()


def test_no_pattern_of_one_blueprint_matches_the_other_blueprints_resources(pair: tuple[StackSet, StackSet]) -> None:
    for mine, theirs in (pair, pair[::-1]):
        own = _arns(mine)
        foreign = _arns(theirs)
        patterns = set(_patterns(mine))
        assert any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns for arn in own), "patterns are checked"
        matched = sorted((pattern, arn) for pattern in patterns for arn in foreign if fnmatch.fnmatchcase(arn, pattern))
        assert matched == [], f"{mine.blueprint.name} reaches {theirs.blueprint.name}"


def test_names_cannot_hold_the_separator() -> None:
    """What makes "<blueprint>--<rest>" unambiguous: no blueprint or service name contains "--"."""
    import re

    from cfngen.blueprint._model import NAME_PATTERN
    from cfngen.builders.base import OWNER_SEPARATOR

    assert re.fullmatch(NAME_PATTERN, "shop-prod") and not re.fullmatch(NAME_PATTERN, f"shop{OWNER_SEPARATOR}prod")

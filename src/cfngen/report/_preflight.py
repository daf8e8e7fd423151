"""What the review says about the blueprint rather than its templates: the preflight warnings (what may work at
creation but can fail at peak) and the account settings the platform needs but CloudFormation cannot set.

Only a review of a blueprint has these; a review of templates read from a directory or git has none.
"""

from __future__ import annotations

from dataclasses import dataclass

from cfngen.blueprint import Blueprint, preflight_warnings

# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html ("Prerequisites"):
# the account, or the role that registers the instances, must opt in to awsvpcTrunking; only instances launched
# after that get the trunk interface. No CloudFormation resource sets an ECS account setting.
TRUNKING_PAGE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html"


@dataclass(frozen=True)
class AccountSetting:
    """An account setting the platform relies on, with the command that turns it on and AWS's page about it."""

    name: str
    why: str
    command: str
    alternative: str
    page: str


@dataclass(frozen=True)
class Preflight:
    """The blueprint's preflight warnings ("field: message" each) and the account settings it needs."""

    warnings: tuple[str, ...]
    account_settings: tuple[AccountSetting, ...]


def analyse(blueprint: Blueprint) -> Preflight:
    """The preflight warnings of `blueprint` and, with ``cluster.awsvpc_trunking`` on, the ECS account setting."""
    settings: tuple[AccountSetting, ...] = ()
    if blueprint.cluster.awsvpc_trunking:
        settings = (
            AccountSetting(
                name="awsvpcTrunking",
                why=(
                    "cluster.awsvpc_trunking counts on ENI trunking (more awsvpc tasks per instance); ECS gives "
                    "it only to instances launched after awsvpcTrunking is enabled for the account or for the "
                    "role that registers them, and CloudFormation cannot set it"
                ),
                command=(
                    f"aws ecs put-account-setting-default --name awsvpcTrunking --value enabled "
                    f"--region {blueprint.region}"
                ),
                alternative=(
                    "aws ecs put-account-setting --name awsvpcTrunking --value enabled --principal-arn "
                    f"<ARN of the cluster stack's InstanceRole> --region {blueprint.region}"
                ),
                page=TRUNKING_PAGE,
            ),
        )
    return Preflight(warnings=tuple(map(str, preflight_warnings(blueprint))), account_settings=settings)

"""`cfngen ci-policy`: the least IAM policy a CI role needs to deploy a blueprint, as JSON or as a role template."""

from __future__ import annotations

import argparse
import re
from typing import Any

from cfngen import (
    ACCOUNT_PLACEHOLDER,
    MANAGED_POLICIES_PER_ROLE,
    MANAGED_POLICIES_PER_ROLE_RAISED,
    PARTITION_PLACEHOLDER,
    UsageError,
    ci_policy,
    role_template,
    synthesize,
    to_yaml,
)
from cfngen.cli import output
from cfngen.cli.common import add_blueprint_argument, add_stack_name_argument, load

GITHUB_PREFIX = "github:"


def register(commands: Any) -> None:
    """Add the ci-policy command."""
    parser = commands.add_parser(
        "ci-policy",
        help="print the IAM policy a CI role needs to deploy a blueprint (JSON or a role template)",
        description="Compute, from the blueprint's templates, the CloudFormation, S3 and iam:PassRole permissions "
        "a CI role needs to plan and deploy it, plus the actions CloudFormation performs with the "
        "caller's credentials for each resource type (from the resource schemas cfn-lint ships), "
        "split into managed policies of at most 6,144 characters each (at most 10 per role). "
        "The JSON parts or the role's CloudFormation template go to stdout; notes go to stderr.",
    )
    add_blueprint_argument(parser)
    parser.add_argument(
        "--format",
        choices=("json", "template"),
        default="json",
        help="json: the managed policies' documents; template: a CloudFormation template of the "
        "role with its trust and its managed policies (needs --trust or --trust-account)",
    )
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--trust",
        type=github_repository,
        metavar="github:ORG/REPO",
        help="the role trusts GitHub Actions of this repository (the account's OIDC provider for "
        "token.actions.githubusercontent.com, audience sts.amazonaws.com)",
    )
    trust.add_argument(
        "--trust-account",
        type=account_id,
        metavar="ID",
        help="the role trusts this 12-digit account (its IAM policies decide who assumes it)",
    )
    parser.add_argument(
        "--bucket",
        help="templates bucket (default: the one `cfngen bootstrap` creates, cfngen-templates-<account>-<region>)",
    )
    add_stack_name_argument(parser)
    parser.add_argument(
        "--account-id",
        type=_account_id,
        default="*",
        help="12-digit AWS account id to put in the ARNs (default: any account; in a template, "
        "the account it is deployed in)",
    )
    parser.add_argument(
        "--service-role-arn",
        metavar="ARN",
        help="CloudFormation acts through this role: the CI role only needs to pass it",
    )
    parser.add_argument(
        "--max-policies",
        type=_max_policies,
        default=MANAGED_POLICIES_PER_ROLE,
        metavar="N",
        help=f"managed policies the role may have (default {MANAGED_POLICIES_PER_ROLE}, IAM's default "
        f"quota; at most {MANAGED_POLICIES_PER_ROLE_RAISED} once AWS raised it)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, compute the policy, print it (or the role's template)."""
    template = args.format == "template"
    if template and args.trust is None and args.trust_account is None:
        raise UsageError("--format template needs --trust github:ORG/REPO or --trust-account ID")
    if not template and (args.trust or args.trust_account):
        raise UsageError("--trust and --trust-account shape the role template: add --format template")
    account_id = ACCOUNT_PLACEHOLDER if template and args.account_id == "*" else args.account_id
    blueprint = load(args)
    with output.progress("reading the resource schemas"):
        policy = ci_policy(
            synthesize(blueprint),
            bucket=args.bucket,
            stack_name=args.stack_name,
            account_id=account_id,
            service_role_arn=args.service_role_arn,
            partition=PARTITION_PLACEHOLDER if template else None,
            max_parts=args.max_policies,
        )
    if template:
        output.say(to_yaml(role_template(policy, github_repository=args.trust, account_id=args.trust_account)), end="")
    else:
        output.say(policy.to_json(), end="")
    for note in policy.notes:
        output.echo(output.styled(f"note: {note}", "yellow"), err=True)
    return 0


def _account_id(text: str) -> str:
    return text if text == "*" else account_id(text)


def account_id(text: str) -> str:
    """A 12-digit account id (argparse type)."""
    if not re.fullmatch(r"\d{12}", text):
        raise argparse.ArgumentTypeError(f"expected a 12-digit account id, found {text!r}")
    return text


def _max_policies(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MANAGED_POLICIES_PER_ROLE_RAISED:
        raise argparse.ArgumentTypeError(f"expected 1 to {MANAGED_POLICIES_PER_ROLE_RAISED}, found {text!r}")
    return int(text)


def github_repository(text: str) -> str:
    """ORG/REPO from github:ORG/REPO (GitHub's characters for owner and repository names)."""
    repository = text.removeprefix(GITHUB_PREFIX)
    if not text.startswith(GITHUB_PREFIX) or not re.fullmatch(r"[A-Za-z0-9-]+/[A-Za-z0-9._-]+", repository):
        raise argparse.ArgumentTypeError(f"expected github:ORG/REPO, found {text!r}")
    return repository

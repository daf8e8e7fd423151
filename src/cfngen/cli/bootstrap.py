"""`cfngen bootstrap`: create or update the templates bucket stack of an account and region, and with `--ci-role`
the stack of a blueprint's CI deploy role (the template `cfngen ci-policy --format template` prints)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen import (
    BOOTSTRAP_BUCKET_OUTPUT,
    BOOTSTRAP_STACK_NAME,
    CI_ROLE_OUTPUT,
    CI_ROLE_STACK_PREFIX,
    Package,
    UsageError,
)
from cfngen.cli import output
from cfngen.cli.ci_policy import account_id, github_repository
from cfngen.cli.common import add_set_argument, deployer


def register(commands: Any) -> None:
    """Add the bootstrap command."""
    parser = commands.add_parser(
        "bootstrap",
        help="create or update the templates bucket (once per account and region)",
        description=f"Deploy the {BOOTSTRAP_STACK_NAME} stack: a versioned, encrypted, TLS-only bucket with no public access "
        "whose old object versions expire. Exit 0 done, 1 failed, 2 bad input, 124 --timeout used up.",
    )
    parser.add_argument("--region", help="AWS region (default: the AWS configuration's)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="the whole command (every wait and every AWS call) ends within this long: exit 124 when it "
        "is used up (default: 3600)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of text")
    parser.add_argument(
        "--ci-role",
        type=Path,
        metavar="BLUEPRINT",
        help=f"also create or update the stack {CI_ROLE_STACK_PREFIX}<blueprint name>: the role CI assumes to plan, "
        "deploy, check drift on and destroy this blueprint (`cfngen ci-policy --format template`); "
        "needs --trust or --trust-account",
    )
    add_set_argument(parser)
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--trust",
        type=github_repository,
        metavar="github:ORG/REPO",
        help="the CI role trusts GitHub Actions of this repository",
    )
    trust.add_argument(
        "--trust-account", type=account_id, metavar="ID", help="the CI role trusts this 12-digit account"
    )
    parser.set_defaults(run=run, bucket=None)


def run(args: argparse.Namespace) -> int:
    """Bootstrap (and the CI role), and say which bucket the other commands will use."""
    if (args.ci_role is None) != (args.trust is None and args.trust_account is None):
        raise UsageError("--ci-role BLUEPRINT and --trust github:ORG/REPO (or --trust-account ID) go together")
    if args.overrides and args.ci_role is None:
        raise UsageError("--set changes a blueprint: it needs --ci-role BLUEPRINT")
    target = deployer(args, args.region)
    # Built first: a bad blueprint or a role template too big to pass inline stops before anything is deployed.
    role = _ci_role_package(args, target.region) if args.ci_role else None
    outcome = target.bootstrap()
    outcomes = [outcome]
    if role is not None:
        outcomes.append(target.apply(target.plan(role, stack_name=role.name), pkg=role))
    if args.json:
        output.print_json(outcome.to_dict() if role is None else [item.to_dict() for item in outcomes])
    else:
        output.say(
            f"{BOOTSTRAP_STACK_NAME} in {target.region}: {outcome.result}; "
            f"templates bucket: {outcome.outputs.get(BOOTSTRAP_BUCKET_OUTPUT, '?')}"
        )
        for item in outcomes[1:]:
            output.say(
                f"{item.stack_name} in {target.region}: {item.result}; role: {item.outputs.get(CI_ROLE_OUTPUT, '?')}"
            )
    return 0


def _ci_role_package(args: argparse.Namespace, region: str) -> Package:
    """The CI role's stack, named after the blueprint, from the template `cfngen ci-policy --format template` prints."""
    from cfngen import ci_role_package, load_blueprint, synthesize

    stacks = synthesize(load_blueprint(args.ci_role, overrides=args.overrides))
    return ci_role_package(stacks, region=region, github_repository=args.trust, account_id=args.trust_account)

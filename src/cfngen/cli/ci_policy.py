"""`cfngen ci-policy`: the least IAM policy a CI role needs to deploy a blueprint, as JSON."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from cfngen.extras._ci_policy import ci_policy
from cfngen.cli import output
from cfngen.cli.common import add_blueprint_argument, load
from cfngen.synth import synthesize


def register(commands: Any) -> None:
    """Add the ci-policy command."""
    parser = commands.add_parser(
        "ci-policy", help="print the IAM policy a CI role needs to deploy a blueprint (JSON)",
        description="Compute, from the blueprint's templates, the CloudFormation, S3 and iam:PassRole permissions "
                    "a CI role needs to plan and deploy it, plus the actions CloudFormation performs with the "
                    "caller's credentials for each resource type (from the resource schemas cfn-lint ships). "
                    "The policy document goes to stdout; notes go to stderr.",
    )
    add_blueprint_argument(parser)
    parser.add_argument("--bucket", help="templates bucket (default: the one `cfngen bootstrap` creates, "
                                         "cfngen-templates-<account>-<region>)")
    parser.add_argument("--stack-name", help="root stack name (default: the blueprint's name)")
    parser.add_argument("--account-id", type=_account_id, default="*",
                        help="12-digit AWS account id to put in the ARNs (default: any account)")
    parser.add_argument("--service-role-arn", metavar="ARN",
                        help="CloudFormation acts through this role: the CI role only needs to pass it")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, compute the policy, print it."""
    blueprint = load(args)
    with output.progress("reading the resource schemas"):
        policy = ci_policy(synthesize(blueprint), bucket=args.bucket, stack_name=args.stack_name,
                           account_id=args.account_id, service_role_arn=args.service_role_arn)
    sys.stdout.write(policy.to_json())
    for note in policy.notes:
        output.echo(output.styled(f"note: {note}", "yellow"), err=True)
    return 0


def _account_id(text: str) -> str:
    if text != "*" and not re.fullmatch(r"\d{12}", text):
        raise argparse.ArgumentTypeError(f"expected a 12-digit account id, found {text!r}")
    return text

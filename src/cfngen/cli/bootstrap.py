"""`cfngen bootstrap`: create or update the templates bucket stack of an account and region."""

from __future__ import annotations

import argparse
from typing import Any

from cfngen.cli import output
from cfngen.cli.common import deployer
from cfngen.deploy.bootstrap import BUCKET_OUTPUT, STACK_NAME


def register(commands: Any) -> None:
    """Add the bootstrap command."""
    parser = commands.add_parser(
        "bootstrap",
        help="create or update the templates bucket (once per account and region)",
        description=f"Deploy the {STACK_NAME} stack: a versioned, encrypted, TLS-only bucket with no public access "
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
    parser.set_defaults(run=run, bucket=None)


def run(args: argparse.Namespace) -> int:
    """Bootstrap and say which bucket the other commands will use."""
    target = deployer(args, args.region)
    outcome = target.bootstrap()
    if args.json:
        output.print_json(outcome.to_dict())
    else:
        print(
            f"{STACK_NAME} in {target.region}: {outcome.result}; "
            f"templates bucket: {outcome.outputs.get(BUCKET_OUTPUT, '?')}"
        )
    return 0

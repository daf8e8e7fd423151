"""`cfngen drift`: which resources of a blueprint's deployed stack tree were changed outside CloudFormation."""

from __future__ import annotations

import argparse
from typing import Any

from cfngen.cli import output
from cfngen.cli.common import add_aws_arguments, add_blueprint_argument, add_stack_name_argument, deployer, load

DRIFTED = 1


def register(commands: Any) -> None:
    """Add the drift command."""
    parser = commands.add_parser(
        "drift",
        help="detect drift on every stack of a deployed blueprint",
        description="Runs CloudFormation drift detection on the root and every nested stack, waits for each and "
        "prints the drifted resources with their properties (template value -> live value). Values AWS "
        "changes on purpose (a service's desired count under auto scaling, listener actions during a "
        "blue/green deployment) are listed apart and are not drift. Exit 0 no drift, 1 drift (or a "
        "failed call), 2 bad input or no such stack, 124 --timeout used up.",
    )
    add_blueprint_argument(parser)
    add_stack_name_argument(parser)
    add_aws_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Detect, print, exit 1 on drift."""
    blueprint = load(args)
    report = deployer(args, args.region or blueprint.region).drift(args.stack_name or blueprint.name)
    if args.json:
        output.print_json(report.to_dict())
    else:
        output.say(report.render())
    return DRIFTED if report.has_drift else 0

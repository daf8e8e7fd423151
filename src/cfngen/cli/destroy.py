"""`cfngen destroy`: delete a blueprint's whole stack tree, after listing what goes and what stays."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cfngen import UsageError
from cfngen.cli import output
from cfngen.cli.common import (
    add_aws_arguments,
    add_blueprint_argument,
    add_stack_name_argument,
    confirm,
    deployer,
    in_ci,
    load,
)


def register(commands: Any) -> None:
    """Add the destroy command."""
    parser = commands.add_parser(
        "destroy",
        help="delete a blueprint's stack tree (retained resources and their data stay)",
        description="Lists what will be deleted and what is retained, asks, then deletes the root stack and every "
        "nested stack (turning termination protection off as part of this command only). Exit 0 when "
        "the stack is gone (or was never there), 1 the deletion failed, 2 bad input or nobody to ask "
        "(pass --yes; CI=true is not enough for a deletion), 3 the stack changed since it was listed, 124 "
        "--timeout used up (a deletion under way goes on in AWS).",
    )
    add_blueprint_argument(parser)
    add_stack_name_argument(parser)
    add_aws_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="delete without asking (needed where nobody can answer)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List, confirm, delete, then say what was kept and how to remove it."""
    blueprint = load(args)
    target = deployer(args, args.region or blueprint.region)
    name = args.stack_name or blueprint.name
    teardown = target.teardown(name)
    if teardown is None:
        if args.json:
            output.print_json({"stack_name": name, "result": "not found"})
        else:
            output.say(f"stack {name} does not exist in {target.region}: nothing to destroy")
        return 0
    output.say(teardown.render(), err=args.json)
    if not args.yes:
        if in_ci() or not sys.stdin.isatty():
            raise UsageError(
                f"destroy deletes stack {name} and everything listed above; with nobody to ask, it runs only with --yes"
            )
        if not confirm(f"delete stack {name} and all its nested stacks in {target.region}?"):
            output.say("not destroyed", err=True)
            return 0
    outcome = target.destroy(teardown)
    if args.json:
        output.print_json({"teardown": teardown.to_dict(), "outcome": outcome.to_dict()})
        return 0
    output.say(f"{outcome.stack_name}: {outcome.result} ({outcome.stack_status})")
    if teardown.kept:
        output.say(
            f"kept ({len(teardown.kept)}); deploying the blueprint again adopts those it names, or remove them with:"
        )
        output.say(teardown.removals())
    return 0

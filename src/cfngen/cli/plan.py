"""`cfngen plan`: synthesize, lint, package and create one change set over the nested tree; print every change."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cfngen import Plan, violations
from cfngen.cli import output
from cfngen.cli.common import (
    add_aws_arguments,
    add_blueprint_argument,
    add_plan_arguments,
    load,
    make_plan,
    report_plan,
)

CHANGES_PRESENT = 4


def register(commands: Any) -> None:
    """Add the plan command."""
    parser = commands.add_parser(
        "plan",
        help="show what a deploy would change (a change set over every nested stack)",
        description="Exit 0 (with --detailed-exitcode: 0 no changes, 4 changes present), 1 failed (CloudFormation's "
        "early validation refused the change set, shown per stack and resource), 2 bad input, 124 --timeout "
        "used up. Says "
        "when the stacks' protections differ from the blueprint's (deploy restores them). Never "
        "deletes anything (--replace-failed deletes at deploy). The change set stays in AWS for "
        "`cfngen deploy --plan FILE BLUEPRINT`.",
    )
    add_blueprint_argument(parser)
    add_plan_arguments(parser)
    add_aws_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        metavar="PLAN_FILE",
        help="write the plan (change set ARNs, template hashes, parameters) as JSON",
    )
    parser.add_argument("--detailed-exitcode", action="store_true", help="exit 4 when the plan has changes")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Plan, print, optionally save."""
    _, pkg, plan = make_plan(args, load(args))
    plan = _masked(plan, pkg.root)
    if args.out:
        plan.save(args.out)
    if args.json:
        output.print_json({**plan.to_dict(), "violations": [str(problem) for problem in violations(plan)]})
    else:
        output.say(report_plan(plan))
        if args.out:
            output.say(
                f"plan written to {args.out}; apply exactly this with "
                f"`cfngen deploy --plan {args.out} {args.blueprint}`"
            )
    if plan.validation_failed:
        return 1
    return CHANGES_PRESENT if args.detailed_exitcode and plan.has_changes else 0


def _masked(plan: Plan, root: Mapping[str, Any]) -> Plan:
    """The plan with the values of NoEcho parameters masked, as CloudFormation itself shows them.

    The plan file and --json only record the values (apply executes the change set, which holds them), so
    nothing is lost; a secret passed with --param must not land in a file or a CI log in plain text.
    """
    declared = root.get("Parameters") or {}
    hidden = {key for key, spec in declared.items() if str(spec.get("NoEcho", "")).lower() == "true"}
    return dataclasses.replace(
        plan, parameters={key: "****" if key in hidden else value for key, value in plan.parameters.items()}
    )

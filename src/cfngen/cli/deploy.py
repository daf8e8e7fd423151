"""`cfngen deploy`: plan and apply a blueprint, apply a reviewed plan file, or run the whole cycle locally."""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from cfngen import Deployer, Outcome, Package, Plan, UsageError, check_plan
from cfngen.cli import output
from cfngen.cli.common import (
    add_aws_arguments,
    add_plan_arguments,
    add_set_argument,
    bundle_checked,
    confirm,
    deployer,
    in_ci,
    load,
    make_plan,
    report_plan,
)


def register(commands: Any) -> None:
    """Add the deploy command."""
    parser = commands.add_parser(
        "deploy",
        help="plan and apply a blueprint (or apply a reviewed plan file)",
        description="Exit 0 applied, already applied or nothing to do, 1 failed (a rollback names its first failing "
        "resource), 2 bad input, 3 blocked by a safety rule or a stale or edited plan (nothing was "
        "executed), 124 --timeout used up (the message says whether CloudFormation carries on: --resume), "
        "130/143 interrupted after execution started (CloudFormation carries on: --resume). "
        "Every run restores the stacks' protections (termination protection, stack policies). Asks "
        "before applying unless --yes is given or CI=true.",
    )
    parser.add_argument(
        "blueprint",
        metavar="BLUEPRINT",
        type=Path,
        nargs="?",
        help="blueprint YAML file (with --plan: the blueprint the plan was made from, whose stack "
        "policy and templates are checked; nothing is uploaded)",
    )
    add_set_argument(parser)
    parser.add_argument("--plan", type=Path, metavar="PLAN_FILE", help="apply exactly the change set of this plan file")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="re-attach to the operation running on the stack (after an interrupted deploy): stream "
        "its events, wait, restore protections",
    )
    add_plan_arguments(parser)
    add_aws_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="apply without asking")
    parser.add_argument(
        "--allow-replace",
        action="append",
        default=[],
        metavar="LOGICAL_ID",
        help="allow replacing or removing this stateful resource (repeatable)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="deploy to an AWS emulator started in this process: bootstrap, plan, apply, re-plan",
    )
    parser.set_defaults(run=run)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job), raised where Ctrl-C raises KeyboardInterrupt; the deployer reads the number."""

    signal_number = int(signal.SIGTERM)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the plan-file, resume, local or normal flow, with SIGTERM handled like Ctrl-C."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminate(number: int, frame: FrameType | None) -> None:
    raise Terminated()


def _run(args: argparse.Namespace) -> int:
    if args.plan is not None:
        return _apply_plan_file(args)
    if args.blueprint is None:
        raise UsageError("deploy needs a BLUEPRINT or --plan PLAN_FILE")
    if args.local:
        return _deploy_locally(args)
    if args.resume:
        return _resume(args)
    target, pkg, plan = make_plan(args, load(args))
    return _review_and_apply(args, target, plan, pkg)


def _review_and_apply(args: argparse.Namespace, target: Deployer, plan: Plan, pkg: Package | None) -> int:
    if not args.json:
        output.say(report_plan(plan, args.allow_replace))
    if plan.has_changes:
        check_plan(plan, args.allow_replace)  # before asking: a blocked plan is not worth a question
        asked = f"apply these changes to {plan.stack_name} in {plan.region}?"
        if not (args.yes or args.local or in_ci() or confirm(asked)):
            output.say("not applied", err=True)
            return 0
    # With no changes too: apply() restores protections that differ.
    outcome = target.apply(plan, allow_replace=args.allow_replace, pkg=pkg)
    _report(args, plan, outcome)
    return 0


def _apply_plan_file(args: argparse.Namespace) -> int:
    recorded = Plan.load(args.plan)
    if args.blueprint is None:
        raise UsageError(
            "deploy --plan needs the BLUEPRINT the plan was made from: the stack policy and the "
            "templates are taken from it, never from the plan file"
        )
    target = deployer(args, recorded.region)
    pkg = bundle_checked(target, load(args))  # hashes compared, nothing uploaded
    plan = target.verify(recorded, pkg, termination_protection=args.termination_protection)
    return _review_and_apply(args, target, plan, pkg)


def _resume(args: argparse.Namespace) -> int:
    from cfngen import synthesize

    blueprint = load(args)
    target = deployer(args, args.region or blueprint.region)
    name = args.stack_name or blueprint.name
    outcome = target.resume(
        name, pkg=target.bundle(synthesize(blueprint)), termination_protection=args.termination_protection
    )
    if args.json:
        output.print_json({"outcome": outcome.to_dict()})
    else:
        _print_outcome(outcome)
    return 0


def _deploy_locally(args: argparse.Namespace) -> int:
    from cfngen import local as local_aws

    blueprint = load(args)
    region = args.region or blueprint.region
    with _emulator(region) as endpoint:
        output.say(f"local AWS emulator at {endpoint}", err=True)
        target = deployer(args, region, poll_s=local_aws.POLL_S)
        target.bootstrap()
        _, pkg, plan = make_plan(args, blueprint, poll_s=local_aws.POLL_S)
        _review_and_apply(args, target, plan, pkg)
        output.say("re-planning: a second plan of the same blueprint must find nothing to do", err=True)
        _, _, again = make_plan(args, blueprint, poll_s=local_aws.POLL_S)
        if not args.json:
            output.say(again.render())
            output.say(local_aws.summary(local_aws.stand_ins(region)))
        if again.has_changes:
            output.say("the re-plan found changes: the deployed stack does not match the templates", err=True)
            return 1
    return 0


@contextmanager
def _emulator(region: str) -> Iterator[str]:
    from cfngen.local import LocalAws, environment, require_moto

    require_moto()
    with LocalAws() as aws, environment(aws.endpoint_url, region):
        yield aws.endpoint_url


def _report(args: argparse.Namespace, plan: Plan, outcome: Outcome) -> None:
    if args.json:
        output.print_json({"plan": plan.to_dict(), "outcome": outcome.to_dict()})
        return
    _print_outcome(outcome)


def _print_outcome(outcome: Outcome) -> None:
    # echo: one line each, a line break inside a value (an output of a stack) escaped like every control character.
    output.echo(
        f"{outcome.stack_name}: {outcome.result}" + (f" ({outcome.stack_status})" if outcome.stack_status else "")
    )
    for gap in outcome.restored:
        output.echo(f"  restored: {gap}")
    for key, value in sorted(outcome.outputs.items()):
        output.echo(f"  {key} = {value}")

"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cfngen import DeployError, UsageError
from cfngen.cli import output

# CloudFormation's own console refreshes about this often; an operation takes seconds to hours.
DEFAULT_POLL_S = 5.0

if TYPE_CHECKING:
    from cfngen import Blueprint, Deployer, Override, Package, Plan


def add_blueprint_argument(parser: argparse.ArgumentParser) -> None:
    """The positional BLUEPRINT argument, and ``--set`` to override its values."""
    parser.add_argument("blueprint", metavar="BLUEPRINT", type=Path, help="blueprint YAML file")
    add_set_argument(parser)


def add_stack_name_argument(parser: argparse.ArgumentParser) -> None:
    """``--stack-name``: the root stack a blueprint is (or will be) deployed as."""
    parser.add_argument("--stack-name", help="root stack name (default: the blueprint's name)")


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set PATH=VALUE`` (repeatable): override a blueprint value, validated like the file."""
    parser.add_argument(
        "--set",
        dest="overrides",
        metavar="PATH=VALUE",
        action="append",
        default=[],
        type=_override,
        help="override a blueprint value, e.g. --set cluster.min_size=1 or --set services.web.port=8081 "
        "(services by name or index; repeatable; validated like the file)",
    )


def load(args: argparse.Namespace) -> Blueprint:
    """The blueprint named on the command line, with its ``--set`` overrides, validated."""
    return load_path(args.blueprint, args)


def load_path(path: Path, args: argparse.Namespace) -> Blueprint:
    """The blueprint at `path` with the ``--set`` overrides of `args`, validated."""
    from cfngen import load_blueprint

    return load_blueprint(path, overrides=getattr(args, "overrides", ()))


def default_outdir(blueprint: Blueprint) -> Path:
    """Where templates go when no -o is given: templates/<blueprint name>/."""
    return Path("templates") / blueprint.name


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to deploy: --region, --bucket, --timeout (AWS_ENDPOINT_URL and the usual AWS_* variables apply too)."""
    parser.add_argument("--region", help="AWS region (default: the blueprint's, or the AWS configuration's)")
    parser.add_argument("--bucket", help="templates bucket (default: the one `cfngen bootstrap` made in this region)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="the whole command (every wait and every AWS call) ends within this long: exit 124 when it "
        "is used up, also on an endpoint that does not answer (default: 3600)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_S,
        metavar="SECONDS",
        help=f"first wait between polls of CloudFormation; later ones back off up to four times "
        f"longer (default: {DEFAULT_POLL_S:g})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of text")


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """What to plan: --stack-name, --param, --replace-failed, --no-termination-protection, --revert-drift."""
    add_stack_name_argument(parser)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value,
        help="root template parameter (repeatable); others keep their previous values on update",
    )
    parser.add_argument(
        "--replace-failed",
        action="store_true",
        help="delete and re-create a stack whose first create failed (ROLLBACK_COMPLETE)",
    )
    parser.add_argument(
        "--no-termination-protection",
        dest="termination_protection",
        action="store_false",
        help="do not turn termination protection on (deploy never turns it off; destroy does)",
    )
    parser.add_argument(
        "--on-failure",
        choices=("rollback", "delete", "keep"),
        default="rollback",
        help="what a failed first create does: roll back (default), roll back and delete the stack, "
        "or keep what was made for inspection; a rollback deletes what the run created "
        "(RetainExceptOnCreate)",
    )
    parser.add_argument(
        "--revert-drift",
        action="store_true",
        help="drift-aware change set: also bring properties changed outside CloudFormation back to "
        "the template (the plan shows template value, live value and the change per property)",
    )


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def deployer(args: argparse.Namespace, region: str | None, *, poll_s: float | None = None) -> Deployer:
    """A Deployer for the command line: progress on stderr, the given bucket, timeout and poll interval."""
    from cfngen import ConsoleProgress, Deadline, Deployer

    if poll_s is None:
        poll_s = getattr(args, "poll_interval", DEFAULT_POLL_S)  # commands without add_aws_arguments (bootstrap)
    return Deployer(
        region=region,
        bucket=args.bucket,
        timeout_s=args.timeout,
        poll_s=poll_s,
        progress=ConsoleProgress(sys.stderr),
        # --timeout bounds the whole command: counted from its start, shared by every deployer it makes.
        deadline=Deadline(args.timeout, started=getattr(args, "started", None)),
    )


def bundle_checked(target: Deployer, blueprint: Blueprint) -> Package:
    """The blueprint's bundle (nothing uploaded), refused when cfn-lint finds errors in exactly the text that is
    uploaded (warnings are printed, not fatal)."""
    from cfngen import lint_texts, synthesize

    pkg = target.bundle(synthesize(blueprint))
    findings = lint_texts(pkg.bodies, region=pkg.region)
    for finding in findings:
        output.say(f"lint: {finding}", err=True)
    errors = [finding for finding in findings if finding.severity == "error"]
    if errors:
        raise DeployError(f"refusing to plan {blueprint.name}: cfn-lint found {len(errors)} error(s) (listed above)")
    return pkg


def make_plan(
    args: argparse.Namespace, blueprint: Blueprint, *, poll_s: float | None = None
) -> tuple[Deployer, Package, Plan]:
    """Synthesize, bundle, lint, upload and plan the blueprint named on the command line."""
    target = deployer(args, args.region or blueprint.region, poll_s=poll_s)
    pkg = target.upload(bundle_checked(target, blueprint))
    plan = target.plan(
        pkg,
        stack_name=args.stack_name,
        parameters=dict(args.param),
        replace_failed=args.replace_failed,
        termination_protection=args.termination_protection,
        on_failure=args.on_failure,
        revert_drift=args.revert_drift,
    )
    return target, pkg, plan


def report_plan(plan: Plan, allow_replace: Sequence[str] = ()) -> str:
    """The plan table, followed by what the safety rules would refuse."""
    from cfngen import violations

    lines = [plan.render()]
    if plan.validation_failed:
        lines.append("refused by CloudFormation's early validation (the change set cannot run; exit 1)")
    problems = violations(plan, allow_replace)
    if problems:
        lines.append("blocked by safety rules (deploy exits 3):")
        lines += [f"  {problem}" for problem in problems]
    return "\n".join(lines)


def in_ci() -> bool:
    """True when CI=true: commands run without asking."""
    return os.environ.get("CI", "").lower() in ("true", "1")


def confirm(question: str) -> bool:
    """Ask on stderr; True only for an explicit yes. UsageError when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        raise UsageError("no terminal to confirm on: pass --yes (or set CI=true) to apply without asking")
    output.say(f"{question} [y/N] ", end="", err=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _override(text: str) -> Override:
    from cfngen import Override

    try:
        return Override.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

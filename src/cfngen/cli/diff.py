"""`cfngen diff`: what the blueprint would change, per stack and resource, against committed templates."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cfngen import ABSENT, ResourceDiff, StackDiff, TemplateDiff, diff, synthesize
from cfngen.cli import output
from cfngen.cli.common import add_blueprint_argument, default_outdir, load

SYMBOLS = {"add": ("+", "green"), "modify": ("~", "yellow"), "replace": ("!", "bold red"), "remove": ("-", "red")}
ITEM_SYMBOLS = {"add": "+", "modify": "~", "remove": "-"}
VALUE_WIDTH = 70


def register(commands: Any) -> None:
    """Add the diff command."""
    parser = commands.add_parser(
        "diff",
        help="show what a blueprint changes, per stack and resource, against committed templates",
        description="Compare the templates BLUEPRINT gives now with those committed at a git revision (default "
        "HEAD) or written in a directory. Replacements are flagged: changed logical ids and types, "
        "and changes to properties that CloudFormation's resource schemas mark create-only; changes "
        "that `cfngen deploy` would refuse are marked with its own rules and message.",
    )
    add_blueprint_argument(parser)
    parser.add_argument(
        "--against",
        default="HEAD",
        metavar="GIT_REF|DIR",
        help="a git revision or a directory of templates (default: HEAD)",
    )
    parser.add_argument(
        "-o",
        "--outdir",
        type=Path,
        help="where the blueprint's templates are committed (default: templates/<blueprint name>/)",
    )
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are differences (like git diff)")
    output.add_json_argument(parser, "the differences")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, compare, print."""
    blueprint = load(args)
    directory = args.outdir or default_outdir(blueprint)
    with output.progress(f"comparing {blueprint.name} with {args.against}"):
        result = diff(synthesize(blueprint), args.against, directory=directory)
    if args.json:
        output.print_json(result.to_dict())
    else:
        print_diff(
            result,
            f"{blueprint.name} against {args.against}" + ("" if Path(args.against).is_dir() else f" ({directory})"),
        )
    return 1 if args.exit_code and result else 0


def print_diff(result: TemplateDiff, heading: str) -> None:
    """The human form: one block per stack, one line per resource, indented property changes."""
    if not result:
        output.echo(output.styled(f"{heading}: no changes", "green"))
        return
    output.echo(output.styled(heading, "bold"))
    for stack in result.stacks:
        _print_stack(stack)
    counts = result.counts()
    keeping = sum(1 for _, resource in result.replacements() if resource.keeps_data)
    summary = ", ".join(f"{counts[action]} to {action}" for action in ("add", "modify", "replace", "remove"))
    output.echo(output.styled(f"{len(result.stacks)} stacks differ: {summary}", "bold"))
    if keeping:
        output.echo(
            output.styled(
                f"{keeping} replaced or removed resources hold data (DeletionPolicy "
                "Retain/Snapshot): review them before deploying",
                "bold red",
            )
        )
    refused = result.refusals()
    if refused:
        output.echo(
            output.styled(
                f"{len(refused)} change{'s' if len(refused) != 1 else ''} will be refused at deploy "
                "(cfngen deploy exits 3): "
                + ", ".join(f"{Path(stack.file).stem}/{resource.logical_id}" for stack, resource in refused),
                "bold red",
            )
        )


def _print_stack(stack: StackDiff) -> None:
    output.echo("")
    output.echo(output.styled(stack.file, "bold"), f"  ({stack.status})")
    for resource in stack.resources:
        _print_resource(resource)
    if stack.items:
        listed = ", ".join(
            f"{ITEM_SYMBOLS[item.action]}{item.section[:-1].lower()} {item.name}" for item in stack.items
        )
        output.echo(f"  parameters and outputs: {listed}")
    if stack.sections:
        output.echo(f"  also changed: {', '.join(stack.sections)}")


def _print_resource(resource: ResourceDiff) -> None:
    symbol, style = SYMBOLS[resource.action]
    name = resource.logical_id + (f" (was {resource.renamed_from})" if resource.renamed_from else "")
    line: list[output.Cell] = [
        output.styled(f"  {symbol} {name}", style),
        f"  {resource.type}  ",
        output.styled(resource.action, style),
    ]
    if resource.reason:
        line.append(f": {resource.reason}")
    if resource.keeps_data:
        line.append(output.styled("  [holds data]", "bold red"))
    output.echo(*line)
    for message in resource.refused:
        output.echo(output.styled(f"      this change will be refused at deploy: {message}", "bold red"))
    for change in resource.changes:
        flag = [output.styled("  (forces replacement)", "red")] if change.forces_replacement else []
        output.echo(f"      {change.path}: {_show(change.old)} -> {_show(change.new)}", *flag)


def _show(value: object) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."

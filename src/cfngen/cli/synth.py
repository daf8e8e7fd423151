"""`cfngen synth`: write the templates of a blueprint, or check that the committed ones are current."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen import TEMPLATE_FORMATS, Blueprint, StackSet, preflight_warnings, synthesize
from cfngen.cli import output
from cfngen.cli.common import add_blueprint_argument, default_outdir, load


def register(commands: Any) -> None:
    """Add the synth command."""
    parser = commands.add_parser(
        "synth",
        help="write the nested templates of a blueprint",
        description="Synthesize BLUEPRINT into OUTDIR/root.<ext> plus one file per nested stack.",
    )
    add_blueprint_argument(parser)
    parser.add_argument("-o", "--outdir", type=Path, help="output directory (default: templates/<blueprint name>/)")
    parser.add_argument("--format", choices=TEMPLATE_FORMATS, default="yaml", help="template format (default: yaml)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when OUTDIR differs from what the blueprint gives now",
    )
    output.add_json_argument(parser, "the files written (or, with --check, the differences)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, then write or check."""
    blueprint = load(args)
    print_preflight_warnings(blueprint)
    with output.progress(f"synthesizing {blueprint.name}"):
        stacks = synthesize(blueprint)
    outdir = args.outdir or default_outdir(blueprint)
    if args.check:
        return _check(stacks, outdir, args)
    stacks.write(outdir, args.format)
    if args.json:
        output.print_json(summary_data(stacks, outdir, args.format))
    else:
        print_summary(stacks, outdir, args.format)
    return 0


def print_preflight_warnings(blueprint: Blueprint) -> None:
    """Print on stderr what may work but can fail at peak (the blueprint is valid: the command goes on)."""
    for warning in preflight_warnings(blueprint):
        output.echo(output.styled("warning", "yellow"), f": {warning}", err=True)


def _check(stacks: StackSet, outdir: Path, args: argparse.Namespace) -> int:
    differences = stacks.differences(outdir, args.format)
    if args.json:
        output.print_json({"outdir": str(outdir), "current": not differences, "differences": differences})
    elif differences:
        for line in differences:
            output.echo(output.styled(line, "yellow"))
        output.echo(
            output.styled(f"{outdir} is stale", "bold red"),
            f": run `cfngen synth {args.blueprint} -o {outdir}` and commit the result",
        )
    else:
        output.echo(output.styled(f"{outdir} is up to date", "green"))
    return 1 if differences else 0


def summary_data(stacks: StackSet, outdir: Path, fmt: str) -> dict[str, Any]:
    """What synth wrote: each file and how many resources it holds."""
    templates = stacks.templates(fmt)  # type: ignore[arg-type]
    files = [{"file": name, "resources": len(template.resources)} for name, template in templates.items()]
    return {
        "blueprint": stacks.blueprint.name,
        "outdir": str(outdir),
        "templates": files,
        "resources": sum(len(template.resources) for template in templates.values()),
    }


def print_summary(stacks: StackSet, outdir: Path, fmt: str) -> None:
    """A short table: each written file and how many resources it holds."""
    data = summary_data(stacks, outdir, fmt)
    rows: list[list[output.Cell]] = [[entry["file"], entry["resources"]] for entry in data["templates"]]
    rows.append([output.styled("total", "bold"), output.styled(str(data["resources"]), "bold")])
    output.table(
        [output.Column("file"), output.Column("resources", "right")],
        rows,
        title=f"{data['blueprint']}: {len(data['templates'])} templates in {outdir}",
    )

"""`cfngen synth`: write the templates of a blueprint, or check that the committed ones are current."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen.cli.common import add_blueprint_argument, default_outdir, load
from cfngen.synth import FORMATS, StackSet, synthesize


def register(commands: Any) -> None:
    """Add the synth command."""
    parser = commands.add_parser("synth", help="write the nested templates of a blueprint",
                                 description="Synthesize BLUEPRINT into OUTDIR/root.<ext> plus one file per nested stack.")
    add_blueprint_argument(parser)
    parser.add_argument("-o", "--outdir", type=Path, help="output directory (default: templates/<blueprint name>/)")
    parser.add_argument("--format", choices=FORMATS, default="yaml", help="template format (default: yaml)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when OUTDIR differs from what the blueprint gives now")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, then write or check."""
    blueprint = load(args)
    stacks = synthesize(blueprint)
    outdir = args.outdir or default_outdir(blueprint)
    if args.check:
        differences = stacks.differences(outdir, args.format)
        for line in differences:
            print(line)
        if differences:
            print(f"{outdir} is stale: run `cfngen synth {args.blueprint} -o {outdir}` and commit the result")
            return 1
        print(f"{outdir} is up to date")
        return 0
    stacks.write(outdir, args.format)
    print(summary(stacks, outdir, args.format))
    return 0


def summary(stacks: StackSet, outdir: Path, fmt: str) -> str:
    """A short table: each written file and how many resources it holds."""
    templates = stacks.templates(fmt)  # type: ignore[arg-type]
    width = max(len(name) for name in templates)
    lines = [f"{stacks.blueprint.name}: {len(templates)} templates in {outdir}"]
    lines += [f"  {name:<{width}}  {len(template.resources):>3} resources" for name, template in templates.items()]
    total = sum(len(template.resources) for template in templates.values())
    lines.append(f"  {'total':<{width}}  {total:>3} resources")
    return "\n".join(lines)

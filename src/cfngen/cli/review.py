"""`cfngen review`: the review report of a blueprint, as Markdown or a self-contained HTML page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cfngen.cli.common import add_blueprint_argument, load
from cfngen.report import review
from cfngen.synth import synthesize


def register(commands: Any) -> None:
    """Add the review command."""
    parser = commands.add_parser(
        "review", help="write the review report of a blueprint (Markdown or HTML)",
        description="Diagram, exposure, IAM, data safety, checks and estimated cost of BLUEPRINT's templates; "
                    "with --against, what changed. Exit 0 when the report is written, 2 on bad input.")
    add_blueprint_argument(parser)
    parser.add_argument("-o", "--output", type=Path,
                        help="write to FILE.md or FILE.html (default: Markdown on standard output)")
    parser.add_argument("--against", metavar="OLD_OUTDIR_OR_GIT_REF",
                        help="compare with the templates in a directory, or under templates/<name>/ at a git ref")
    parser.add_argument("--checkov", metavar="PATH",
                        help="checkov executable (e.g. .venv-checkov/bin/checkov): add its scan results")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, review, write or print."""
    stacks = synthesize(load(args))
    report = review(stacks, against=args.against, checkov=args.checkov)
    if args.output:
        report.write(args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(report.markdown(), end="")
    return 0

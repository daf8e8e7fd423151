"""`cfngen review`: the review report of a blueprint, as Markdown or a self-contained HTML page."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from cfngen import MAX_COMMENT_CHARS, UsageError, review, synthesize, write_text
from cfngen.cli.common import add_blueprint_argument, load
from cfngen.cli.output import say
from cfngen.cli.synth import print_preflight_warnings

HTML_SUFFIXES = (".html", ".htm")
MARKDOWN_SUFFIXES = (".md", ".markdown")


def register(commands: Any) -> None:
    """Add the review command."""
    parser = commands.add_parser(
        "review",
        help="write the review report of a blueprint (Markdown or HTML)",
        description="Diagram, exposure, IAM, data safety, checks and estimated cost of BLUEPRINT's templates; "
        "with --against, what changed. Markdown longer than --max-chars becomes its summary (for one "
        "pull-request comment), and the full report goes to an HTML page it links. "
        "Exit 0 when the report is written, 2 on bad input.",
    )
    add_blueprint_argument(parser)
    parser.add_argument(
        "-o", "--output", type=Path, help="write to FILE.md or FILE.html (default: Markdown on standard output)"
    )
    parser.add_argument(
        "--against",
        metavar="OLD_OUTDIR_OR_GIT_REF",
        help="compare with the templates in a directory, or under templates/<name>/ at a git ref",
    )
    parser.add_argument(
        "--checkov", metavar="PATH", help="checkov executable (e.g. .venv-checkov/bin/checkov): add its scan results"
    )
    parser.add_argument(
        "--max-chars",
        type=_positive,
        default=MAX_COMMENT_CHARS,
        metavar="N",
        help=f"longest Markdown to write (default {MAX_COMMENT_CHARS:,}, within GitHub's 65,536 "
        "for a comment); a longer report becomes its summary",
    )
    parser.add_argument(
        "--details",
        type=Path,
        metavar="FILE.html",
        help="where the full report goes when the Markdown is a summary (default: beside -o FILE.md, "
        "as FILE.html; none when printing to standard output)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Synthesize, review, write or print."""
    if args.output is not None and args.output.suffix.lower() not in (*HTML_SUFFIXES, *MARKDOWN_SUFFIXES):
        raise UsageError(f"{args.output}: cannot tell the format; name the file *.md or *.html")
    if args.details is not None and args.details.suffix.lower() not in HTML_SUFFIXES:
        raise UsageError(f"--details {args.details}: the full report is an HTML page; name the file *.html")
    blueprint = load(args)
    # Printed as synth and lint print them; the report lists them in its summary too.
    print_preflight_warnings(blueprint)
    stacks = synthesize(blueprint)
    report = review(stacks, against=args.against, checkov=args.checkov)
    output: Path | None = args.output
    if output is not None and output.suffix.lower() in HTML_SUFFIXES:
        report.write(output)
        say(f"wrote {output}", err=True)
        return 0
    details: Path | None = args.details or (output.with_suffix(".html") if output is not None else None)
    link = None if details is None else os.path.relpath(details, output.parent if output is not None else Path.cwd())
    text = report.markdown(max_chars=args.max_chars, details=link)
    if details is not None and report.needs_summary(args.max_chars):
        report.write(details)
        say(f"wrote {details} (the full report: the Markdown is its summary)", err=True)
    if output is None:
        say(text, end="")
        return 0
    write_text(output, text)
    say(f"wrote {output}", err=True)
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of characters, found {text!r}")
    return int(text)

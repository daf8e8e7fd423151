"""`cfngen lint`: cfn-lint over a blueprint's templates or a directory of templates."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfngen import (
    Finding,
    UsageError,
    findings_to_json,
    findings_to_sarif,
    findings_to_text,
    lint,
    lint_paths,
    recorded_region,
)
from cfngen.cli import output
from cfngen.cli.common import add_set_argument, default_outdir

if TYPE_CHECKING:
    from cfngen import StackSet

FORMATTERS = {"text": findings_to_text, "json": findings_to_json, "sarif": findings_to_sarif}
SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "informational": "cyan"}
# Where a blueprint's templates are written for its findings to point at, when the committed ones are missing or stale.
FINDINGS_DIR = Path(".cfngen") / "lint"


def register(commands: Any) -> None:
    """Add the lint command."""
    parser = commands.add_parser(
        "lint",
        help="lint a blueprint's templates (or a directory of templates)",
        description="Exit 0 with no findings, 1 with findings (warnings and "
        "informational ones included), 2 on bad input.",
    )
    parser.add_argument("target", metavar="BLUEPRINT|OUTDIR", type=Path, help="blueprint file or template directory")
    add_set_argument(parser)
    parser.add_argument("--format", choices=sorted(FORMATTERS), default="text", help="output format (default: text)")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    parser.add_argument(
        "--region",
        help="region to lint a directory for (default: the one its root template "
        "records, else us-east-1; a blueprint names its own)",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="lint every template, even those linted clean before (cache: $CFNGEN_CACHE_DIR "
        "or the user cache directory)",
    )
    parser.add_argument(
        "--jobs", type=_positive, metavar="N", help="worker processes (default: one per available core)"
    )
    parser.add_argument(
        "-o",
        "--outdir",
        type=Path,
        default=None,
        help="findings point at the blueprint line that set the value where one did, else at the committed "
        "templates (templates/<name>/) when they are current; "
        f"else at templates written here (default: {FINDINGS_DIR}/<name>/)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Lint, print the findings, exit 1 when there are any."""
    with output.progress(f"linting {args.target}"):
        findings = _lint_target(args)
    if args.format != "text":
        output.say(FORMATTERS[args.format](findings), end="")
    elif output.is_terminal():
        _print_table(findings)
    else:
        output.say(findings_to_text(findings), end="")
        output.say(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}")
    return 1 if findings else 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, found {text!r}")
    return int(text)


def _print_table(findings: list[Finding]) -> None:
    if findings:
        output.table(
            ["location", "rule", "severity", "message"],
            [
                [
                    f"{f.file}:{f.line}:{f.column}",
                    f.rule,
                    output.styled(f.severity, SEVERITY_STYLES.get(f.severity, "")),
                    f.message,
                ]
                for f in findings
            ],
        )
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    output.echo(output.styled(count, "bold red" if findings else "green"))


def _lint_target(args: argparse.Namespace) -> list[Finding]:
    target: Path = args.target
    if target.is_dir():
        if args.overrides:
            raise UsageError(f"{target}: --set changes a blueprint; it cannot apply to a directory of templates")
        paths = sorted([*target.glob("*.yaml"), *target.glob("*.json")])
        if not paths:
            raise UsageError(f"{target}: no *.yaml or *.json templates in this directory")
        region = args.region or recorded_region(target) or "us-east-1"
        return lint_paths(paths, region=region, cache=args.cache, jobs=args.jobs)
    if not target.exists():
        raise UsageError(f"{target}: no such file or directory")
    from cfngen import findings_in_blueprint, load_blueprint_with_source, synthesize
    from cfngen.cli.synth import print_preflight_warnings

    blueprint, source = load_blueprint_with_source(target, overrides=args.overrides)
    print_preflight_warnings(blueprint)
    stacks = synthesize(blueprint)
    findings = findings_in_blueprint(lint(stacks, cache=args.cache, jobs=args.jobs), stacks, source)
    return _located(findings, stacks, default_outdir(blueprint), args.outdir or FINDINGS_DIR / blueprint.name)


def _located(findings: list[Finding], stacks: StackSet, committed: Path, outdir: Path) -> list[Finding]:
    """`findings` pointing at files that exist with the lines they name: a blueprint file where the finding was
    moved there, the committed template where it is what was linted, else the templates written under `outdir`
    (and said so on stderr)."""
    rendered = stacks.render("yaml")
    in_templates = [finding for finding in findings if finding.file in rendered]
    if not in_templates:
        return findings
    current = {
        name
        for name, text in rendered.items()
        if (committed / name).is_file() and (committed / name).read_text(encoding="utf-8") == text
    }
    if any(finding.file not in current for finding in in_templates):
        stacks.write(outdir)
        output.echo(f"findings in templates that are not committed (or not current) point at {outdir}/", err=True)
    return sorted(
        dataclasses.replace(finding, file=str((committed if finding.file in current else outdir) / finding.file))
        if finding.file in rendered
        else finding
        for finding in findings
    )

"""`cfngen schema`: print the JSON Schema of the blueprint format (or of a service file)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen import json_schema_text, write_text
from cfngen.cli.output import say


def register(commands: Any) -> None:
    """Add the schema command."""
    parser = commands.add_parser(
        "schema",
        help="print the JSON Schema of blueprint files",
        description="Print the JSON Schema (2020-12) of blueprint files, for editors that complete and check YAML "
        "(e.g. a `# yaml-language-server: $schema=blueprint.schema.json` line).",
    )
    parser.add_argument("--service", action="store_true", help="the schema of a service file instead")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    text = json_schema_text("service" if args.service else "blueprint")
    if args.output:
        write_text(args.output, text)
        say(f"wrote {args.output}")
    else:
        say(text, end="")
    return 0

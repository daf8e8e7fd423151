"""`cfngen render`: write buildspec.yml, appspec.yaml and taskdef.json for the services' source repositories."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen._files import refuse_links, write_text
from cfngen.cli.common import add_blueprint_argument, load
from cfngen.errors import UsageError
from cfngen.extras._service_files import load_stack_values, render_service_files


def register(commands: Any) -> None:
    """Add the render command."""
    parser = commands.add_parser(
        "render", help="write buildspec.yml, appspec.yaml and taskdef.json for the services' repositories",
        description="Render the files a service's source repository holds for its pipeline. taskdef.json takes "
                    "role ARNs, log group and database values from the deployed stacks: pass the JSON that "
                    "`aws cloudformation describe-stacks` prints for them with --stack-values.",
    )
    add_blueprint_argument(parser)
    parser.add_argument("--service", metavar="NAME", help="render this service only, into OUTDIR itself "
                                                          "(default: every service, each into OUTDIR/<service>/)")
    parser.add_argument("-o", "--outdir", type=Path, default=Path("."), help="output directory (default: .)")
    parser.add_argument("--stack-values", metavar="FILE", type=Path, action="append", default=[],
                        help="`aws cloudformation describe-stacks` JSON of the deployed stacks (repeatable)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render, then write every file (all of them, and their paths, are checked before the first is written)."""
    blueprint = load(args)
    if not args.stack_values:
        raise UsageError("taskdef.json needs the deployed stacks' role ARNs, log group and database values: pass "
                         "--stack-values FILE, the output of `aws cloudformation describe-stacks` for the stacks "
                         f"of {blueprint.name!r} (after `cfngen deploy`)")
    values = load_stack_values(args.stack_values)
    names = [args.service] if args.service else [service.name for service in blueprint.services]
    rendered = {name: render_service_files(blueprint, name, stack_values=values) for name in names}
    targets = {(args.outdir if args.service else args.outdir / name) / file_name: text
               for name, files in rendered.items() for file_name, text in files.items()}
    for path in targets:
        refuse_links(path)
    for path, text in targets.items():
        write_text(path, text)
        print(path)
    return 0

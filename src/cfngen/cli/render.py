"""`cfngen render`: write buildspec.yml, appspec.yaml and taskdef.json for the services' source repositories.

Needed only with ``pipeline.buildspec: repository``: by default the build project carries its buildspec and
derives taskdef.json and appspec.yaml from the task definition the stacks registered.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cfngen import Deployer, StackValues, load_stack_values, refuse_links, render_service_files, write_text
from cfngen.cli import output
from cfngen.cli.common import add_blueprint_argument, load


def register(commands: Any) -> None:
    """Add the render command."""
    parser = commands.add_parser(
        "render",
        help="write buildspec.yml, appspec.yaml and taskdef.json for the services' repositories",
        description="Render the files a service's source repository holds for its pipeline when the blueprint "
        "says pipeline.buildspec: repository. taskdef.json takes role ARNs, log group and database "
        "values from the deployed stacks: cfngen reads them from AWS (the root stack --stack-name, "
        "default the blueprint's name, and its nested stacks; AWS_* variables and AWS_ENDPOINT_URL "
        "apply as for deploy), or from --stack-values files offline.",
    )
    add_blueprint_argument(parser)
    parser.add_argument(
        "--service",
        metavar="NAME",
        help="render this service only, into OUTDIR itself (default: every service, each into OUTDIR/<service>/)",
    )
    parser.add_argument("-o", "--outdir", type=Path, default=Path("."), help="output directory (default: .)")
    parser.add_argument("--stack-name", help="root stack the blueprint was deployed as (default: its name)")
    parser.add_argument("--region", help="AWS region (default: the blueprint's)")
    parser.add_argument(
        "--stack-values",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="`aws cloudformation describe-stacks` JSON instead of reading AWS (repeatable); "
        "stacks of other root stacks in it are left out",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render, then write every file (all of them, and their paths, are checked before the first is written)."""
    blueprint = load(args)
    root = args.stack_name or blueprint.name
    if args.stack_values:
        values = load_stack_values(args.stack_values, root_stack=root)
    else:
        values = _read_deployed(root, args.region or blueprint.region)
    names = [args.service] if args.service else [service.name for service in blueprint.services]
    rendered = {name: render_service_files(blueprint, name, stack_values=values) for name in names}
    targets = {
        (args.outdir if args.service else args.outdir / name) / file_name: text
        for name, files in rendered.items()
        for file_name, text in files.items()
    }
    for path in targets:
        refuse_links(path)
    for path, text in targets.items():
        write_text(path, text)
        output.say(path)
    return 0


def _read_deployed(root: str, region: str) -> StackValues:
    """The outputs and parameters of the root stack `root` and its nested stacks, read with boto3 as deploy does."""
    return StackValues.from_describe_stacks([Deployer(region=region).describe_stack_tree(root)])

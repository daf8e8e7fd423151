"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from cfngen.blueprint import Blueprint, load_blueprint


def add_blueprint_argument(parser: argparse.ArgumentParser) -> None:
    """The positional BLUEPRINT argument."""
    parser.add_argument("blueprint", metavar="BLUEPRINT", type=Path, help="blueprint YAML file")


def load(args: argparse.Namespace) -> Blueprint:
    """The blueprint named on the command line, validated."""
    return load_blueprint(args.blueprint)


def default_outdir(blueprint: Blueprint) -> Path:
    """Where templates go when no -o is given: templates/<blueprint name>/."""
    return Path("templates") / blueprint.name

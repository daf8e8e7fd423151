"""Arguments and helpers shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from cfngen.blueprint import Blueprint, load_blueprint
from cfngen.overrides import Override


def add_blueprint_argument(parser: argparse.ArgumentParser) -> None:
    """The positional BLUEPRINT argument, and ``--set`` to override its values."""
    parser.add_argument("blueprint", metavar="BLUEPRINT", type=Path, help="blueprint YAML file")
    add_set_argument(parser)


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set PATH=VALUE`` (repeatable): override a blueprint value, validated like the file."""
    parser.add_argument(
        "--set", dest="overrides", metavar="PATH=VALUE", action="append", default=[], type=_override,
        help="override a blueprint value, e.g. --set cluster.min_size=1 or --set services.web.port=8081 "
             "(services by name or index; repeatable; validated like the file)",
    )


def load(args: argparse.Namespace) -> Blueprint:
    """The blueprint named on the command line, with its ``--set`` overrides, validated."""
    return load_path(args.blueprint, args)


def load_path(path: Path, args: argparse.Namespace) -> Blueprint:
    """The blueprint at `path` with the ``--set`` overrides of `args`, validated."""
    return load_blueprint(path, overrides=getattr(args, "overrides", ()))


def default_outdir(blueprint: Blueprint) -> Path:
    """Where templates go when no -o is given: templates/<blueprint name>/."""
    return Path("templates") / blueprint.name


def _override(text: str) -> Override:
    try:
        return Override.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None

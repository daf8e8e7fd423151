"""The `cfngen` command line: a thin shell over the Python API, one module per command.

Exit codes: 0 success, 1 findings or a failed operation, 2 bad input, 3 blocked
by a safety rule (and 4 from `plan --detailed-exitcode` when there are changes). A CfngenError becomes a one-paragraph message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cfngen import __version__
from cfngen.cli import bootstrap, ci_policy, deploy, diff, init, lint, local_aws, plan, render, review, schema, synth
from cfngen.errors import CfngenError

COMMANDS = (init, synth, lint, diff, review, schema, render, bootstrap, plan, deploy, local_aws, ci_policy)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error already; this only names the program the same way in every message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"cfngen: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    root = _Parser(prog="cfngen", description="Blueprints in, reviewed nested CloudFormation out, deployed by change sets.")
    root.add_argument("--version", action="version", version=f"cfngen {__version__}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for command in COMMANDS:
        command.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except CfngenError as exc:
        print(f"cfngen: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cfngen: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())

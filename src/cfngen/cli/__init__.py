"""The `cfngen` command line: a thin shell over the Python API, one module per command.

Exit codes: 0 success, 1 findings or a failed operation, 2 bad input, 3 blocked
by a safety rule, 124 --timeout used up (and 4 from `plan --detailed-exitcode` when there are changes). A CfngenError becomes a one-paragraph message on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
import time
from collections.abc import Sequence

from cfngen import CfngenError, __version__, visible

# Command name -> its module under cfngen.cli, in the order `cfngen --help` lists them.
COMMANDS = {
    "init": "init",
    "synth": "synth",
    "lint": "lint",
    "diff": "diff",
    "review": "review",
    "schema": "schema",
    "render": "render",
    "bootstrap": "bootstrap",
    "plan": "plan",
    "deploy": "deploy",
    "destroy": "destroy",
    "drift": "drift",
    "local-aws": "local_aws",
    "ci-policy": "ci_policy",
}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error already; this only names the program the same way in every message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"cfngen: error: {message}\n")


class _Version(argparse.Action):
    """--version: cfngen's version, and cfn-lint's with whether the speedups are on (read when asked, not before)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from cfngen import lint_speedups_status

        print(f"cfngen {__version__}\n{lint_speedups_status()}")
        parser.exit()


def parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of every command, or of only the command `argv` names.

    Importing a command's module imports what the command runs on (troposphere,
    pydantic, boto3, cfn-lint...): a short command would spend more time loading
    the others than running, so a command line that names one loads only that one.
    """
    root = _Parser(
        prog="cfngen", description="Blueprints in, reviewed nested CloudFormation out, deployed by change sets."
    )
    root.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="show the versions of cfngen and cfn-lint, and whether cfngen's cfn-lint speedups are on",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name in COMMANDS if argv is None else _commands_needed(argv):
        importlib.import_module(f"cfngen.cli.{COMMANDS[name]}").register(commands)
    return root


def _commands_needed(argv: Sequence[str]) -> Sequence[str]:
    """The commands whose parsers `argv` needs: the one it names; none for --version; all to list them in help
    or when reporting an unknown command."""
    first = next((argument for argument in argv if not argument.startswith("-")), None)
    if first in COMMANDS:
        return [first]
    if first is None and not {"-h", "--help"} & set(argv):
        return []
    return list(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    started = time.monotonic()  # where --timeout starts counting
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = parser(arguments).parse_args(arguments)
    args.started = started
    try:
        return int(args.run(args))
    except CfngenError as exc:
        # Messages quote input values: a terminal must show their control characters, not obey them.
        print(f"cfngen: error: {visible(str(exc), keep=chr(10))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cfngen: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """Console-script entry point."""
    code = main()
    # The process ends here. Shutting the interpreter down runs full collections over every object still
    # alive, a few hundred thousand once cfn-lint's rules are loaded (0.4 s at the end of `cfngen lint`), to
    # free memory the exit frees anyway; frozen objects are skipped. Files are closed by then.
    gc.freeze()
    sys.exit(code)

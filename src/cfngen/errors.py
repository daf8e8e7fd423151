"""The one exception family of cfngen.

Every error a user can cause derives from :class:`CfngenError`; the command line
turns them into a message and an exit code, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CfngenError(Exception):
    """Base of every error cfngen raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as it can be."""

    file: Path
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        # line 0: the problem is the file (or command-line argument) as a whole, not a place in it
        where = f"{self.file}:{self.line}:{self.column}" if self.line else str(self.file)
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class BlueprintError(CfngenError):
    """A blueprint (or a file it includes) is not valid; carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (str(p.file), p.line, p.column, p.field))
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in the blueprint"
        super().__init__("\n".join([heading, *(f"  {p}" for p in self.problems)]))


class UsageError(CfngenError):
    """The command line or an API call was given something it cannot use."""

    exit_code = 2


class SynthError(CfngenError):
    """The blueprint is valid but cannot be turned into templates (a wiring or limit error)."""

    exit_code = 2


class DeployError(CfngenError):
    """A deployment step failed or cannot start (a stack in a state that needs a person, a rollback, a timeout)."""

    exit_code = 1


class TimedOut(DeployError):
    """The command's --timeout was used up (a wait, or an endpoint that does not answer); exit 124, as timeout(1)."""

    exit_code = 124


class SafetyError(CfngenError):
    """A change set was refused by a safety rule (a stateful resource replaced, a pipeline-owned property changed,
    a reviewed plan gone stale); nothing was executed."""

    exit_code = 3

"""`cfngen init`: scaffold a new blueprint and its first service, by prompts or from flags."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.prompt import Confirm, Prompt

from cfngen import Answers, Blueprint, HealthCheck, Service, UsageError, scaffold
from cfngen.cli import output

NO_HEALTH_CHECK = "none"


@dataclass(frozen=True)
class Question:
    """One answer of Answers: its flag, its prompt, and the schema field that validates it."""

    field: str
    prompt: str
    model: type[BaseModel]
    model_field: str

    @property
    def flag(self) -> str:
        """The command-line flag that answers it."""
        return "--" + self.field.replace("_", "-")

    def check(self, value: Any) -> Any:
        """`value` validated by the blueprint schema; ValueError with the schema's message when it is not valid."""
        info = self.model.model_fields[self.model_field]
        # the field's own type and constraints, so a prompt answer is checked exactly like the file
        adapter: TypeAdapter[Any] = TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise ValueError(str(error["msg"])) from None


QUESTIONS = (
    Question("name", "Platform name (lowercase letters, digits and hyphens)", Blueprint, "name"),
    Question("region", "AWS region", Blueprint, "region"),
    Question("service", "Name of the first service", Service, "name"),
    Question("port", "Port the service's container listens on", Service, "port"),
    Question("health_check_path", f"HTTP health check path ('{NO_HEALTH_CHECK}' for a TCP check)", HealthCheck, "path"),
)


def register(commands: Any) -> None:
    """Add the init command."""
    parser = commands.add_parser(
        "init",
        help="scaffold a new blueprint and its first service",
        description="Write DIR/blueprints/<name>.yaml and DIR/services/<service>/service.yaml. Asks for what the "
        "flags do not give when stdin is a terminal; --no-input takes the defaults. Never overwrites.",
    )
    parser.add_argument(
        "directory",
        metavar="DIR",
        nargs="?",
        type=Path,
        default=Path("."),
        help="where to create the files (default: the current directory)",
    )
    defaults = Answers(name="")
    for question in QUESTIONS:
        default = getattr(defaults, question.field)
        parser.add_argument(
            question.flag,
            dest=question.field,
            type=type(default) if default else str,
            help=f"{question.prompt.split(' (')[0].lower()}"
            + (f" (default: {default})" if default else " (default: from DIR's name)"),
        )
    parser.add_argument(
        "--database",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add an Aurora MySQL database and connect the service to it (default: no)",
    )
    parser.add_argument("--no-input", action="store_true", help="never prompt; take defaults for what flags omit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Gather the answers, scaffold, say what to do next."""
    interactive = sys.stdin.isatty() and not args.no_input
    try:
        answers = gather(args, interactive=interactive)
    except EOFError:  # Ctrl-D at a prompt
        raise UsageError(
            "no answer given (end of input); nothing was written. Answer with flags, or take the "
            "defaults with --no-input"
        ) from None
    try:
        written = scaffold(args.directory, answers)
    except OSError as exc:
        raise UsageError(f"cannot write into {args.directory}: {exc.strerror or exc}") from None
    output.echo(output.styled(f"created the {answers.name} platform:", "green"))
    for path in written:
        output.echo(f"  {path}")
    blueprint = written[0].relative_to(args.directory)
    where = "" if args.directory == Path(".") else f"cd {args.directory} && "
    output.echo(f"next: {where}cfngen synth {blueprint.as_posix()} && cfngen lint {blueprint.as_posix()}")
    return 0


def gather(args: argparse.Namespace, *, interactive: bool) -> Answers:
    """Answers from the flags, then from prompts (interactive) or defaults; each checked by the schema."""
    defaults = Answers(name=_name_from(args.directory))
    values: dict[str, Any] = {}
    console = Console(file=sys.stdout, highlight=False)
    for question in QUESTIONS:
        given = getattr(args, question.field)
        default = getattr(defaults, question.field)
        if given is not None:
            values[question.field] = _from_flag(question, given)
        elif interactive:
            values[question.field] = _ask(question, default, console)
        else:
            values[question.field] = _from_flag(question, default)
    database = args.database
    if database is None:
        database = (
            Confirm.ask("Add an Aurora MySQL database?", default=False, console=console) if interactive else False
        )
    return Answers(**values, database=database)


def _from_flag(question: Question, value: Any) -> Any:
    if question.field == "health_check_path" and value in (NO_HEALTH_CHECK, ""):
        return None
    try:
        return question.check(value)
    except ValueError as exc:
        raise UsageError(f"{question.flag} {value}: {exc}") from None


def _ask(question: Question, default: Any, console: Console) -> Any:
    while True:
        text = Prompt.ask(question.prompt, default=str(default or ""), console=console).strip()
        if question.field == "health_check_path" and text in (NO_HEALTH_CHECK, ""):
            return None
        try:
            return question.check(int(text) if isinstance(default, int) and text.isdigit() else text)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")


def _name_from(directory: Path) -> str:
    """A blueprint name made from the directory's name ("My_Shop" -> "my-shop"), or a neutral one."""
    name = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")
    name = re.sub(r"^[^a-z]+", "", name)
    return name[:24].rstrip("-") or "my-platform"

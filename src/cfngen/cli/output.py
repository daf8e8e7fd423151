"""What the commands print: coloured tables on a terminal, plain text otherwise, JSON for scripts.

Every command prints through these helpers so that the same rules hold
everywhere: colour and box drawing only when stdout is a terminal (rich decides,
honouring ``NO_COLOR``, ``FORCE_COLOR`` and ``TTY_COMPATIBLE``), plain aligned
text in pipes and CI logs, ``--json`` for anything a script may read, and a
spinner on stderr for any step that takes more than a second. Values may come from a pull request: their
control characters (ESC, CR, ...) are printed as escapes, never sent to the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cfngen import visible

# Only steps slower than this show a progress display: a spinner that flashes by is noise.
PROGRESS_DELAY_S = 1.0

Cell = str | int | Text


@dataclass(frozen=True)
class Column:
    """A table column: its header and how its cells align."""

    header: str
    justify: Literal["left", "right"] = "left"


def add_json_argument(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """The ``--json`` flag: print `what` as JSON instead of text."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON (for scripts)")


def stdout_console() -> Console:
    """A console on the current stdout (looked up at call time, so redirection and tests see it)."""
    return Console(file=sys.stdout, highlight=False, soft_wrap=True)


def is_terminal() -> bool:
    """True when stdout is a terminal that gets colour and tables."""
    return stdout_console().is_terminal


def styled(text: str, style: str) -> Text:
    """`text` in `style` (a rich style such as "red" or "bold green") on a terminal, plain elsewhere."""
    return Text(visible(text), style=style)


def echo(*parts: Cell, err: bool = False) -> None:
    """Print one line made of `parts`; styles apply only on a terminal."""
    line = Text.assemble(*(part if isinstance(part, Text) else visible(str(part)) for part in parts))
    if err:
        Console(file=sys.stderr, highlight=False, soft_wrap=True).print(line)
    else:
        stdout_console().print(line)


def say(text: object, *, err: bool = False, end: str = "\n") -> None:
    """Print `text` as it is (no styles, no wrapping: plans, reports and paths that scripts and logs read), its
    control characters shown as escapes. Line breaks and tabs stay: the multi-line texts printed here are
    cfngen's own layouts, and the tables among them escape a line break inside a value where they are made."""
    stream = sys.stderr if err else sys.stdout
    stream.write(visible(str(text), keep="\n\t") + end)
    stream.flush()


def print_json(value: Any) -> None:
    """Print `value` as indented JSON (keys in the order given, so output is stable)."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def table(columns: Sequence[Column | str], rows: Iterable[Sequence[Cell]], *, title: str | None = None) -> None:
    """Print rows under headers: a rich table on a terminal, aligned plain text otherwise."""
    heads = [column if isinstance(column, Column) else Column(column) for column in columns]
    cells = [list(row) for row in rows]
    console = stdout_console()
    if console.is_terminal:
        rich_table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, header_style="bold")
        for head in heads:
            rich_table.add_column(head.header, justify=head.justify)
        for row in cells:
            rich_table.add_row(*(cell if isinstance(cell, Text) else visible(str(cell)) for cell in row))
        console.print(rich_table)
        return
    sys.stdout.write(plain_table(heads, cells, title=title))


def plain_table(columns: Sequence[Column], rows: Sequence[Sequence[Cell]], *, title: str | None = None) -> str:
    """The text form of a table: an optional title, then header and rows indented and aligned."""
    texts = [[column.header for column in columns]] + [[_plain(cell) for cell in row] for row in rows]
    widths = [max(len(row[index]) for row in texts) for index in range(len(columns))]
    lines = [title] if title else []
    for row in texts:
        cells = [
            cell.rjust(width) if column.justify == "right" else cell.ljust(width)
            for cell, width, column in zip(row, widths, columns)
        ]
        lines.append(("  " if title else "") + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


@contextmanager
def progress(message: str) -> Iterator[None]:
    """Show a spinner with `message` on stderr while the block runs, if it runs longer than a second.

    Nothing is shown when stderr is not a terminal (CI logs stay clean).
    """
    console = Console(file=sys.stderr)
    if not console.is_terminal:
        yield
        return
    status = console.status(message)
    timer = threading.Timer(PROGRESS_DELAY_S, status.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        status.stop()


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else visible(str(cell))

"""Findings moved from the generated templates to the blueprint lines that set the values they are about.

A user edits the blueprint, its service files and the bases it extends, not the templates: a finding whose
value comes from a blueprint field (:mod:`cfngen.builders._fields`) points at the line where that field, or the
nearest enclosing field, was written, through the loader's source map. Fields written nowhere (defaults) and
values set with ``--set`` have no such line, and their findings stay on the template.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfngen.blueprint import Mark, SourceMap
from cfngen.builders._fields import FieldPath, field_of
from cfngen.linting._linter import Finding

if TYPE_CHECKING:
    from cfngen.synth import StackSet


def in_blueprint(findings: Iterable[Finding], stacks: StackSet, source: SourceMap) -> list[Finding]:
    """`findings` (named by template file) with those that come from a written blueprint field moved to its file,
    line and column; the message then names the template location it was found at."""
    children = {f"{child.name}.yaml": child for child in stacks.children}
    templates: dict[str, dict[str, Any]] = {}
    moved = []
    for finding in findings:
        child = children.get(finding.file)
        field = None
        if child is not None:
            if finding.file not in templates:
                templates[finding.file] = child.template.to_dict()
            field = field_of(stacks.blueprint, child.name, child.service, templates[finding.file], finding.path)
        mark = _written(source, field) if field else None
        moved.append(
            dataclasses.replace(
                finding,
                file=_shown(mark.file),
                line=mark.line,
                column=mark.column,
                message=f"{finding.message} (in {finding.file}:{finding.line})",
            )
            if mark
            else finding
        )
    return sorted(moved)


def _written(source: SourceMap, field: FieldPath) -> Mark | None:
    """Where `field`, or the nearest field enclosing it, was written in a file; None for a default or a ``--set``."""
    for end in range(len(field), 0, -1):
        mark = source.keys.get(field[:end]) or source.values.get(field[:end])
        if mark is not None:
            return mark if mark.line >= 1 and mark.file.is_file() else None
    return None


def _shown(file: Path) -> str:
    """The file as a path relative to the working directory where it lies under it (what SARIF viewers resolve)."""
    absolute = os.path.abspath(file)
    here = os.getcwd()
    if os.path.commonpath([absolute, here]) == here:
        return Path(os.path.relpath(absolute, here)).as_posix()
    return Path(absolute).as_posix()

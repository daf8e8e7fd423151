"""The loader: YAML files (with their service files, layers and overrides) -> a validated Blueprint."""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cfngen.blueprint._model import Blueprint, CrossFieldErrors, Service
from cfngen.blueprint._overrides import Override, annotation_at, apply_overrides, models_in
from cfngen.blueprint._preflight import preflight_problems
from cfngen.blueprint._yamlsource import Budget, Mark, SourceMap, kind, load_yaml, merge
from cfngen.errors import BlueprintError, Problem

EXTENDS = "extends"
# Lists that layers and --set address by a key of their entries rather than by position.
KEYED_LISTS: dict[tuple[str | int, ...], str] = {("services",): "name"}


def load_blueprint(path: str | Path, *, overrides: Iterable[str | Override] = ()) -> Blueprint:
    """Load, include, layer, override and validate a blueprint file.

    Service entries that are strings are paths (relative to the file that names
    them) to service files. ``extends: base.yaml`` (relative to the file) layers
    the file over a base blueprint: mappings merge deeply, services merge by
    name, anything else in the file replaces the base's value; bases may extend
    further bases. `overrides` are ``PATH=VALUE`` texts (``cluster.min_size=1``,
    ``services.web.port=8081``) applied last, as ``cfngen --set`` does.
    Included files must lie inside the repository holding the blueprint (see
    :func:`project_root`). Returns a frozen Blueprint; raises BlueprintError
    listing every problem found, each with the file, line and column where the
    value was written.
    """
    return load_blueprint_with_source(path, overrides=overrides)[0]


def load_blueprint_with_source(
    path: str | Path, *, overrides: Iterable[str | Override] = ()
) -> tuple[Blueprint, SourceMap]:
    """:func:`load_blueprint`, and where each value was written (its file, line and column: the blueprint, a
    service file, a base it extends, or ``--set``), so that what is found later in the templates can point there."""
    blueprint_path = Path(path)
    includes = _Includes(project_root(blueprint_path), Budget())
    data, source, problems = _load_layers(blueprint_path, (), includes)
    problems += apply_overrides(data, source, overrides, schema=Blueprint, keyed_lists=KEYED_LISTS)
    return validate(data, source, blueprint_path, known_problems=problems), source


def project_root(blueprint: Path) -> Path:
    """The folder a blueprint's included files must lie in: the repository holding it (the nearest folder
    with a .git), else the folder above the blueprint's own, the project `cfngen init` lays out (blueprints/
    beside services/, so ``../services/x/service.yaml`` stays valid in a copy without its .git)."""
    folder = blueprint.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder.parent


@dataclass(frozen=True)
class _Includes:
    """What every file of one load shares: where included files may lie, and the values left to convert."""

    root: Path
    budget: Budget

    def confine(self, entry: str, including: Path) -> tuple[Path, str]:
        """The path of `entry` (relative to the file `including` it), and why it is refused ("" if it is not)."""
        path = including.parent / entry
        if Path(entry).is_absolute():
            return (
                path,
                f"is an absolute path; name a file inside the repository ({self.root}) relative to {including.name}",
            )
        # `..` taken as written, from the real folder of the including file (the root is a real path too)
        if not Path(os.path.normpath(including.resolve().parent / entry)).is_relative_to(self.root):
            return path, f"leaves the repository ({self.root}); included files must lie inside it"
        if not path.resolve().is_relative_to(self.root):
            return path, f"is a symbolic link to a file outside the repository ({self.root})"
        return path, ""


def _load_layers(
    path: Path, chain: tuple[Path, ...], includes: _Includes, *, included: bool = False
) -> tuple[dict[str, Any], SourceMap, list[Problem]]:
    """One blueprint file with its service files included, merged over the base it extends (recursively)."""
    data, source = load_yaml(path, includes.budget)
    if not isinstance(data, dict):
        mark = source.locate(()) or Mark(path, 1, 1)
        raise BlueprintError(
            [Problem(mark.file, mark.line, mark.column, "", f"expected a mapping at the top level, found {kind(data)}")]
        )
    if included:
        _require_known_key(data, path, Blueprint, "", "blueprint")
    data, problems = _include_service_files(data, source, path, includes)
    if EXTENDS not in data:
        return data, source, problems
    extends = data.pop(EXTENDS)
    mark = source.locate((EXTENDS,)) or Mark(path, 1, 1)
    if not isinstance(extends, str) or not extends.strip():
        raise _at(mark, f"expected the path of a base blueprint, relative to this file, found {_show(extends)}")
    base_path, refused = includes.confine(extends, path)
    if refused:
        raise _at(mark, f"{extends!r} {refused}")
    chain += (path.resolve(),)
    if base_path.resolve() in chain:
        cycle = " -> ".join(str(link) for link in (*chain, base_path.resolve()))
        raise _at(mark, f"extends forms a cycle: {cycle}")
    try:
        base, base_source, base_problems = _load_layers(base_path, chain, includes, included=True)
    except BlueprintError as exc:
        raise BlueprintError(
            [
                Problem(
                    mark.file, mark.line, mark.column, EXTENDS, f"base blueprint {extends!r} ({base_path}): {p.message}"
                )
                if p.line == 0
                else p
                for p in exc.problems
            ]
        ) from None
    merged = merge(base, base_source, data, source, keyed_lists=KEYED_LISTS)
    problems = base_problems + [_moved(problem, merged.new_path(_loc(problem.field))) for problem in problems]
    return merged.data, merged.source, problems


def _at(mark: Mark, message: str) -> BlueprintError:
    return BlueprintError([Problem(mark.file, mark.line, mark.column, EXTENDS, message)])


def _loc(field: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part for part in field.split(".")) if field else ()


def _moved(problem: Problem, loc: tuple[str | int, ...]) -> Problem:
    """The problem of an overlay's service entry, renumbered to where the entry sits after the merge."""
    return dataclasses.replace(problem, field=".".join(map(str, loc)))


def validate(
    data: dict[str, Any], source: SourceMap, file: Path, *, known_problems: list[Problem] | None = None
) -> Blueprint:
    """Validate plain data (with its source map) into a Blueprint, or raise BlueprintError.

    `known_problems` (found earlier, e.g. an unreadable service file) are reported
    together with the schema's, so one run shows everything wrong.
    """
    problems = list(known_problems or [])
    broken = {problem.field for problem in problems}
    try:
        blueprint = Blueprint.model_validate(data)
    except ValidationError as exc:
        problems += [p for p in _problems(exc, source, file) if not _inside(p.field, broken)]
    else:
        problems += [_problem(source, file, loc, message) for loc, message in preflight_problems(blueprint)]
    if problems:
        raise BlueprintError(problems)
    return blueprint


def _inside(field: str, roots: set[str]) -> bool:
    return any(field == root or field.startswith(root + ".") for root in roots if root)


def _require_known_key(data: dict[str, Any], path: Path, model: type[BaseModel], field: str, what: str) -> None:
    """Refuse an included file none of whose keys `model` knows: it is not a blueprint file (a token file, a
    system file), and its content must not reach an error message, which would print it."""
    if not set(data) & {*model.model_fields, EXTENDS}:
        raise BlueprintError(
            [
                Problem(
                    path,
                    1,
                    1,
                    field,
                    f"is not a {what} file: none of its keys is a {what} field (its content is not shown)",
                )
            ]
        )


def _include_service_files(
    data: dict[str, Any], source: SourceMap, blueprint_path: Path, includes: _Includes
) -> tuple[dict[str, Any], list[Problem]]:
    """Replace service entries that are paths by the service files' contents.

    An entry that cannot be included stays an empty mapping (so the other
    entries keep their indices) and is reported as a problem of its own.
    """
    services = data.get("services")
    if not isinstance(services, list):
        return data, []
    problems: list[Problem] = []
    resolved: list[Any] = []
    for index, entry in enumerate(services):
        if not isinstance(entry, str):
            resolved.append(entry)
            continue
        service_path, refused = includes.confine(entry, blueprint_path)
        field = f"services.{index}"
        entry_mark = source.locate(("services", index)) or Mark(blueprint_path, 1, 1)
        if refused:
            problems.append(
                Problem(entry_mark.file, entry_mark.line, entry_mark.column, field, f"service file {entry!r} {refused}")
            )
            resolved.append({})
            continue
        try:
            service_data, service_source = load_yaml(service_path, includes.budget)
            if isinstance(service_data, dict):
                _require_known_key(service_data, service_path, Service, field, "service")
        except BlueprintError as exc:
            if includes.budget.remaining < 0:
                raise  # the load as a whole is too large: the files after this one would only repeat it
            for problem in exc.problems:
                if problem.line == 0:  # the file itself is unreadable: point at the entry naming it
                    problem = Problem(
                        entry_mark.file,
                        entry_mark.line,
                        entry_mark.column,
                        field,
                        f"service file {entry!r} ({service_path}): {problem.message}",
                    )
                problems.append(
                    Problem(problem.file, problem.line, problem.column, field, problem.message)
                    if not problem.field
                    else problem
                )
            resolved.append({})
            continue
        if not isinstance(service_data, dict):
            problems.append(
                Problem(service_path, 1, 1, field, f"expected a service mapping, found {kind(service_data)}")
            )
            resolved.append({})
            continue
        source.graft(("services", index), service_source)
        resolved.append(service_data)
    return {**data, "services": resolved}, problems


def _problems(exc: ValidationError, source: SourceMap, file: Path) -> Iterator[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossFieldErrors):
            for sub_loc, message in cause.errors:
                yield _problem(source, file, loc + sub_loc, message)
            continue
        yield _problem(source, file, loc, _message(error, loc), at_key=error["type"] == "extra_forbidden")


def _problem(source: SourceMap, file: Path, loc: tuple[Any, ...], message: str, *, at_key: bool = False) -> Problem:
    mark = source.locate(loc, key=at_key) or Mark(file, 1, 1)
    return Problem(mark.file, mark.line, mark.column, ".".join(map(str, loc)), message)


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    found = error.get("input")
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suggestion = (
            f"; did you mean {hint[0]!r}?" if hint else (f"; expected one of: {', '.join(known)}" if known else "")
        )
        return f"unknown key {loc[-1]!r}{suggestion}"
    if kind == "missing":
        return "required, but missing"
    if kind in _UNCOERCED and isinstance(found, str):
        return f"expected {_UNCOERCED[kind]}, found the text {_show(found)}{_unquoted(kind, found)}"
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        message = f"expected text matching {error['ctx']['pattern']}"
    if kind in {"value_error"}:
        return message
    return f"{message}, found {_show(found)}"


# What a strict field wants, for the types whose values YAML writes unquoted.
_UNCOERCED = {"bool_type": "true or false", "int_type": "a whole number", "float_type": "a number"}


def _unquoted(kind: str, text: str) -> str:
    """The fix for a quoted boolean or number, "; write ... without quotes", or "" when the text is neither."""
    word = text.strip().lower()
    if kind == "bool_type" and word in {"true", "yes", "on", "1", "false", "no", "off", "0"}:
        return f"; write {'true' if word in {'true', 'yes', 'on', '1'} else 'false'} without quotes"
    if kind != "bool_type" and word.isdigit():
        return f"; write {int(word)} without quotes"
    return ""


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model that sits at `loc` in a Blueprint."""
    models = models_in(annotation_at(Blueprint, loc))
    return list(models[0].model_fields) if models else []


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else kind(value)
    return text if len(text) <= 60 else text[:57] + "..."

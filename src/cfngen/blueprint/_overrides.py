"""`--set path.to.key=value`: command-line overrides of blueprint values, typed by the schema.

An override is applied to the loaded (and merged) data before validation, so it
is validated exactly like a value written in the file; its source mark names the
``--set`` argument, so an error says where the bad value came from. Values are
read as YAML scalars, except where the schema expects text: ``--set
services.web.user=1000`` keeps the text "1000" rather than the number.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from cfngen.blueprint._yamlsource import Mark, Path_, SourceMap, has_surrogate, kind, loads_yaml
from cfngen.errors import BlueprintError, Problem

_NULLS = ("null", "Null", "NULL", "~")
# YAML 1.1 reads 0x1F90, 0o17, 1_000, 1:30 and .inf as numbers and yes/off as booleans; an override of a number
# or a boolean must be written the one plain way, so what is typed is what is meant.
_PLAIN_INT = re.compile(r"[-+]?[0-9]+")
_PLAIN_FLOAT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_PLAIN_BOOL = ("true", "false")


@dataclass(frozen=True)
class Override:
    """One ``PATH=VALUE`` override: PATH is dotted; a list entry is named by index or by its key (a service name)."""

    text: str
    path: tuple[str, ...]
    value: str

    @classmethod
    def parse(cls, text: str) -> Override:
        """Read ``a.b.c=value``; raises ValueError naming what is wrong."""
        if has_surrogate(text):
            # argv bytes that are not UTF-8 arrive as lone surrogates, which no template can hold
            raise ValueError("is not UTF-8 text; the shell passed bytes that are not UTF-8")
        dotted, equals, value = text.partition("=")
        if not equals:
            raise ValueError(f"expected PATH=VALUE, such as cluster.min_size=1; found {text!r}")
        path = tuple(dotted.strip().split("."))
        if not all(path):
            raise ValueError(f"expected a dotted path before '=', such as cluster.min_size; found {dotted!r}")
        return cls(text, path, value)

    @property
    def mark(self) -> Mark:
        """Where values set by this override come from, as error messages show it."""
        return Mark(Path(f"--set {self.text}"), 0, 0)


def apply_overrides(
    data: dict[str, Any],
    source: SourceMap,
    overrides: Iterable[str | Override],
    *,
    schema: type[BaseModel],
    keyed_lists: Mapping[Path_, str],
) -> list[Problem]:
    """Set every override in `data` (in place) and mark it in `source`; return the overrides that cannot apply.

    `keyed_lists` names the lists whose entries may be addressed by a key
    (``services.web.port`` means the service called web) besides their index.
    """
    problems: list[Problem] = []
    for item in overrides:
        try:
            override = item if isinstance(item, Override) else Override.parse(item)
        except ValueError as exc:
            problems.append(Problem(Path(f"--set {printable(str(item))}"), 0, 0, "", str(exc)))
            continue
        problem = _apply(data, source, override, schema, keyed_lists)
        if problem is not None:
            problems.append(problem)
    return problems


def _apply(
    data: dict[str, Any],
    source: SourceMap,
    override: Override,
    schema: type[BaseModel],
    keyed_lists: Mapping[Path_, str],
) -> Problem | None:
    mark = override.mark
    node: Any = data
    path: Path_ = ()
    for depth, segment in enumerate(override.path):
        key: str | int
        if isinstance(node, list):
            found = _entry(node, segment, keyed_lists.get(path))
            if found is None:
                return _problem(mark, path + (segment,), _no_entry(node, segment, keyed_lists.get(path), path))
            key = found
        elif isinstance(node, dict):
            key = segment
        else:
            return _problem(mark, path, f"is {kind(node)}, so it has no {segment!r} to set")
        path += (key,)
        if depth == len(override.path) - 1:
            try:
                node[key] = _typed(override.value, annotation_at(schema, path))
            except BlueprintError as exc:
                return _problem(mark, path, exc.problems[0].message)
            source.replace(path, mark)
            return None
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = {}
            source.replace(path, mark)
        node = node[key]
    return None


def _entry(entries: list[Any], segment: str, key: str | None) -> int | None:
    if segment.isdigit():
        return int(segment) if int(segment) < len(entries) else None
    for index, entry in enumerate(entries):
        if key is not None and isinstance(entry, dict) and entry.get(key) == segment:
            return index
    return None


def _no_entry(entries: list[Any], segment: str, key: str | None, path: Path_) -> str:
    where = ".".join(map(str, path))
    if segment.isdigit() or key is None:
        return f"{where} has {len(entries)} entries (0..{len(entries) - 1}); there is no entry {segment}"
    names = [str(entry.get(key)) for entry in entries if isinstance(entry, dict) and key in entry]
    return f"no entry of {where} has {key} {segment!r}; there are: {', '.join(names) or 'none'}"


def _typed(text: str, annotation: Any) -> Any:
    """The value of `text` for a field of type `annotation`: text stays text where the schema wants text."""
    options = _options(annotation) if annotation is not None else []
    if options and all(option in (str, type(None)) for option in options) and str in options:
        return None if text in _NULLS and type(None) in options else text
    if not text.strip():
        return None
    value, _ = loads_yaml(text, Path("--set"))
    if isinstance(value, bool) and text.strip() not in _PLAIN_BOOL:
        raise _refused(f"{text!r} is read as {str(value).lower()}; write true or false")
    if isinstance(value, int) and not isinstance(value, bool) and not _PLAIN_INT.fullmatch(text.strip()):
        raise _refused(f"{text!r} is not a decimal whole number; write {value} if that is what you mean")
    if isinstance(value, float) and not _PLAIN_FLOAT.fullmatch(text.strip()):
        raise _refused(f"{text!r} is not a plain decimal number; write it with digits and a point, such as 1.5")
    return value


def _refused(message: str) -> BlueprintError:
    return BlueprintError([Problem(Path("--set"), 0, 0, "", message)])


def printable(text: str) -> str:
    """`text` as a message can show it: bytes that were not UTF-8 as \\x escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def annotation_at(model: type[BaseModel], path: Sequence[str | int]) -> Any:
    """The type annotation of the value at `path` in `model` (None where the schema has no such path)."""
    annotation: Any = model
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return annotation


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation admits (``Database | None`` -> [Database])."""
    return [option for option in _options(annotation) if isinstance(option, type) and issubclass(option, BaseModel)]


def _step(annotation: Any, part: str | int) -> Any:
    for option in _options(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            field = option.model_fields.get(part) if isinstance(part, str) else None
            if field is not None:
                return field.annotation
        elif get_origin(option) is list and isinstance(part, int):
            return get_args(option)[0]
        elif get_origin(option) is dict and isinstance(part, str):
            return get_args(option)[1]
    return None


def _options(annotation: Any) -> list[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _options(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [option for arg in get_args(annotation) for option in _options(arg)]
    return [annotation]


def _problem(mark: Mark, path: Path_, message: str) -> Problem:
    return Problem(mark.file, mark.line, mark.column, ".".join(map(str, path)), message)

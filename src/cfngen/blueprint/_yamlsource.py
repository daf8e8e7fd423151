"""Safe YAML loading that remembers where every value was written.

PyYAML composes the document into nodes that carry their marks; we convert the
nodes ourselves so that we can (a) record a file:line:column for every path,
(b) refuse every tag outside plain YAML data, duplicate keys and recursive
aliases, and (c) bound alias expansion over a whole load (every file it
includes counts against one :class:`Budget`), so a "billion laughs" file, or a
large file included many times, fails fast instead of eating the machine. Only
regular files are read, at most MAX_FILE_BYTES of them: a device or a pipe
named as a file (``/dev/zero``, ``/dev/stdin``) is refused before it is read.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cfngen.errors import BlueprintError, Problem

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 200_000

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_SURROGATE = re.compile("[\ud800-\udfff]")
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"

# The C loader is several times faster; PyYAML built without libyaml lacks it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Budget:
    """Values a load may still convert, aliases expanded, shared by every file of one load."""

    remaining: int = MAX_NODES


@dataclass(frozen=True)
class Mark:
    """A position in a file, 1-based as editors show it."""

    file: Path
    line: int
    column: int


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a loaded document was written."""

    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> Mark | None:
        """The mark of `path`, or of its nearest written ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            mark = self.values.get(path[:end])
            if mark is not None:
                return mark
        return None

    def graft(self, prefix: Path_, other: SourceMap) -> None:
        """Place `other`'s marks under `prefix` (a file included at that path)."""
        for path, mark in other.values.items():
            self.values[prefix + path] = mark
        for path, mark in other.keys.items():
            self.keys[prefix + path] = mark

    def take(self, other: SourceMap, other_path: Path_, path: Path_, value: Any) -> None:
        """Copy the marks of `value`, found at `other_path` in `other`, to `path` in this map.

        Walks `value` rather than `other`, so the cost is the size of the value taken.
        """
        if other_path in other.values:
            self.values[path] = other.values[other_path]
        if other_path in other.keys:
            self.keys[path] = other.keys[other_path]
        if isinstance(value, dict):
            for key, item in value.items():
                self.take(other, other_path + (key,), path + (key,), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.take(other, other_path + (index,), path + (index,), item)

    def replace(self, path: Path_, mark: Mark) -> None:
        """`path` (and everything under it) now comes from `mark`, e.g. a command-line override."""
        depth = len(path)
        for marks in (self.values, self.keys):
            for stale in [written for written in marks if len(written) > depth and written[:depth] == path]:
                del marks[stale]
            marks[path] = mark


@dataclass(frozen=True)
class Merged:
    """The result of :func:`merge`: data, its source map, and where overlay list entries ended up."""

    data: Any
    source: SourceMap
    moved: dict[Path_, Path_]

    def new_path(self, overlay_path: Path_) -> Path_:
        """Where a value that sat at `overlay_path` in the overlay sits in the merged data."""
        for old, new in self.moved.items():
            if overlay_path[: len(old)] == old:
                return new + overlay_path[len(old) :]
        return overlay_path


def merge(
    base: Any,
    base_source: SourceMap,
    overlay: Any,
    overlay_source: SourceMap,
    *,
    keyed_lists: Mapping[Path_, str] | None = None,
) -> Merged:
    """Deep-merge `overlay` onto `base`, carrying each value's mark from the file that wrote it.

    Mappings merge key by key; a list at a path of `keyed_lists` merges entry by
    entry, matching entries on the named key (new entries are appended); any
    other value of the overlay (scalar, list, ``null``) replaces the base's.
    """
    merger = _Merger(base_source, overlay_source, dict(keyed_lists or {}))
    data = merger.merge(base, (), overlay, (), ())
    return Merged(data, merger.source, merger.moved)


class _Merger:
    def __init__(self, base_source: SourceMap, overlay_source: SourceMap, keyed_lists: dict[Path_, str]) -> None:
        self.base_source = base_source
        self.overlay_source = overlay_source
        self.keyed_lists = keyed_lists
        self.source = SourceMap()
        self.moved: dict[Path_, Path_] = {}

    def merge(self, base: Any, base_path: Path_, overlay: Any, overlay_path: Path_, path: Path_) -> Any:
        if isinstance(base, dict) and isinstance(overlay, dict):
            return self.mappings(base, base_path, overlay, overlay_path, path)
        if path in self.keyed_lists and isinstance(base, list) and isinstance(overlay, list):
            return self.keyed(base, base_path, overlay, overlay_path, path, self.keyed_lists[path])
        self.source.take(self.overlay_source, overlay_path, path, overlay)
        return overlay

    def mappings(
        self, base: dict[str, Any], base_path: Path_, overlay: dict[str, Any], overlay_path: Path_, path: Path_
    ) -> dict[str, Any]:
        self.source.take(self.overlay_source, overlay_path, path, None)
        result: dict[str, Any] = {}
        for key, value in base.items():
            if key not in overlay:
                self.source.take(self.base_source, base_path + (key,), path + (key,), value)
                result[key] = value
        for key, value in overlay.items():
            if key in base:
                result[key] = self.merge(base[key], base_path + (key,), value, overlay_path + (key,), path + (key,))
            else:
                self.source.take(self.overlay_source, overlay_path + (key,), path + (key,), value)
                result[key] = value
        return result

    def keyed(
        self, base: list[Any], base_path: Path_, overlay: list[Any], overlay_path: Path_, path: Path_, key: str
    ) -> list[Any]:
        self.source.take(self.overlay_source, overlay_path, path, None)
        result = list(base)
        unmatched = {_entry_key(entry, key): index for index, entry in enumerate(base)}
        unmatched.pop(None, None)
        merged: set[int] = set()
        for overlay_index, entry in enumerate(overlay):
            target = unmatched.pop(_entry_key(entry, key), None)
            if target is None:
                target = len(result)
                result.append(entry)
                self.source.take(self.overlay_source, overlay_path + (overlay_index,), path + (target,), entry)
            else:
                merged.add(target)
                result[target] = self.merge(
                    base[target], base_path + (target,), entry, overlay_path + (overlay_index,), path + (target,)
                )
            if target != overlay_index:
                self.moved[overlay_path + (overlay_index,)] = path + (target,)
        for index, entry in enumerate(base):
            if index not in merged:
                self.source.take(self.base_source, base_path + (index,), path + (index,), entry)
        return result


def _entry_key(entry: Any, key: str) -> Hashable | None:
    value = entry.get(key) if isinstance(entry, dict) else None
    return value if isinstance(value, str) else None


def load_yaml(path: Path, budget: Budget | None = None) -> tuple[Any, SourceMap]:
    """Load one YAML document safely; return its plain data and its source map.

    `budget` bounds the values converted, shared by the files of one load.
    Raises BlueprintError naming the file and position of the first problem.
    """
    try:
        text = _read_regular_file(path).decode("utf-8")
    except FileNotFoundError:
        raise _error(Mark(path, 0, 0), "file not found") from None
    except IsADirectoryError:
        raise _error(Mark(path, 0, 0), "is a directory, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        raise _error(Mark(path, 1, 1), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise _error(Mark(path, 0, 0), f"cannot read: {exc.strerror}") from None
    return loads_yaml(text, path, budget)


def _read_regular_file(path: Path) -> bytes:
    """The bytes of the regular file at `path`, at most MAX_FILE_BYTES; BlueprintError for anything else.

    Opened without blocking (a FIFO would wait for a writer) and checked on the open descriptor, so what is
    read is what was checked.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    with os.fdopen(descriptor, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise _error(Mark(path, 0, 0), "is not a regular file (a device, pipe or socket); expected a YAML file")
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _error(Mark(path, 1, 1), f"file is larger than {MAX_FILE_BYTES} bytes, the limit")
    return data


def loads_yaml(text: str, path: Path, budget: Budget | None = None) -> tuple[Any, SourceMap]:
    """Like load_yaml, for text already read; `path` names it in messages."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Mark(path, mark.line + 1, mark.column + 1) if mark else Mark(path, 1, 1)
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise _error(where, f"invalid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise _error(Mark(path, 1, 1), f"invalid YAML: {exc}") from None
    if not nodes or nodes[0] is None:
        raise _error(Mark(path, 1, 1), "file is empty; expected a mapping")
    if len(nodes) > 1:
        second = nodes[1].start_mark
        raise _error(Mark(path, second.line + 1, 1), "more than one YAML document; expected exactly one")
    converter = _Converter(path, budget or Budget())
    data = converter.convert(nodes[0], ())
    return data, converter.source


class _Converter:
    def __init__(self, path: Path, budget: Budget) -> None:
        self.path = path
        self.source = SourceMap()
        self.budget = budget
        self.in_progress: set[int] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def mark(self, node: yaml.Node) -> Mark:
        return Mark(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.budget.remaining -= 1
        if self.budget.remaining < 0:
            raise _error(
                self.mark(node),
                f"more than {MAX_NODES} values after expanding aliases, in this file and "
                "the files loaded before it (alias bomb?)",
            )
        if id(node) in self.in_progress:
            raise _error(self.mark(node), "recursive alias: a value contains itself")
        self.source.values[path] = self.mark(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.in_progress.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return [self.convert(item, path + (index,)) for index, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self.mapping(node, path)
            raise _error(self.mark(node), f"YAML tag {node.tag!r} is not allowed; write plain data")
        finally:
            self.in_progress.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise _error(self.mark(node), f"YAML tag {node.tag!r} is not allowed; write plain data")
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, str) and has_surrogate(value):
            raise _error(
                self.mark(node),
                "text holds a lone surrogate escape (such as \\ud800), which is not a "
                "character; write the character itself",
            )
        return value

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _error(self.mark(key_node), "YAML merge keys ('<<') are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise _error(self.mark(key_node), "mapping keys must be plain scalars")
            key = self.scalar(key_node)
            if not isinstance(key, Hashable) or isinstance(key, (list, dict)):
                raise _error(self.mark(key_node), "mapping keys must be plain scalars")
            key = str(key)
            if key in result:
                raise _error(self.mark(key_node), f"duplicate key {key!r}")
            self.source.keys[path + (key,)] = self.mark(key_node)
            result[key] = self.convert(value_node, path + (key,))
        return result


def has_surrogate(text: str) -> bool:
    """True when `text` holds a lone surrogate: not a character, so it cannot be written out as UTF-8."""
    return _SURROGATE.search(text) is not None


def kind(value: Any) -> str:
    """How an error message names the kind of a loaded value ("a mapping", "text", "int"...)."""
    return {dict: "a mapping", list: "a list", str: "text", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def _error(mark: Mark, message: str) -> BlueprintError:
    return BlueprintError([Problem(mark.file, mark.line, mark.column, "", message)])

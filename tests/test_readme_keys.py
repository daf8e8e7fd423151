"""The README's table of blueprint keys is the one the JSON Schema of blueprint files gives.

``python -m tests.test_readme_keys`` rewrites the table; the test fails when the schema and the README disagree,
so a new key cannot land undocumented.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from cfngen import Blueprint, json_schema
from cfngen.blueprint import _model as blueprint_model
from tests.conftest import ROOT

DOCUMENT = ROOT / "README.md"
TABLE_START = "<!-- generated from the blueprint schema: python -m tests.test_readme_keys -->\n"
TABLE_END = "<!-- end of generated table -->\n"


def _definition(node: dict[str, Any]) -> str | None:
    """The name of the object definition `node` refers to (directly, in a list, or optionally), if any."""
    items = node.get("items") or {}
    for candidate in [node, items, *node.get("anyOf", []), *items.get("anyOf", [])]:
        if "$ref" in candidate:
            return str(candidate["$ref"]).rsplit("/", 1)[1]
    return None


def _default(model: type[BaseModel], key: str) -> str:
    """What a missing key means: "required", or the default the model gives it."""
    field = model.model_fields.get(key)
    if field is None:  # added by the schema itself (extends)
        return "-"
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    return "none" if value is None else json.dumps(value)


def _kind(node: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(json.dumps(value) for value in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    if "anyOf" in node:
        return " or ".join(_kind(option) for option in node["anyOf"] if option.get("type") != "null") + " or null"
    kind = str(node.get("type", "object"))
    if kind == "array":
        return f"list of {_kind(node.get('items') or {})}"
    return kind


def _rows(
    schema: dict[str, Any], model: type[BaseModel], node: dict[str, Any], prefix: str
) -> Iterator[tuple[str, str, str, str]]:
    for key, value in node.get("properties", {}).items():
        path = f"{prefix}{key}"
        nested = _definition(value)
        listed = value.get("type") == "array" or any(option.get("type") == "array" for option in value.get("anyOf", []))
        meaning = str(value.get("description", "")).replace("|", "\\|")
        kind = "section" if nested and not listed else "list of entries" if nested else _kind(value)
        yield f"`{path}`", kind, _default(model, key), meaning
        if nested:
            yield from _rows(
                schema,
                getattr(blueprint_model, nested),
                schema["$defs"][nested],
                f"{path}[]." if listed else f"{path}.",
            )


def keys_table() -> str:
    """The Markdown table of every blueprint key: its path, type, default and meaning."""
    schema = json_schema()
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    rows = _rows(schema, Blueprint, schema, "")
    lines += ["| " + " | ".join(cell.replace("\n", " ") for cell in row) + " |" for row in rows]
    return TABLE_START + "\n".join(lines) + "\n" + TABLE_END


def with_table(text: str) -> str:
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    return text[:start] + keys_table() + text[end:]


def test_readme_lists_every_blueprint_key_as_the_schema_gives_it() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    assert TABLE_START in text, "README.md lacks the generated table of blueprint keys"
    assert text == with_table(text), (
        "README.md's table of blueprint keys is stale; run python -m tests.test_readme_keys"
    )


if __name__ == "__main__":
    DOCUMENT.write_text(with_table(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT}\n")

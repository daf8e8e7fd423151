"""JSON Schema of the blueprint format, from the pydantic models, for editors that complete and check YAML.

The models are the source of truth; this module only adds what the loader
accepts beyond them and the value sets that validators enforce, so that
editors flag them too. A blueprint file may be a layer (``extends: base.yaml``)
or a base that names no platform, and a service entry in a layer may name only
what it changes: required keys are therefore checked by the loader, after the
layers are merged, not by the file schema.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from cfngen.blueprint import EXTENDS, LOG_RETENTION_DAYS, TASK_CPU_UNITS, Blueprint, Service

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
Kind = Literal["blueprint", "service"]
# (model, field) -> allowed values that a field validator checks but the generated schema cannot know.
VALIDATED_VALUES: dict[tuple[str, str], tuple[int, ...]] = {
    ("Service", "cpu"): TASK_CPU_UNITS,
    ("Logs", "retention_days"): LOG_RETENTION_DAYS,
}


def json_schema(kind: Kind = "blueprint") -> dict[str, Any]:
    """The JSON Schema (2020-12) of a blueprint file, or of a service file with `kind="service"`."""
    model = Blueprint if kind == "blueprint" else Service
    schema = copy.deepcopy(model.model_json_schema())
    definitions = schema.get("$defs", {})
    for (model_name, field), values in VALIDATED_VALUES.items():
        target = schema if model_name == model.__name__ else definitions.get(model_name)
        if target is not None:
            target["properties"][field]["enum"] = list(values)
    if kind == "blueprint":
        schema["properties"]["services"]["items"] = {
            "anyOf": [
                {"$ref": "#/$defs/Service"},
                {"type": "string", "description": "Path of a service file, relative to the blueprint."},
            ]
        }
        schema["properties"] = {
            EXTENDS: {
                "type": "string",
                "title": "Extends",
                "description": "Base blueprint this file is layered over, relative to this file: mappings merge "
                "deeply, services merge by name, anything else replaces the base's value.",
            },
            **schema["properties"],
        }
        _drop_required(schema)
    title = "cfngen blueprint" if kind == "blueprint" else "cfngen service"
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": title,
        **{key: value for key, value in schema.items() if key != "title"},
    }


def _drop_required(node: Any) -> None:
    """Remove `required` and the services' `minItems` everywhere: a layer or a base names only part of a blueprint."""
    if isinstance(node, dict):
        node.pop("required", None)
        if node.get("title") == "Services":
            node.pop("minItems", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)


def json_schema_text(kind: Kind = "blueprint") -> str:
    """The schema as indented JSON text, the same bytes on every run."""
    return json.dumps(json_schema(kind), indent=2) + "\n"

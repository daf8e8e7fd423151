"""A new platform in one step: a blueprint and one service file, valid from the start.

The files are rendered from jinja2 templates shipped with the package, then
validated by the blueprint loader itself before anything is written, so a
scaffold is always a blueprint that synthesizes. Existing files are never
overwritten.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from cfngen._files import refuse_links, write_text
from cfngen.blueprint import validate
from cfngen.blueprint._yamlsource import loads_yaml
from cfngen.errors import UsageError


@dataclass(frozen=True)
class Answers:
    """What a new platform needs to know; everything else starts from the templates' defaults."""

    name: str
    region: str = "us-east-1"
    service: str = "web"
    port: int = 8080
    health_check_path: str | None = "/health"
    database: bool = False


def scaffold(directory: str | Path, answers: Answers) -> list[Path]:
    """Write ``blueprints/<name>.yaml`` and ``services/<service>/service.yaml`` under `directory`.

    Returns the paths written. Raises BlueprintError when the answers do not
    make a valid blueprint, UsageError when a file already exists; in both
    cases nothing is written.
    """
    root = Path(directory)
    blueprint_file = Path("blueprints") / f"{answers.name}.yaml"
    service_file = Path("services") / answers.service / "service.yaml"
    context = {
        **vars(answers),
        "blueprint_file": blueprint_file.as_posix(),
        "service_file": f"../{service_file.as_posix()}",
    }
    files = {blueprint_file: _render("blueprint.yaml.j2", context), service_file: _render("service.yaml.j2", context)}
    _check(root / blueprint_file, files[blueprint_file], files[service_file])
    # lexists: a dangling link "does not exist" but writing through it would create its target
    existing = [str(root / path) for path in files if os.path.lexists(root / path)]
    if existing:
        raise UsageError(f"refusing to overwrite {', '.join(existing)}; choose another directory or name")
    for path in files:
        refuse_links(root / path, root=root)
    return [write_text(root / path, text, root=root) for path, text in files.items()]


def _check(blueprint_path: Path, blueprint_text: str, service_text: str) -> None:
    """Validate the rendered pair as the loader would, the service inlined in place of its path."""
    data, source = loads_yaml(blueprint_text, blueprint_path)
    service, _ = loads_yaml(service_text, blueprint_path)
    validate({**data, "services": [service]}, source, blueprint_path)


def _render(template: str, context: dict[str, Any]) -> str:
    return _environment().get_template(template).render(context) + "\n"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cfngen.extras", "scaffold_templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
    environment.filters["yaml"] = _yaml_scalar
    return environment


def _yaml_scalar(value: Any) -> str:
    """`value` as a YAML scalar: plain when it reads back as itself, JSON-quoted (valid YAML) otherwise."""
    plain = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        if yaml.safe_load(plain) == value:
            return plain
    except yaml.YAMLError:
        pass
    return json.dumps(value)

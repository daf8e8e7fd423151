"""Varied valid blueprints all load (layered and overridden too), synthesize, stay deterministic, and lint clean.

Example counts are for the CI profile (fixed seeds, tests/conftest.py); `CFNGEN_HYPOTHESIS=long` runs ten times as
many with fresh seeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from pydantic import BaseModel

from cfngen import lint, load_blueprint, synthesize
from cfngen.blueprint import Blueprint
from tests.strategies import blueprints, layered


def scaled(examples: int) -> int:
    """`examples` under the CI profile, proportionally more under a longer one."""
    return max(1, examples * settings().max_examples // 100)


@settings(max_examples=scaled(15))
@given(blueprints())
def test_every_valid_blueprint_synthesizes_and_lints_clean(data: dict[str, Any]) -> None:
    stacks = synthesize(Blueprint.model_validate(data))
    assert [str(finding) for finding in lint(stacks)] == []


@settings(max_examples=scaled(2))
@given(blueprints(min_services=25, max_services=30, capacities=(24,)))
def test_more_services_than_a_load_balancer_holds_get_another_one_and_lint_clean(data: dict[str, Any]) -> None:
    blueprint = Blueprint.model_validate(data)
    stacks = synthesize(blueprint)
    balancers = blueprint.load_balancers
    assert len(balancers) == 2 and [len(services) for services in balancers] == [24, len(blueprint.services) - 24]
    names = set(stacks.render())
    assert {"load-balancer.yaml", "load-balancer-2.yaml"} <= names and "load-balancer-3.yaml" not in names
    assert [str(finding) for finding in lint(stacks)] == []


@settings(max_examples=scaled(20))
@given(blueprints())
def test_synthesis_is_deterministic(data: dict[str, Any]) -> None:
    blueprint = Blueprint.model_validate(data)
    assert synthesize(blueprint).render() == synthesize(blueprint).render()


# Synthesizes each blueprint named on the command line into the directory after it; prints nothing.
_SYNTHESIZE = (
    "import sys; from cfngen import load_blueprint, synthesize\n"
    "for blueprint, outdir in zip(sys.argv[1::2], sys.argv[2::2]):\n"
    "    synthesize(load_blueprint(blueprint)).write(outdir)\n"
)


def test_templates_are_byte_identical_across_processes_with_different_hash_seeds(tmp_path: Path) -> None:
    """Set and dict order by string hash must never reach the output: each process hashes strings differently."""
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=scaled(4), database=None)
    @given(blueprints(max_services=4))
    def draw(data: dict[str, Any]) -> None:
        drawn.append(data)

    draw()
    arguments = []
    for index, data in enumerate(drawn):
        (tmp_path / f"{index}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        arguments.append(str(tmp_path / f"{index}.yaml"))
    outputs = {}
    for seed in ("1", "2", "12345"):
        outdir = tmp_path / f"seed-{seed}"
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [
                sys.executable,
                "-c",
                _SYNTHESIZE,
                *(item for index, path in enumerate(arguments) for item in (path, str(outdir / str(index)))),
            ],
            env=environment,
            check=True,
            timeout=600,
        )
        outputs[seed] = {
            str(path.relative_to(outdir)): path.read_bytes() for path in sorted(outdir.rglob("*")) if path.is_file()
        }
    assert len(outputs["1"]) >= 10 * len(drawn)
    assert outputs["1"] == outputs["2"] == outputs["12345"]


@settings(max_examples=scaled(25))
@given(layered_case=blueprints().flatmap(lambda data: layered(data).map(lambda layers: (data, layers))))
def test_layered_files_and_set_overrides_load_as_the_whole_blueprint(
    layered_case: tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any], list[str]]],
    tmp_path_factory: Any,
) -> None:
    data, (base, overlay, overrides) = layered_case
    directory = tmp_path_factory.mktemp("layers")
    (directory / "layers").mkdir()
    (directory / "layers" / "base.yaml").write_text(yaml.safe_dump(base), encoding="utf-8")
    (directory / "env.yaml").write_text(yaml.safe_dump({"extends": "layers/base.yaml", **overlay}), encoding="utf-8")
    assert load_blueprint(directory / "env.yaml", overrides=overrides) == Blueprint.model_validate(data)


def _schema_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of every field of `model` and the models inside it ("services.deploy_hooks"), each under the
    key a blueprint writes (a field's alias, where it has one)."""
    paths = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        paths.add(path)
        for inner in _models_in(field.annotation):
            paths |= _schema_paths(inner, f"{path}.")
    return paths


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        return [model for argument in typing.get_args(annotation) for model in _models_in(argument)]
    return []


def _data_paths(data: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every key set in `data`, list entries of models without their index."""
    paths = set()
    if isinstance(data, dict):
        for key, value in data.items():
            paths.add(f"{prefix}{key}")
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    paths |= _data_paths(item, f"{prefix}{key}.")
    return paths


def test_the_strategies_set_every_field_of_the_schema() -> None:
    """A new blueprint field fails here until tests/strategies.py generates it (so the properties cover it)."""
    seen: set[str] = set()
    wide: list[bool] = []

    @settings(max_examples=250, database=None)
    @given(blueprints(max_services=3))
    def draw(data: dict[str, Any]) -> None:
        seen.update(_data_paths(data))
        wide.append(len(Blueprint.model_validate(data).load_balancers) > 1)

    draw()
    schema = {
        path
        for path in _schema_paths(Blueprint)
        if not path.startswith(("services.environment.", "tags.", "services.deploy_hooks."))
    }
    assert sorted(schema - seen) == []
    assert any(wide), "no blueprint with more than one load balancer"

"""Varied valid blueprints all synthesize, stay deterministic, and lint clean."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from cfngen import lint, synthesize
from cfngen.blueprint import Blueprint
from tests.strategies import blueprints


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blueprints())
def test_every_valid_blueprint_synthesizes_and_lints_clean(data: dict[str, Any]) -> None:
    stacks = synthesize(Blueprint.model_validate(data))
    assert [str(finding) for finding in lint(stacks)] == []


@settings(max_examples=25, deadline=None)
@given(blueprints())
def test_synthesis_is_deterministic(data: dict[str, Any]) -> None:
    blueprint = Blueprint.model_validate(data)
    assert synthesize(blueprint).render() == synthesize(blueprint).render()

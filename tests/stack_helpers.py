"""Small helpers for tests that look inside generated templates."""

from __future__ import annotations

from typing import Any

from troposphere import Template

from cfngen.blueprint import Blueprint


def make_blueprint(*, services: list[dict[str, Any]] | None = None, **sections: Any) -> Blueprint:
    """A valid blueprint: one HTTP service unless `services` says otherwise, plus any top-level `sections`."""
    default = [{"name": "api", "port": 8080, "health_check": {"path": "/health"}}]
    return Blueprint.model_validate({"name": "unit", "services": services or default, **sections})


def resources(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource body, for every resource of type `kind`."""
    return {name: body for name, body in template.to_dict()["Resources"].items() if body["Type"] == kind}


def the_resource(template: Template, kind: str) -> dict[str, Any]:
    """The one resource of type `kind`; fails when there are none or several."""
    found = resources(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.values()))


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    """Every statement of every inline policy of an IAM role resource."""
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]

"""Shared fixtures: the example blueprints, their synthesized stacks, and the security scanner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cfngen import StackSet, load_blueprint, synthesize
from cfngen.report.checks import checkov_reports

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))


@pytest.fixture(scope="session")
def demo_stacks() -> StackSet:
    """The guide's architecture, synthesized once per test session."""
    return synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml"))


def example_ids() -> list[str]:
    return [path.stem for path in EXAMPLES]


def checkov_failures(directory: Path) -> list[dict[str, object]]:
    """Run checkov (from its own virtualenv) over a directory of templates; return the failed checks."""
    executable = os.environ.get("CFNGEN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    failed: list[dict[str, object]] = []
    for report in checkov_reports(directory, executable):
        failed += report["results"].get("failed_checks", [])
    return failed

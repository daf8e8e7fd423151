"""Every generated template of every example blueprint: golden, lint-clean and scanner-clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfngen import lint, load_blueprint, synthesize
from tests.conftest import EXAMPLES, ROOT, checkov_failures, example_ids


@pytest.mark.parametrize("blueprint_path", EXAMPLES, ids=example_ids())
def test_committed_templates_are_current(blueprint_path: Path) -> None:
    stacks = synthesize(load_blueprint(blueprint_path))
    outdir = ROOT / "templates" / stacks.blueprint.name
    assert stacks.differences(outdir) == [], "run `make goldens` and review the diff"


@pytest.mark.parametrize("blueprint_path", EXAMPLES, ids=example_ids())
def test_lint_finds_nothing(blueprint_path: Path) -> None:
    findings = lint(synthesize(load_blueprint(blueprint_path)))
    assert [str(finding) for finding in findings] == []


@pytest.mark.parametrize("blueprint_path", EXAMPLES, ids=example_ids())
def test_security_scanner_finds_nothing(blueprint_path: Path, tmp_path: Path) -> None:
    synthesize(load_blueprint(blueprint_path)).write(tmp_path)
    failures = checkov_failures(tmp_path)
    assert [(f["check_id"], f["resource"], f["file_path"]) for f in failures] == []


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    first = synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml")).render()
    second = synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml")).render()
    assert first == second

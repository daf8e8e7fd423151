"""E9101 (cfngen/linting/rules/WildcardPermission.py): good templates pass, bad ones fail on exactly the marked lines.

A line of a bad fixture that must be reported ends with the comment `# E9101`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cfngen.linting import lint_texts
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "lint_rules" / "E9101"
GOOD = sorted((FIXTURES / "good").glob("*.yaml"))
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))


def _e9101_lines(path: Path) -> list[int]:
    findings = lint_texts({path.name: path.read_text(encoding="utf-8")})
    return sorted(finding.line for finding in findings if finding.rule == "E9101")


def _marked_lines(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [number for number, line in enumerate(lines, start=1) if line.rstrip().endswith("# E9101")]


@pytest.mark.parametrize("path", GOOD, ids=[path.stem for path in GOOD])
def test_good_templates_pass(path: Path) -> None:
    assert _e9101_lines(path) == []


@pytest.mark.parametrize("path", BAD, ids=[path.stem for path in BAD])
def test_bad_templates_fail_on_the_marked_lines(path: Path) -> None:
    marked = _marked_lines(path)
    assert marked, f"{path.name} marks no line with '# E9101'"
    assert _e9101_lines(path) == marked


def test_rule_is_part_of_cfngen_lint() -> None:
    from cfngen.linting._linter import _runner

    _, rules = _runner("us-east-1")
    assert "E9101" in rules

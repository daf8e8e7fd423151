"""cfn-lint, in process: rules loaded once per process, every template of a StackSet (or a directory) checked.

Warnings and informational findings count: cfngen's own output must have none.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cfngen.errors import UsageError
from cfngen.lint_rules import RULES_DIRECTORY
from cfngen.synth import StackSet

SEVERITIES = ("error", "warning", "informational")


@dataclass(frozen=True, order=True)
class Finding:
    """One cfn-lint match, located in a generated file."""

    file: str
    line: int
    column: int
    rule: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column} {self.rule} {self.message}"


def lint(stacks: StackSet, *, fmt: str = "yaml") -> list[Finding]:
    """Lint every template of `stacks` as it would be written; findings sorted by file and line."""
    region = stacks.blueprint.region
    return lint_texts(stacks.render(fmt), region=region)  # type: ignore[arg-type]


def lint_paths(paths: Iterable[Path], *, region: str = "us-east-1") -> list[Finding]:
    """Lint template files (for `cfngen lint OUTDIR`); findings name the files as given."""
    texts = {}
    for path in paths:
        try:
            texts[str(path)] = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    return lint_texts(texts, region=region)


def lint_texts(texts: Mapping[str, str], *, region: str = "us-east-1") -> list[Finding]:
    """Lint named template texts with cfn-lint's full rule set plus cfngen's rules (cfngen.lint_rules)."""
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner.template.runner import run_template_by_data

    config, rules = _runner(region)
    findings: list[Finding] = []
    for name, text in texts.items():
        template, errors = decode_str(text)
        matches = errors if errors or template is None else run_template_by_data(template, config, rules)
        findings.extend(_finding(name, match) for match in matches)
    return sorted(findings)


@functools.lru_cache(maxsize=None)
def _runner(region: str) -> tuple[Any, Any]:
    """cfn-lint's configuration and rules (cfngen's own included), built once per region and process.

    Loading rules is the slow part.
    """
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner.cli import Runner

    config = ConfigMixIn(regions=[region], include_checks=["I"], append_rules=[str(RULES_DIRECTORY)])
    runner = Runner(config)
    return runner.config, runner.rules


def _finding(name: str, match: Any) -> Finding:
    return Finding(
        file=name,
        line=int(match.linenumber or 0),
        column=int(match.columnnumber or 0),
        rule=str(match.rule.id),
        severity=str(match.rule.severity),
        message=str(match.message),
    )


def to_text(findings: Iterable[Finding]) -> str:
    """One `file:line:column rule message` line per finding."""
    return "".join(f"{finding}\n" for finding in findings)


def to_json(findings: Iterable[Finding]) -> str:
    """A JSON list of findings, one object each."""
    return json.dumps([asdict(finding) for finding in findings], indent=2) + "\n"


def to_sarif(findings: Iterable[Finding]) -> str:
    """SARIF 2.1.0, the format code-scanning services of CI hosts read."""
    from cfnlint.version import __version__ as cfn_lint_version

    findings = list(findings)
    levels = {"error": "error", "warning": "warning", "informational": "note"}
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cfngen lint (cfn-lint)",
                "version": cfn_lint_version,
                "informationUri": "https://github.com/aws-cloudformation/cfn-lint",
                "rules": [{"id": rule} for rule in sorted({finding.rule for finding in findings})],
            }},
            "results": [{
                "ruleId": finding.rule,
                "level": levels.get(finding.severity, "warning"),
                "message": {"text": finding.message},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": finding.file},
                    "region": {"startLine": max(finding.line, 1), "startColumn": max(finding.column, 1)},
                }}],
            } for finding in findings],
        }],
    }
    return json.dumps(log, indent=2) + "\n"

"""Checks: cfn-lint findings, the security scanner's counts, and every suppression with its written reason.

Suppressions are read from the templates themselves (``Metadata.checkov.skip``,
``Metadata.cfn-lint.config.ignore_checks`` and ``Metadata.guard.SuppressedRules``, with the reasons cfngen
writes under ``Metadata.cfngen.lint-suppressions`` and ``Metadata.cfngen.guard-suppressions``), so they are
reported whether or not the scanners ran. The scanner (checkov) lives in its own virtualenv; it runs
only when its executable is given.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfngen.errors import UsageError
from cfngen.linting import SEVERITIES, Finding
from cfngen.report._model import TemplateSet

NO_REASON = "no reason written"


@dataclass(frozen=True)
class Suppression:
    """One check switched off, on the resources listed, for the reason given."""

    tool: str
    check: str
    reason: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class ScanResult:
    """What checkov found: counts, each failed check as "CHECK resource (file)", and the skips it applied."""

    passed: int
    failed: tuple[str, ...]
    skipped: int
    applied_skips: frozenset[tuple[str, str]] = frozenset()  # (check id, "stack/LogicalId")


@dataclass(frozen=True)
class Checks:
    """Lint and scanner results plus suppressions. `findings` is None when lint did not run."""

    findings: tuple[Finding, ...] | None
    scan: ScanResult | None
    suppressions: tuple[Suppression, ...]

    def unused(self, suppression: Suppression) -> tuple[str, ...]:
        """Resources of a checkov suppression that the scan did not report as skipped (the check did not apply)."""
        if self.scan is None or suppression.tool != "checkov":
            return ()
        return tuple(
            resource
            for resource in suppression.resources
            if (suppression.check, resource) not in self.scan.applied_skips
        )

    def unexplained(self) -> tuple[Suppression, ...]:
        """Suppressions that carry no written reason."""
        return tuple(item for item in self.suppressions if item.reason == NO_REASON)

    def lint_counts(self) -> dict[str, int]:
        """Severity -> number of findings, every severity present."""
        counts = Counter(finding.severity for finding in self.findings or ())
        return {severity: counts.get(severity, 0) for severity in SEVERITIES}


def analyse(templates: TemplateSet, findings: Iterable[Finding] | None, scan: ScanResult | None) -> Checks:
    """Combine lint findings and scan results with the suppressions written in the templates."""
    return Checks(
        findings=None if findings is None else tuple(findings), scan=scan, suppressions=suppressions(templates)
    )


def suppressions(templates: TemplateSet) -> tuple[Suppression, ...]:
    """Every checkov skip, cfn-lint ignore and cfn-guard suppression, grouped by (tool, check, reason)."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for stack in templates.stacks():
        for name, resource in sorted(stack.resources.items()):
            metadata = resource.get("Metadata") or {}
            where = f"{stack.name}/{name}"
            for skip in (metadata.get("checkov") or {}).get("skip") or []:
                reason = str(skip.get("comment") or NO_REASON)
                grouped.setdefault(("checkov", str(skip.get("id")), reason), []).append(where)
            reasons = (metadata.get("cfngen") or {}).get("lint-suppressions") or {}
            for rule in ((metadata.get("cfn-lint") or {}).get("config") or {}).get("ignore_checks") or []:
                grouped.setdefault(("cfn-lint", str(rule), str(reasons.get(rule) or NO_REASON)), []).append(where)
            guard_reasons = (metadata.get("cfngen") or {}).get("guard-suppressions") or {}
            for rule in (metadata.get("guard") or {}).get("SuppressedRules") or []:
                grouped.setdefault(("cfn-guard", str(rule), str(guard_reasons.get(rule) or NO_REASON)), []).append(
                    where
                )
    return tuple(
        Suppression(tool, check, reason, tuple(resources))
        for (tool, check, reason), resources in sorted(grouped.items())
    )


def run_checkov(texts: Mapping[str, str], executable: str | os.PathLike[str]) -> ScanResult:
    """Write the template texts to a temporary directory and scan them with checkov.

    Raises UsageError when the executable cannot be run or gives no report.
    """
    with tempfile.TemporaryDirectory(prefix="cfngen-scan-") as directory:
        for name, text in texts.items():
            (Path(directory) / name).write_text(text, encoding="utf-8")
        reports = checkov_reports(Path(directory), executable, quiet=False)
    passed = skipped = 0
    failed: list[str] = []
    applied: set[tuple[str, str]] = set()
    for report in reports:
        summary = report.get("summary") or {}
        passed += int(summary.get("passed", 0))
        skipped += int(summary.get("skipped", 0))
        results = report.get("results") or {}
        failed += [
            f"{check.get('check_id')} {check.get('resource')} ({Path(str(check.get('file_path'))).name})"
            for check in results.get("failed_checks", [])
        ]
        # checkov names a resource "AWS::Type.LogicalId" and its file "/stem.yaml"
        applied |= {
            (
                str(check.get("check_id")),
                f"{Path(str(check.get('file_path'))).stem}/{str(check.get('resource')).rsplit('.', 1)[-1]}",
            )
            for check in results.get("skipped_checks", [])
        }
    return ScanResult(passed=passed, failed=tuple(sorted(failed)), skipped=skipped, applied_skips=frozenset(applied))


def checkov_reports(directory: Path, executable: str | os.PathLike[str], *, quiet: bool = True) -> list[dict[str, Any]]:
    """checkov's JSON reports for the CloudFormation templates in `directory` (one per framework run).

    `quiet` lists failed checks only; otherwise passed and skipped checks are listed too.
    """
    try:
        result = subprocess.run(
            [
                str(executable),
                "--directory",
                str(directory),
                "--framework",
                "cloudformation",
                "--output",
                "json",
                *(["--quiet"] if quiet else []),
                "--skip-download",
                "--compact",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
    except OSError as exc:
        raise UsageError(f"cannot run checkov ({executable}): {exc.strerror}") from None
    # checkov exits 1 when a check fails, with its report on stdout; an exit without a report is a run that failed,
    # not a scan that found nothing.
    if result.returncode not in (0, 1) or not result.stdout.strip():
        detail = result.stderr.strip()[-2000:] or "no report on standard output"
        raise UsageError(f"checkov failed ({executable}, exit {result.returncode}): {detail}")
    try:
        reports = json.loads(result.stdout)
    except ValueError:
        raise UsageError(f"checkov gave no JSON report: {result.stdout[:500]}") from None
    reports = reports if isinstance(reports, list) else [reports]
    return [report for report in reports if isinstance(report, dict) and "results" in report]

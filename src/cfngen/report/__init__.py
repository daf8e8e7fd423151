"""The review report: what a platform team needs to approve a blueprint, on one page.

    report = cfngen.review(stacks, against="main")
    Path("review.md").write_text(report.markdown())
    Path("review.html").write_text(report.html())

Every section is computed from the generated templates (see
:class:`cfngen.report._model.TemplateSet`), so the same code reviews what cfngen
generates now and what a directory or a git ref holds from before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cfngen.linting import Finding, lint
from cfngen.report import _access as access
from cfngen.report import _checks as checks
from cfngen.report import _cost as cost
from cfngen.report import _data_safety as data_safety
from cfngen.report import _database_users, _preflight
from cfngen.report import _delivery as delivery
from cfngen.report import _diagram as diagram
from cfngen.report import _exposure as exposure
from cfngen.report import _quotas as quotas
from cfngen.report._changes import Changes, compare
from cfngen.report._document import Report
from cfngen.report._model import TemplateSet
from cfngen.report._template_diff import read_blueprint_templates
from cfngen.synth import StackSet

__all__ = ["Report", "TemplateSet", "assemble", "review"]


def review(
    stacks: StackSet,
    *,
    against: StackSet | str | os.PathLike[str] | None = None,
    findings: Iterable[Finding] | None = None,
    checkov: str | os.PathLike[str] | None = None,
    directory: str | os.PathLike[str] | None = None,
) -> Report:
    """Review the templates of `stacks`; returns a Report that renders Markdown and HTML.

    `against` adds a change summary: an earlier StackSet, a directory of
    templates, or a git revision whose `directory` (default
    ``templates/<name>/``, relative to the working directory) is read as
    :func:`cfngen.report._template_diff` reads it. `findings` are cfn-lint results when the
    caller has them already (they are computed otherwise). `checkov` is the
    scanner's executable; without it the report lists the suppressions but no
    scan counts. Raises UsageError for an `against` that is neither a directory
    nor a revision or holds no templates of this blueprint, and when checkov cannot run or fails.
    """
    templates = TemplateSet.from_stack_set(stacks)
    lint_findings = lint(stacks) if findings is None else list(findings)
    scan = checks.run_checkov(stacks.render("yaml"), checkov) if checkov is not None else None
    compared = None if against is None else _compare(stacks, against, directory)
    return assemble(
        templates,
        region=stacks.blueprint.region,
        findings=lint_findings,
        scan=scan,
        changes=compared,
        preflight=_preflight.analyse(stacks.blueprint),
    )


def assemble(
    templates: TemplateSet,
    *,
    region: str,
    findings: Iterable[Finding] | None = None,
    scan: checks.ScanResult | None = None,
    changes: Changes | None = None,
    preflight: _preflight.Preflight | None = None,
) -> Report:
    """The report of any template set (generated, or read from a directory or git); `findings` None = lint not run;
    `preflight` None = no blueprint to check (templates read from a directory or git)."""
    found_exposure = exposure.analyse(templates)
    highlighted = frozenset(path.stack for path in found_exposure.paths if path.kind != "public IP")
    return Report(
        name=templates.name,
        region=region,
        diagram=diagram.build(templates, highlighted=highlighted),
        exposure=found_exposure,
        access=access.analyse(templates),
        safety=data_safety.analyse(templates),
        checks=checks.analyse(templates, findings, scan),
        cost=cost.estimate(templates),
        quotas=quotas.analyse(templates),
        changes=changes,
        delivery=delivery.analyse(templates),
        builds=delivery.builds(templates),
        preflight=preflight,
        database_users=_database_users.analyse(templates),
    )


def _compare(
    stacks: StackSet, against: StackSet | str | os.PathLike[str], directory: str | os.PathLike[str] | None
) -> Changes:
    if isinstance(against, StackSet):
        old, label = against.render("yaml"), "the given templates"
    else:
        folder = Path(directory) if directory is not None else Path("templates") / stacks.blueprint.name
        old = read_blueprint_templates(str(against), folder, stacks.blueprint.name)
        label = str(against) if Path(against).is_dir() else f"git {against}"
    return compare(
        old, stacks.render("yaml"), name=stacks.blueprint.name, region=stacks.blueprint.region, against=label
    )

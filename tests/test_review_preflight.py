"""The review lists the blueprint's preflight warnings in its summary, and the account setting that
``cluster.awsvpc_trunking`` needs (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html)."""

from __future__ import annotations

import pytest

from cfngen import load_blueprint, review, synthesize
from cfngen.blueprint import preflight_warnings
from cfngen.cli import main
from cfngen.report._document import markdown_text
from tests.conftest import ROOT

DEMO = ROOT / "blueprints" / "demo.yaml"
TRUNKING = ("cluster.instance_type=m6i.large", "cluster.awsvpc_trunking=true")


def _summary_lines(markdown: str) -> list[str]:
    """The bullet list at the top of the report, before its first section."""
    head = markdown.split("\n## ", 1)[0]
    return [line for line in head.splitlines() if line.startswith("- **")]


def test_the_summary_lists_every_preflight_warning() -> None:
    blueprint = load_blueprint(DEMO)
    warnings = preflight_warnings(blueprint)
    assert warnings, "the demo cannot scale to its maxima: the issue's example of a warning"
    report = review(synthesize(blueprint))
    (line,) = [line for line in _summary_lines(report.markdown()) if line.startswith("- **Preflight**")]
    assert all(markdown_text(str(warning)) in line for warning in warnings)
    assert f"preflight: {warnings[0]}" in report.warnings()


def test_a_summary_cut_to_one_comment_keeps_the_preflight_warnings() -> None:
    report = review(synthesize(load_blueprint(DEMO)))
    summary = report.markdown(max_chars=len(report.full_markdown) // 2)
    assert "(summary)" in summary
    warnings_section = summary.split("## Warnings", 1)[1].split("\n## ", 1)[0]
    assert "preflight: cluster.max\\_size: the services cannot all scale to scaling.max" in warnings_section


def test_trunking_on_states_the_account_setting_it_needs_with_the_command_and_page() -> None:
    blueprint = load_blueprint(DEMO, overrides=TRUNKING)
    markdown = review(synthesize(blueprint)).markdown()
    (line,) = [line for line in _summary_lines(markdown) if line.startswith("- **Account setting**")]
    assert "`awsvpcTrunking`" in line
    assert (
        f"`aws ecs put-account-setting-default --name awsvpcTrunking --value enabled --region {blueprint.region}`"
        in line
    )
    assert "put-account-setting --name awsvpcTrunking --value enabled --principal-arn" in line
    assert "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html" in line


def test_trunking_off_says_nothing_about_it() -> None:
    markdown = review(synthesize(load_blueprint(DEMO))).markdown()
    assert "awsvpcTrunking" not in markdown and "Account setting" not in markdown


def test_cli_review_prints_the_warnings_and_writes_them_into_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(DEMO)]) == 0
    captured = capsys.readouterr()
    assert "warning: cluster.max_size: the services cannot all scale" in captured.err
    assert "- **Preflight**: **1 warning**" in captured.out

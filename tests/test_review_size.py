"""The Markdown review fits one pull-request comment at any size: above --max-chars it becomes its summary, and the
full report goes to the HTML page it links (GitHub refuses comments over 65,536 characters:
https://docs.github.com/en/rest/issues/comments#create-an-issue-comment documents the body, the limit is the
"body is too long (maximum is 65536 characters)" error)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from cfngen import load_blueprint, review, synthesize
from cfngen.cli import main
from cfngen.report import _changes as changes
from cfngen.report import assemble
from cfngen.report._document import MAX_COMMENT_CHARS
from cfngen.report._model import TemplateSet
from tests.conftest import ROOT
from tests.review_goldens import edited, fixture_templates

sys.path.insert(0, str(ROOT / "benchmarks"))
from run import generate_blueprint  # noqa: E402 -- the benchmarks' generated blueprints of N services

SUMMARY_SECTIONS = (
    "## Decisions for the reviewer",
    "## Warnings",
    "## Exposure",
    "## IAM and data-safety changes",
    "## Estimated monthly cost",
)


@pytest.mark.parametrize("services", [1, 12])
def test_the_command_writes_a_comment_sized_markdown_and_the_full_report_beside_it(
    services: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blueprint = generate_blueprint(tmp_path / "blueprint", services)
    output = tmp_path / "out" / "review.md"
    assert main(["review", str(blueprint), "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    assert len(text) <= MAX_COMMENT_CHARS
    details = tmp_path / "out" / "review.html"
    if services == 1:  # small enough: the whole report, nothing else written
        assert "## 1. Architecture" in text and "(summary)" not in text
        assert not details.exists()
        return
    assert text.startswith(f"# Review of `bench-{services}` (summary)")
    assert all(section in text for section in SUMMARY_SECTIONS)
    assert "[`review.html`](review.html)" in text
    html = details.read_text(encoding="utf-8")
    assert "3. Who may do what" in html and "svc-0011" in html  # the per-resource details went there


def test_fifty_services_fit_and_the_lists_say_what_they_leave_out(tmp_path: Path) -> None:
    report = review(synthesize(load_blueprint(generate_blueprint(tmp_path, 50))), findings=[])
    assert len(report.full_markdown) > 5 * MAX_COMMENT_CHARS
    text = report.markdown(max_chars=MAX_COMMENT_CHARS, details="review.html")
    assert len(text) <= MAX_COMMENT_CHARS and all(section in text for section in SUMMARY_SECTIONS)
    assert "svc-0049" in report.full_markdown
    short = report.markdown(max_chars=8000, details="review.html")
    assert len(short) <= 8000
    assert "more ways in (in the full report)" in short


def test_a_limit_not_even_the_summary_fits_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blueprint = generate_blueprint(tmp_path / "blueprint", 1)
    assert main(["review", str(blueprint), "--max-chars", "300", "-o", str(tmp_path / "review.md")]) == 2
    assert "--max-chars 300 is too few" in capsys.readouterr().err
    assert not (tmp_path / "review.md").exists()


def _texts(templates: TemplateSet) -> dict[str, str]:
    return {f"{stack.name}.json": json.dumps(stack.template) for stack in templates.stacks()}


def test_the_summary_puts_data_loss_first_and_lists_iam_changes() -> None:
    fixture = fixture_templates()

    def retire_state(template: dict[str, Any]) -> None:
        del template["Resources"]["SessionTable"]

    def widen_task_role(template: dict[str, Any]) -> None:
        template["Resources"]["ServiceATaskRole"]["Properties"].setdefault("Policies", []).append(
            {
                "PolicyName": "read",
                "PolicyDocument": {
                    "Statement": [
                        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-bucket/*"}
                    ]
                },
            }
        )

    new = edited(edited(fixture, "state", retire_state), "service-service-a", widen_task_role)
    found = changes.compare(_texts(fixture), _texts(new), name="fixture", region="us-east-1", against="main")
    report = assemble(new, region="us-east-1", changes=found)
    text = report.markdown(max_chars=len(report.full_markdown) - 1, details="review.html")
    decisions = text.split("## Decisions for the reviewer")[1].split("## Warnings")[0]
    assert "removed state/SessionTable (AWS::DynamoDB::Table): ⚠️ stateful: its data is deleted" in decisions
    assert (
        "**IAM permissions gained:**\n\n- role service-service-a/ServiceATaskRole: Allow s3:GetObject on s3 "
        "shared-bucket/\\*"
    ) in text


def test_the_full_report_of_a_summary_is_an_html_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["review", str(ROOT / "blueprints" / "dev.yaml"), "-o", str(tmp_path / "r.md")]
    assert main([*arguments, "--details", str(tmp_path / "full.md")]) == 2
    assert "name the file *.html" in capsys.readouterr().err and not (tmp_path / "r.md").exists()

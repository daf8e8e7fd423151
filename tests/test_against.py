"""`diff` and `review` refuse a comparison with nothing, and a checkov run that fails is a failure, not a clean scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfngen import load_blueprint, synthesize
from cfngen.cli import main
from tests.conftest import ROOT

DEV = ROOT / "blueprints" / "dev.yaml"
PROD = ROOT / "blueprints" / "prod.yaml"


@pytest.mark.parametrize("command", ["diff", "review"])
@pytest.mark.parametrize(
    ("place", "message"),
    [
        ("missing", "neither a directory nor a revision"),
        ("empty", "no templates of blueprint 'microservices-dev' in"),
        ("other", "the templates in {path} are of blueprint 'microservices-prod', not 'microservices-dev'"),
    ],
)
def test_against_nothing_of_this_blueprint_exits_2(
    command: str, place: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / place
    if place != "missing":
        path.mkdir()
    if place == "other":
        synthesize(load_blueprint(PROD)).write(path)
    assert main([command, str(DEV), "--against", str(path)]) == 2
    captured = capsys.readouterr()
    assert message.format(path=path) in captured.err and captured.out == ""


@pytest.mark.parametrize("checkov", ["/bin/false", "/bin/true"])
def test_a_checkov_run_without_a_report_is_a_failure(
    checkov: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "review.md"
    assert main(["review", str(DEV), "--checkov", checkov, "-o", str(output)]) == 2
    assert (
        f"checkov failed ({checkov}, exit {0 if checkov == '/bin/true' else 1}): no report" in capsys.readouterr().err
    )
    assert not output.exists()

"""`lint BLUEPRINT --format sarif|json` points at files that exist, at the lines it names: the committed template
when it is the one linted, else a copy written under the output directory the command names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cfngen.cli import lint as lint_command
from cfngen.cli import main
from cfngen.linting import Finding
from tests.conftest import ROOT

LINE = 3


def _finding_in(file: str) -> list[Finding]:
    return [Finding(file, LINE, 1, "W9999", "warning", "a finding for the test")]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "blueprints", tmp_path / "blueprints")
    shutil.copytree(ROOT / "services", tmp_path / "services")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lint_command, "lint", lambda stacks, **_: _finding_in("network.yaml"))
    return tmp_path


def _located(capsys: pytest.CaptureFixture[str], fmt: str) -> tuple[Path, int, str]:
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    if fmt == "sarif":
        location = printed["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        return Path(location["artifactLocation"]["uri"]), location["region"]["startLine"], captured.err
    return Path(printed[0]["file"]), printed[0]["line"], captured.err


@pytest.mark.parametrize("fmt", ["sarif", "json"])
def test_findings_point_at_the_committed_template_when_it_is_current(
    workspace: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "blueprints/dev.yaml"]) == 0
    capsys.readouterr()
    assert main(["lint", "blueprints/dev.yaml", "--format", fmt]) == 1
    path, line, _ = _located(capsys, fmt)
    assert path == Path("templates/microservices-dev/network.yaml") and path.is_file() and line == LINE
    assert not (workspace / ".cfngen").exists()


@pytest.mark.parametrize("committed", ["missing", "stale"])
def test_findings_point_at_templates_written_under_the_named_directory(
    workspace: Path, committed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if committed == "stale":
        assert main(["synth", "blueprints/dev.yaml"]) == 0
        stale = workspace / "templates" / "microservices-dev" / "network.yaml"
        stale.write_text("# an older version\n" + stale.read_text())
        capsys.readouterr()
    assert main(["lint", "blueprints/dev.yaml", "--format", "sarif", "-o", "out"]) == 1
    path, line, err = _located(capsys, "sarif")
    assert path == Path("out/network.yaml") and path.is_file() and line == LINE
    assert "point at out/" in err
    assert main(["lint", "blueprints/dev.yaml", "--format", "json"]) == 1
    path, _, _ = _located(capsys, "json")
    assert path == Path(".cfngen/lint/microservices-dev/network.yaml") and path.is_file()

"""Terminal output: rich tables and colour on a terminal, plain text in pipes, JSON for scripts, progress on stderr."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from cfngen.cli import main, output
from tests.conftest import ROOT

DEV = ROOT / "blueprints" / "dev.yaml"
ESC = "\x1b["


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rich treat the captured stdout/stderr as a colour terminal."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_plain_table_aligns_columns() -> None:
    text = output.plain_table(
        [output.Column("file"), output.Column("resources", "right")],
        [["root.yaml", 3], [output.styled("network.yaml", "red"), 23]],
        title="t",
    )
    assert text == "t\n  file          resources\n  root.yaml             3\n  network.yaml         23\n"


def test_synth_summary_is_plain_text_in_a_pipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(DEV), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ESC not in out
    lines = out.splitlines()
    written = len(list(tmp_path.glob("*.yaml")))
    assert lines[0] == f"microservices-dev: {written} templates in {tmp_path}"
    assert lines[1].split() == ["file", "resources"]
    assert lines[2].split()[0] == "root.yaml" and lines[-1].split()[0] == "total"


def test_synth_summary_is_a_coloured_table_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], terminal: None
) -> None:
    assert main(["synth", str(DEV), "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ESC in out and "─" in out and "network.yaml" in out


def test_synth_json_counts_what_was_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(DEV), "-o", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["templates"][0]["file"] == "root.yaml"
    assert {entry["file"] for entry in data["templates"]} == {path.name for path in tmp_path.glob("*.yaml")}
    assert data["resources"] == sum(entry["resources"] for entry in data["templates"])
    assert main(["synth", str(DEV), "-o", str(tmp_path), "--check", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"outdir": str(tmp_path), "current": True, "differences": []}
    (tmp_path / "keys.yaml").write_text("changed\n", encoding="utf-8")
    assert main(["synth", str(DEV), "-o", str(tmp_path), "--check", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["differences"] == [f"stale:   {tmp_path / 'keys.yaml'}"]


def test_lint_findings_plain_and_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      Nope: 1\n", encoding="utf-8"
    )
    assert main(["lint", str(tmp_path)]) == 1
    plain = capsys.readouterr().out
    assert ESC not in plain
    assert plain.splitlines()[0].startswith(f"{tmp_path / 'bad.yaml'}:5:7 E3002 ")
    assert plain.splitlines()[-1] == "1 finding"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["lint", str(tmp_path)]) == 1
    coloured = capsys.readouterr().out
    assert ESC in coloured and "E3002" in coloured and "severity" in coloured
    assert main(["lint", str(tmp_path), "--json"]) == 1
    assert [finding["rule"] for finding in json.loads(capsys.readouterr().out)] == ["E3002"]


def test_progress_shows_only_for_slow_steps(monkeypatch: pytest.MonkeyPatch, terminal: None) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    monkeypatch.setattr(output, "PROGRESS_DELAY_S", 3600.0)
    with output.progress("quick step"):
        pass
    assert stderr.getvalue() == ""
    monkeypatch.setattr(output, "PROGRESS_DELAY_S", 0.0)
    shown = threading.Event()
    with output.progress("slow step"):
        for _ in range(200):  # wait for the spinner's first frame rather than for a fixed time
            if "slow step" in stderr.getvalue():
                shown.set()
                break
            threading.Event().wait(0.05)
    assert shown.is_set()


def test_progress_is_silent_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    monkeypatch.setattr(output, "PROGRESS_DELAY_S", 0.0)
    with output.progress("step"):
        threading.Event().wait(0.2)
    assert stderr.getvalue() == ""

"""`cfngen synth` and `cfngen lint` from the outside: files, exit codes, formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cfngen.cli import main
from tests.conftest import ROOT

DEMO = ROOT / "blueprints" / "demo.yaml"


def test_synth_writes_root_and_one_file_per_nested_stack(tmp_path: Path, demo_stacks: object) -> None:
    assert main(["synth", str(DEMO), "-o", str(tmp_path)]) == 0
    names = sorted(path.name for path in tmp_path.iterdir())
    assert "root.yaml" in names
    assert set(names) == {"root.yaml"} | {f"{child.name}.yaml" for child in demo_stacks.children}  # type: ignore[attr-defined]


def test_synth_json_format(tmp_path: Path) -> None:
    assert main(["synth", str(DEMO), "-o", str(tmp_path), "--format", "json"]) == 0
    root = json.loads((tmp_path / "root.json").read_text())
    urls = [resource["Properties"]["TemplateURL"] for resource in root["Resources"].values()]
    assert urls and all(url.endswith(".json") and (tmp_path / url).exists() for url in urls)


def test_synth_check_passes_on_fresh_output_and_fails_on_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(DEMO), "-o", str(tmp_path)]) == 0
    assert main(["synth", str(DEMO), "-o", str(tmp_path), "--check"]) == 0
    network = tmp_path / "network.yaml"
    network.write_text(network.read_text() + "# edited by hand\n")
    capsys.readouterr()
    assert main(["synth", str(DEMO), "-o", str(tmp_path), "--check"]) == 1
    assert "stale:   " + str(network) in capsys.readouterr().out


def test_synth_removes_files_it_generated_before_but_not_others(tmp_path: Path) -> None:
    assert main(["synth", str(DEMO), "-o", str(tmp_path)]) == 0
    old = tmp_path / "service-gone.yaml"
    shutil.copy(tmp_path / "keys.yaml", old)
    mine = tmp_path / "notes.yaml"
    mine.write_text("hand: written\n")
    assert main(["synth", str(DEMO), "-o", str(tmp_path)]) == 0
    assert not old.exists()
    assert mine.exists()


def test_lint_blueprint_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(DEMO)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 findings")


def test_lint_directory_with_a_broken_template_reports_file_line_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text(
        "Resources:\n"
        "  Bucket:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      BucketNme: x\n",
    )
    assert main(["lint", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'bad.yaml'}:5:" in out
    assert "E3002" in out


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_lint_machine_formats(tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.yaml").write_text("Resources:\n  Bucket:\n    Type: AWS::S3::Buckett\n")
    assert main(["lint", str(tmp_path), "--format", fmt]) == 1
    document = json.loads(capsys.readouterr().out)
    if fmt == "json":
        assert document[0]["rule"].startswith("E") and document[0]["line"] == 3
    else:
        result = document["runs"][0]["results"][0]
        assert result["level"] == "error"
        assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_lint_missing_target_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--help"])
    assert exit_info.value.code == 0
    assert "BLUEPRINT" in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synthesise"])
    assert exit_info.value.code == 2

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


def test_synth_check_passes_on_fresh_output_and_fails_on_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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


def test_lint_directory_with_a_broken_template_reports_file_line_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketNme: x\n",
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


MINIMAL = ROOT / "tests" / "blueprints" / "minimal.yaml"


def _one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]  # preflight warnings
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("cfngen: error: "), err
    return lines[0]


def test_synth_to_an_existing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "templates"
    target.write_text("not a folder\n")
    assert main(["synth", str(MINIMAL), "-o", str(target)]) == 2
    assert "is not a directory" in _one_line_usage_error(capsys)
    assert target.read_text() == "not a folder\n"


def test_synth_to_a_path_that_cannot_be_made_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["synth", str(MINIMAL), "-o", str(tmp_path / "file" / "templates")]) == 2
    assert "cannot write the templates to" in _one_line_usage_error(capsys)


def test_synth_never_overwrites_a_file_it_did_not_generate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`-o .` next to a blueprint called network.yaml overwrote the blueprint with a template."""
    blueprint = tmp_path / "network.yaml"
    shutil.copy(MINIMAL, blueprint)
    before = blueprint.read_text()
    assert main(["synth", str(blueprint), "-o", str(tmp_path)]) == 2
    assert f"{blueprint}: is not a template cfngen generated; refusing to overwrite it" in _one_line_usage_error(capsys)
    assert blueprint.read_text() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["network.yaml"]


def test_synth_in_one_format_removes_the_other_formats_generated_files(tmp_path: Path) -> None:
    assert main(["synth", str(MINIMAL), "-o", str(tmp_path)]) == 0
    mine = tmp_path / "notes.json"
    mine.write_text('{"hand": "written"}\n')
    assert main(["synth", str(MINIMAL), "-o", str(tmp_path), "--format", "json"]) == 0
    assert not list(tmp_path.glob("*.yaml"))
    assert mine.exists()
    assert main(["synth", str(MINIMAL), "-o", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.glob("*.json")) == ["notes.json"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_lint_directory_uses_the_region_recorded_by_synth(
    tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["synth", str(DEMO), "-o", str(tmp_path), "--format", fmt]) == 0  # the demo is in us-west-2
    regions: list[str] = []

    def record(paths: object, *, region: str, **options: object) -> list[object]:
        regions.append(region)
        return []

    monkeypatch.setattr("cfngen.cli.lint.lint_paths", record)
    assert main(["lint", str(tmp_path)]) == 0
    assert main(["lint", str(tmp_path), "--region", "eu-west-1"]) == 0
    assert regions == ["us-west-2", "eu-west-1"]


def test_synth_and_lint_print_preflight_warnings_and_exit_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The demo's two services may scale to 10 tasks each; its 6 t3.small instances hold 12."""
    assert main(["synth", str(DEMO), "-o", str(tmp_path)]) == 0
    assert "warning: cluster.max_size: the services cannot all scale to scaling.max" in capsys.readouterr().err
    assert main(["lint", str(DEMO)]) == 0
    assert "warning: cluster.max_size:" in capsys.readouterr().err


def test_local_aws_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["local-aws", "--port", "70000"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "expected a port number from 0 (any free port) to 65535, found '70000'" in err
    assert "Traceback" not in err

"""`cfngen review` and `cfngen schema` from the command line, and the schema against the example files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from cfngen import json_schema
from cfngen.cli import main
from tests.conftest import EXAMPLES, ROOT, example_ids


def test_review_prints_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(ROOT / "blueprints" / "dev.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Review of `microservices-dev`") and "```mermaid" in out


def test_review_writes_html_and_compares_with_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blueprint = str(ROOT / "blueprints" / "dev.yaml")
    assert main(["synth", blueprint, "-o", str(tmp_path / "old")]) == 0
    assert main(["review", blueprint, "--against", str(tmp_path / "old"), "-o", str(tmp_path / "review.html")]) == 0
    html = (tmp_path / "review.html").read_text()
    assert "Changes against" in html and "No resource, permission or exposure differs." in html


def test_review_of_a_bad_blueprint_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nservices: []\n")
    assert main(["review", str(bad)]) == 2
    assert "services" in capsys.readouterr().err


def test_review_against_something_unknown_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not a git repository
    assert main(["review", str(ROOT / "blueprints" / "dev.yaml"), "--against", "v0.0.0"]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_review_to_an_unknown_format_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", str(ROOT / "blueprints" / "dev.yaml"), "-o", str(tmp_path / "review.pdf")]) == 2
    assert "name the file *.md or *.html" in capsys.readouterr().err


def test_schema_prints_the_blueprint_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema()
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["additionalProperties"] is False


def test_schema_writes_the_service_schema(tmp_path: Path) -> None:
    assert main(["schema", "--service", "-o", str(tmp_path / "service.schema.json")]) == 0
    assert json.loads((tmp_path / "service.schema.json").read_text())["title"] == "cfngen service"


@pytest.mark.parametrize(
    "blueprint_path", [*EXAMPLES, *sorted((ROOT / "blueprints" / "base").glob("*.yaml"))], ids=[*example_ids(), "base"]
)
def test_example_blueprints_layers_and_bases_satisfy_the_schema(blueprint_path: Path) -> None:
    jsonschema.Draft202012Validator(json_schema()).validate(yaml.safe_load(blueprint_path.read_text()))


@pytest.mark.parametrize(
    "service_path", sorted((ROOT / "services").glob("*/service.yaml")), ids=lambda p: p.parent.name
)
def test_example_services_satisfy_the_service_schema(service_path: Path) -> None:
    jsonschema.Draft202012Validator(json_schema("service")).validate(yaml.safe_load(service_path.read_text()))


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"name": "x", "services": [{"name": "web", "port": 80, "colour": "blue"}]}, "colour"),
        ({"name": "x", "services": [{"name": "web", "port": 80, "cpu": 300}]}, "300"),
        ({"name": "x", "services": ["svc.yaml"], "logs": {"retention_days": 2}}, "2"),
        ({"name": "Bad Name", "services": ["svc.yaml"]}, "Bad Name"),
        ({"extends": 3}, "3"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(document: dict[str, object], problem: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=problem):
        jsonschema.Draft202012Validator(json_schema()).validate(document)


def test_review_with_checkov_reports_its_counts(tmp_path: Path) -> None:
    import os

    checkov = os.environ.get("CFNGEN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    output = tmp_path / "review.md"
    assert main(["review", str(ROOT / "blueprints" / "dev.yaml"), "--checkov", checkov, "-o", str(output)]) == 0
    text = output.read_text()
    assert "checkov: " in text and " passed, 0 failed" in text and "checkov not run" not in text

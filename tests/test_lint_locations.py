"""`lint BLUEPRINT --format sarif|json` points at files that exist, at the lines it names: the committed template
when it is the one linted, else a copy written under the output directory the command names."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cfngen.blueprint import Blueprint, SourceMap, load_blueprint, load_blueprint_with_source, logical_name
from cfngen.blueprint._overrides import annotation_at
from cfngen.builders._fields import ANY, NAMED, OF_SERVICE, ORIGINS, SERVICE
from cfngen.cli import lint as lint_command
from cfngen.cli import main
from cfngen.linting import Finding
from cfngen.linting._blueprint_lines import in_blueprint
from cfngen.synth import synthesize
from tests.conftest import EXAMPLES, ROOT

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


@pytest.fixture
def copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example blueprints and service files in a folder of their own, linted for real."""
    shutil.copytree(ROOT / "blueprints", tmp_path / "blueprints")
    shutil.copytree(ROOT / "services", tmp_path / "services")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_finding_on_a_value_a_service_file_set_points_at_that_line(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cfn-lint's E1029 on a container's environment variable points at the variable in the service file that
    dev.yaml includes through the base it extends, not at the task definition in the generated template."""
    service_file = copied / "services" / "service-a" / "service.yaml"
    lines = service_file.read_text().splitlines()
    at = lines.index("  LOG_LEVEL: info") + 1
    lines.insert(at, "  REGION: ${AWS::Region}")
    service_file.write_text("\n".join(lines) + "\n")
    assert main(["lint", "blueprints/dev.yaml", "--format", "sarif"]) == 1
    printed = json.loads(capsys.readouterr().out)
    (result,) = printed["runs"][0]["results"]
    assert result["ruleId"] == "E1029"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "services/service-a/service.yaml"
    assert location["region"] == {"startLine": at + 1, "startColumn": 3}
    assert "(in service-service-a.yaml:" in result["message"]["text"]
    assert not (copied / ".cfngen").exists()  # nothing points at a template, so none is written


def test_a_value_set_on_the_command_line_keeps_the_finding_on_the_template(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--set` has no line in a file: the finding points at the template written for it."""
    arguments = [
        "lint",
        "blueprints/dev.yaml",
        "--format",
        "json",
        "--set",
        "services.service-a.environment.R=${AWS::Region}",
    ]
    assert main(arguments) == 1
    (finding,) = json.loads(capsys.readouterr().out)
    assert finding["file"] == ".cfngen/lint/microservices-dev/service-service-a.yaml"
    assert finding["path"][:2] == ["Resources", "ServiceATaskDefinition"]
    assert Path(finding["file"]).is_file()


def _template_finding(file: str, *path: str | int) -> Finding:
    return Finding(file, 7, 5, "W9999", "warning", "a finding for the test", path=path)


def test_findings_move_to_the_written_field_the_nearest_enclosing_one_or_nowhere(
    copied: Path, dev_source: tuple[Blueprint, SourceMap]
) -> None:
    blueprint, source = dev_source
    stacks = synthesize(blueprint)
    cluster = ("Resources", "DatabaseCluster", "Properties")
    moved = {
        finding.message: finding
        for finding in in_blueprint(
            [
                dataclasses.replace(_template_finding("database.yaml", *cluster, "BackupRetentionPeriod"), message="a"),
                dataclasses.replace(_template_finding("database.yaml", *cluster, "StorageEncrypted"), message="b"),
                dataclasses.replace(_template_finding("keys.yaml", "Resources", "LogsKey"), message="c"),
                dataclasses.replace(
                    _template_finding("load-balancer.yaml", "Resources", "ServiceBTestListener", "Properties", "Port"),
                    message="d",
                ),
            ],
            stacks,
            source,
        )
    }
    platform = (copied / "blueprints" / "base" / "platform.yaml").read_text().splitlines()
    dev = (copied / "blueprints" / "dev.yaml").read_text().splitlines()
    service_b = (copied / "services" / "service-b" / "service.yaml").read_text().splitlines()
    # written in the base dev.yaml extends
    assert (moved["a (in database.yaml:7)"].file, moved["a (in database.yaml:7)"].line) == (
        "blueprints/base/platform.yaml",
        platform.index("  backup_retention_days: 7") + 1,
    )
    # no field sets encryption: the database section, where dev.yaml (the last layer) writes it
    assert (moved["b (in database.yaml:7)"].file, moved["b (in database.yaml:7)"].line) == (
        "blueprints/dev.yaml",
        dev.index("database:") + 1,
    )
    # no blueprint field shapes the keys stack: the template
    assert (moved["c"].file, moved["c"].line, moved["c"].path) == ("keys.yaml", 7, ("Resources", "LogsKey"))
    # a per-service resource of a platform stack: that service's field
    assert (moved["d (in load-balancer.yaml:7)"].file, moved["d (in load-balancer.yaml:7)"].line) == (
        "services/service-b/service.yaml",
        next(index for index, line in enumerate(service_b, 1) if line.startswith("test_listener_port:")),
    )


@pytest.fixture
def dev_source(copied: Path) -> tuple[Blueprint, SourceMap]:
    return load_blueprint_with_source("blueprints/dev.yaml")


def test_every_origin_names_a_blueprint_field_and_a_resource_the_builders_make() -> None:
    """The table cannot drift from the model or the builders: each field exists, each named resource is made
    (with a value at its property path) by some example blueprint."""
    made: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    services: list[str] = []
    for example in EXAMPLES:
        blueprint = load_blueprint(example)
        services += [logical_name(service.name) for service in blueprint.services]
        for child in synthesize(blueprint).children:
            kind = child.name.removesuffix(f"-{child.service}") if child.service else child.name.rstrip("-0123456789")
            made.setdefault(kind, []).extend(child.template.to_dict()["Resources"].items())
    for origin in ORIGINS:
        field = [
            part for step in origin.field if step != NAMED for part in (SERVICE_0 if step == OF_SERVICE else [step])
        ]
        assert annotation_at(Blueprint, field) is not None, origin
        if origin.resource == ANY:
            continue
        patterns = (
            [origin.resource.replace(SERVICE, name) for name in services]
            if origin.resource.startswith(SERVICE)
            else [origin.resource]
        )
        kinds = list(made) if origin.stack == ANY else [origin.stack]
        assert any(
            fnmatch.fnmatchcase(logical_id, pattern) and _reaches(resource.get("Properties", {}), origin.properties)
            for kind in kinds
            for logical_id, resource in made[kind]
            for pattern in patterns
        ), origin


SERVICE_0 = ["services", 0]


def _reaches(value: Any, steps: tuple[str, ...]) -> bool:
    for step in steps:
        if step in (ANY, NAMED) and isinstance(value, list) and value:
            value = value[0]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return False
    return True

"""`cfngen init`: a scaffold that synthesizes and lints clean, from flags or prompts, never overwriting."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cfngen import Answers, UsageError, lint, load_blueprint, scaffold, synthesize
from cfngen.cli import main


class TerminalInput(io.StringIO):
    """Typed answers, on what looks like a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("database", [False, True], ids=["no-database", "database"])
def test_the_scaffold_synthesizes_and_lints_clean(tmp_path: Path, database: bool) -> None:
    written = scaffold(
        tmp_path,
        Answers(
            name="shop", region="eu-west-1", service="orders", port=3000, health_check_path="/ready", database=database
        ),
    )
    assert written == [tmp_path / "blueprints" / "shop.yaml", tmp_path / "services" / "orders" / "service.yaml"]
    blueprint = load_blueprint(written[0])
    assert (blueprint.name, blueprint.region) == ("shop", "eu-west-1")
    (service,) = blueprint.services
    assert (service.name, service.port, service.database) == ("orders", 3000, database)
    assert service.health_check is not None and service.health_check.path == "/ready"
    assert (blueprint.database is not None) == database
    assert [str(finding) for finding in lint(synthesize(blueprint))] == []


def test_flags_without_prompts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "Team_Platform"
    assert (
        main(["init", str(target), "--no-input", "--service", "api", "--port", "9000", "--health-check-path", "none"])
        == 0
    )
    blueprint = load_blueprint(target / "blueprints" / "team-platform.yaml")  # the name comes from DIR
    assert blueprint.services[0].health_check is None and blueprint.services[0].port == 9000
    assert blueprint.database is None
    out = capsys.readouterr().out
    assert f"cd {target} && cfngen synth blueprints/team-platform.yaml" in out


def test_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = tmp_path / "services" / "web" / "service.yaml"
    service.parent.mkdir(parents=True)
    service.write_text("mine\n", encoding="utf-8")
    assert main(["init", str(tmp_path), "--name", "shop", "--no-input"]) == 2
    assert f"refusing to overwrite {service}" in capsys.readouterr().err
    assert service.read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "blueprints").exists()  # nothing written at all
    with pytest.raises(UsageError):
        scaffold(tmp_path, Answers(name="shop"))


def test_bad_flags_name_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path), "--name", "Shop!", "--no-input"]) == 2
    assert "--name Shop!: String should match pattern" in capsys.readouterr().err
    assert main(["init", str(tmp_path), "--name", "shop", "--region", "mars", "--no-input"]) == 2
    assert "--region mars:" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_prompts_ask_for_what_flags_omit_and_insist_on_valid_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = (
        "\n".join(
            [
                "Bad Name",  # name: rejected by the schema, asked again
                "billing",  # name
                "",  # region: default
                "99999",  # port: out of range, asked again
                "7000",  # port
                "/status",  # health check
                "y",  # database
            ]
        )
        + "\n"
    )
    monkeypatch.setattr("sys.stdin", TerminalInput(answers))
    assert main(["init", str(tmp_path), "--service", "ledger"]) == 0
    out = capsys.readouterr().out
    assert "String should match pattern" in out and "less than or equal to 65535" in out
    blueprint = load_blueprint(tmp_path / "blueprints" / "billing.yaml")
    assert blueprint.region == "us-east-1" and blueprint.database is not None
    (service,) = blueprint.services
    assert (service.name, service.port, service.database) == ("ledger", 7000, True)
    assert service.health_check is not None and service.health_check.path == "/status"


def test_end_of_input_at_a_prompt_is_bad_input_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", TerminalInput(""))  # Ctrl-D at the first prompt
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no answer given (end of input); nothing was written" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())


def test_init_into_a_folder_that_cannot_be_made_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    assert main(["init", str(tmp_path / "file" / "project"), "--name", "shop", "--no-input"]) == 2
    err = capsys.readouterr().err
    assert f"cannot write into {tmp_path / 'file' / 'project'}" in err and err.count("\n") == 1

"""`--set PATH=VALUE`: typed by the schema, validated like the file, errors naming --set."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfngen import BlueprintError, load_blueprint
from cfngen.cli import main, parser
from tests.conftest import ROOT

DEV = ROOT / "blueprints" / "dev.yaml"


def problems(*overrides: str) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(DEV, overrides=overrides)
    return [str(problem) for problem in caught.value.problems]


def test_values_take_the_type_the_schema_gives_them() -> None:
    blueprint = load_blueprint(
        DEV,
        overrides=[
            "cluster.max_size=4",  # int
            "database.deletion_protection=true",  # bool
            "services.service-a.user=1000",  # text field: stays the text "1000"
            "services.1.environment.RETRIES=3",  # text values of a mapping, service by index
            "tags.CostCentre=42",
            "budget.monthly_usd=99.5",  # float
            "services.service-b.image=null",  # null where the schema allows it
        ],
    )
    assert blueprint.cluster.max_size == 4
    assert blueprint.database is not None and blueprint.database.deletion_protection is True
    assert blueprint.service("service-a").user == "1000"
    assert blueprint.service("service-b").environment["RETRIES"] == "3"
    assert blueprint.tags["CostCentre"] == "42"
    assert blueprint.budget is not None and blueprint.budget.monthly_usd == 99.5
    assert blueprint.service("service-b").image is None


def test_overrides_apply_after_layering_and_can_create_sections(tmp_path: Path) -> None:
    (tmp_path / "bp.yaml").write_text("name: shop\nservices: [{name: web, port: 80}]\n", encoding="utf-8")
    blueprint = load_blueprint(tmp_path / "bp.yaml", overrides=["budget.monthly_usd=10", "alarms.email=a@b.io"])
    assert blueprint.budget is not None and blueprint.budget.monthly_usd == 10
    assert blueprint.alarms.email == "a@b.io"
    assert (
        load_blueprint(
            DEV, overrides=["database=null", "services.0.database=false", "services.1.database=false"]
        ).database
        is None
    )


def test_a_bad_value_is_reported_against_its_set_argument() -> None:
    assert problems("cluster.max_size=many") == [
        "--set cluster.max_size=many: cluster.max_size: expected a whole number, found the text 'many'"
    ]
    assert problems("cluster.max_sise=3") == [
        "--set cluster.max_sise=3: cluster.max_sise: unknown key 'max_sise'; did you mean 'max_size'?"
    ]
    # a cross-field rule broken by an override points at the override
    assert problems("cluster.desired_capacity=9") == [
        "--set cluster.desired_capacity=9: cluster.desired_capacity: must satisfy min_size (1) <= "
        "desired_capacity (9) <= max_size (2)"
    ]


def test_paths_that_do_not_exist_are_reported() -> None:
    assert problems("services.nope.port=1") == [
        "--set services.nope.port=1: services.nope: no entry of services has name 'nope'; "
        "there are: service-a, service-b"
    ]
    assert problems("services.7.port=1") == [
        "--set services.7.port=1: services.7: services has 2 entries (0..1); there is no entry 7"
    ]
    assert problems("name.first=x") == ["--set name.first=x: name: is text, so it has no 'first' to set"]
    assert problems("cluster.max_size=[1")[0].startswith("--set cluster.max_size=[1: cluster.max_size: invalid YAML")


@pytest.mark.parametrize("text", ["cluster.max_size", "=3", "cluster..max_size=3"])
def test_malformed_overrides_are_usage_errors(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert problems(text)[0].startswith(f"--set {text}: expected")
    with pytest.raises(SystemExit) as exited:
        main(["synth", str(DEV), "--set", text])
    assert exited.value.code == 2
    assert "argument --set: expected" in capsys.readouterr().err


def test_every_command_that_takes_a_blueprint_accepts_set() -> None:
    subcommands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    takes_blueprint = {
        name
        for name, sub in subcommands.items()
        if any(action.dest in ("blueprint", "target") for action in sub._actions)
    }
    assert {"synth", "lint"} <= takes_blueprint
    for name in sorted(takes_blueprint):
        assert any(action.dest == "overrides" for action in subcommands[name]._actions), name


def test_set_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(DEV), "-o", str(tmp_path), "--set", "network.nat_gateways=2", "--json"]) == 0
    assert (tmp_path / "network.yaml").read_text(encoding="utf-8").count("AWS::EC2::NatGateway") == 2
    assert main(["synth", str(DEV), "-o", str(tmp_path), "--set", "network.nat_gateways=3"]) == 2
    assert "--set network.nat_gateways=3: network.nat_gateways: must be at most availability_zones (2)" in (
        capsys.readouterr().err
    )
    assert main(["lint", str(tmp_path), "--set", "network.nat_gateways=2"]) == 2
    assert "--set changes a blueprint" in capsys.readouterr().err

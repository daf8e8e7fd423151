"""Layered blueprints: `extends` merges a base under an environment file, and errors point at the right file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfngen import BlueprintError, load_blueprint
from tests.conftest import ROOT


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def problems(path: Path) -> list[str]:
    with pytest.raises(BlueprintError) as caught:
        load_blueprint(path)
    return [str(problem) for problem in caught.value.problems]


BASE = """\
region: us-west-2
tags:
  Project: shop
cluster:
  min_size: 2
  max_size: 6
  desired_capacity: 2
services:
  - name: web
    port: 8080
    environment:
      LOG_LEVEL: info
      FEATURE: "on"
  - services/api.yaml
"""

API = """\
name: api
port: 9000
listener_port: 81
test_listener_port: 8081
"""


def test_mappings_merge_deeply_services_by_name_and_scalars_override(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "services/api.yaml": API,
            "dev.yaml": """\
extends: base.yaml
name: shop-dev
tags:
  Environment: dev
cluster:
  max_size: 4
services:
  - name: web
    environment:
      LOG_LEVEL: debug
  - name: worker
    port: 7000
    listener_port: 82
    test_listener_port: 8082
""",
        },
    )
    blueprint = load_blueprint(tmp_path / "dev.yaml")
    assert blueprint.name == "shop-dev"
    assert blueprint.region == "us-west-2"
    assert blueprint.tags == {"Project": "shop", "Environment": "dev"}
    assert (blueprint.cluster.min_size, blueprint.cluster.max_size) == (2, 4)
    assert [service.name for service in blueprint.services] == ["web", "api", "worker"]
    assert blueprint.service("web").environment == {"LOG_LEVEL": "debug", "FEATURE": "on"}
    assert blueprint.service("web").port == 8080
    assert blueprint.service("api").port == 9000  # included from a service file relative to the base


def test_null_in_the_overlay_removes_an_optional_section(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": "name: shop\nbudget: {monthly_usd: 100}\nservices: [{name: web, port: 80}]\n",
            "env.yaml": "extends: base.yaml\nbudget: null\n",
        },
    )
    assert load_blueprint(tmp_path / "base.yaml").budget is not None
    assert load_blueprint(tmp_path / "env.yaml").budget is None


def test_lists_other_than_services_are_replaced(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "services/api.yaml": API,
            "env.yaml": "extends: base.yaml\nname: shop\nservices: [{name: web, environment: {A: b}}]\n",
        },
    )
    web = load_blueprint(tmp_path / "env.yaml").service("web")
    assert web.environment == {"LOG_LEVEL": "info", "FEATURE": "on", "A": "b"}


def test_a_chain_of_three_layers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "layers/a.yaml": "region: eu-west-1\nservices: [{name: web, port: 80}]\n",
            "layers/b.yaml": "extends: a.yaml\nnetwork: {availability_zones: 3}\n",
            "env/c.yaml": "extends: ../layers/b.yaml\nname: shop\nnetwork: {nat_gateways: 3}\n",
        },
    )
    blueprint = load_blueprint(tmp_path / "env" / "c.yaml")
    assert (blueprint.region, blueprint.network.availability_zones, blueprint.network.nat_gateways) == (
        "eu-west-1",
        3,
        3,
    )


def test_errors_point_at_the_file_and_line_that_wrote_the_value(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "services/api.yaml": API,
            "dev.yaml": """\
extends: base.yaml
name: shop-dev
services:
  - name: web
    memory: 64
  - name: api
    cpu: 300
""",
        },
    )
    base, dev, api = (str(tmp_path / name) for name in ("base.yaml", "dev.yaml", "services/api.yaml"))
    found = problems(tmp_path / "dev.yaml")
    assert f"{dev}:5:13: services.0.memory: Input should be greater than or equal to 128, found 64" in found
    assert any(line.startswith(f"{dev}:7:10: services.1.cpu: expected one of") for line in found)
    assert len(found) == 2
    # the same rule broken by a value of the base is reported in the base
    write(tmp_path, {"base.yaml": BASE.replace("port: 8080", "port: 0")})
    assert any(line.startswith(f"{base}:10:11: services.0.port:") for line in problems(tmp_path / "dev.yaml"))
    # and in the service file the base includes
    write(tmp_path, {"base.yaml": BASE, "services/api.yaml": API.replace("port: 9000", "port: 99999")})
    assert any(line.startswith(f"{api}:2:7: services.1.port:") for line in problems(tmp_path / "dev.yaml"))


def test_unknown_keys_of_the_overlay_are_reported_in_the_overlay(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "services/api.yaml": API,
            "dev.yaml": "extends: base.yaml\nname: shop-dev\ncluster:\n  max_sise: 3\n",
        },
    )
    assert problems(tmp_path / "dev.yaml") == [
        f"{tmp_path / 'dev.yaml'}:4:3: cluster.max_sise: unknown key 'max_sise'; did you mean 'max_size'?"
    ]


def test_validation_runs_after_the_merge(tmp_path: Path) -> None:
    # the base alone lacks a name, the overlay alone lacks services: merged they are valid
    write(tmp_path, {"base.yaml": BASE, "services/api.yaml": API, "dev.yaml": "extends: base.yaml\nname: shop-dev\n"})
    assert any("name: required, but missing" in line for line in problems(tmp_path / "base.yaml"))
    assert load_blueprint(tmp_path / "dev.yaml").name == "shop-dev"
    # a cross-field rule broken only by the combination: max_size from the overlay, desired from the base
    write(tmp_path, {"dev.yaml": "extends: base.yaml\nname: shop-dev\ncluster: {max_size: 1}\n"})
    assert [line for line in problems(tmp_path / "dev.yaml") if "desired_capacity" in line] == [
        f"{tmp_path / 'base.yaml'}:7:21: cluster.desired_capacity: must satisfy min_size (2) <= "
        "desired_capacity (2) <= max_size (1)"
    ]


def test_unreadable_service_files_of_both_layers_are_reported_at_their_entries(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "dev.yaml": "extends: base.yaml\nname: shop-dev\nservices:\n  - gone.yaml\n"})
    found = problems(tmp_path / "dev.yaml")
    assert found == [
        f"{tmp_path / 'base.yaml'}:14:5: services.1: service file 'services/api.yaml' "
        f"({tmp_path / 'services/api.yaml'}): file not found",
        f"{tmp_path / 'dev.yaml'}:4:5: services.2: service file 'gone.yaml' ({tmp_path / 'gone.yaml'}): file not found",
    ]


def test_a_cycle_in_extends_is_a_clear_error(tmp_path: Path) -> None:
    write(
        tmp_path, {"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "extends: c.yaml\n", "c.yaml": "extends: a.yaml\n"}
    )
    (problem,) = problems(tmp_path / "a.yaml")
    a, b, c = (tmp_path / name for name in ("a.yaml", "b.yaml", "c.yaml"))
    assert problem == f"{c}:1:10: extends: extends forms a cycle: {a} -> {b} -> {c} -> {a}"
    write(tmp_path, {"self.yaml": "extends: ./self.yaml\n"})
    assert "cycle" in problems(tmp_path / "self.yaml")[0]


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("missing.yaml", "extends: base blueprint 'missing.yaml' ({dir}/missing.yaml): file not found"),
        ("[a.yaml]", "extends: expected the path of a base blueprint, relative to this file, found a list"),
        ("''", "extends: expected the path of a base blueprint, relative to this file, found ''"),
    ],
)
def test_a_bad_extends_is_reported_where_it_is_written(tmp_path: Path, extends: str, message: str) -> None:
    write(tmp_path, {"env.yaml": f"name: shop\nextends: {extends}\n"})
    assert problems(tmp_path / "env.yaml") == [f"{tmp_path / 'env.yaml'}:2:10: " + message.format(dir=tmp_path)]


def test_a_broken_base_reports_its_own_position(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": "region: [unclosed\n", "env.yaml": "extends: base.yaml\nname: shop\n"})
    (problem,) = problems(tmp_path / "env.yaml")
    assert problem.startswith(f"{tmp_path / 'base.yaml'}:2:1: invalid YAML")


def test_shipped_environments_share_the_base_and_differ_where_they_say() -> None:
    dev = load_blueprint(ROOT / "blueprints" / "dev.yaml")
    prod = load_blueprint(ROOT / "blueprints" / "prod.yaml")
    assert (dev.name, prod.name) == ("microservices-dev", "microservices-prod")
    assert dev.region == prod.region and dev.tags["Project"] == prod.tags["Project"]
    assert [s.name for s in dev.services] == [s.name for s in prod.services] == ["service-a", "service-b"]
    assert dev.database is not None and prod.database is not None
    assert (dev.database.readers, dev.database.deletion_protection) == (0, False)
    assert (prod.database.readers, prod.database.deletion_protection) == (2, True)
    assert dev.service("service-a").health_check == prod.service("service-a").health_check is not None
    assert dev.service("service-a").desired_count < prod.service("service-a").desired_count
    assert prod.network.availability_zones == 3 and prod.pipeline.approval


def test_a_value_replaced_by_the_overlay_keeps_no_mark_of_the_base(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": "name: shop\nservices:\n  - name: web\n    port: 80\n    environment: {A: x}\n",
            "env.yaml": "extends: base.yaml\nservices:\n  - name: web\n    environment: [A]\n",
        },
    )
    assert problems(tmp_path / "env.yaml") == [
        f"{tmp_path / 'env.yaml'}:4:18: services.0.environment: Input should be a valid dictionary, found a list"
    ]

"""The bad-input corpus: each file gives its own clear message, at its own place, exit 2, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cfngen.cli import main

BAD = Path(__file__).parent / "bad"

# case -> (file the problem is in, line, text the message must contain)
CASES: dict[str, tuple[str, int, str]] = {
    "broken_yaml": ("broken_yaml.yaml", 4, "invalid YAML"),
    "wrong_type": ("wrong_type.yaml", 4, "services.0.port: expected a whole number, found the text 'eighty'"),
    "out_of_range": ("out_of_range.yaml", 3, "network.availability_zones: Input should be less than or equal to 6, found 9"),
    "unknown_key": ("unknown_key.yaml", 2, "unknown key 'regoin'; did you mean 'region'?"),
    "duplicate_service": ("duplicate_service.yaml", 4, "services.1.name: 'api' clashes with services[0]"),
    "clashing_ports": ("clashing_ports.yaml", 4, "services.1.listener_port: port 8080 is already used by services[0].test_listener_port"),
    "overfull_load_balancer": ("overfull_load_balancer.yaml", 10,
                               "services.1.load_balancer: load balancer 1 would serve 2 services; it holds 1"),
    "missing_service_file": ("missing_service_file.yaml", 3, "services/does-not-exist.yaml"),
    "empty": ("empty.yaml", 1, "file is empty"),
    "dangerous_tag": ("dangerous_tag.yaml", 1, "python/object/apply:os.system' is not allowed"),
    "alias_bomb": ("alias_bomb.yaml", 1, "alias bomb"),
    "duplicate_key": ("duplicate_key.yaml", 4, "duplicate key 'name'"),
    "top_level_list": ("top_level_list.yaml", 1, "expected a mapping at the top level, found a list"),
    "database_missing": ("database_missing.yaml", 5, "services.0.database: is true but the blueprint has no database section"),
    "bad_cidr": ("bad_cidr.yaml", 3, "network.cidr: expected an IPv4 CIDR"),
    "cidr_too_small": ("cidr_too_small.yaml", 3, "network.cidr: prefix /26 is out of range"),
    "capacity_order": ("capacity_order.yaml", 4, "cluster.desired_capacity: must satisfy min_size (4) <= desired_capacity (2)"),
    "nat_over_azs": ("nat_over_azs.yaml", 4, "network.nat_gateways: must be at most availability_zones (2), found 3"),
    "canary_on_nlb": ("canary_on_nlb.yaml", 3, "cannot be used behind a Network Load Balancer"),
    "bad_service_file": ("services/bad.yaml", 3, "services.0.memroy: unknown key 'memroy'; did you mean 'memory'?"),
    "not_utf8": ("not_utf8.yaml", 1, "not UTF-8"),
    "recursive_alias": ("recursive_alias.yaml", 2, "recursive alias"),
    "no_services": ("no_services.yaml", 1, "services: required, but missing"),
    "bad_name": ("bad_name.yaml", 1, "name: expected text matching"),
    "too_many_readers": ("too_many_readers.yaml", 3, "database.readers: Input should be less than or equal to 15, found 16"),
    "unknown_instance_class": ("unknown_instance_class.yaml", 3,
                               "database.instance_class: 'db.t3.mediun' is not an Aurora MySQL 3 instance class "
                               "cfngen knows; did you mean 'db.t3.medium'?"),
    "cloudformation_tag": ("cloudformation_tag.yaml", 2, "YAML tag '!Ref' is not allowed"),
    "same_listener_ports": ("same_listener_ports.yaml", 3, "services.0.test_listener_port: must differ from listener_port (80)"),
    "service_not_mapping": ("service_not_mapping.yaml", 3, "services.0: Input should be a valid dictionary or instance of Service"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_blueprint_gives_a_located_message_and_exit_2(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file, line, text = CASES[case]
    outdir = tmp_path / "out"
    code = main(["synth", str(BAD / f"{case}.yaml"), "-o", str(outdir)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{BAD / file}:{line}:" in err, err
    assert text in err, err
    assert not outdir.exists(), "nothing may be written from a bad blueprint"


def test_every_case_has_a_file() -> None:
    corpus = {path.stem for path in BAD.glob("*.yaml")}
    assert corpus == set(CASES)


def test_dangerous_tag_is_never_executed() -> None:
    marker = Path("/tmp/cfngen-pwned")
    marker.unlink(missing_ok=True)
    main(["lint", str(BAD / "dangerous_tag.yaml")])
    assert not marker.exists()


def test_all_problems_of_a_file_are_reported_at_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    blueprint = tmp_path / "many.yaml"
    blueprint.write_text(
        "name: Bad_Name\n"
        "regoin: us-east-1\n"
        "cluster: {target_capacity: 0}\n"
        "services:\n"
        "  - {name: api, port: 70000}\n",
        encoding="utf-8",
    )
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "4 problems" in err
    for field in ("name:", "regoin:", "cluster.target_capacity:", "services.0.port:"):
        assert field in err


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cfngen", "synth", str(BAD / "wrong_type.yaml"), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "wrong_type.yaml:4:" in result.stderr

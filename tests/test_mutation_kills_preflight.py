"""Preflight promises that mutation checking (benchmarks/mutation.py) found unguarded.

Each problem is reported at its field with the whole advice a user acts on; every problem of a blueprint is
reported at once; capacity is checked only on a blueprint AWS would accept; a task set that exactly fills the
cluster fits; where the facts are missing (a region, an instance type) nothing is refused.
"""

from __future__ import annotations

from typing import Any

from cfngen.blueprint import Blueprint, preflight_problems, preflight_warnings
from cfngen.facts import aws

FIT_ADVICE = "raise cluster.max_size, choose a larger cluster.instance_type"


def _blueprint(
    cluster: dict[str, Any] | None = None, services: list[dict[str, Any]] | None = None, **fields: Any
) -> Blueprint:
    """A blueprint with one web service (desired 2, scaling up to 2) unless `services` says otherwise."""
    return Blueprint.model_validate(
        {
            "name": "pre",
            "cluster": cluster or {},
            "services": services or [{"name": "web", "port": 80, "scaling": {"min": 1, "max": 2}}],
            **fields,
        }
    )


def _cluster(instance_type: str, max_size: int, trunking: bool = False) -> dict[str, Any]:
    return {
        "instance_type": instance_type,
        "min_size": 1,
        "desired_capacity": 1,
        "max_size": max_size,
        "awsvpc_trunking": trunking,
    }


def _service(name: str, count: int, maximum: int, index: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "port": 80,
        "listener_port": 80 + index,
        "test_listener_port": 9000 + index,
        "desired_count": count,
        "scaling": {"min": 1, "max": maximum},
        **fields,
    }


def _engine_problem(version: str) -> str:
    return (
        f"{version!r} is not an Aurora MySQL version AWS offers new clusters (AWS facts as of "
        f"{aws.as_of('aurora_mysql_versions.json')}); use {aws.AURORA_MYSQL_DEFAULT_VERSION} (long-term "
        f"support) or one of {', '.join(aws.aurora_mysql_versions())}"
    )


def test_every_problem_aws_would_refuse_is_reported_at_once_at_its_field() -> None:
    """us-west-1 has 2 zones; a misspelt type gets the nearest real one; a retired engine version the list."""
    assert aws.availability_zones("us-west-1") == 2
    blueprint = _blueprint(
        _cluster("t3.smal", 6),
        region="us-west-1",
        network={"availability_zones": 3},
        database={"engine_version": "8.0.mysql_aurora.3.08.2"},
    )
    assert preflight_problems(blueprint) == [
        (
            ("network", "availability_zones"),
            "us-west-1 offers 2 Availability Zones, found 3; use at most 2 "
            f"(AWS facts as of {aws.as_of('availability_zones.json')})",
        ),
        (
            ("cluster", "instance_type"),
            "'t3.smal' is not an EC2 instance type us-west-1 offers; did you mean 't3.small'?",
        ),
        (("database", "engine_version"), _engine_problem("8.0.mysql_aurora.3.08.2")),
    ]


def test_as_many_zones_as_the_region_has_are_accepted() -> None:
    assert preflight_problems(_blueprint(region="us-west-1", network={"availability_zones": 2})) == []


def test_an_instance_type_nothing_resembles_gets_no_suggestion() -> None:
    [problem] = preflight_problems(_blueprint(_cluster("zz9.qqqqqq", 6)))
    assert problem == (("cluster", "instance_type"), "'zz9.qqqqqq' is not an EC2 instance type us-east-1 offers")


def test_a_region_without_facts_refuses_neither_zones_nor_instance_types() -> None:
    """Where cfngen has no table for a region (the isolated partitions), it cannot know: it does not refuse."""
    assert aws.availability_zones("us-iso-east-1") is None and aws.region_instance_types("us-iso-east-1") is None
    blueprint = _blueprint(_cluster("t3.smal", 6), region="us-iso-east-1", network={"availability_zones": 6})
    assert preflight_problems(blueprint) == []


def test_capacity_is_checked_only_once_the_blueprint_is_one_aws_accepts() -> None:
    """A task too large for a type the region lacks is not measured against that type."""
    big = [_service("web", 2, 2, cpu=16384)]
    [(field, _)] = preflight_problems(
        _blueprint(_cluster("c5.large", 2), big, region="us-west-1", network={"availability_zones": 4})
    )
    assert field == ("network", "availability_zones")


def test_trunking_a_burstable_type_and_tasks_too_large_are_both_reported() -> None:
    services = [_service("web", 1, 1, cpu=4096, memory=2048)]
    assert preflight_problems(_blueprint(_cluster("t3.small", 6, trunking=True), services)) == [
        (
            ("cluster", "awsvpc_trunking"),
            "t3.small does not support ENI trunking (burstable types never do); choose a type that does, "
            "such as m6i.large or c6g.large, or leave awsvpc_trunking off",
        ),
        (
            ("services", 0, "cpu"),
            "4096 CPU units do not fit a t3.small, which offers tasks 2048 (2 vCPUs); lower cpu or choose a larger "
            "cluster.instance_type",
        ),
        (
            ("services", 0, "memory"),
            "2048 MiB do not fit a t3.small, which offers tasks 1945 MiB (2048 MiB less the 5% kept for the ECS "
            "agent and the system); lower memory or choose a larger cluster.instance_type",
        ),
    ]


def test_tasks_that_exactly_fill_the_cluster_fit_and_one_more_does_not() -> None:
    """2 c5.large hold 4 awsvpc tasks: 2 running plus the 2 of a blue/green replacement set fit, 3 + 3 do not."""
    assert preflight_problems(_blueprint(_cluster("c5.large", 2), [_service("web", 2, 2)])) == []
    assert preflight_problems(_blueprint(_cluster("c5.large", 2), [_service("web", 3, 3)])) == [
        (
            ("cluster", "max_size"),
            "cannot place the desired tasks: 3 tasks and the second set a blue/green deployment starts beside them "
            "need 6 network interfaces; 2 c5.large instances (cluster.max_size) offer 4 (2 each: one per awsvpc "
            "task, the primary one excepted)",
        )
    ]


def test_the_interface_shortfall_under_trunking_says_so_and_other_resources_carry_no_note() -> None:
    trunked = _blueprint(_cluster("c5.large", 1, trunking=True), [_service("web", 6, 6, cpu=128, memory=128)])
    assert preflight_problems(trunked) == [
        (
            ("cluster", "max_size"),
            "cannot place the desired tasks: 6 tasks and the second set a blue/green deployment starts beside them "
            "need 12 network interfaces; 1 c5.large instances (cluster.max_size) offer 10 (10 each with ENI "
            "trunking)",
        )
    ]
    cpu = _blueprint(_cluster("c5.large", 1, trunking=True), [_service("web", 2, 2, cpu=1024)])
    assert preflight_problems(cpu) == [
        (
            ("cluster", "max_size"),
            "cannot place the desired tasks: 2 tasks and the second set a blue/green deployment starts beside them "
            "need 4096 CPU units; 1 c5.large instances (cluster.max_size) offer 2048 (2048 each)",
        )
    ]


def test_a_type_without_capacity_facts_is_named_in_the_warning() -> None:
    offered = aws.region_instance_types("us-east-1")
    assert offered is not None
    unknown = next(name for name in sorted(offered) if aws.instance_type(name) is None)
    blueprint = _blueprint(_cluster(unknown, 6))
    assert preflight_problems(blueprint) == []
    assert [str(warning) for warning in preflight_warnings(blueprint)] == [
        f"cluster.instance_type: cfngen has no capacity facts for {unknown}; whether the tasks fit its instances "
        "was not checked"
    ]


def test_the_scaling_warning_suggests_trunking_only_where_it_would_help() -> None:
    """A trunk-capable type with trunking off: turning it on is advice; on, or on a burstable type, it is not."""
    services = [_service("web", 1, 4)]
    need = "4 tasks and the second set a blue/green deployment starts beside them need 8 network interfaces"
    cases = {
        ("c5.large", False): f"{need}; 2 c5.large instances (cluster.max_size) offer 4 (2 each: one per awsvpc task, "
        f"the primary one excepted); {FIT_ADVICE} or turn on cluster.awsvpc_trunking",
        ("t3.small", False): f"{need}; 2 t3.small instances (cluster.max_size) offer 4 (2 each: one per awsvpc task, "
        f"the primary one excepted); {FIT_ADVICE}",
    }
    for (instance_type, trunking), middle in cases.items():
        blueprint = _blueprint(_cluster(instance_type, 2, trunking), services)
        assert preflight_problems(blueprint) == []
        assert [str(warning) for warning in preflight_warnings(blueprint)] == [
            f"cluster.max_size: the services cannot all scale to scaling.max: {middle}, or lower the services' "
            "scaling.max"
        ]
    trunked = _blueprint(_cluster("c5.large", 1, trunking=True), [_service("web", 1, 6, cpu=128, memory=128)])
    assert [str(warning) for warning in preflight_warnings(trunked)] == [
        "cluster.max_size: the services cannot all scale to scaling.max: 6 tasks and the second set a blue/green "
        "deployment starts beside them need 12 network interfaces; 1 c5.large instances (cluster.max_size) offer "
        f"10 (10 each with ENI trunking); {FIT_ADVICE}, or lower the services' scaling.max"
    ]


def test_an_engine_version_newer_than_the_facts_is_warned_about_by_name() -> None:
    newer = _blueprint(database={"engine_version": "8.0.mysql_aurora.3.99.0"})
    assert preflight_problems(newer) == []
    assert [str(warning) for warning in preflight_warnings(newer)] == [
        "database.engine_version: 8.0.mysql_aurora.3.99.0 is newer than cfngen's Aurora MySQL facts (as of "
        f"{aws.as_of('aurora_mysql_versions.json')}); whether AWS offers it was not checked"
    ]


def test_a_task_of_exactly_what_an_instance_offers_fits() -> None:
    small = aws.instance_type("t3.small")
    assert small is not None
    exact = [_service("web", 1, 1, cpu=small.task_cpu_units, memory=small.task_memory_mib)]
    assert preflight_problems(_blueprint(_cluster("t3.small", 6), exact)) == []
    over = [_service("web", 1, 1, cpu=small.task_cpu_units, memory=small.task_memory_mib + 1)]
    assert [field for field, _ in preflight_problems(_blueprint(_cluster("t3.small", 6), over))] == [
        ("services", 0, "memory")
    ]

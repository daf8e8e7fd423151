"""Blueprint schema promises that mutation checking (benchmarks/mutation.py) found unguarded.

Each blueprint goes through the loader (YAML text with its source map, then validation), so a test sees what a
user sees: every problem at its field, with its message. The promises: which tags make a blueprint a production
one; how services fill, and are pinned to, load balancers; which pins are refused; region suggestions; that a
service's own deployment section replaces the blueprint's.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from cfngen.blueprint import LOG_RETENTION_DAYS, Blueprint, Deployment, validate
from cfngen.blueprint._model import CrossFieldErrors, is_production
from cfngen.blueprint._yamlsource import loads_yaml
from cfngen.errors import BlueprintError
from cfngen.facts import aws

FILE = Path("blueprint.yaml")


def _load(data: dict[str, Any]) -> Blueprint:
    parsed, source = loads_yaml(yaml.safe_dump(data, sort_keys=False), FILE)
    return validate(parsed, source, FILE)


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) of every problem the loader reports, in file order."""
    with pytest.raises(BlueprintError) as caught:
        _load(data)
    return [(problem.field, problem.message) for problem in caught.value.problems]


def _services(count: int, **pins: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"s{index}",
            "port": 8080,
            "listener_port": 1000 + index,
            "test_listener_port": 2000 + index,
            **({"load_balancer": pins[f"s{index}"]} if f"s{index}" in pins else {}),
        }
        for index in range(count)
    ]


def _served(count: int, capacity: int, **pins: int) -> list[list[str]]:
    blueprint = _load(
        {"name": "lb", "load_balancer": {"services_per_load_balancer": capacity}, "services": _services(count, **pins)}
    )
    return [[service.name for service in services] for services in blueprint.load_balancers]


def test_several_cross_field_problems_read_as_one_line_each_joined() -> None:
    errors = CrossFieldErrors([(("a",), "first"), (("b",), "second")])
    assert (str(errors), errors.errors) == ("first; second", [(("a",), "first"), (("b",), "second")])


@pytest.mark.parametrize(
    "tags, production",
    [
        ({"Environment": "Prod"}, True),
        ({"STAGE": "PRODUCTION"}, True),
        ({"env": "prod"}, True),
        ({"Team": "web", "Env": "production"}, True),
        ({"Environment": "staging"}, False),
        ({"Team": "prod"}, False),  # a production value under another key says nothing
        ({}, False),
    ],
)
def test_a_production_blueprint_is_one_tagged_so_in_any_case(tags: dict[str, str], production: bool) -> None:
    assert is_production(tags) is production
    blueprint = _load({"name": "tagged", "tags": tags, "services": _services(1)})
    assert blueprint.vpc_endpoints == ("interface" if production else "gateway-only")


def test_unpinned_services_fill_each_load_balancer_to_its_capacity_in_order() -> None:
    assert _served(5, 2) == [["s0", "s1"], ["s2", "s3"], ["s4"]]
    assert _served(3, 1) == [["s0"], ["s1"], ["s2"]]


def test_pins_are_counted_first_and_the_others_fill_the_room_left() -> None:
    # s1 holds a place on balancer 2 before s0, s2 and s3 are placed: s3 joins it, not a third balancer.
    assert _served(4, 2, s1=2) == [["s0", "s2"], ["s1", "s3"]]
    assert _served(4, 2, s2=1, s3=1) == [["s2", "s3"], ["s0", "s1"]]


def test_a_load_balancer_pinned_full_is_accepted_and_one_more_pin_is_refused_at_each_pin() -> None:
    assert _served(2, 2, s0=1, s1=1) == [["s0", "s1"]]
    assert _problems(
        {"name": "lb", "load_balancer": {"services_per_load_balancer": 1}, "services": _services(3, s1=1, s2=1)}
    ) == [
        (
            f"services.{index}.load_balancer",
            "load balancer 1 would serve 2 services; it holds 1 (load_balancer.services_per_load_balancer)",
        )
        for index in (1, 2)
    ]


def test_a_pin_that_leaves_a_gap_is_refused_at_the_first_service_beyond_the_first_gap() -> None:
    gap = "needs load balancer 1 to serve a service first: load balancers are numbered without gaps"
    assert _problems({"name": "lb", "services": _services(2, s0=3, s1=2)}) == [
        ("services.0.load_balancer", f"load balancer 3 {gap}")
    ]
    second = "needs load balancer 2 to serve a service first: load balancers are numbered without gaps"
    assert _problems({"name": "lb", "services": _services(2, s1=3)}) == [
        ("services.1.load_balancer", f"load balancer 3 {second}")
    ]


@pytest.mark.parametrize(
    "region, message",
    [
        ("us-west-2x", "unknown AWS region 'us-west-2x'; did you mean 'us-west-2'?"),
        ("mars", "unknown AWS region 'mars'"),
    ],
)
def test_an_unknown_region_is_refused_with_the_nearest_known_one(region: str, message: str) -> None:
    assert _problems({"name": "r", "region": region, "services": _services(1)}) == [("region", message)]


def test_a_services_own_deployment_replaces_the_blueprints_whole() -> None:
    blueprint = _load(
        {
            "name": "d",
            "deployment": {"strategy": "ecs-canary", "canary_percent": 20},
            "services": [
                {**_services(2)[0], "deployment": {"strategy": "ecs-rolling"}},
                _services(2)[1],
            ],
        }
    )
    own, inherited = blueprint.services
    assert blueprint.deployment_of(own).model_dump() == {
        **blueprint.deployment.model_dump(),
        "strategy": "ecs-rolling",
        "canary_percent": 5.0,
    }
    assert blueprint.deployment_of(inherited) is blueprint.deployment


def test_a_service_is_found_by_its_name_and_an_unknown_name_is_a_key_error() -> None:
    blueprint = _load({"name": "n", "services": _services(3)})
    assert blueprint.service("s1") is blueprint.services[1]
    with pytest.raises(KeyError, match="'s7'"):
        blueprint.service("s7")


def _one_service(**fields: Any) -> dict[str, Any]:
    return {"name": "m", "services": [{"name": "web", "port": 80, **fields}]}


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.1.0.0/24", "192.168.4.0/22"])
def test_a_vpc_of_16_to_24_bits_is_accepted(cidr: str) -> None:
    assert _load({**_one_service(), "network": {"cidr": cidr}}).network.cidr == cidr


@pytest.mark.parametrize(
    "cidr, message",
    [
        ("10.0.0.0/15", "prefix /15 is out of range"),
        ("10.0.0.0/25", "prefix /25 is out of range"),
        (
            "10.0.0.1/16",
            "expected an IPv4 CIDR such as 10.0.0.0/16, found '10.0.0.1/16' (10.0.0.1/16 has host bits set)",
        ),
    ],
)
def test_a_vpc_outside_16_to_24_bits_or_with_host_bits_is_refused(cidr: str, message: str) -> None:
    range_advice = (
        ": a VPC is /16 to /28, and cfngen carves 16 subnet slots of /(prefix+4), so the VPC must be /16 to /24"
    )
    expected = message + (range_advice if "out of range" in message else "")
    assert _problems({**_one_service(), "network": {"cidr": cidr}}) == [("network.cidr", expected)]


def test_as_many_nat_gateways_as_zones_and_a_full_cluster_are_accepted() -> None:
    blueprint = _load(
        {
            **_one_service(),
            "network": {"availability_zones": 3, "nat_gateways": 3},
            "cluster": {"min_size": 3, "desired_capacity": 3, "max_size": 3},
        }
    )
    assert (blueprint.network.nat_gateways, blueprint.cluster.desired_capacity) == (3, 3)


def test_scaling_may_pin_the_task_count_but_not_invert_it() -> None:
    pinned = _load(_one_service(desired_count=3, scaling={"min": 3, "max": 3}))
    assert pinned.services[0].scaling.min == pinned.services[0].scaling.max == 3
    assert _problems(_one_service(desired_count=3, scaling={"min": 4, "max": 3})) == [
        ("services.0.scaling.min", "must be at most max (3), found 4")
    ]


@pytest.mark.parametrize("count, minimum, maximum", [(1, 2, 5), (6, 2, 5)])
def test_the_desired_count_lies_within_the_scaling_bounds(count: int, minimum: int, maximum: int) -> None:
    assert _problems(_one_service(desired_count=count, scaling={"min": minimum, "max": maximum})) == [
        (
            "services.0.desired_count",
            f"must lie within scaling.min ({minimum}) and scaling.max ({maximum}), found {count}",
        )
    ]
    for edge in (minimum, maximum):
        _load(_one_service(desired_count=edge, scaling={"min": minimum, "max": maximum}))


def test_a_service_breaking_several_rules_hears_of_each_at_its_field() -> None:
    assert _problems(
        _one_service(
            listener_port=81, test_listener_port=81, desired_count=0, exec=True, read_only_root_filesystem=True
        )
    ) == [
        ("services.0.test_listener_port", "must differ from listener_port (81)"),
        ("services.0.desired_count", "must lie within scaling.min (2) and scaling.max (10), found 0"),
        (
            "services.0.exec",
            "ECS Exec needs a writable root filesystem (the SSM agent writes into the container): set "
            "read_only_root_filesystem: false, or leave exec off",
        ),
    ]
    assert _load(_one_service(exec=True, read_only_root_filesystem=False)).services[0].exec


def test_an_unknown_aurora_instance_class_is_refused_with_the_nearest_and_the_whole_list() -> None:
    known = ", ".join(aws.AURORA_MYSQL_INSTANCE_MEMORY_GIB)
    assert _problems({**_one_service(), "database": {"instance_class": "db.r6g.larg"}}) == [
        (
            "database.instance_class",
            f"'db.r6g.larg' is not an Aurora MySQL 3 instance class cfngen knows; did you mean 'db.r6g.large'? "
            f"expected one of {known}",
        )
    ]
    assert _problems({**_one_service(), "database": {"instance_class": "x"}}) == [
        (
            "database.instance_class",
            f"'x' is not an Aurora MySQL 3 instance class cfngen knows; expected one of {known}",
        )
    ]


@pytest.mark.parametrize("name", ["Admin", "RDSADMIN", "root"])
def test_a_master_user_name_aurora_reserves_is_refused_in_any_case(name: str) -> None:
    assert _problems({**_one_service(), "database": {"master_username": name}}) == [
        ("database.master_username", f"{name!r} is reserved by Aurora MySQL; choose another name")
    ]
    assert _load({**_one_service(), "database": {"master_username": "rootuser"}}).database is not None


def test_the_database_variables_cfngen_sets_are_refused_in_the_environment() -> None:
    reserved = ["DB_HOST", "DB_NAME", "DB_PORT", "DB_USERNAME"]
    environment = {name: "x" for name in reserved} | {"db_host": "lowercase is another variable", "APP": "1"}
    assert _problems(_one_service(environment=environment)) == [
        ("services.0.environment", f"{', '.join(reserved)} are set by cfngen from the database section")
    ]
    assert _load(_one_service(environment={"db_host": "h", "APP": "1"})).services[0].environment["APP"] == "1"


def test_an_unknown_cpu_size_is_refused_with_the_sizes_ecs_accepts() -> None:
    assert _problems(_one_service(cpu=300)) == [
        ("services.0.cpu", "expected one of 128, 256, 512, 1024, 2048, 4096, 8192, 16384, found 300")
    ]


def test_an_image_reference_is_checked_only_when_given() -> None:
    assert _load(_one_service(image="public.ecr.aws/nginx/nginx:1.27")).services[0].image == (
        "public.ecr.aws/nginx/nginx:1.27"
    )
    assert _problems(_one_service(image="Nginx:latest")) == [
        (
            "services.0.image",
            "'Nginx:latest' is not an image reference; expected [registry/]repository[:tag][@digest], such as "
            "public.ecr.aws/nginx/nginx:1.27 (lowercase repository, tag of letters, digits, '.', '_' and '-')",
        )
    ]


def _deployment(**fields: Any) -> dict[str, Any]:
    return {**_one_service(), "deployment": fields}


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"strategy": "codedeploy"}, 15),  # the default bake, though CodeDeploy's own wait is what applies
        ({"strategy": "ecs-blue-green"}, 15),
        ({"strategy": "ecs-blue-green", "bake_minutes": 0, "wait_minutes": 7}, 7),
        ({"strategy": "ecs-rolling"}, 0),
        ({"strategy": "ecs-rolling", "bake_minutes": 4}, 4),
        ({"strategy": "ecs-canary", "canary_bake_minutes": 12, "wait_minutes": 3}, 3 + 12 + 15),
        ({"strategy": "ecs-canary", "bake_minutes": 2}, 10 + 2),
        ({"strategy": "ecs-linear"}, 9 * 6 + 15),  # 10 % steps: 9 bakes before the last one reaches 100 %
        ({"strategy": "ecs-linear", "step_percent": 30, "step_bake_minutes": 4, "bake_minutes": 1}, 3 * 4 + 1),
        ({"strategy": "ecs-linear", "step_percent": 50.5, "step_bake_minutes": 5, "bake_minutes": 0}, 5),
        ({"strategy": "ecs-linear", "step_percent": 100, "step_bake_minutes": 5, "bake_minutes": 0}, 0),
        (
            {
                "strategy": "ecs-linear",
                "step_percent": 50,
                "step_bake_minutes": 2,
                "wait_minutes": 3,
                "bake_minutes": 1,
            },
            6,
        ),
        ({"strategy": "ecs-linear", "step_percent": 3, "step_bake_minutes": 2, "bake_minutes": 0}, 33 * 2),
    ],
)
def test_the_rollout_waits_for_its_test_traffic_steps_canary_and_bake(fields: dict[str, Any], expected: int) -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html: linear traffic
    moves in steps of step_percent with step_bake_minutes between two; the bake time follows the last shift."""
    deployment = _load(_deployment(**fields)).deployment
    assert (deployment.rollout_minutes, deployment.deploy_stage_minutes) == (expected, expected + 60)


def test_linear_steps_are_the_shifts_before_the_one_that_reaches_all_traffic() -> None:
    for tenths in range(30, 1001):
        try:
            deployment = Deployment(
                strategy="ecs-linear", step_percent=tenths / 10, step_bake_minutes=1, bake_minutes=0
            )
        except ValueError:
            continue  # a value the schema's multipleOf check refuses (tested below)
        assert deployment.rollout_minutes == math.ceil(100 / deployment.step_percent - 1e-9) - 1, tenths


def test_which_strategies_shift_traffic_and_which_use_codedeploy() -> None:
    for strategy in ("codedeploy", "ecs-blue-green", "ecs-linear", "ecs-canary", "ecs-rolling"):
        deployment = Deployment(strategy=strategy)
        assert deployment.shifts_traffic is (strategy != "ecs-rolling")
        assert deployment.uses_codedeploy is (strategy == "codedeploy")


def test_a_rollout_that_fits_codebuilds_limit_is_accepted_and_a_minute_more_is_refused() -> None:
    """CodeBuild stops a build after 36 hours (2160 minutes); the deploy stage adds 60 for CloudFormation.
    https://docs.aws.amazon.com/codebuild/latest/userguide/limits.html"""
    fitting = _load(_deployment(strategy="ecs-blue-green", wait_minutes=1440, bake_minutes=660)).deployment
    assert fitting.deploy_stage_minutes == 2160
    assert _problems(_deployment(strategy="ecs-blue-green", wait_minutes=1440, bake_minutes=661)) == [
        (
            "deployment.bake_minutes",
            "the rollout waits 2101 minutes (wait, steps or canary and bake); with 60 minutes for CloudFormation, "
            "the deploy stage's build would need 2161, and CodeBuild stops a build after 2160: shorten the waits",
        )
    ]


def test_each_option_belongs_to_the_strategies_that_use_it() -> None:
    assert _problems(_deployment(strategy="codedeploy", bake_minutes=5, wait_minutes=5, canary_percent=20)) == [
        (
            "deployment.bake_minutes",
            "applies to the ecs-* strategies; under codedeploy the blue tasks stay pipeline.termination_wait_minutes",
        ),
        (
            "deployment.wait_minutes",
            "applies to ecs-blue-green, ecs-linear, ecs-canary; strategy 'codedeploy' has no test traffic stage to "
            "wait in",
        ),
        ("deployment.canary_percent", "applies to strategy 'ecs-canary' only, not 'codedeploy'"),
    ]
    assert _problems(_deployment(strategy="ecs-rolling", wait_minutes=5, step_bake_minutes=1)) == [
        (
            "deployment.wait_minutes",
            "applies to ecs-blue-green, ecs-linear, ecs-canary; strategy 'ecs-rolling' has no test traffic stage to "
            "wait in",
        ),
        ("deployment.step_bake_minutes", "applies to strategy 'ecs-linear' only, not 'ecs-rolling'"),
    ]
    assert _problems(_deployment(strategy="ecs-canary", step_percent=20, canary_bake_minutes=3)) == [
        ("deployment.step_percent", "applies to strategy 'ecs-linear' only, not 'ecs-canary'")
    ]
    assert _problems(_deployment(strategy="ecs-linear", canary_bake_minutes=3, step_percent=20)) == [
        ("deployment.canary_bake_minutes", "applies to strategy 'ecs-canary' only, not 'ecs-linear'")
    ]
    for strategy in ("ecs-blue-green", "ecs-linear", "ecs-canary"):
        assert _load(_deployment(strategy=strategy, bake_minutes=5, wait_minutes=5)).deployment.wait_minutes == 5


def _passes_multiple_of_tenth(value: float) -> bool:
    """The check cfn-lint makes of AWS::ECS::Service's multipleOf 0.1 (float division)."""
    return value / 0.1 == int(value / 0.1)


def test_a_percent_the_schemas_multiple_of_check_refuses_gets_the_two_nearest_that_pass() -> None:
    assert _problems(_deployment(strategy="ecs-linear", step_percent=33.3)) == [
        (
            "deployment.step_percent",
            "33.3 does not pass the resource schema's multipleOf 0.1 check (float division); use 33.2 or 33.1",
        )
    ]
    passing = [tenths / 10 for tenths in range(1, 1001) if _passes_multiple_of_tenth(tenths / 10)]
    for tenths in range(1, 1001):
        value = tenths / 10
        if _passes_multiple_of_tenth(value):
            assert Deployment(strategy="ecs-canary", canary_percent=value).canary_percent == value
            continue
        with pytest.raises(ValidationError) as caught:
            Deployment(strategy="ecs-canary", canary_percent=value)
        [error] = caught.value.errors()
        match = re.search(r"; use ([\d.]+) or ([\d.]+)$", error["msg"])
        assert match, error["msg"]
        suggested = [float(v) for v in match.groups()]
        nearest = sorted(abs(candidate - value) for candidate in passing)[:2]
        assert all(_passes_multiple_of_tenth(v) for v in suggested), value
        assert [round(abs(v - value), 6) for v in suggested] == [round(d, 6) for d in nearest], value


def test_the_only_deployment_config_behind_a_network_load_balancer_is_all_at_once() -> None:
    """https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html: canary and linear
    configs need an Application Load Balancer."""
    accepted = _load({**_one_service(), "pipeline": {"deployment_config": "CodeDeployDefault.ECSAllAtOnce"}})
    assert accepted.pipeline.deployment_config == "CodeDeployDefault.ECSAllAtOnce"
    assert _problems(
        {**_one_service(), "pipeline": {"deployment_config": "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"}}
    ) == [
        (
            "pipeline.deployment_config",
            "'CodeDeployDefault.ECSLinear10PercentEvery1Minutes' cannot be used behind a Network Load Balancer; "
            "the only deployment config an NLB allows is 'CodeDeployDefault.ECSAllAtOnce'",
        )
    ]


CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abc-123"


@pytest.mark.parametrize(
    "source, missing",
    [({"connection_arn": CONNECTION}, "repository"), ({"repository": "owner/repo"}, "connection_arn")],
)
def test_a_connection_and_its_repository_go_together(source: dict[str, str], missing: str) -> None:
    assert _problems({**_one_service(), "pipeline": {"source": source}}) == [
        (f"pipeline.source.{missing}", "connection_arn and repository go together; give both or neither")
    ]


def test_a_source_with_both_or_neither_is_accepted() -> None:
    both = _load({**_one_service(), "pipeline": {"source": {"connection_arn": CONNECTION, "repository": "o/r"}}})
    assert both.pipeline.source.repository == "o/r"
    assert _load({**_one_service(), "pipeline": {"source": {}}}).pipeline.source.connection_arn is None


def test_log_retention_is_one_of_the_periods_cloudwatch_logs_accepts() -> None:
    assert _load({**_one_service(), "logs": {"retention_days": 3653}}).logs.retention_days == 3653
    assert _problems({**_one_service(), "logs": {"retention_days": 31}}) == [
        ("logs.retention_days", f"expected one of {', '.join(map(str, LOG_RETENTION_DAYS))}, found 31")
    ]


def test_a_duplicate_name_and_a_name_of_the_same_logical_id_are_refused_with_their_own_reasons() -> None:
    services = [
        {"name": name, "port": 80, "listener_port": 80 + i, "test_listener_port": 90 + i}
        for i, name in enumerate(["web-1", "web1", "web-1"])
    ]
    assert _problems({"name": "dup", "services": services}) == [
        (
            "services.1.name",
            "'web1' clashes with services[0] ('web-1'): both give the logical id 'Web1' that cfngen derives resource "
            "names from; rename one",
        ),
        ("services.2.name", "'web-1' clashes with services[0] ('web-1'): service names must be unique"),
    ]


def test_deploy_hooks_need_codedeploy_as_the_services_own_or_inherited_strategy() -> None:
    hooks = {"deploy_hooks": {"AfterAllowTestTraffic": "check-green"}}
    assert _load(_one_service(**hooks)).services[0].deploy_hooks == {"AfterAllowTestTraffic": "check-green"}
    own = _one_service(**hooks, deployment={"strategy": "ecs-rolling"})
    inherited = {**_one_service(**hooks), "deployment": {"strategy": "ecs-canary"}}
    for data, strategy in ((own, "ecs-rolling"), (inherited, "ecs-canary")):
        assert _problems(data) == [
            (
                "services.0.deploy_hooks",
                f"are CodeDeploy lifecycle hooks, but the service deploys with strategy {strategy!r}",
            )
        ]
    overridden = {
        **_one_service(**hooks, deployment={"strategy": "codedeploy"}),
        "deployment": {"strategy": "ecs-canary"},
    }
    assert _load(overridden).services[0].deploy_hooks


def test_tag_keys_with_the_aws_prefix_are_refused_in_any_case() -> None:
    assert _problems({**_one_service(), "tags": {"team": "a", "aws:owner": "b", "AWS:Cost": "c"}}) == [
        ("tags", "tag keys starting with 'aws:' are reserved by AWS: AWS:Cost, aws:owner")
    ]
    assert _load({**_one_service(), "tags": {"team-aws:x": "ok"}}).tags == {"team-aws:x": "ok"}

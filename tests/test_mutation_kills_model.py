"""Blueprint schema promises that mutation checking (benchmarks/mutation.py) found unguarded.

Each blueprint goes through the loader (YAML text with its source map, then validation), so a test sees what a
user sees: every problem at its field, with its message. The promises: which tags make a blueprint a production
one; how services fill, and are pinned to, load balancers; which pins are refused; region suggestions; that a
service's own deployment section replaces the blueprint's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cfngen.blueprint import Blueprint, validate
from cfngen.blueprint._model import CrossFieldErrors, is_production
from cfngen.blueprint._yamlsource import loads_yaml
from cfngen.errors import BlueprintError

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

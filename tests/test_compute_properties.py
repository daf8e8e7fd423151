"""Property tests: 1..10 services over 2..6 AZs, with and without a database, synthesize and lint clean.

cfn-lint is the slow part, so the examples are few; each one also checks the
invariants that must hold whatever the blueprint.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cfngen import StackSet, lint, synthesize
from cfngen.blueprint import Blueprint
from cfngen.builders.load_balancer import WORLD
from tests.stack_helpers import resources, the_resource

PATHS = st.sampled_from(["/", "/health", "/api/v1/status", "/x'y;$z"])


@st.composite
def compute_blueprints(draw: Any) -> dict[str, Any]:
    """A valid blueprint varying what the compute and database stacks depend on."""
    zones = draw(st.integers(2, 6))
    count = draw(st.integers(1, 10))
    with_database = draw(st.booleans())
    listener_ports = draw(st.lists(st.integers(1, 65535), min_size=2 * count, max_size=2 * count, unique=True))
    services = []
    for index in range(count):
        low = draw(st.integers(0, 3))
        high = draw(st.integers(max(low, 1), 12))
        service: dict[str, Any] = {
            "name": f"svc-{index}",
            "port": draw(st.sampled_from([80, 443, 3000, 8080, 8443]) | st.integers(1, 65535)),
            "listener_port": listener_ports[2 * index],
            "test_listener_port": listener_ports[2 * index + 1],
            "cpu": draw(st.sampled_from([128, 256, 1024, 4096])),
            "memory": draw(st.sampled_from([128, 512, 4096])),
            "desired_count": draw(st.integers(low, high)),
            "scaling": {"min": low, "max": high, "cpu_target": draw(st.integers(10, 90))},
            "database": with_database and draw(st.booleans()),
            "user": draw(st.sampled_from(["1000", "1000:1000", None])),
            "read_only_root_filesystem": draw(st.booleans()),
            "deregistration_delay_s": draw(st.integers(0, 3600)),
            "health_check_grace_period_s": draw(st.integers(0, 7200)),
        }
        if draw(st.booleans()):
            service["health_check"] = {"path": draw(PATHS)}
        if draw(st.booleans()):
            service["image"] = "public.ecr.aws/nginx/nginx:1.27"
        services.append(service)
    data: dict[str, Any] = {
        "name": "prop",
        "network": {"availability_zones": zones, "nat_gateways": draw(st.integers(1, zones))},
        "cluster": {"min_size": 0, "desired_capacity": 0, "max_size": draw(st.integers(1, 50))},
        "load_balancer": {"scheme": draw(st.sampled_from(["internet-facing", "internal"]))},
        "services": services,
    }
    if with_database:
        data["database"] = {"readers": draw(st.integers(0, 15)), "deletion_protection": draw(st.booleans())}
    return data


def _extreme(services: int, zones: int, readers: int | None) -> dict[str, Any]:
    """A fixed blueprint at an edge of the ranges, so every run covers the edges whatever hypothesis draws."""
    data: dict[str, Any] = {
        "name": "edge",
        "network": {"availability_zones": zones},
        "services": [
            {
                "name": f"svc-{index}",
                "port": 8080,
                "listener_port": 100 + index,
                "test_listener_port": 200 + index,
                "database": readers is not None,
            }
            for index in range(services)
        ],
    }
    if readers is not None:
        data["database"] = {"readers": readers}
    return data


def _check_invariants(blueprint: Blueprint, stacks: StackSet) -> None:
    names = [child.name for child in stacks.children]
    assert ("database" in names) == (blueprint.database is not None)
    if blueprint.database is not None:
        instances = resources(stacks.child("database").template, "AWS::RDS::DBInstance")
        assert len(instances) == blueprint.database.readers + 1
    balancer = stacks.child("load-balancer").template
    ingress = the_resource(balancer, "AWS::EC2::SecurityGroup")["Properties"]["SecurityGroupIngress"]
    test_ports = {service.test_listener_port for service in blueprint.services}
    assert not [rule for rule in ingress if rule["FromPort"] in test_ports and rule["CidrIp"] == WORLD]
    for service in blueprint.services:
        template = stacks.child(f"service-{service.name}").template
        ecs_service = the_resource(template, "AWS::ECS::Service")["Properties"]
        assert ecs_service["DeploymentController"] == {"Type": "CODE_DEPLOY"}
        assert isinstance(ecs_service["TaskDefinition"], str)
        assert bool(resources(template, "AWS::EC2::SecurityGroupIngress")) == service.database


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compute_blueprints())
@example(_extreme(services=1, zones=2, readers=None))
@example(_extreme(services=10, zones=6, readers=15))
def test_every_compute_blueprint_synthesizes_and_lints_clean(data: dict[str, Any]) -> None:
    blueprint = Blueprint.model_validate(data)
    stacks = synthesize(blueprint)
    _check_invariants(blueprint, stacks)
    assert [str(finding) for finding in lint(stacks)] == []

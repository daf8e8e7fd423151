"""Hypothesis strategies for valid blueprints, shared by the property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
service_names = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)


@st.composite
def services(draw: Any, count: int) -> list[dict[str, Any]]:
    """`count` valid services with unique names and unique listener ports."""
    names = draw(st.lists(service_names, min_size=count, max_size=count,
                          unique_by=lambda name: name.replace("-", "").lower()))
    ports = draw(st.lists(st.integers(1, 65535), min_size=2 * count, max_size=2 * count, unique=True))
    result = []
    for index, name in enumerate(names):
        low = draw(st.integers(0, 3))
        high = draw(st.integers(max(low, 1), 12))
        service: dict[str, Any] = {
            "name": name,
            "port": draw(st.integers(1, 65535)),
            "listener_port": ports[2 * index],
            "test_listener_port": ports[2 * index + 1],
            "cpu": draw(st.sampled_from([256, 512, 1024])),
            "memory": draw(st.sampled_from([512, 1024, 2048])),
            "desired_count": draw(st.integers(low, high)),
            "scaling": {"min": low, "max": high, "cpu_target": draw(st.integers(10, 90))},
            "environment": draw(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(
                lambda key: not key.startswith("DB_")), st.text("abc123 -_", max_size=8), max_size=2)),
        }
        if draw(st.booleans()):
            service["health_check"] = {"path": draw(st.sampled_from(["/", "/health", "/api/v1/status"]))}
        result.append(service)
    return result


@st.composite
def blueprints(draw: Any, min_services: int = 1, max_services: int = 10) -> dict[str, Any]:
    """A valid blueprint as plain data, varying every section the schema allows."""
    zones = draw(st.integers(2, 6))
    with_database = draw(st.booleans())
    count = draw(st.integers(min_services, max_services))
    data: dict[str, Any] = {
        "name": draw(st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,6})?", fullmatch=True)),
        "region": draw(st.sampled_from(REGIONS)),
        "tags": draw(st.dictionaries(st.sampled_from(["Team", "CostCenter", "Environment"]),
                                     st.text("abcxyz0123-", min_size=1, max_size=8), max_size=2)),
        "network": {
            "cidr": draw(st.sampled_from(["10.0.0.0/16", "172.16.0.0/20", "192.168.0.0/22", "10.9.8.0/24"])),
            "availability_zones": zones,
            "nat_gateways": draw(st.integers(1, zones)),
        },
        "load_balancer": {"scheme": draw(st.sampled_from(["internet-facing", "internal"]))},
        "services": draw(services(count)),
        "pipeline": {"approval": draw(st.booleans())},
    }
    if with_database:
        data["database"] = {"readers": draw(st.integers(0, 3)), "deletion_protection": draw(st.booleans())}
        for service in data["services"]:
            service["database"] = draw(st.booleans())
    if draw(st.booleans()):
        data["pipeline"]["source"] = {
            "connection_arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd-1234",
            "repository": "example-org/example-repo",
        }
    if draw(st.booleans()):
        data["alarms"] = {"email": "ops@example.com"}
    if draw(st.booleans()):
        data["budget"] = {"monthly_usd": draw(st.integers(10, 5000))}
    return data

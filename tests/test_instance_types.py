"""The bundled instance-type table (facts/instance_types.json) against its sources: every row's vCPUs, memory and
network interfaces against EC2's DescribeInstanceTypes as moto records it, and the trunking column against a
sample of the ECS page's rows."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest

from cfngen.facts import aws

ROWS: dict[str, dict[str, Any]] = aws.table("instance_types.json")["instance_types"]


def _described() -> dict[str, Any]:
    """EC2 DescribeInstanceTypes answers as moto ships them (recorded from AWS by moto's maintainers)."""
    data = resources.files("moto.ec2.resources").joinpath("instance_types.json.gz").read_bytes()
    described: dict[str, Any] = json.loads(gzip.decompress(data))
    return described


def test_every_row_matches_what_ec2_describes_for_the_type() -> None:
    """A guessed or mistyped row fails here (the table once said 3 interfaces for a t3a.small; EC2 says 2)."""
    described = _described()
    wrong = {
        name: row
        for name, row in ROWS.items()
        if (row["vcpus"], row["memory_mib"], row["max_network_interfaces"])
        != (
            described[name]["VCpuInfo"]["DefaultVCpus"],
            described[name]["MemoryInfo"]["SizeInMiB"],
            described[name]["NetworkInfo"]["MaximumNetworkInterfaces"],
        )
    }
    assert wrong == {}


def test_the_table_covers_every_size_of_the_families_it_lists() -> None:
    """'All sizes': a family in the table has every size EC2 describes (c5a.8xlarge, which the ECS page both
    lists and names unsupported, is the one left out on purpose)."""
    families = {name.split(".")[0] for name in ROWS}
    missing = {
        name for name in _described() if name.split(".")[0] in families and name not in ROWS and name != "c5a.8xlarge"
    }
    assert missing == set()
    assert len(ROWS) >= 250


@pytest.mark.parametrize(
    ("name", "tasks", "trunk_tasks"),
    [
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/eni-trunking-supported-instance-types.html
        # (instance type, task limit without ENI trunking, task limit with ENI trunking)
        ("c5.large", 2, 10),
        ("m5.xlarge", 3, 20),
        ("m6g.medium", 1, 4),
        ("m6i.8xlarge", 7, 90),
        ("c6i.12xlarge", 7, 120),
        ("r6a.48xlarge", 14, 120),
        ("c6gn.16xlarge", 14, 120),
        ("r7g.metal", 14, 120),
        # Named unsupported by the page; burstable types are not listed.
        ("r5.8xlarge", 7, None),
        ("m5.metal", 14, None),
        ("t4g.small", 2, None),
    ],
)
def test_awsvpc_tasks_per_instance_are_the_ecs_pages(name: str, tasks: int, trunk_tasks: int | None) -> None:
    instance = aws.instance_type(name)
    assert instance is not None
    assert instance.awsvpc_tasks(trunking=False) == tasks
    assert instance.trunk_tasks == trunk_tasks
    assert instance.awsvpc_tasks(trunking=True) == (trunk_tasks or tasks)

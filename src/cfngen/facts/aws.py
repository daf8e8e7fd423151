"""Facts about AWS that the blueprint is checked against and the builders size things by, in one place.

Data a well-kept package ships is read from it: the regions from botocore's endpoint data, the instance
types each region offers from cfn-lint's schemas. What no package ships is bundled as dated JSON next to
this module (``availability_zones.json``, ``instance_types.json``, ``aurora_mysql.json``,
``aurora_mysql_versions.json``), each with its
``source`` and ``as_of``; a test fails when one is more than a year old.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

BUNDLED_TABLES = ("availability_zones.json", "instance_types.json", "aurora_mysql.json", "aurora_mysql_versions.json")

# Aurora MySQL 3 is MySQL 8.0 compatible; its engine versions read 8.0.mysql_aurora.3.x.y.
AURORA_MYSQL_3 = "8.0.mysql_aurora.3"

# The ECS agent registers the memory the kernel reports, less than the instance's installed memory (an
# m4.large registers 7,985 of its 8,192 MiB): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/memory-management.html
# cfngen counts on 5% less than installed, the buffer AWS recommends keeping for the agent and the system
# processes: https://docs.aws.amazon.com/batch/latest/userguide/ecs-reserved-memory.html
ECS_MEMORY_RESERVED_PERCENT = 5
# One vCPU is 1,024 ECS CPU units; the agent registers them all.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#ContainerDefinition-cpu
CPU_UNITS_PER_VCPU = 1024


@dataclass(frozen=True)
class InstanceType:
    """What an EC2 instance type offers ECS tasks."""

    name: str
    vcpus: int
    memory_mib: int
    max_network_interfaces: int
    trunk_tasks: int | None
    """awsvpc tasks per instance with ENI trunking on; None where the type does not support trunking."""

    @property
    def task_cpu_units(self) -> int:
        """CPU units the ECS agent registers for tasks."""
        return self.vcpus * CPU_UNITS_PER_VCPU

    @property
    def task_memory_mib(self) -> int:
        """Memory (MiB) cfngen counts on for tasks, after the agent's and the system's reservation."""
        return self.memory_mib * (100 - ECS_MEMORY_RESERVED_PERCENT) // 100

    def awsvpc_tasks(self, *, trunking: bool) -> int:
        """awsvpc tasks one instance holds: one network interface each, the primary one excepted; more with
        trunking where the type supports it.
        https://docs.aws.amazon.com/AmazonECS/latest/developerguide/container-instance-eni.html"""
        if trunking and self.trunk_tasks is not None:
            return self.trunk_tasks
        return self.max_network_interfaces - 1


def table(name: str) -> dict[str, Any]:
    """One bundled table (a file of BUNDLED_TABLES), with its ``source`` and ``as_of``."""
    return _table(name)


@functools.cache
def _table(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files("cfngen.facts").joinpath(name).read_text(encoding="utf-8"))
    return data


def as_of(name: str) -> date:
    """The date a bundled table was last checked against its source."""
    return date.fromisoformat(table(name)["as_of"])


@functools.cache
def regions() -> frozenset[str]:
    """Every region of every partition, from the endpoint data botocore ships (read as its loader reads it,
    without importing botocore: a command that only synthesizes never needs it)."""
    endpoints = json.loads(_package_file("botocore", "data/endpoints.json"))
    return frozenset(region for partition in endpoints["partitions"] for region in partition["regions"])


def availability_zones(region: str) -> int | None:
    """How many Availability Zones `region` offers a new account; None where the bundled table does not say."""
    count = table("availability_zones.json")["availability_zones"].get(region)
    return int(count) if count is not None else None


@functools.cache
def region_instance_types(region: str) -> frozenset[str] | None:
    """The EC2 instance types `region` offers (cfn-lint's enumeration); None for a region cfn-lint does not list."""
    enum = json.loads(_package_file("cfnlint", "data/schemas/extensions/aws_ec2_instance/instancetype_enum.json"))
    listed = enum.get(region)
    return frozenset(listed["enum"]) if listed else None


def _package_file(package: str, relative: str) -> str:
    """The text of a data file a package ships, found without importing the package (cfn-lint takes seconds to
    import, and a load that only checks a blueprint never needs it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(package)
    return (Path(spec.submodule_search_locations[0]) / relative).read_text(encoding="utf-8")


def instance_type(name: str) -> InstanceType | None:
    """The capacity facts of instance type `name`; None where the bundled table does not have it."""
    facts = table("instance_types.json")["instance_types"].get(name)
    return InstanceType(name=name, **facts) if facts else None


def aurora_mysql_instance_memory_gib(engine_version: str = AURORA_MYSQL_3) -> dict[str, int]:
    """The instance classes Aurora MySQL `engine_version` runs on, with their memory in GiB (empty if unknown)."""
    engines = table("aurora_mysql.json")["engines"]
    for prefix, facts in engines.items():
        if engine_version == prefix or engine_version.startswith(prefix + "."):
            return dict(facts["instance_memory_gib"])
    return {}


def aurora_mysql_versions() -> tuple[str, ...]:
    """The Aurora MySQL 3 engine versions a new cluster can be created with, as of the table's date."""
    return tuple(table("aurora_mysql_versions.json")["versions"])


def aurora_mysql_long_term_support() -> tuple[str, ...]:
    """The Aurora MySQL 3 minor versions AWS designates long-term support ("3.10"), newest last."""
    return tuple(table("aurora_mysql_versions.json")["long_term_support"])


def aurora_mysql_release(engine_version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of an Aurora MySQL engine version: 8.0.mysql_aurora.3.10.4 -> (3, 10, 4)."""
    major, minor, patch = engine_version.rsplit(".", 3)[1:]
    return int(major), int(minor), int(patch)


# The default engine version: the newest patch of the newest long-term-support minor (a cluster on it is
# upgraded only to the next LTS release, after three years at least).
AURORA_MYSQL_DEFAULT_VERSION: str = table("aurora_mysql_versions.json")["default"]

# The classes Aurora MySQL 3 runs on with their memory: the schema accepts exactly these; the monitoring stack
# derives each one's default max_connections from its memory (see builders/monitoring.py).
AURORA_MYSQL_INSTANCE_MEMORY_GIB: dict[str, int] = aurora_mysql_instance_memory_gib()


# A CodeBuild build runs at most 36 hours (TimeoutInMinutes 5..2160):
# https://docs.aws.amazon.com/codebuild/latest/APIReference/API_CreateProject.html#CodeBuild-CreateProject-request-timeoutInMinutes
CODEBUILD_MAX_TIMEOUT_MINUTES = 2160

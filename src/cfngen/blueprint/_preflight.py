"""Preflight: what AWS would refuse or could never run, checked against the AWS facts at load time.

The schema checks each value; this checks the blueprint against AWS: Availability Zones the region has,
instance types it offers, tasks that fit an instance, and tasks the cluster can place at ``max_size``.
:func:`preflight_problems` gives errors (the loader reports them like every other blueprint problem);
:func:`preflight_warnings` what may work but can fail at peak (synth and lint print them, the review lists
them).

Placement is counted per resource over the whole cluster at ``cluster.max_size``: network interfaces (one
per awsvpc task), CPU units and memory. That is a necessary condition, not a bin packing: tasks of
different sizes can still leave every instance a little short.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cfngen.blueprint._model import Blueprint, Service
from cfngen.facts import aws

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class PreflightWarning:
    """Something that may work but can fail at peak, at a dotted field path of the blueprint."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def preflight_problems(blueprint: Blueprint) -> list[tuple[Loc, str]]:
    """(field path, message) for each thing AWS would refuse or could never run."""
    problems = _zone_problems(blueprint) + _instance_type_problems(blueprint) + _engine_version_problems(blueprint)
    instance = aws.instance_type(blueprint.cluster.instance_type)
    if instance is not None and not problems:
        problems += _trunking_problems(blueprint, instance)
        problems += _task_size_problems(blueprint, instance)
        if not problems:
            shortfall = _shortfall(blueprint, instance, lambda service: service.desired_count)
            if shortfall:
                problems.append((("cluster", "max_size"), f"cannot place the desired tasks: {shortfall}"))
    return problems


def preflight_warnings(blueprint: Blueprint) -> list[PreflightWarning]:
    """What may work at creation but can fail at peak: scaling maxima beyond the cluster's capacity at max_size."""
    warnings = _engine_version_warnings(blueprint)
    instance = aws.instance_type(blueprint.cluster.instance_type)
    if instance is None:
        return warnings + [
            PreflightWarning(
                "cluster.instance_type",
                f"cfngen has no capacity facts for {blueprint.cluster.instance_type}; whether the "
                "tasks fit its instances was not checked",
            )
        ]
    shortfall = _shortfall(blueprint, instance, lambda service: service.scaling.max)
    if not shortfall:
        return warnings
    return warnings + [
        PreflightWarning(
            "cluster.max_size",
            f"the services cannot all scale to scaling.max: {shortfall}; "
            "raise cluster.max_size, choose a larger cluster.instance_type"
            + (
                ""
                if blueprint.cluster.awsvpc_trunking or instance.trunk_tasks is None
                else " or turn on cluster.awsvpc_trunking"
            )
            + ", or lower the services' scaling.max",
        )
    ]


def _zone_problems(blueprint: Blueprint) -> list[tuple[Loc, str]]:
    zones = aws.availability_zones(blueprint.region)
    wanted = blueprint.network.availability_zones
    if zones is None or wanted <= zones:
        return []
    return [
        (
            ("network", "availability_zones"),
            f"{blueprint.region} offers {zones} Availability Zones, found {wanted}; use at most {zones} "
            f"(AWS facts as of {aws.as_of('availability_zones.json')})",
        )
    ]


def _engine_version_newer_than_facts(version: str) -> bool:
    """True for a version after every one the dated table lists: released since, so not checked (not refused)."""
    return aws.aurora_mysql_release(version) > max(map(aws.aurora_mysql_release, aws.aurora_mysql_versions()))


def _engine_version_problems(blueprint: Blueprint) -> list[tuple[Loc, str]]:
    """A version AWS no longer offers (or never did): creating the cluster would fail."""
    database = blueprint.database
    if (
        database is None
        or database.engine_version in aws.aurora_mysql_versions()
        or _engine_version_newer_than_facts(database.engine_version)
    ):
        return []
    return [
        (
            ("database", "engine_version"),
            f"{database.engine_version!r} is not an Aurora MySQL version AWS offers new clusters (AWS facts as of "
            f"{aws.as_of('aurora_mysql_versions.json')}); use {aws.AURORA_MYSQL_DEFAULT_VERSION} (long-term "
            f"support) or one of {', '.join(aws.aurora_mysql_versions())}",
        )
    ]


def _engine_version_warnings(blueprint: Blueprint) -> list[PreflightWarning]:
    database = blueprint.database
    if database is None or not _engine_version_newer_than_facts(database.engine_version):
        return []
    return [
        PreflightWarning(
            "database.engine_version",
            f"{database.engine_version} is newer than cfngen's Aurora MySQL facts (as of "
            f"{aws.as_of('aurora_mysql_versions.json')}); whether AWS offers it was not checked",
        )
    ]


def _instance_type_problems(blueprint: Blueprint) -> list[tuple[Loc, str]]:
    name = blueprint.cluster.instance_type
    offered = aws.region_instance_types(blueprint.region)
    if offered is None or name in offered:
        return []
    hint = difflib.get_close_matches(name, sorted(offered), n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return [
        (("cluster", "instance_type"), f"{name!r} is not an EC2 instance type {blueprint.region} offers{suggestion}")
    ]


def _trunking_problems(blueprint: Blueprint, instance: aws.InstanceType) -> list[tuple[Loc, str]]:
    if not blueprint.cluster.awsvpc_trunking or instance.trunk_tasks is not None:
        return []
    return [
        (
            ("cluster", "awsvpc_trunking"),
            f"{instance.name} does not support ENI trunking (burstable types never do); choose a type that does, "
            "such as m6i.large or c6g.large, or leave awsvpc_trunking off",
        )
    ]


def _task_size_problems(blueprint: Blueprint, instance: aws.InstanceType) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    for index, service in enumerate(blueprint.services):
        if service.cpu > instance.task_cpu_units:
            problems.append(
                (
                    ("services", index, "cpu"),
                    f"{service.cpu} CPU units do not fit a {instance.name}, which offers tasks "
                    f"{instance.task_cpu_units} ({instance.vcpus} vCPUs); lower cpu or choose a larger "
                    "cluster.instance_type",
                )
            )
        if service.memory > instance.task_memory_mib:
            problems.append(
                (
                    ("services", index, "memory"),
                    f"{service.memory} MiB do not fit a {instance.name}, which offers tasks "
                    f"{instance.task_memory_mib} MiB ({instance.memory_mib} MiB less the "
                    f"{aws.ECS_MEMORY_RESERVED_PERCENT}% kept for the ECS agent and the system); lower "
                    "memory or choose a larger cluster.instance_type",
                )
            )
    return problems


def _shortfall(blueprint: Blueprint, instance: aws.InstanceType, count: Callable[[Service], int]) -> str:
    """What the tasks (`count` of each service, plus the extra set a blue/green deployment of the largest one
    starts beside them) need beyond what max_size instances offer; empty when they fit."""
    instances = blueprint.cluster.max_size
    trunking = blueprint.cluster.awsvpc_trunking
    per_instance = {
        "network interfaces": instance.awsvpc_tasks(trunking=trunking),
        "CPU units": instance.task_cpu_units,
        "MiB of memory": instance.task_memory_mib,
    }
    per_task: dict[str, Callable[[Service], int]] = {
        "network interfaces": lambda service: 1,
        "CPU units": lambda service: service.cpu,
        "MiB of memory": lambda service: service.memory,
    }
    tasks = sum(count(service) for service in blueprint.services)
    for resource, offered in per_instance.items():
        needed, extra = _demand(blueprint.services, count, per_task[resource])
        if needed + extra > offered * instances:
            note = ""
            if resource == "network interfaces":
                note = (
                    " with ENI trunking"
                    if trunking and instance.trunk_tasks is not None
                    else ": one per awsvpc task, the primary one excepted"
                )
            return (
                f"{tasks} tasks and the second set a blue/green deployment starts beside them need "
                f"{needed + extra} {resource}; {instances} {instance.name} instances (cluster.max_size) offer "
                f"{offered * instances} ({offered} each{note})"
            )
    return ""


def _demand(
    services: Sequence[Service], count: Callable[[Service], int], size: Callable[[Service], int]
) -> tuple[int, int]:
    """(what the running tasks need, what the largest blue/green replacement set needs on top)."""
    needs = [count(service) * size(service) for service in services]
    return sum(needs), max(needs, default=0)

"""Where a generated value comes from: (stack, logical id, property path) -> the blueprint field that sets it.

One table, :data:`ORIGINS`, written beside the builders that turn those fields into properties, so that a
finding on a generated template (cfn-lint, cfngen's rules) can point at the line of the blueprint, service file
or base that a user edits, rather than at a template the user never writes. A value no entry names keeps
pointing at its template.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cfngen.blueprint import Blueprint, logical_name

FieldPath = tuple[str | int, ...]

# In a resource pattern: the logical name of any of the blueprint's services (ServiceA...).
SERVICE = "{Service}"
# In a field path: ("services", index) of the service the resource belongs to.
OF_SERVICE = "{service}"
# In a property pattern: a list entry, captured by its Name (a container's environment variable);
# in a field path: the name captured.
NAMED = "{Name}"
ANY = "*"


@dataclass(frozen=True)
class Origin:
    """Properties of the resources `resource` (fnmatch pattern, `SERVICE` first for a service's resources) of the
    stacks `stack` (the stack's name without its service or number; "*" any) at or under `properties` (one step
    each; "*" any step) come from the blueprint's `field`."""

    stack: str
    resource: str
    properties: tuple[str, ...]
    field: tuple[str, ...]

    @property
    def specificity(self) -> tuple[int, bool, bool]:
        """Orders the origins that match one value: the longest property path, then a named resource and stack."""
        return len(self.properties), self.resource != ANY, self.stack != ANY


_CONTAINER = ("ContainerDefinitions", ANY)
ORIGINS: tuple[Origin, ...] = (
    # Whole sections: a value of a stack that no finer entry names comes from the section that shapes that stack.
    Origin("service", ANY, (), (OF_SERVICE,)),
    Origin("registry", ANY, (), (OF_SERVICE,)),
    Origin("pipeline", ANY, (), ("pipeline",)),
    Origin("database", ANY, (), ("database",)),
    Origin("cluster", ANY, (), ("cluster",)),
    Origin("network", ANY, (), ("network",)),
    Origin("load-balancer", ANY, (), ("load_balancer",)),
    Origin("load-balancer", f"{SERVICE}*", (), (OF_SERVICE,)),
    Origin("monitoring", ANY, (), ("alarms",)),
    Origin("monitoring", "MonthlyBudget", (), ("budget",)),
    # Everywhere
    Origin(ANY, ANY, ("Tags",), ("tags",)),
    Origin(ANY, "*LogGroup", ("RetentionInDays",), ("logs", "retention_days")),
    # builders/service.py, builders/taskdef.py
    Origin("service", f"{SERVICE}TaskDefinition", ("Cpu",), (OF_SERVICE, "cpu")),
    Origin("service", f"{SERVICE}TaskDefinition", ("Memory",), (OF_SERVICE, "memory")),
    Origin("service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "Environment"), (OF_SERVICE, "environment")),
    Origin(
        "service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "Environment", NAMED), (OF_SERVICE, "environment", NAMED)
    ),
    Origin("service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "HealthCheck"), (OF_SERVICE, "health_check")),
    Origin("service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "PortMappings"), (OF_SERVICE, "port")),
    Origin("service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "Image"), (OF_SERVICE, "image")),
    Origin("service", f"{SERVICE}TaskDefinition", (*_CONTAINER, "User"), (OF_SERVICE, "user")),
    Origin(
        "service",
        f"{SERVICE}TaskDefinition",
        (*_CONTAINER, "ReadonlyRootFilesystem"),
        (OF_SERVICE, "read_only_root_filesystem"),
    ),
    Origin("service", f"{SERVICE}Service", ("DesiredCount",), (OF_SERVICE, "desired_count")),
    Origin(
        "service", f"{SERVICE}Service", ("HealthCheckGracePeriodSeconds",), (OF_SERVICE, "health_check_grace_period_s")
    ),
    Origin("service", f"{SERVICE}Service", ("EnableExecuteCommand",), (OF_SERVICE, "exec")),
    Origin("service", f"{SERVICE}Service", ("DeploymentConfiguration",), (OF_SERVICE, "deployment")),
    Origin("service", f"{SERVICE}ScalableTarget", ("MinCapacity",), (OF_SERVICE, "scaling", "min")),
    Origin("service", f"{SERVICE}ScalableTarget", ("MaxCapacity",), (OF_SERVICE, "scaling", "max")),
    Origin("service", f"{SERVICE}CpuScalingPolicy", (), (OF_SERVICE, "scaling", "cpu_target")),
    # builders/load_balancer.py
    Origin("load-balancer", "LoadBalancer", ("Scheme",), ("load_balancer", "scheme")),
    Origin("load-balancer", f"{SERVICE}*TargetGroup", ("Port",), (OF_SERVICE, "port")),
    Origin("load-balancer", f"{SERVICE}*TargetGroup", ("HealthCheckPath",), (OF_SERVICE, "health_check", "path")),
    Origin(
        "load-balancer",
        f"{SERVICE}*TargetGroup",
        ("TargetGroupAttributes",),
        (OF_SERVICE, "deregistration_delay_s"),
    ),
    Origin("load-balancer", f"{SERVICE}ProductionListener", ("Port",), (OF_SERVICE, "listener_port")),
    Origin("load-balancer", f"{SERVICE}TestListener", ("Port",), (OF_SERVICE, "test_listener_port")),
    # builders/cluster.py
    Origin("cluster", "AutoScalingGroup", ("MinSize",), ("cluster", "min_size")),
    Origin("cluster", "AutoScalingGroup", ("MaxSize",), ("cluster", "max_size")),
    Origin("cluster", "AutoScalingGroup", ("DesiredCapacity",), ("cluster", "desired_capacity")),
    Origin("cluster", "LaunchTemplate", ("LaunchTemplateData", "InstanceType"), ("cluster", "instance_type")),
    Origin("cluster", "LaunchTemplate", ("LaunchTemplateData", "BlockDeviceMappings"), ("cluster", "root_volume_gib")),
    Origin(
        "cluster",
        "CapacityProvider",
        ("AutoScalingGroupProvider", "ManagedScaling", "TargetCapacity"),
        ("cluster", "target_capacity"),
    ),
    # builders/network.py
    Origin("network", "Vpc", ("CidrBlock",), ("network", "cidr")),
    # builders/database.py
    Origin("database", "DatabaseCluster", ("EngineVersion",), ("database", "engine_version")),
    Origin("database", "DatabaseCluster", ("DatabaseName",), ("database", "database_name")),
    Origin("database", "DatabaseCluster", ("MasterUsername",), ("database", "master_username")),
    Origin("database", "DatabaseCluster", ("BackupRetentionPeriod",), ("database", "backup_retention_days")),
    Origin("database", "DatabaseCluster", ("DeletionProtection",), ("database", "deletion_protection")),
    Origin("database", "Database*", ("DBInstanceClass",), ("database", "instance_class")),
    # builders/pipeline.py, builders/registry.py
    Origin("pipeline", f"{SERVICE}DeploymentGroup", ("DeploymentConfigName",), ("pipeline", "deployment_config")),
    Origin("pipeline", f"{SERVICE}Pipeline", (), ("pipeline",)),
    Origin("registry", f"{SERVICE}ImageRepository", ("LifecyclePolicy",), ("pipeline", "keep_images")),
    # builders/monitoring.py
    Origin("monitoring", "AlarmEmailSubscription", (), ("alarms", "email")),
)

_NUMBERED = re.compile(r"-\d+$")


def field_of(
    blueprint: Blueprint, stack: str, service: str, template: Mapping[str, Any], path: Sequence[str | int]
) -> FieldPath | None:
    """The blueprint field that sets the value at `path` (``Resources/<logical id>/Properties/...``) of `template`,
    the template of the stack named `stack` (a file stem) that belongs to `service` ("" for a platform stack);
    None where no origin names it."""
    if len(path) < 2 or path[0] != "Resources" or not isinstance(path[1], str):
        return None
    logical_id = path[1]
    properties = tuple(path[3:]) if len(path) > 2 and path[2] == "Properties" else ()
    kind = stack.removesuffix(f"-{service}") if service else _NUMBERED.sub("", stack)
    resource = template.get("Resources", {}).get(logical_id, {}).get("Properties", {})
    best: tuple[Origin, FieldPath] | None = None
    for origin in ORIGINS:
        if origin.stack not in (ANY, kind) or (best is not None and origin.specificity <= best[0].specificity):
            continue
        owner = _owner(blueprint, origin.resource, logical_id, service)
        captured = _captured(origin.properties, properties, resource)
        if owner is not None and captured is not None:
            field = _field(blueprint, origin.field, owner, captured)
            if field is not None:
                best = (origin, field)
    return best[1] if best else None


def _owner(blueprint: Blueprint, pattern: str, logical_id: str, service: str) -> str | None:
    """The service a resource matching `pattern` belongs to ("" for none), or None when it does not match."""
    if not pattern.startswith(SERVICE):
        return service if fnmatch.fnmatchcase(logical_id, pattern) else None
    for candidate in blueprint.services:
        prefix = logical_name(candidate.name)
        if logical_id.startswith(prefix) and fnmatch.fnmatchcase(
            logical_id[len(prefix) :], pattern.removeprefix(SERVICE)
        ):
            return candidate.name
    return None


def _captured(pattern: tuple[str, ...], properties: tuple[str | int, ...], resource: Any) -> str | None:
    """The name a `NAMED` step captured ("" for none) when `properties` lies at or under `pattern`, else None."""
    if len(properties) < len(pattern):
        return None
    captured = ""
    value = resource
    for step, actual in zip(pattern, properties):
        value = _child(value, actual)
        if step == NAMED:
            if not isinstance(actual, int) or not isinstance(value, dict) or not isinstance(value.get("Name"), str):
                return None
            captured = value["Name"]
        elif step not in (ANY, actual):
            return None
    return captured


def _child(value: Any, key: str | int) -> Any:
    """The value under `key` of a mapping or list, None where there is none."""
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return None


def _field(blueprint: Blueprint, field: tuple[str, ...], owner: str, captured: str) -> FieldPath | None:
    path: list[str | int] = []
    for step in field:
        if step == OF_SERVICE:
            names = [service.name for service in blueprint.services]
            if owner not in names:
                return None
            path += ["services", names.index(owner)]
        else:
            path.append(captured if step == NAMED else step)
    return tuple(path)

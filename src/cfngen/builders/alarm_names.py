"""The names of every service's CloudWatch alarms, computed in one place.

The pipeline stack's deployment group rolls back on these alarms, and the
monitoring stack creates them. Computing the names here (instead of passing
them as outputs) keeps the monitoring stack after the pipelines in the wiring
order without a cycle; see docs/wiring.md.
"""

from __future__ import annotations

from cfngen.blueprint import Blueprint, Service

# Alarm kinds per service, each an alarm that a bad release can trip.
SERVICE_ALARM_KINDS = ("cpu-high", "memory-high", "running-tasks-low", "unhealthy-targets")


def service_alarm_name(blueprint: Blueprint, service: Service, kind: str) -> str:
    """The alarm name for one `kind` of SERVICE_ALARM_KINDS: "<blueprint>-<service>-<kind>"."""
    if kind not in SERVICE_ALARM_KINDS:
        raise ValueError(f"unknown alarm kind {kind!r}; expected one of {', '.join(SERVICE_ALARM_KINDS)}")
    return f"{blueprint.name}-{service.name}-{kind}"


def service_alarm_names(blueprint: Blueprint, service: Service) -> list[str]:
    """Every alarm name of `service`, in SERVICE_ALARM_KINDS order."""
    return [service_alarm_name(blueprint, service, kind) for kind in SERVICE_ALARM_KINDS]


def alarm_topic_name(blueprint: Blueprint) -> str:
    """Name of the SNS topic every alarm, failure rule and approval request goes to; its key's alias is alias/<name>."""
    return f"{blueprint.name}-alarms"

"""Loading, the first stage: blueprint files -> a validated, frozen ``Blueprint``.

YAML is read with a source map (``_yamlsource``), service files and ``extends``
layers are included, ``--set`` overrides applied (``_overrides``), and the
result is validated by the pydantic models (``_model``) in ``_loader``, then
checked against the AWS facts (``_preflight``). Every
problem names its file, line, column and field. ``_schema`` derives the JSON
Schema of the files from the same models. Nothing here imports a later stage.
"""

from cfngen.blueprint._loader import EXTENDS, load_blueprint, load_blueprint_with_source, project_root, validate
from cfngen.blueprint._model import (
    HOOK_EVENTS,
    LOG_RETENTION_DAYS,
    MAX_SERVICES,
    MAX_SERVICES_PER_LOAD_BALANCER,
    TASK_CPU_UNITS,
    Blueprint,
    Budget,
    Database,
    DatabaseGrant,
    Deployment,
    HealthCheck,
    Service,
    logical_name,
)
from cfngen.blueprint._preflight import PreflightWarning, preflight_problems, preflight_warnings
from cfngen.blueprint._yamlsource import Mark, SourceMap

__all__ = [
    "EXTENDS",
    "HOOK_EVENTS",
    "LOG_RETENTION_DAYS",
    "MAX_SERVICES",
    "MAX_SERVICES_PER_LOAD_BALANCER",
    "TASK_CPU_UNITS",
    "Blueprint",
    "Deployment",
    "Budget",
    "Database",
    "DatabaseGrant",
    "HealthCheck",
    "Mark",
    "PreflightWarning",
    "Service",
    "SourceMap",
    "load_blueprint",
    "load_blueprint_with_source",
    "logical_name",
    "preflight_problems",
    "preflight_warnings",
    "project_root",
    "validate",
]

"""Hypothesis strategies for valid blueprints, shared by the property tests.

They reach every field of the blueprint schema (tests/test_properties.py checks it, so a new field
fails that test until it is generated here): names at their length limits, more services than one
load balancer holds, load-balancer pins, hooks, test commands, instance types, every optional section;
:func:`layered` splits a blueprint into a base file, an overlay that extends it and ``--set`` overrides.
"""

from __future__ import annotations

from typing import Any, get_args

from hypothesis import strategies as st

from cfngen.blueprint._model import (
    BLUEPRINT_NAME_MAX,
    DEPLOYMENT_STRATEGIES,
    ECS_TRAFFIC_SHIFTING_STRATEGIES,
    HOOK_EVENTS,
    LOG_RETENTION_DAYS,
    MAX_SERVICES_PER_LOAD_BALANCER,
    PROXY_MAX_DATABASE_SERVICES,
    RESERVED_DATABASE_USERS,
    SERVICE_NAME_MAX,
    SYSTEM_SCHEMAS,
    TASK_CPU_UNITS,
    SchemaPrivilege,
    _number_load_balancers,
)
from cfngen.facts.aws import availability_zones

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
INSTANCE_TYPES = ["t3.small", "t3.medium", "m5.large", "c5.xlarge", "m6i.2xlarge", "r5.large"]
# Aurora MySQL classes offered in every region of REGIONS (cfn-lint knows which region offers which: the schema
# accepts any class of cfngen.facts.aws.AURORA_MYSQL_INSTANCE_MEMORY_GIB, and db.x2g.* in ap-southeast-2 fails lint with E3025).
INSTANCE_CLASSES = ["db.t3.medium", "db.t4g.medium", "db.r5.large", "db.r6g.large", "db.r6i.xlarge", "db.r7g.2xlarge"]
# Versions cfn-lint does not list as deprecated (W3690): older ones pass the schema and fail lint.
ENGINE_VERSIONS = ["8.0.mysql_aurora.3.04.4", "8.0.mysql_aurora.3.10.3", "8.0.mysql_aurora.3.12.0"]
# Fargate-compatible (cpu, memory) pairs are not required on EC2; these keep tasks within one instance.
TASK_SIZES = [(cpu, memory) for cpu in TASK_CPU_UNITS[:4] for memory in (256, 512, 1024)]


@st.composite
def deployments(draw: Any) -> dict[str, Any]:
    """A deployment section: a strategy and the options that strategy takes (an option it ignores is an error)."""
    strategy = draw(st.sampled_from(DEPLOYMENT_STRATEGIES))
    section: dict[str, Any] = {"strategy": strategy}
    # Waits within what the deploy stage's build can follow (CodeBuild stops a build after 36 hours).
    if strategy != "codedeploy" and draw(st.booleans()):
        section["bake_minutes"] = draw(st.integers(0, 300))
    if strategy in ECS_TRAFFIC_SHIFTING_STRATEGIES and draw(st.booleans()):
        section["wait_minutes"] = draw(st.integers(1, 300))
    if strategy in ("codedeploy", *ECS_TRAFFIC_SHIFTING_STRATEGIES) and draw(st.booleans()):
        section["test"] = {"path": draw(st.sampled_from(["/", "/health", "/status?deep=1"]))}
        if draw(st.booleans()):
            section["test"]["expect"] = draw(st.sampled_from([200, 204, 401]))
    if strategy == "ecs-linear":
        section.update(
            step_percent=draw(st.sampled_from([3.0, 10.0, 33.0, 100.0])), step_bake_minutes=draw(st.integers(0, 30))
        )
    if strategy == "ecs-canary":
        section.update(
            canary_percent=draw(st.sampled_from([0.1, 5.0, 50.0])), canary_bake_minutes=draw(st.integers(0, 1440))
        )
    return section


def names(max_length: int) -> st.SearchStrategy[str]:
    """lowercase-hyphen names (NAME_PATTERN): short ones, and ones exactly `max_length` long."""
    short = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
    return st.one_of(short, _names_of_length(max_length))


@st.composite
def _names_of_length(draw: Any, length: int) -> str:
    letters = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=length, max_size=length))
    hyphens = draw(st.sets(st.integers(1, length - 2), max_size=3))
    characters = [
        "a" if index == 0 else "-" if index in hyphens and index - 1 not in hyphens else character
        for index, character in enumerate(letters)
    ]
    if characters[-1] == "-":
        characters[-1] = "z"
    return "".join(characters)


# A service's database user is named like the service: never a name Aurora reserves or the master users drawn below.
DATABASE_USERS_TAKEN = RESERVED_DATABASE_USERS | {"dbadmin", "app_user"}


def database_grants() -> st.SearchStrategy[list[dict[str, Any]]]:
    """One to three grants on distinct schemas: ALL (stated or by default), or a few named privileges."""
    privileges = st.one_of(
        st.just(["ALL"]),
        st.lists(
            st.sampled_from([p for p in get_args(SchemaPrivilege) if p != "ALL"]), min_size=1, max_size=4, unique=True
        ),
    )
    grant = st.fixed_dictionaries(
        {"schema": st.from_regex(r"[a-z][a-z0-9_]{0,10}|[a-z][a-z0-9_]{63}", fullmatch=True)},
        optional={"privileges": privileges},
    )
    return st.lists(grant, min_size=1, max_size=3, unique_by=lambda grant: grant["schema"]).filter(
        lambda grants: not {grant["schema"] for grant in grants} & SYSTEM_SCHEMAS
    )


@st.composite
def services(draw: Any, count: int, with_database: bool, long_values: bool = True) -> list[dict[str, Any]]:
    """`count` valid services with unique names and unique listener ports (unique across load balancers too).

    `long_values`: environment names and hook function names at their length limits too (each character is a
    choice hypothesis makes: many services with them overrun its data budget).
    """
    long_env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{254}", fullmatch=True) if long_values else st.nothing()
    long_functions = st.from_regex(r"[A-Za-z0-9_-]{64}", fullmatch=True) if long_values else st.nothing()
    names_ = draw(
        st.lists(
            names(SERVICE_NAME_MAX),
            min_size=count,
            max_size=count,
            unique_by=lambda name: name.replace("-", "").lower(),
        ).filter(lambda names: not {name.replace("-", "_") for name in names} & DATABASE_USERS_TAKEN)
    )
    ports = draw(st.lists(st.integers(1, 65535), min_size=2 * count, max_size=2 * count, unique=True))
    result = []
    for index, name in enumerate(names_):
        low = draw(st.integers(0, 3))
        high = draw(st.integers(max(low, 1), 12))
        cpu, memory = draw(st.sampled_from(TASK_SIZES))
        service: dict[str, Any] = {
            "name": name,
            "port": draw(st.integers(1, 65535)),
            "listener_port": ports[2 * index],
            "test_listener_port": ports[2 * index + 1],
            "cpu": cpu,
            "memory": memory,
            "desired_count": draw(st.integers(low, high)),
            "scaling": {"min": low, "max": high, "cpu_target": draw(st.integers(10, 90))},
            "environment": draw(
                st.dictionaries(
                    st.one_of(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), long_env_names).filter(
                        lambda key: not key.startswith("DB_")
                    ),
                    st.text("abc123 -_", max_size=8),
                    max_size=2,
                )
            ),
        }
        optional = {
            "health_check": {"path": draw(st.sampled_from(["/", "/health", "/api/v1/status.json"]))},
            "database": with_database,
            "read_only_root_filesystem": draw(st.booleans()),
            "user": draw(st.sampled_from([None, "1000", "1000:1000", "app"])),
            "image": draw(
                st.sampled_from(
                    [
                        "public.ecr.aws/nginx/nginx:1.27",
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:" + "a" * 64,
                    ]
                )
            ),
            "deregistration_delay_s": draw(st.integers(0, 3600)),
            "health_check_grace_period_s": draw(st.integers(0, 7200)),
            "test_command": draw(st.sampled_from(["make test", "pytest -q && npm test", "./run-tests.sh --ci"])),
            "deploy_hooks": draw(
                st.dictionaries(
                    st.sampled_from(HOOK_EVENTS),
                    st.one_of(st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True), long_functions),
                    min_size=1,
                )
            ),
            "deployment": draw(deployments()),
            "exec": True,
        }
        service.update({key: value for key, value in optional.items() if draw(st.booleans())})
        if service.get("exec"):
            service["read_only_root_filesystem"] = False  # ECS Exec writes to the container's filesystem
        if service.get("database") and draw(st.booleans()):
            service["database_access"] = {"grants": draw(database_grants())}
        result.append(service)
    return result


@st.composite
def blueprints(
    draw: Any,
    min_services: int = 1,
    max_services: int = 6,
    capacities: tuple[int, ...] = (1, 2, 3, MAX_SERVICES_PER_LOAD_BALANCER),
) -> dict[str, Any]:
    """A valid blueprint as plain data, varying every field the schema has; optional sections present or not.

    `capacities`: the services_per_load_balancer to choose from (small ones give several load balancers
    with a few services).
    """
    region = draw(st.sampled_from(REGIONS))
    zones = draw(st.integers(2, availability_zones(region) or 6))  # at most what the region offers (preflight)
    with_database = draw(st.booleans())
    count = draw(st.integers(min_services, max_services))
    # Room for every task and the blue/green set beside it on the smallest type (preflight checks placement).
    minimum = draw(st.integers(0, 4))
    maximum = draw(st.integers(400, 1000))
    instance_type = draw(st.sampled_from(INSTANCE_TYPES))
    data: dict[str, Any] = {
        "name": draw(names(BLUEPRINT_NAME_MAX)),
        "region": region,
        "tags": draw(
            st.dictionaries(
                st.one_of(
                    st.sampled_from(["Team", "CostCenter", "Environment"]),
                    st.from_regex(r"[A-Za-z][A-Za-z0-9_.:/=+@-]{127}", fullmatch=True).filter(
                        lambda key: not key.lower().startswith("aws:")
                    ),
                ),
                st.one_of(
                    st.text("abcxyz0123-", min_size=1, max_size=8),
                    st.from_regex(r"[A-Za-z0-9 _.:/=+@-]{256}", fullmatch=True),
                ),
                max_size=2,
            )
        ),
        "network": {
            "cidr": draw(st.sampled_from(["10.0.0.0/16", "172.16.0.0/20", "192.168.0.0/22", "10.9.8.0/24"])),
            "availability_zones": zones,
            "nat_gateways": draw(st.integers(1, zones)),
        },
        "cluster": {
            "instance_type": instance_type,
            "min_size": minimum,
            "max_size": maximum,
            "desired_capacity": draw(st.integers(minimum, maximum)),
            "target_capacity": draw(st.integers(1, 100)),
            "root_volume_gib": draw(st.sampled_from([30, 64, 16384])),
            "awsvpc_trunking": not instance_type.startswith("t") and draw(st.booleans()),  # burstable never trunk
        },
        "load_balancer": {
            "scheme": draw(st.sampled_from(["internet-facing", "internal"])),
            "services_per_load_balancer": draw(st.sampled_from(capacities)),
        },
        "services": draw(services(count, with_database, long_values=max_services <= 10)),
        "pipeline": {
            "branch": draw(st.sampled_from(["main", "release/v1.2", "feature_x-y.z"])),
            "approval": draw(st.booleans()),
            "deployment_config": "CodeDeployDefault.ECSAllAtOnce",
            "termination_wait_minutes": draw(st.integers(0, 2880)),
            "buildspec": draw(st.sampled_from(["generated", "repository"])),
            "keep_images": draw(st.integers(1, 1000)),
            "artifact_retention_days": draw(st.integers(1, 3650)),
        },
        "alarms": {
            "cpu_high_percent": draw(st.integers(1, 100)),
            "memory_high_percent": draw(st.integers(1, 100)),
            "cluster_reservation_high_percent": draw(st.integers(1, 100)),
            "database_cpu_high_percent": draw(st.integers(1, 100)),
            "database_connections_high_percent": draw(st.integers(1, 100)),
            "replica_lag_high_ms": draw(st.integers(1, 600_000)),
            "evaluation_minutes": draw(st.integers(1, 1440)),
        },
        "logs": {"retention_days": draw(st.sampled_from(LOG_RETENTION_DAYS))},
    }
    _pin_load_balancers(draw, data)
    if with_database:
        data["database"] = {
            "engine_version": draw(st.sampled_from(ENGINE_VERSIONS)),
            "instance_class": draw(st.sampled_from(INSTANCE_CLASSES)),
            "readers": draw(st.integers(0, 15)),
            "database_name": draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}|[A-Za-z][A-Za-z0-9_]{63}", fullmatch=True)),
            "master_username": draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{15}|dbadmin|app_user", fullmatch=True)),
            "backup_retention_days": draw(st.integers(1, 35)),
            "deletion_protection": draw(st.booleans()),
            "access": draw(st.sampled_from(["iam", "proxy"])),
            "secret_rotation_days": draw(st.integers(1, 365)),
        }
        if sum(bool(service.get("database")) for service in data["services"]) > PROXY_MAX_DATABASE_SERVICES:
            data["database"]["access"] = "iam"  # the load refuses more (tests/test_bad_inputs.py)
    if draw(st.booleans()):
        data["pipeline"]["source"] = {
            "connection_arn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd-1234",
            "repository": "example-org/example-repo",
        }
    if draw(st.booleans()):
        data["alarms"]["email"] = "ops@example.com"
    if draw(st.booleans()):
        data["deployment"] = draw(deployments())
    if draw(st.booleans()):
        data["network"]["endpoints"] = draw(st.sampled_from(["interface", "gateway-only"]))
    if draw(st.booleans()):
        _terminate_tls(draw, data)
    if draw(st.booleans()):
        data["build"] = {"base_image_cache": draw(st.booleans())}
        if data["build"]["base_image_cache"] and draw(st.booleans()):
            data["build"]["docker_hub_secret_arn"] = (
                f"arn:aws:secretsmanager:{region}:123456789012:secret:ecr-pullthroughcache/docker-hub-Ab12Cd"
            )
    default = data.get("deployment", {})
    for service in data["services"]:
        deployment = service.get("deployment", default)
        if deployment.get("strategy", "codedeploy") != "codedeploy":
            service.pop("deploy_hooks", None)  # CodeDeploy lifecycle hooks belong to the codedeploy strategy
        elif "test" in deployment:
            service.get("deploy_hooks", {}).pop("AfterAllowTestTraffic", None)  # the test function's hook
    if draw(st.booleans()):
        data["budget"] = {
            "monthly_usd": draw(st.one_of(st.integers(1, 10_000_000), st.sampled_from([0.5, 12.75]))),
            "actual_percent": draw(st.integers(1, 1000)),
            "forecasted_percent": draw(st.integers(1, 1000)),
        }
    return data


def _terminate_tls(draw: Any, data: dict[str, Any]) -> None:
    """TLS listeners: a certificate for the whole balancer, or one per service, or both (the service's wins)."""
    data["load_balancer"]["listener_protocol"] = "tls"
    certificate = f"arn:aws:acm:{data['region']}:123456789012:certificate/0b5e5f3a-6c1d-4f0e-9a57-3c2d8e1f4b6a"
    shared = draw(st.booleans())
    if shared:
        data["load_balancer"]["certificate_arn"] = certificate
    for service in data["services"]:
        if not shared or draw(st.booleans()):
            service["certificate_arn"] = certificate.replace("0b5e5f3a", "1c6f6a4b")


def _pin_load_balancers(draw: Any, data: dict[str, Any]) -> None:
    """Pin some services to the load balancer they would get anyway: pins that keep them where they are,
    as a user pins them before removing services in front of them (always a valid numbering)."""
    capacity = data["load_balancer"]["services_per_load_balancer"]
    numbers = _number_load_balancers([None] * len(data["services"]), capacity)
    for service, number in zip(data["services"], numbers):
        if draw(st.integers(0, 3)) == 0:
            service["load_balancer"] = number


@st.composite
def layered(draw: Any, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(base, overlay, overrides): `data` split over a base file, an overlay file that extends it (without the
    `extends` key) and ``--set PATH=VALUE`` overrides, which load back as `data`.

    Each mapping key goes to the base, the overlay, both (mappings split key by key, services field by field,
    matched by name), or to the overlay over a decoy in the base; some integers come from an override over a
    decoy in the files.
    """
    overrides = []
    data = _copy(data)
    for path, value in _integer_leaves(data):
        if draw(st.integers(0, 5)) == 0:
            overrides.append(".".join(map(str, path)) + f"={value}")
            _set(data, path, -1 - value)  # a decoy: invalid wherever the schema bounds it, so it must be replaced
    base, overlay = draw(_split(data, ()))
    return base, overlay, overrides


def _integer_leaves(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], int]]:
    """Paths (services named, as --set addresses them) of the integers in `data`."""
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in _integer_leaves(value, (*path, key))]
    if isinstance(data, list) and path == ("services",):
        return [leaf for service in data for leaf in _integer_leaves(service, (*path, service["name"]))]
    return [(path, data)] if type(data) is int and path[-1] != "monthly_usd" else []


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        node = next(item for item in node if item["name"] == part) if isinstance(node, list) else node[part]
    node[path[-1]] = value


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_copy(item) for item in data]
    return data


@st.composite
def _split(draw: Any, data: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    base: dict[str, Any] = {}
    overlay: dict[str, Any] = {}
    for key, value in data.items():
        if path == () and key == "services":
            halves = [draw(_split(service, ("services",))) for service in value]
            base[key] = [{"name": service["name"], **half[0]} for service, half in zip(value, halves)]
            overlay[key] = [{"name": service["name"], **half[1]} for service, half in zip(value, halves)]
            continue
        if key == "name" and path == ("services",):
            continue
        where = draw(st.sampled_from(["base", "overlay", "split", "decoy"]))
        if where == "split" and isinstance(value, dict) and value:
            base[key], overlay[key] = draw(_split(value, (*path, key)))
        elif where == "base":
            base[key] = value
        else:
            overlay[key] = value
            if where == "decoy" and not isinstance(value, dict):  # a mapping would merge with its decoy
                base[key] = "decoy"
    return base, overlay

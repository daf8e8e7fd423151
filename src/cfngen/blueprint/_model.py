"""The blueprint's schema: frozen pydantic models with their cross-field checks.

A blueprint is validated once, here, at load time; builders may assume that the
spec they receive is valid. Every error names the file, line and column where
the offending value was written and the dotted path of the field.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from cfngen.facts import aws
from cfngen.facts.aws import AURORA_MYSQL_INSTANCE_MEMORY_GIB, CODEBUILD_MAX_TIMEOUT_MINUTES

NAME_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
# Derived AWS names such as "<blueprint>-<service>-build" must stay within the
# tightest limit we emit (64 characters for IAM role names, 32 for ELB names
# that we therefore leave to CloudFormation); these bounds keep every one valid.
BLUEPRINT_NAME_MAX = 24
SERVICE_NAME_MAX = 24

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# A Network Load Balancer holds at most 50 listeners, two per service; its security group admits 60
# inbound rules, two per service; and its stack's outputs (7 per service) stay within the 180 of 200
# that cfn-lint accepts without noting the stack approaches the quota.
MAX_SERVICES_PER_LOAD_BALANCER = 24
# Network Load Balancers per region, AWS's default quota.
MAX_LOAD_BALANCERS = 50
# What synthesis is tested to; past it, account quotas (IAM roles, target groups) need raising first.
MAX_SERVICES = 500
# Fargate-style task sizes are not required on EC2, but ECS still bounds them.
TASK_CPU_UNITS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)


class Spec(BaseModel):
    """Base of every blueprint model: immutable, unknown keys are errors, and values are never coerced
    (the text "true" is not a boolean, "8080" not a number: a quoted value is a mistake to point out)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False, strict=True)


def logical_name(name: str) -> str:
    """PascalCase form of a lowercase-hyphen name, used in logical ids ("service-a" -> "ServiceA")."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


class CrossFieldErrors(ValueError):
    """Several cross-field rules broken at once, each at its own field path."""

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for _, message in errors))


# A blueprint is a production one when one of these tags (any case) has one of these values (any case).
ENVIRONMENT_TAG_KEYS = frozenset({"environment", "env", "stage"})
PRODUCTION_TAG_VALUES = frozenset({"prod", "production"})


def is_production(tags: Mapping[str, str]) -> bool:
    """True for tags that mark a production blueprint: Environment/Env/Stage = prod/production, in any case."""
    return any(
        key.lower() in ENVIRONMENT_TAG_KEYS and value.lower() in PRODUCTION_TAG_VALUES for key, value in tags.items()
    )


class Network(Spec):
    """The VPC: its address range, how many AZs it spans and how many NAT gateways serve it."""

    cidr: str = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC, /16 to /24.")
    availability_zones: int = Field(2, ge=2, le=6, description="Number of AZs (taken with Fn::GetAZs).")
    nat_gateways: int = Field(1, ge=1, le=6, description="NAT gateways, 1..availability_zones.")
    endpoints: Literal["interface", "gateway-only"] | None = Field(
        None,
        description="`interface`: interface VPC endpoints (PrivateLink) for ECR (api, dkr), CloudWatch Logs, "
        "Secrets Manager and ECS (ecs, ecs-agent, ecs-telemetry) in every private subnet, so "
        "that AWS API traffic bypasses the NAT gateways (priced in the review); `gateway-only`: "
        "the S3 gateway endpoint alone. Default: `interface` for a production blueprint (a tag "
        "Environment, Env or Stage, any case, whose value is prod or production), else "
        "`gateway-only`.",
    )

    @field_validator("cidr")
    @classmethod
    def _cidr_is_a_network(cls, value: str) -> str:
        """Each subnet is a /(prefix+4) slot of the VPC, so the VPC must leave room for /28 subnets."""
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"expected an IPv4 CIDR such as 10.0.0.0/16, found {value!r} ({exc})") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(
                f"prefix /{network.prefixlen} is out of range: a VPC is /16 to /28, and cfngen "
                "carves 16 subnet slots of /(prefix+4), so the VPC must be /16 to /24"
            )
        return value

    @model_validator(mode="after")
    def _nat_within_azs(self) -> Network:
        """A NAT gateway lives in one AZ, so there cannot be more gateways than AZs."""
        if self.nat_gateways > self.availability_zones:
            raise CrossFieldErrors(
                [
                    (
                        ("nat_gateways",),
                        f"must be at most availability_zones ({self.availability_zones}), found {self.nat_gateways}",
                    )
                ]
            )
        return self


class Cluster(Spec):
    """The ECS cluster's EC2 capacity."""

    instance_type: str = Field("t3.small", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$", description="EC2 instance type.")
    min_size: int = Field(2, ge=0, le=1000, description="Auto Scaling group minimum.")
    max_size: int = Field(6, ge=1, le=1000, description="Auto Scaling group maximum.")
    desired_capacity: int = Field(2, ge=0, le=1000, description="Auto Scaling group desired size at creation.")
    target_capacity: int = Field(80, ge=1, le=100, description="Capacity provider managed scaling target, percent.")
    root_volume_gib: int = Field(
        30, ge=30, le=16384, description="Encrypted gp3 root volume size (the AL2023 ECS AMI needs 30)."
    )
    awsvpc_trunking: bool = Field(
        False,
        description="Count on ENI trunking: an instance of a type that supports it holds more awsvpc tasks "
        "(c5.large: 10 instead of 2). Needs the awsvpcTrunking ECS account setting turned on "
        "for the instances' role (CloudFormation cannot set it); burstable types never trunk.",
    )

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Cluster:
        """min_size <= desired_capacity <= max_size."""
        if not self.min_size <= self.desired_capacity <= self.max_size:
            raise CrossFieldErrors(
                [
                    (
                        ("desired_capacity",),
                        f"must satisfy min_size ({self.min_size}) <= desired_capacity "
                        f"({self.desired_capacity}) <= max_size ({self.max_size})",
                    )
                ]
            )
        return self


# An ACM certificate ARN: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html
# (resource type "certificate"); its region part must be the balancer's, since a listener takes no other.
CERTIFICATE_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
# The secret an ECR pull-through cache rule authenticates to its upstream with must be named
# ecr-pullthroughcache/... (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-secret.html).
PULL_THROUGH_CACHE_SECRET_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:ecr-pullthroughcache/"
    r"[A-Za-z0-9/_+=.@-]+$"
)


def _certificate_arn(value: str | None) -> str | None:
    if value is not None and not CERTIFICATE_ARN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an ACM certificate ARN; expected "
            "arn:aws:acm:<region>:<account id>:certificate/<certificate id>"
        )
    return value


CertificateArn = Annotated[str, AfterValidator(_certificate_arn)]


def arn_region(arn: str) -> str:
    """The region part of an ARN (its fourth field)."""
    return arn.split(":")[3]


class LoadBalancer(Spec):
    """The Network Load Balancer in front of the services."""

    scheme: Literal["internet-facing", "internal"] = Field("internet-facing", description="NLB scheme.")
    listener_protocol: Literal["tcp", "tls"] = Field(
        "tcp",
        description="Protocol of every listener: `tcp` passes the connection through; `tls` terminates TLS on the "
        "balancer (production and test listener) with the service's certificate_arn or the balancer's, "
        "under a TLS 1.3 security policy, forwards TCP to the tasks, and turns on the balancer's access "
        "logs to an encrypted bucket (AWS writes NLB access logs for TLS listeners only).",
    )
    certificate_arn: CertificateArn | None = Field(
        None,
        description="ACM certificate (in the blueprint's region) of every TLS listener whose service names none.",
    )
    services_per_load_balancer: int = Field(
        MAX_SERVICES_PER_LOAD_BALANCER,
        ge=1,
        le=MAX_SERVICES_PER_LOAD_BALANCER,
        description="Services per Network Load Balancer: services fill load balancers in blueprint order, "
        "and more services than this get another load balancer. One balancer holds 50 listeners, "
        "two per service.",
    )


# User names Aurora MySQL keeps for itself: neither the master user nor a service's user may take one.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Security.html (rdsadmin and the mysql.* ones)
RESERVED_DATABASE_USERS = frozenset({"admin", "rdsadmin", "root", "mysql.sys", "mysql.session", "mysql.infoschema"})
# MySQL's own schemas: a service never creates or receives grants on them.
SYSTEM_SCHEMAS = frozenset({"mysql", "sys", "information_schema", "performance_schema"})
# The privileges MySQL 8.0 grants at schema level (`GRANT ... ON db.*`), ALL being all of them.
# https://dev.mysql.com/doc/refman/8.0/en/grant.html#grant-database-privileges
SchemaPrivilege = Literal[
    "ALL",
    "ALTER",
    "ALTER ROUTINE",
    "CREATE",
    "CREATE ROUTINE",
    "CREATE TEMPORARY TABLES",
    "CREATE VIEW",
    "DELETE",
    "DROP",
    "EVENT",
    "EXECUTE",
    "INDEX",
    "INSERT",
    "LOCK TABLES",
    "REFERENCES",
    "SELECT",
    "SHOW VIEW",
    "TRIGGER",
    "UPDATE",
]
SCHEMA_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class DatabaseGrant(Spec):
    """Privileges of a service's database user on one schema (created if it does not exist)."""

    schema_name: str = Field(
        ...,
        alias="schema",
        pattern=SCHEMA_NAME_PATTERN,
        description="Schema (MySQL database) the privileges apply to: lowercase letters, digits and '_'.",
    )
    privileges: list[SchemaPrivilege] = Field(
        ["ALL"], min_length=1, description="Schema-level privileges; ALL (the default) is every one of them."
    )

    @field_validator("schema_name")
    @classmethod
    def _not_a_system_schema(cls, value: str) -> str:
        """mysql, sys, information_schema and performance_schema belong to MySQL."""
        if value in SYSTEM_SCHEMAS:
            raise ValueError(f"{value!r} is one of MySQL's own schemas; grant on the service's schemas only")
        return value

    @field_validator("privileges")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        """Each privilege once; ALL only alone (it already holds the others)."""
        repeated = sorted(name for name, count in Counter(value).items() if count > 1)
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed more than once")
        if "ALL" in value and len(value) > 1:
            raise ValueError("ALL already holds every schema privilege; list ALL alone or name the privileges")
        return value


class DatabaseAccess(Spec):
    """What a service's own database user may do; absent = ALL on its own schema (named like its user)."""

    grants: list[DatabaseGrant] = Field(
        ..., min_length=1, max_length=20, description="The user's privileges, schema by schema; nothing else."
    )

    @field_validator("grants")
    @classmethod
    def _one_grant_per_schema(cls, value: list[DatabaseGrant]) -> list[DatabaseGrant]:
        """One entry per schema, so the privileges on a schema are stated in one place."""
        repeated = sorted(name for name, count in Counter(g.schema_name for g in value).items() if count > 1)
        if repeated:
            raise ValueError(f"schema {', '.join(repeated)} has more than one entry; merge its privileges")
        return value


class Database(Spec):
    """Aurora MySQL cluster: one writer plus readers."""

    engine_version: str = Field(
        aws.AURORA_MYSQL_DEFAULT_VERSION,
        pattern=r"^8\.0\.mysql_aurora\.3\.\d+\.\d+$",
        description="Aurora MySQL 3 (MySQL 8.0 compatible) engine version; the default is the newest patch of the "
        "newest long-term-support release, and the load refuses a version AWS no longer offers.",
    )
    instance_class: str = Field("db.t3.medium", description="DB instance class (one Aurora MySQL 3 supports).")
    readers: int = Field(1, ge=0, le=15, description="Reader instances besides the writer.")
    database_name: str = Field("app", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$", description="Initial database name.")
    master_username: str = Field("dbadmin", pattern=r"^[A-Za-z][A-Za-z0-9_]{0,15}$", description="Master user name.")
    backup_retention_days: int = Field(7, ge=1, le=35, description="Automated backup retention, days.")
    deletion_protection: bool = Field(True, description="Refuse deletion of the cluster while on.")
    access: Literal["iam", "proxy"] = Field(
        "iam",
        description="How each service signs in as its own database user. iam: straight to the cluster with an IAM "
        "authentication token (no password exists). proxy: through an RDS Proxy, still with an IAM token; the proxy "
        "signs in with the service's own secret, which Secrets Manager rotates (secret_rotation_days).",
    )
    secret_rotation_days: int = Field(
        30,
        ge=1,
        le=365,
        description="access: proxy: days between rotations of each service's database password (Secrets Manager).",
    )

    @field_validator("instance_class")
    @classmethod
    def _aurora_mysql_class(cls, value: str) -> str:
        """Aurora MySQL 3 runs on these classes; the connections alarm needs each one's memory."""
        if value not in AURORA_MYSQL_INSTANCE_MEMORY_GIB:
            hint = difflib.get_close_matches(value, AURORA_MYSQL_INSTANCE_MEMORY_GIB, n=1)
            suggestion = f"did you mean {hint[0]!r}? " if hint else ""
            raise ValueError(
                f"{value!r} is not an Aurora MySQL 3 instance class cfngen knows; {suggestion}"
                f"expected one of {', '.join(AURORA_MYSQL_INSTANCE_MEMORY_GIB)}"
            )
        return value

    @field_validator("master_username")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        """Aurora MySQL reserves these user names."""
        if value.lower() in RESERVED_DATABASE_USERS:
            raise ValueError(f"{value!r} is reserved by Aurora MySQL; choose another name")
        return value


class HealthCheck(Spec):
    """HTTP health check; without it the target groups check TCP."""

    path: str = Field(..., pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", max_length=1024, description="HTTP path.")


class Scaling(Spec):
    """Service auto scaling on average CPU."""

    min: int = Field(2, ge=0, le=1000, description="Minimum tasks.")
    max: int = Field(10, ge=1, le=1000, description="Maximum tasks.")
    cpu_target: int = Field(50, ge=10, le=90, description="Target average CPU, percent.")

    @model_validator(mode="after")
    def _ordered(self) -> Scaling:
        """min <= max."""
        if self.min > self.max:
            raise CrossFieldErrors([(("min",), f"must be at most max ({self.max}), found {self.min}")])
        return self


# The reference grammar of container registries (the distribution project's reference package:
# https://github.com/distribution/reference/blob/main/regexp.go): domain[:port]/path-components[:tag][@digest].
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?",
    re.ASCII,
)

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=255)]
# The lifecycle events an ECS blue/green deployment can hook, in the order CodeDeploy runs them.
HookEvent = Literal["BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"]
HOOK_EVENTS: tuple[str, ...] = get_args(HookEvent)
LambdaFunctionName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


DeploymentStrategy = Literal["codedeploy", "ecs-blue-green", "ecs-linear", "ecs-canary", "ecs-rolling"]
DEPLOYMENT_STRATEGIES: tuple[str, ...] = get_args(DeploymentStrategy)
# Strategies under the ECS deployment controller whose traffic moves between the blue and green target groups.
ECS_TRAFFIC_SHIFTING_STRATEGIES = ("ecs-blue-green", "ecs-linear", "ecs-canary")
# ECS's bake time when BakeTimeInMinutes is absent (blue/green, linear and canary).
ECS_BLUE_GREEN_DEFAULT_BAKE_MINUTES = 15
# The deploy stage's build waits for CloudFormation beyond the rollout's own minutes (bake, steps, wait) by this much.
STACK_UPDATE_MARGIN_MINUTES = 60


class TrafficTest(Spec):
    """An HTTP check of the green tasks through the test listener, before production traffic moves to them."""

    path: str = Field(
        ...,
        pattern=r"^/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$",
        max_length=1024,
        description="Path requested from the green tasks through the test listener, such as /health.",
    )
    expect: int = Field(200, ge=100, le=599, description="HTTP status every load balancer node must answer.")


class Deployment(Spec):
    """How a new task definition reaches a service: who rolls it out, how traffic moves, what rolls it back.

    ``codedeploy`` (default) is the guide's design: CodeDeploy blue/green driven by the pipeline.
    The ``ecs-*`` strategies use the ECS deployment controller, so CloudFormation itself rolls out a new
    task definition: ``ecs-blue-green`` (all at once after the test listener), ``ecs-linear`` and
    ``ecs-canary`` (production traffic in steps), ``ecs-rolling`` (rolling update with the deployment
    circuit breaker). Every strategy rolls back on the service's alarms.
    """

    strategy: DeploymentStrategy = Field("codedeploy", description="Who rolls out a new task definition and how.")
    bake_minutes: int | None = Field(
        None,
        ge=0,
        le=1440,
        description="ecs-* strategies: minutes the old tasks stay after all traffic moved, to roll back to at "
        "once; absent = ECS's default (15 for blue/green, linear and canary; none for rolling).",
    )
    step_percent: float = Field(
        10.0, ge=3, le=100, multiple_of=0.1, description="ecs-linear: percent of production traffic shifted per step."
    )
    step_bake_minutes: int = Field(6, ge=0, le=1440, description="ecs-linear: minutes between two steps.")
    canary_percent: float = Field(
        5.0, ge=0.1, le=100, multiple_of=0.1, description="ecs-canary: percent of production traffic the canary takes."
    )
    canary_bake_minutes: int = Field(
        10, ge=0, le=1440, description="ecs-canary: minutes the canary runs before the rest shifts."
    )
    wait_minutes: int | None = Field(
        None,
        ge=1,
        le=1440,
        description="Minutes the green tasks serve the test listener only, before production traffic moves; "
        "absent = no wait. ecs-blue-green/linear/canary: a PAUSE lifecycle hook that continues "
        "when the time is up (roll back meanwhile with `aws ecs stop-service-deployment`).",
    )

    test: TrafficTest | None = Field(
        None,
        description="Test the green tasks through the test listener before production traffic moves: a function "
        "cfngen generates, at CodeDeploy's AfterAllowTestTraffic hook (codedeploy) or ECS's "
        "POST_TEST_TRAFFIC_SHIFT lifecycle hook (ecs-blue-green/linear/canary); a failed test rolls back. "
        "Absent = no test.",
    )

    @field_validator("step_percent", "canary_percent")
    @classmethod
    def _schema_multiple_of_tenth(cls, value: float) -> float:
        """AWS::ECS::Service's schema says multipleOf 0.1, checked by dividing floats (as cfn-lint does): 33.3 / 0.1
        is 332.99999999999994, so 33.3 fails it although it has one decimal. Only values that pass are accepted."""
        if value / 0.1 != int(value / 0.1):
            nearby = sorted(
                {
                    step / 10
                    for step in range(round(value * 10) - 3, round(value * 10) + 4)
                    if step > 0 and (step / 10) / 0.1 == int((step / 10) / 0.1)
                },
                key=lambda v: abs(v - value),
            )
            raise ValueError(
                f"{value} does not pass the resource schema's multipleOf 0.1 check (float division); "
                f"use {' or '.join(str(v) for v in nearby[:2])}"
            )
        return value

    @model_validator(mode="after")
    def _options_fit_strategy(self) -> Deployment:
        """Each option belongs to the strategies that use it; an option another strategy ignores is an error."""
        errors: list[tuple[tuple[str | int, ...], str]] = []
        if self.strategy == "codedeploy" and self.bake_minutes is not None:
            errors.append(
                (
                    ("bake_minutes",),
                    "applies to the ecs-* strategies; under codedeploy the blue tasks "
                    "stay pipeline.termination_wait_minutes",
                )
            )
        if self.wait_minutes is not None and self.strategy not in ECS_TRAFFIC_SHIFTING_STRATEGIES:
            errors.append(
                (
                    ("wait_minutes",),
                    f"applies to {', '.join(ECS_TRAFFIC_SHIFTING_STRATEGIES)}; "
                    f"strategy {self.strategy!r} has no test traffic stage to wait in",
                )
            )
        if self.test is not None and not self.shifts_traffic:
            errors.append(
                (
                    ("test",),
                    f"applies to codedeploy, {', '.join(ECS_TRAFFIC_SHIFTING_STRATEGIES)}; "
                    f"strategy {self.strategy!r} has no test listener stage to test in",
                )
            )
        if self.strategy != "codedeploy" and self.deploy_stage_minutes > CODEBUILD_MAX_TIMEOUT_MINUTES:
            errors.append(
                (
                    ("bake_minutes",),
                    f"the rollout waits {self.rollout_minutes} minutes (wait, steps or canary "
                    f"and bake); with {STACK_UPDATE_MARGIN_MINUTES} minutes for "
                    f"CloudFormation, the deploy stage's build would need "
                    f"{self.deploy_stage_minutes}, and CodeBuild stops a build after "
                    f"{CODEBUILD_MAX_TIMEOUT_MINUTES}: shorten the waits",
                )
            )
        for name, strategy in (
            ("step_percent", "ecs-linear"),
            ("step_bake_minutes", "ecs-linear"),
            ("canary_percent", "ecs-canary"),
            ("canary_bake_minutes", "ecs-canary"),
        ):
            if getattr(self, name) != type(self).model_fields[name].default and self.strategy != strategy:
                errors.append(((name,), f"applies to strategy {strategy!r} only, not {self.strategy!r}"))
        if errors:
            raise CrossFieldErrors(errors)
        return self

    @property
    def rollout_minutes(self) -> int:
        """The minutes an ecs-* rollout waits by design: test-traffic wait, linear steps or canary, bake time."""
        minutes = self.wait_minutes or 0
        if self.strategy == "ecs-linear":
            steps = int(100 // self.step_percent) - (1 if 100 % self.step_percent == 0 else 0)
            minutes += steps * self.step_bake_minutes
        elif self.strategy == "ecs-canary":
            minutes += self.canary_bake_minutes
        default_bake = 0 if self.strategy == "ecs-rolling" else ECS_BLUE_GREEN_DEFAULT_BAKE_MINUTES
        return minutes + (self.bake_minutes if self.bake_minutes is not None else default_bake)

    @property
    def deploy_stage_minutes(self) -> int:
        """How long the pipeline's deploy stage (a CodeBuild build) follows an ecs-* rollout before it gives up."""
        return self.rollout_minutes + STACK_UPDATE_MARGIN_MINUTES

    @property
    def uses_codedeploy(self) -> bool:
        """True when CodeDeploy, driven by the pipeline, rolls the service out (CODE_DEPLOY controller)."""
        return self.strategy == "codedeploy"

    @property
    def shifts_traffic(self) -> bool:
        """True for blue/green, linear and canary: two target groups and a test listener take part."""
        return self.strategy in ("codedeploy", *ECS_TRAFFIC_SHIFTING_STRATEGIES)


class Service(Spec):
    """One microservice: its container, its listeners and how it scales."""

    name: str = Field(..., pattern=NAME_PATTERN, max_length=SERVICE_NAME_MAX, description="Service name.")
    port: int = Field(..., ge=1, le=65535, description="Container port.")
    listener_port: int = Field(80, ge=1, le=65535, description="Production listener port on the NLB.")
    test_listener_port: int = Field(8080, ge=1, le=65535, description="Test listener port for blue/green.")
    load_balancer: int | None = Field(
        None,
        ge=1,
        le=MAX_LOAD_BALANCERS,
        description="Number (1, 2, ...) of the Network Load Balancer that serves the service; absent = the "
        "first one with room, in blueprint order. Pin services to keep them where they are when "
        "services before them are removed: moving a service replaces its listeners.",
    )
    cpu: int = Field(256, description="Task CPU units.")
    memory: int = Field(512, ge=128, le=122880, description="Task memory, MiB.")
    desired_count: int = Field(2, ge=0, le=1000, description="Tasks at creation.")
    health_check: HealthCheck | None = Field(None, description="HTTP health check; absent = TCP.")
    environment: dict[EnvName, str] = Field(default_factory=dict, description="Plain environment variables.")
    database: bool = Field(
        False,
        description="Give the service its own database user (named like the service, '-' as '_'), which "
        "connects with IAM database authentication: the tasks get DB_HOST, DB_PORT, DB_NAME and "
        "DB_USERNAME, and sign a token with their task role instead of holding a password.",
    )
    database_access: DatabaseAccess | None = Field(
        None,
        description="The grants of the service's database user; absent = ALL on its own schema, named like "
        "its user. Needs database: true.",
    )
    scaling: Scaling = Field(Scaling(), description="Auto scaling.")
    read_only_root_filesystem: bool = Field(True, description="Mount the container's root filesystem read-only.")
    user: str | None = Field(
        "1000",
        pattern=r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$",
        description="User (uid[:gid]) the container runs as; null keeps the image's user.",
    )
    image: str | None = Field(
        None,
        max_length=1024,
        description="Image for the first deployment, before the pipeline has built one; "
        "absent = a public placeholder that answers every HTTP path.",
    )
    deregistration_delay_s: int = Field(
        30, ge=0, le=3600, description="Seconds the load balancer drains a target before removing it."
    )
    health_check_grace_period_s: int = Field(
        60, ge=0, le=7200, description="Seconds ECS ignores failing health checks of a new task."
    )
    test_command: str | None = Field(None, description="Command the build runs to test the service.")
    exec: bool = Field(
        False,
        description="ECS Exec: shell into the running tasks through Session Manager "
        "(`aws ecs execute-command`), sessions logged to the service's encrypted log "
        "group; needs read_only_root_filesystem: false (the SSM agent writes into "
        "the container).",
    )
    deployment: Deployment | None = Field(
        None, description="How new versions reach this service; absent = the blueprint's deployment section."
    )
    certificate_arn: CertificateArn | None = Field(
        None,
        description="ACM certificate (in the blueprint's region) of this service's TLS listeners; absent = "
        "load_balancer.certificate_arn. Needs load_balancer.listener_protocol: tls.",
    )
    deploy_hooks: dict[HookEvent, LambdaFunctionName] = Field(
        default_factory=dict,
        description="CodeDeploy lifecycle hooks of the blue/green deployment: event -> name of a Lambda function "
        "in the blueprint's account and region that validates the new tasks; none by default.",
    )

    @field_validator("cpu")
    @classmethod
    def _cpu_units(cls, value: int) -> int:
        """ECS accepts these CPU unit sizes."""
        if value not in TASK_CPU_UNITS:
            raise ValueError(f"expected one of {', '.join(map(str, TASK_CPU_UNITS))}, found {value}")
        return value

    @field_validator("image")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        """An image reference ECS can pull: the registry's reference grammar."""
        if value is not None and not IMAGE_REFERENCE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an image reference; expected [registry/]repository[:tag][@digest], "
                "such as public.ecr.aws/nginx/nginx:1.27 (lowercase repository, tag of letters, "
                "digits, '.', '_' and '-')"
            )
        return value

    @field_validator("environment")
    @classmethod
    def _reserved_environment(cls, value: dict[str, str]) -> dict[str, str]:
        """cfngen injects the DB_* variables itself."""
        clashes = sorted(set(value) & {"DB_HOST", "DB_PORT", "DB_NAME", "DB_USERNAME"})
        if clashes:
            raise ValueError(f"{', '.join(clashes)} are set by cfngen from the database section")
        return value

    @model_validator(mode="after")
    def _ports_and_counts(self) -> Service:
        """Listener ports differ; desired_count lies within the scaling bounds."""
        errors: list[tuple[tuple[str | int, ...], str]] = []
        if self.listener_port == self.test_listener_port:
            errors.append((("test_listener_port",), f"must differ from listener_port ({self.listener_port})"))
        if not self.scaling.min <= self.desired_count <= self.scaling.max:
            errors.append(
                (
                    ("desired_count",),
                    f"must lie within scaling.min ({self.scaling.min}) and "
                    f"scaling.max ({self.scaling.max}), found {self.desired_count}",
                )
            )
        if self.exec and self.read_only_root_filesystem:
            # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html (considerations)
            errors.append(
                (
                    ("exec",),
                    "ECS Exec needs a writable root filesystem (the SSM agent writes into the "
                    "container): set read_only_root_filesystem: false, or leave exec off",
                )
            )
        if errors:
            raise CrossFieldErrors(errors)
        return self

    @property
    def logical_name(self) -> str:
        """PascalCase name used in logical ids and output names."""
        return logical_name(self.name)

    @property
    def database_user(self) -> str:
        """The service's database user name: its name with '_' for '-' ("service-a" -> "service_a")."""
        return self.name.replace("-", "_")

    @property
    def database_grants(self) -> tuple[DatabaseGrant, ...]:
        """database_access.grants, or its default: ALL on the schema named like the user."""
        if self.database_access is not None:
            return tuple(self.database_access.grants)
        return (DatabaseGrant.model_validate({"schema": self.database_user}),)


class Source(Spec):
    """Where the pipeline takes the source from: CodeCommit (default) or a CodeStar connection."""

    connection_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection/[A-Za-z0-9-]+$",
        description="CodeStar connection ARN (GitHub, GitLab, Bitbucket).",
    )
    repository: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/repo on the connected provider."
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> Source:
        """A connection needs a repository and the other way round."""
        if (self.connection_arn is None) != (self.repository is None):
            missing = "repository" if self.repository is None else "connection_arn"
            raise CrossFieldErrors([((missing,), "connection_arn and repository go together; give both or neither")])
        return self


class Pipeline(Spec):
    """CodePipeline per service: source -> build -> (approval) -> blue/green deploy."""

    branch: str = Field("main", pattern=r"^[A-Za-z0-9._/-]+$", max_length=255, description="Branch that triggers.")
    approval: bool = Field(False, description="Manual approval before deploying.")
    source: Source = Field(Source(), description="Source provider.")
    deployment_config: str = Field("CodeDeployDefault.ECSAllAtOnce", description="CodeDeploy deployment config.")
    termination_wait_minutes: int = Field(5, ge=0, le=2880, description="Minutes before blue tasks are terminated.")
    keep_images: int = Field(20, ge=1, le=1000, description="ECR lifecycle: images kept per repository.")
    artifact_retention_days: int = Field(
        30, ge=1, le=3650, description="Days the artifact bucket keeps pipeline artifacts."
    )
    buildspec: Literal["generated", "repository"] = Field(
        "generated",
        description="generated: the build project carries cfngen's buildspec, and a service repository needs only "
        "its code and Dockerfile; repository: each repository's own buildspec.yml (and, under "
        "codedeploy, its appspec.yaml and taskdef.json: `cfngen render` writes them).",
    )

    @field_validator("deployment_config")
    @classmethod
    def _nlb_allows_all_at_once(cls, value: str) -> str:
        """Behind a Network Load Balancer CodeDeploy shifts traffic all at once; canary and linear configs fail."""
        if value != "CodeDeployDefault.ECSAllAtOnce":
            raise ValueError(
                f"{value!r} cannot be used behind a Network Load Balancer; "
                "the only deployment config an NLB allows is 'CodeDeployDefault.ECSAllAtOnce'"
            )
        return value


class Build(Spec):
    """The build project's image sources and cache."""

    base_image_cache: bool = Field(
        True,
        description="An ECR pull-through cache rule for ECR Public (no credentials needed): the build reaches it as "
        "$BASE_IMAGE_REGISTRY (`<account>.dkr.ecr.<region>.amazonaws.com/<blueprint>_pub`): a Dockerfile "
        "written `ARG BASE_IMAGE_REGISTRY=public.ecr.aws` + `FROM ${BASE_IMAGE_REGISTRY}/docker/library/"
        "python:3.12` and built with `--build-arg BASE_IMAGE_REGISTRY` pulls through the account's registry "
        "(no Docker Hub rate limit, no NAT traffic to the internet for cached layers). false: no rule.",
    )
    docker_hub_secret_arn: str | None = Field(
        None,
        description="ARN of a Secrets Manager secret named `ecr-pullthroughcache/...` holding a Docker Hub user "
        "name and access token, in the blueprint's region: adds a Docker Hub pull-through cache rule, "
        "reached as $DOCKER_HUB_REGISTRY (`.../<blueprint>_hub`). Absent: no Docker Hub rule (Docker "
        "Hub needs credentials).",
    )

    @field_validator("docker_hub_secret_arn")
    @classmethod
    def _cache_secret(cls, value: str | None) -> str | None:
        """ECR accepts only secrets whose name starts with ecr-pullthroughcache/."""
        if value is not None and not PULL_THROUGH_CACHE_SECRET_ARN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not the ARN of a secret ECR can use for a pull-through cache; expected "
                "arn:aws:secretsmanager:<region>:<account id>:secret:ecr-pullthroughcache/<name>"
            )
        return value

    @model_validator(mode="after")
    def _docker_hub_needs_the_cache(self) -> Build:
        """The Docker Hub rule is part of the cache: a secret without it would be ignored."""
        if self.docker_hub_secret_arn is not None and not self.base_image_cache:
            raise CrossFieldErrors(
                [(("docker_hub_secret_arn",), "needs base_image_cache: true (the secret is for its Docker Hub rule)")]
            )
        return self


class Alarms(Spec):
    """Where alarms go and when they fire."""

    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Email subscribed to alarms.")
    cpu_high_percent: int = Field(80, ge=1, le=100, description="Service CPU alarm threshold.")
    memory_high_percent: int = Field(80, ge=1, le=100, description="Service memory alarm threshold.")
    cluster_reservation_high_percent: int = Field(90, ge=1, le=100, description="Cluster reservation threshold.")
    database_cpu_high_percent: int = Field(80, ge=1, le=100, description="Database CPU alarm threshold.")
    database_connections_high_percent: int = Field(80, ge=1, le=100, description="Connections, percent of max.")
    replica_lag_high_ms: int = Field(1000, ge=1, description="Aurora replica lag alarm threshold, ms.")
    evaluation_minutes: int = Field(
        5, ge=1, le=1440, description="Minutes a condition must hold before its alarm fires (one-minute periods)."
    )


class Budget(Spec):
    """Monthly cost budget."""

    monthly_usd: float = Field(..., gt=0, le=10_000_000, description="Budget limit in USD per month.")
    actual_percent: int = Field(80, ge=1, le=1000, description="Notify when actual spend passes this percent.")
    forecasted_percent: int = Field(100, ge=1, le=1000, description="Notify when forecasted spend passes this percent.")


class Logs(Spec):
    """CloudWatch Logs settings for every log group cfngen creates."""

    retention_days: int = Field(30, description="Retention of every log group, days.")

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        """CloudWatch Logs accepts only these retention periods."""
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"expected one of {', '.join(map(str, LOG_RETENTION_DAYS))}, found {value}")
        return value


def _known_region(value: str) -> str:
    """A region botocore's endpoint data lists: an unknown one fails every later step."""
    known = aws.regions()
    if value not in known:
        hint = difflib.get_close_matches(value, sorted(known), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        raise ValueError(f"unknown AWS region {value!r}{suggestion}")
    return value


# A type rather than a field validator, so that `cfngen init` checks an answer exactly as the file is checked.
Region = Annotated[str, AfterValidator(_known_region)]
TagKey = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w\s.:/=+\-@]+$")]
TagValue = Annotated[str, Field(max_length=256, pattern=r"^[\w\s.:/=+\-@]*$")]


def _database_user_problems(
    blueprint: Blueprint, index: int, service: Service
) -> list[tuple[tuple[str | int, ...], str]]:
    """database_access needs database: true; a service's user is never the master user or a reserved name."""
    if service.database_access is not None and not service.database:
        return [(("services", index, "database_access"), "is set but database is not true")]
    if not service.database or blueprint.database is None:
        return []
    user = service.database_user
    if user in RESERVED_DATABASE_USERS or user == blueprint.database.master_username.lower():
        return [
            (
                ("services", index, "name"),
                f"gives the database user {user!r}, which is the master user or one Aurora MySQL reserves; "
                "rename the service",
            )
        ]
    return []


# database.access: proxy keeps, per service that uses the database, a secret, its user, its rotation schedule and
# its rotation task in the database-users stack (CloudFormation: 500 resources per stack), and one proxy takes at
# most 200 secrets. https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy.html#rds-proxy.limitations
PROXY_MAX_DATABASE_SERVICES = 100


def _proxy_problems(blueprint: Blueprint) -> list[tuple[tuple[str | int, ...], str]]:
    """database.access: proxy holds at most PROXY_MAX_DATABASE_SERVICES services that use the database."""
    if blueprint.database is None or blueprint.database.access != "proxy":
        return []
    users = [service for service in blueprint.services if service.database]
    if len(users) <= PROXY_MAX_DATABASE_SERVICES:
        return []
    return [
        (
            ("database", "access"),
            f"is proxy, which holds at most {PROXY_MAX_DATABASE_SERVICES} services with database: true (four "
            f"resources each in one stack, 200 secrets per proxy); {len(users)} have it: use access: iam",
        )
    ]


class Blueprint(Spec):
    """A whole platform: network, cluster, load balancer, optional database, services, delivery."""

    name: str = Field(..., pattern=NAME_PATTERN, max_length=BLUEPRINT_NAME_MAX, description="Platform name.")
    region: Region = Field("us-east-1", description="AWS region (one that botocore's endpoint data lists).")
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, description="Tags on every stack and resource.")
    network: Network = Field(Network(), description="VPC.")
    cluster: Cluster = Field(Cluster(), description="ECS cluster capacity.")
    load_balancer: LoadBalancer = Field(LoadBalancer(), description="Network Load Balancer.")
    database: Database | None = Field(None, description="Aurora MySQL; absent = no database.")
    services: list[Service] = Field(..., min_length=1, max_length=MAX_SERVICES, description="The microservices.")
    pipeline: Pipeline = Field(Pipeline(), description="CI/CD pipeline settings.")
    build: Build = Field(Build(), description="Image sources and cache of the build projects.")
    deployment: Deployment = Field(
        Deployment(), description="Default deployment of every service that has no deployment section of its own."
    )
    alarms: Alarms = Field(Alarms(), description="Alarm settings.")
    budget: Budget | None = Field(None, description="Monthly budget; absent = none.")
    logs: Logs = Field(Logs(), description="Log retention.")

    @field_validator("tags")
    @classmethod
    def _no_aws_prefix(cls, value: dict[str, str]) -> dict[str, str]:
        """AWS reserves the aws: prefix for its own tags."""
        reserved = sorted(key for key in value if key.lower().startswith("aws:"))
        if reserved:
            raise ValueError(f"tag keys starting with 'aws:' are reserved by AWS: {', '.join(reserved)}")
        return value

    @model_validator(mode="after")
    def _services_consistent(self) -> Blueprint:
        """Names (and their logical forms) are unique, load balancers have room, listener ports never clash
        on one load balancer, database users have a database."""
        errors: list[tuple[tuple[str | int, ...], str]] = []
        seen_names: dict[str, int] = {}
        for index, service in enumerate(self.services):
            key = service.logical_name
            if key in seen_names:
                other = self.services[seen_names[key]].name
                reason = (
                    "service names must be unique"
                    if other == service.name
                    else f"both give the logical id {key!r} that cfngen derives resource names from; rename one"
                )
                errors.append(
                    (
                        ("services", index, "name"),
                        f"{service.name!r} clashes with services[{seen_names[key]}] ({other!r}): {reason}",
                    )
                )
            seen_names.setdefault(key, index)
            if "AfterAllowTestTraffic" in service.deploy_hooks and self.deployment_of(service).test is not None:
                errors.append(
                    (
                        ("services", index, "deploy_hooks", "AfterAllowTestTraffic"),
                        "is taken by the test function of deployment.test; drop one of them",
                    )
                )
            if service.deploy_hooks and not self.deployment_of(service).uses_codedeploy:
                errors.append(
                    (
                        ("services", index, "deploy_hooks"),
                        f"are CodeDeploy lifecycle hooks, but the service deploys with strategy "
                        f"{self.deployment_of(service).strategy!r}",
                    )
                )
            if service.database and self.database is None:
                errors.append((("services", index, "database"), "is true but the blueprint has no database section"))
            errors += _database_user_problems(self, index, service)
        numbers = _number_load_balancers(
            [service.load_balancer for service in self.services], self.load_balancer.services_per_load_balancer
        )
        errors += _load_balancer_problems(self.services, numbers, self.load_balancer.services_per_load_balancer)
        errors += _proxy_problems(self)
        errors += _listener_port_clashes(self.services, numbers)
        errors += self._arn_problems()
        if errors:
            raise CrossFieldErrors(errors)
        return self

    def _arn_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Certificates and the cache secret live in the blueprint's region; TLS listeners each have a certificate."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        located: list[tuple[tuple[str | int, ...], str | None]] = [
            (("load_balancer", "certificate_arn"), self.load_balancer.certificate_arn),
            (("build", "docker_hub_secret_arn"), self.build.docker_hub_secret_arn),
            *(
                (("services", index, "certificate_arn"), service.certificate_arn)
                for index, service in enumerate(self.services)
            ),
        ]
        for loc, arn in located:
            if arn is not None and arn_region(arn) != self.region:
                problems.append((loc, f"is in {arn_region(arn)}, but the blueprint's region is {self.region}"))
        tls = self.load_balancer.listener_protocol == "tls"
        for index, service in enumerate(self.services):
            if service.certificate_arn is not None and not tls:
                problems.append((("services", index, "certificate_arn"), "needs load_balancer.listener_protocol: tls"))
            elif tls and self.certificate_of(service) is None:
                problems.append(
                    (
                        ("services", index, "certificate_arn"),
                        "is needed: load_balancer.listener_protocol is tls and load_balancer.certificate_arn is "
                        "not set",
                    )
                )
        if self.load_balancer.certificate_arn is not None and not tls:
            problems.append((("load_balancer", "certificate_arn"), "needs load_balancer.listener_protocol: tls"))
        return problems

    def certificate_of(self, service: Service) -> str | None:
        """The certificate of `service`'s TLS listeners: its own, else the balancer's."""
        return service.certificate_arn or self.load_balancer.certificate_arn

    @property
    def vpc_endpoints(self) -> Literal["interface", "gateway-only"]:
        """network.endpoints, or its default: interface endpoints for a production blueprint (is_production)."""
        if self.network.endpoints is not None:
            return self.network.endpoints
        return "interface" if is_production(self.tags) else "gateway-only"

    @property
    def load_balancers(self) -> tuple[tuple[Service, ...], ...]:
        """The services of each Network Load Balancer, in blueprint order: load balancer 1 first."""
        numbers = self._load_balancer_numbers()
        return tuple(
            tuple(service for service in self.services if numbers[service.name] == balancer)
            for balancer in range(1, max(numbers.values()) + 1)
        )

    def load_balancer_of(self, service: Service) -> int:
        """Number (from 1) of the Network Load Balancer that serves `service`."""
        return self._load_balancer_numbers()[service.name]

    def _load_balancer_numbers(self) -> Mapping[str, int]:
        # Computed from the fields each time (a cache on the instance would outlive model_copy(update=...)),
        # memoised on what decides it, since builders ask once per service.
        pins = tuple((service.name, service.load_balancer) for service in self.services)
        return _numbering(pins, self.load_balancer.services_per_load_balancer)

    def deployment_of(self, service: Service) -> Deployment:
        """The deployment settings of `service`: its own section, else the blueprint's (whole, not merged)."""
        return service.deployment if service.deployment is not None else self.deployment

    def service(self, name: str) -> Service:
        """The service called `name`; KeyError when there is none."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


@functools.lru_cache(maxsize=16)
def _numbering(pins: tuple[tuple[str, int | None], ...], capacity: int) -> Mapping[str, int]:
    numbers = _number_load_balancers([pin for _, pin in pins], capacity)
    return MappingProxyType({name: number for (name, _), number in zip(pins, numbers)})


def _number_load_balancers(pins: Sequence[int | None], capacity: int) -> list[int]:
    """The load balancer number of each service: its pin, else the first balancer with room, in blueprint order."""
    taken = Counter(pin for pin in pins if pin is not None)
    numbers = []
    current = 1
    for pin in pins:
        if pin is not None:
            numbers.append(pin)
            continue
        while taken[current] >= capacity:
            current += 1
        taken[current] += 1
        numbers.append(current)
    return numbers


def _load_balancer_problems(
    services: Sequence[Service], numbers: Sequence[int], capacity: int
) -> list[tuple[tuple[str | int, ...], str]]:
    """Pins that overfill a load balancer, or that leave a lower-numbered one without services."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    served = Counter(numbers)
    for index, (service, number) in enumerate(zip(services, numbers)):
        if service.load_balancer is not None and served[number] > capacity:
            problems.append(
                (
                    ("services", index, "load_balancer"),
                    f"load balancer {number} would serve {served[number]} services; it holds "
                    f"{capacity} (load_balancer.services_per_load_balancer)",
                )
            )
    for number in range(1, max(numbers, default=0)):
        if not served[number]:
            index = next(index for index, pinned in enumerate(numbers) if pinned > number)
            problems.append(
                (
                    ("services", index, "load_balancer"),
                    f"load balancer {numbers[index]} needs load balancer {number} to serve a service "
                    "first: load balancers are numbered without gaps",
                )
            )
            break
    return problems


def _listener_port_clashes(
    services: Sequence[Service], numbers: Sequence[int]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Listener ports that two listeners of one load balancer would share."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    owners: dict[tuple[int, int], str] = {}
    for index, (service, number) in enumerate(zip(services, numbers)):
        for field_name in ("listener_port", "test_listener_port"):
            port = getattr(service, field_name)
            if (number, port) in owners:
                problems.append(
                    (
                        ("services", index, field_name),
                        f"port {port} is already used by {owners[number, port]}; the listener ports "
                        f"of one load balancer (here load balancer {number}) must be unique",
                    )
                )
            else:
                owners[number, port] = f"services[{index}].{field_name}"
    return problems

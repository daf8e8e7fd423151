"""Data safety: each stateful resource, what happens to it on delete and replace, encryption, backups, protection.

Each stateful type has a small reader that knows where that type keeps its
encryption, backup and protection settings and what AWS does when they are
absent; a resource whose data could be lost without a second step (deleted
with the stack, unencrypted, no backups) gets a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cfngen.facts.resource_types import STATEFUL_TYPES
from cfngen.report._model import Names, TemplateSet

NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class Safety:
    """How one stateful resource is protected."""

    stack: str
    resource: str
    kind: str
    deletion_policy: str
    update_replace_policy: str
    encryption: str
    backups: str
    deletion_protection: str
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Reading:
    encryption: str
    backups: str
    protection: str
    warnings: tuple[str, ...] = ()
    # False for the network (a VPC, a subnet): replacing one is refused by the deployer, but no data goes with it.
    holds_data: bool = True


Reader = Callable[[Names, str, dict[str, Any]], _Reading]


def _literal(names: Names, stack: str, properties: dict[str, Any], key: str, default: Any = None) -> Any:
    return names.literal(stack, properties[key]) if key in properties else default


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _rds_cluster(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    encrypted = _is_true(_literal(names, stack, properties, "StorageEncrypted", False))
    key = properties.get("KmsKeyId")
    retention = _literal(names, stack, properties, "BackupRetentionPeriod", 1)
    protected = _is_true(_literal(names, stack, properties, "DeletionProtection", False))
    warnings = [] if encrypted else ["storage is not encrypted"]
    warnings += [] if protected else ["deletion protection is off"]
    return _Reading(
        encryption=(f"KMS key {names.describe(stack, key)}" if key else "yes (AWS managed key)") if encrypted else "no",
        backups=f"automated, {retention} days",
        protection="on" if protected else "off",
        warnings=tuple(warnings),
    )


def _rds_instance(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    if "DBClusterIdentifier" in properties:
        cluster = names.describe(stack, properties["DBClusterIdentifier"])
        return _Reading(f"from cluster {cluster}", f"from cluster {cluster}", f"from cluster {cluster}")
    return _rds_cluster(names, stack, properties)


def _bucket(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    algorithms = [str((rule.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm", "")) for rule in rules]
    versioning = str(_literal(names, stack, properties.get("VersioningConfiguration") or {}, "Status", "Suspended"))
    block = properties.get("PublicAccessBlockConfiguration") or {}
    blocked = all(
        _is_true(block.get(key))
        for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    )
    warnings = [] if versioning == "Enabled" else ["versioning is off: overwritten objects are lost"]
    warnings += [] if blocked else ["public access is not fully blocked"]
    return _Reading(
        encryption=", ".join(filter(None, algorithms)) or "SSE-S3 (S3 default)",
        backups="versioning on" if versioning == "Enabled" else "versioning off",
        protection="public access blocked" if blocked else "public access not blocked",
        warnings=tuple(warnings),
    )


def _image_repository(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    encryption = properties.get("EncryptionConfiguration") or {}
    kind = str(_literal(names, stack, encryption, "EncryptionType", "AES256"))
    key = encryption.get("KmsKey")
    lifecycle = "lifecycle policy expires old images" if properties.get("LifecyclePolicy") else "images kept forever"
    mutability = str(_literal(names, stack, properties, "ImageTagMutability", "MUTABLE"))
    return _Reading(
        encryption=f"{kind}" + (f" key {names.describe(stack, key)}" if key else ""),
        backups=lifecycle,
        protection="immutable tags" if mutability.startswith("IMMUTABLE") else "tags can be overwritten",
    )


def _source_repository(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    key = properties.get("KmsKeyId")
    return _Reading(
        f"KMS key {names.describe(stack, key)}" if key else "yes (AWS managed key)", "git history", NOT_APPLICABLE
    )


def _log_group(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    key = properties.get("KmsKeyId")
    retention = _literal(names, stack, properties, "RetentionInDays")
    return _Reading(
        encryption=f"KMS key {names.describe(stack, key)}" if key else "CloudWatch Logs default",
        backups=f"kept {retention} days" if retention else "kept forever",
        protection="on"
        if _is_true(_literal(names, stack, properties, "DeletionProtectionEnabled", False))
        else NOT_APPLICABLE,
        warnings=() if retention else ("no retention: logs are kept, and billed, forever",),
    )


def _secret(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    # CloudFormation deletes a secret without a recovery window (ForceDeleteWithoutRecovery); a generated one holds
    # nothing to keep: a new one is generated and set again.
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
    key = properties.get("KmsKeyId")
    generated = "GenerateSecretString" in properties
    return _Reading(
        encryption=f"KMS key {names.describe(stack, key)}" if key else "yes (aws/secretsmanager)",
        backups="none: generated, and generated again when replaced" if generated else "none: deleted at once",
        protection=NOT_APPLICABLE,
        holds_data=not generated,
    )


def _kms_key(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    rotation = _is_true(_literal(names, stack, properties, "EnableKeyRotation", False))
    window = _literal(names, stack, properties, "PendingWindowInDays", 30)
    return _Reading(
        encryption=NOT_APPLICABLE,
        backups="rotation on" if rotation else "rotation off",
        protection=f"{window}-day deletion window",
        warnings=() if rotation else ("key rotation is off",),
    )


def _table(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    sse = properties.get("SSESpecification") or {}
    customer_key = _is_true(_literal(names, stack, sse, "SSEEnabled", False))
    recovery = properties.get("PointInTimeRecoverySpecification") or {}
    pitr = _is_true(_literal(names, stack, recovery, "PointInTimeRecoveryEnabled", False))
    protected = _is_true(_literal(names, stack, properties, "DeletionProtectionEnabled", False))
    warnings = [] if pitr else ["point-in-time recovery is off"]
    warnings += [] if protected else ["deletion protection is off"]
    return _Reading(
        encryption="KMS (AWS managed or customer key)" if customer_key else "yes (AWS owned key)",
        backups="point-in-time recovery" if pitr else "none",
        protection="on" if protected else "off",
        warnings=tuple(warnings),
    )


def _file_system(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    encrypted = _is_true(_literal(names, stack, properties, "Encrypted", False))
    backup = str(_literal(names, stack, properties.get("BackupPolicy") or {}, "Status", "DISABLED"))
    return _Reading(
        "yes" if encrypted else "no",
        "AWS Backup" if backup == "ENABLED" else "none",
        NOT_APPLICABLE,
        tuple(
            warning for warning, bad in (("not encrypted", not encrypted), ("no backups", backup != "ENABLED")) if bad
        ),
    )


def _vpc(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    """A VPC holds no data itself; everything else stands in it, so cfngen's stack policy denies replacing it."""
    return _Reading(NOT_APPLICABLE, NOT_APPLICABLE, "stack policy denies replace and delete", holds_data=False)


def _subnet(names: Names, stack: str, properties: dict[str, Any]) -> _Reading:
    """A subnet holds no data itself; replacing one moves the database and the tasks placed in it."""
    return _Reading(NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, holds_data=False)


# How the data-safety section reads each stateful type: one entry per type of facts.resource_types.STATEFUL_TYPES.
READERS: dict[str, tuple[str, Reader]] = {
    "AWS::RDS::DBCluster": ("Aurora/RDS cluster", _rds_cluster),
    "AWS::RDS::DBInstance": ("RDS instance", _rds_instance),
    "AWS::S3::Bucket": ("S3 bucket", _bucket),
    "AWS::ECR::Repository": ("ECR repository", _image_repository),
    "AWS::CodeCommit::Repository": ("CodeCommit repository", _source_repository),
    "AWS::Logs::LogGroup": ("log group", _log_group),
    "AWS::SecretsManager::Secret": ("secret", _secret),
    "AWS::KMS::Key": ("KMS key", _kms_key),
    "AWS::DynamoDB::Table": ("DynamoDB table", _table),
    "AWS::EFS::FileSystem": ("EFS file system", _file_system),
    "AWS::EC2::VPC": ("VPC", _vpc),
    "AWS::EC2::Subnet": ("subnet", _subnet),
}
# CloudFormation's own default DeletionPolicy: Snapshot for RDS clusters and stand-alone instances, Delete otherwise.
SNAPSHOT_BY_DEFAULT = frozenset({"AWS::RDS::DBCluster"})
# Types whose deletion by CloudFormation is only scheduled, with a waiting period in which it can be cancelled, so
# DeletionPolicy Delete loses nothing at once (the deletion window is shown instead): "PendingWindowInDays ... the
# waiting period before AWS KMS deletes a KMS key that has been removed from a CloudFormation stack",
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html
DELETION_SCHEDULED = frozenset({"AWS::KMS::Key"})


def analyse(templates: TemplateSet) -> tuple[Safety, ...]:
    """One row per stateful resource, in stack order."""
    names = Names(templates)
    rows = []
    for stack in templates.children:
        roles = _cluster_instance_roles(stack.of_type("AWS::RDS::DBInstance"))
        for name, resource in stack.of_type(*STATEFUL_TYPES):
            kind, reader = READERS[resource["Type"]]
            kind = f"{kind}, {roles[name]}" if name in roles else kind
            properties = resource.get("Properties") or {}
            reading = reader(names, stack.name, properties)
            deletion = _policy(resource, "DeletionPolicy", properties)
            replace = _policy(resource, "UpdateReplacePolicy", properties)
            in_cluster = resource["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in properties
            warnings = list(reading.warnings)
            if not in_cluster and reading.holds_data and resource["Type"] not in DELETION_SCHEDULED:
                warnings += [
                    f"{attribute} {policy}: the data goes with the resource"
                    for attribute, policy in (("DeletionPolicy", deletion), ("UpdateReplacePolicy", replace))
                    if policy.startswith("Delete")
                ]
            rows.append(
                Safety(
                    stack.name,
                    name,
                    kind,
                    deletion,
                    replace,
                    reading.encryption,
                    reading.backups,
                    reading.protection,
                    tuple(warnings),
                )
            )
    return tuple(rows)


def _cluster_instance_roles(instances: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, str]:
    """Writer or reader, for each instance of an Aurora cluster. Aurora makes the first instance it creates the
    writer: the instance the cluster's others depend on (or its only one); the readers' PromotionTier orders their
    failover. https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.CreateInstance.html"""
    members: dict[str, dict[str, dict[str, Any]]] = {}
    for name, resource in instances:
        cluster = (resource.get("Properties") or {}).get("DBClusterIdentifier")
        if cluster is not None:
            members.setdefault(repr(cluster), {})[name] = resource
    roles = {}
    for cluster_instances in members.values():
        waited_for = {
            dependency
            for resource in cluster_instances.values()
            for dependency in _depends_on(resource)
            if dependency in cluster_instances
        }
        writers = (
            waited_for if len(waited_for) == 1 else set(cluster_instances) if len(cluster_instances) == 1 else set()
        )
        for name, resource in cluster_instances.items():
            tier = (resource.get("Properties") or {}).get("PromotionTier", 1)
            roles[name] = (
                "writer"
                if name in writers
                else (
                    f"reader, failover tier {tier}"
                    if writers
                    else f"writer or reader (whichever is created first), failover tier {tier}"
                )
            )
    return roles


def _depends_on(resource: dict[str, Any]) -> list[str]:
    depends = resource.get("DependsOn") or []
    return [depends] if isinstance(depends, str) else list(depends)


def _policy(resource: dict[str, Any], attribute: str, properties: dict[str, Any]) -> str:
    if attribute in resource:
        return str(resource[attribute])
    snapshot = resource["Type"] in SNAPSHOT_BY_DEFAULT or (
        resource["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in properties
    )
    default = "Snapshot" if snapshot and attribute == "DeletionPolicy" else "Delete"
    return f"{default} (not set)"

"""The database stack (only with a ``database`` section): Aurora MySQL, one writer and N readers over the AZs.

The master password never appears anywhere cfngen writes: RDS generates it and
keeps it in a Secrets Manager secret of its own (``ManageMasterUserPassword``),
which only the database-users stack's one-off task reads, to create each
service's own user (builders/database_users.py); the services connect with IAM
database authentication. The stack outputs the secret's ARN, never its value.

The security group opens nothing: each service with ``database: true`` adds its
own ingress rule from its task security group (see builders/service.py), which
keeps the database stack ahead of the service stacks with no cycle.

RDS would create the log groups of the exported logs itself, without retention or
encryption; the cluster has a fixed identifier so that this stack can create them
first, under the names RDS writes to, with the blueprint's retention and the logs key.
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import logs
from troposphere import GetAtt, GetAZs, Join, Ref, Select, Template
from troposphere.ec2 import SecurityGroup, SecurityGroupRule
from troposphere.logs import LogGroup
from troposphere.rds import DBCluster, DBClusterParameterGroup, DBInstance, DBSubnetGroup

from cfngen.blueprint import Blueprint, Database
from cfngen.builders import contracts, iam
from cfngen.builders.base import RETAIN_EXCEPT_ON_CREATE, add_output, add_parameter, new_template, role_path
from cfngen.synth._stack import NestedStack
from cfngen.synth.suppress import skip_guard_rule

ENGINE = "aurora-mysql"
PARAMETER_GROUP_FAMILY = "aurora-mysql8.0"
MYSQL_PORT = 3306
# Exported log -> logical id of the log group this stack creates for it.
LOG_EXPORTS = {"error": "DatabaseErrorLogGroup", "slowquery": "DatabaseSlowQueryLogGroup"}
SLOW_QUERY_SECONDS = 2
ENHANCED_MONITORING_INTERVAL_S = 60
ENHANCED_MONITORING_LOG_GROUP = "RDSOSMetrics"
# Failover promotes the reader of the lowest tier; tiers run 0..15. The writer holds 0 so that it is back first
# in line after a failover, the readers 1, 2, ... in order (those beyond 15 share the last tier).
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html#Aurora.Managing.FaultTolerance
LAST_PROMOTION_TIER = 15
# Aurora's DeletionPolicy/UpdateReplacePolicy "Snapshot": the cluster's data survives its removal or replacement.
SNAPSHOT = "Snapshot"


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The database stack, when the blueprint has a database section."""
    if blueprint.database is not None:
        yield NestedStack("database", build(blueprint, blueprint.database))


def build(blueprint: Blueprint, database: Database) -> Template:
    """Subnet group, security group, parameter group, encrypted Aurora MySQL cluster and its instances."""
    template = new_template(blueprint, f"Aurora MySQL cluster, one writer and {database.readers} reader(s)")
    add_parameter(template, contracts.VPC_ID, "AWS::EC2::VPC::Id", "VPC of the database")
    add_parameter(template, contracts.PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Private subnets, one per AZ")
    add_parameter(template, contracts.LOGS_KMS_KEY_ARN, "String", "KMS key that encrypts the exported logs")
    _add_network(template, blueprint)
    _add_parameter_group(template, blueprint)
    _add_monitoring_role(template, blueprint)
    _add_log_groups(template, blueprint)
    _add_cluster(template, blueprint, database)
    _add_instances(template, blueprint, database)
    _add_outputs(template, database)
    return template


def cluster_identifier(blueprint: Blueprint) -> str:
    """The DB cluster identifier, "<blueprint>-database": fixed, because the exported logs' group names contain it."""
    return f"{blueprint.name}-database"


def _log_group_name(blueprint: Blueprint, export: str) -> str:
    """The log group RDS writes the exported log `export` of the cluster to."""
    return f"/aws/rds/cluster/{cluster_identifier(blueprint)}/{export}"


def instance_ids(database: Database) -> list[str]:
    """Logical ids of the instances, writer first: DatabaseWriter, DatabaseReader1, ..."""
    return ["DatabaseWriter", *(f"DatabaseReader{number}" for number in range(1, database.readers + 1))]


def _add_network(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        DBSubnetGroup(
            "DatabaseSubnetGroup",
            DBSubnetGroupDescription=f"{blueprint.name} database: the private subnets of every AZ",
            SubnetIds=Ref(contracts.PRIVATE_SUBNET_IDS),
        )
    )
    template.add_resource(
        SecurityGroup(
            "DatabaseSecurityGroup",
            GroupDescription=f"{blueprint.name} database: MySQL from the services that use it (their own rules)",
            VpcId=Ref(contracts.VPC_ID),
            # An Aurora cluster opens no connections of its own; this rule replaces the default allow-all egress.
            SecurityGroupEgress=[
                SecurityGroupRule(
                    IpProtocol="icmp",
                    FromPort=-1,
                    ToPort=-1,
                    CidrIp="127.0.0.1/32",
                    Description="no egress: matches nothing routable",
                )
            ],
        )
    )


def _add_parameter_group(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        DBClusterParameterGroup(
            "DatabaseClusterParameterGroup",
            Description=f"{blueprint.name} Aurora MySQL: TLS only, slow query log for the log export",
            Family=PARAMETER_GROUP_FAMILY,
            Parameters={
                "require_secure_transport": "ON",
                "slow_query_log": "1",
                "long_query_time": str(SLOW_QUERY_SECONDS),
                "log_output": "FILE",
            },
        )
    )


def _add_monitoring_role(template: Template, blueprint: Blueprint) -> None:
    # Enhanced Monitoring's OS metrics (per process, per disk) go to RDS's own log group, and only there.
    metrics = f"log-group:{ENHANCED_MONITORING_LOG_GROUP}"
    template.add_resource(
        iam.service_role(
            "DatabaseMonitoringRole",
            "monitoring.rds.amazonaws.com",
            {
                "enhanced-monitoring": [
                    iam.allow([logs.CreateLogGroup, logs.PutRetentionPolicy], [iam.arn("logs", metrics)]),
                    iam.allow(
                        [logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams, logs.GetLogEvents],
                        [iam.arn("logs", f"{metrics}:log-stream:*")],
                    ),
                ]
            },
            path=role_path(blueprint),
            description=f"RDS Enhanced Monitoring of the {blueprint.name} database: its OS metrics log group only",
        )
    )


def _add_log_groups(template: Template, blueprint: Blueprint) -> None:
    for export, logical_id in LOG_EXPORTS.items():
        template.add_resource(
            LogGroup(
                logical_id,
                LogGroupName=_log_group_name(blueprint, export),
                RetentionInDays=blueprint.logs.retention_days,
                KmsKeyId=Ref(contracts.LOGS_KMS_KEY_ARN),
                # Only the cluster writes here, and a failed create deletes the cluster it made.
                DeletionPolicy=RETAIN_EXCEPT_ON_CREATE,
                UpdateReplacePolicy="Retain",
            )
        )


def _add_cluster(template: Template, blueprint: Blueprint, database: Database) -> None:
    template.add_resource(
        DBCluster(
            "DatabaseCluster",
            # Created after its log groups: RDS would otherwise create them first, without retention or key.
            DependsOn=list(LOG_EXPORTS.values()),
            DBClusterIdentifier=cluster_identifier(blueprint),
            Engine=ENGINE,
            EngineVersion=database.engine_version,
            DatabaseName=database.database_name,
            MasterUsername=database.master_username,
            ManageMasterUserPassword=True,
            Port=MYSQL_PORT,
            DBSubnetGroupName=Ref("DatabaseSubnetGroup"),
            VpcSecurityGroupIds=[GetAtt("DatabaseSecurityGroup", "GroupId")],
            DBClusterParameterGroupName=Ref("DatabaseClusterParameterGroup"),
            StorageEncrypted=True,
            EnableIAMDatabaseAuthentication=True,
            DeletionProtection=database.deletion_protection,
            BackupRetentionPeriod=database.backup_retention_days,
            CopyTagsToSnapshot=True,
            EnableCloudwatchLogsExports=list(LOG_EXPORTS),
            DeletionPolicy=SNAPSHOT,
            UpdateReplacePolicy=SNAPSHOT,
        )
    )


def promotion_tier(index: int) -> int:
    """The failover tier of instance `index` of :func:`instance_ids`: 0 for the writer, then 1, 2, ... ."""
    return min(index, LAST_PROMOTION_TIER)


# AWS Guard Rules Registry rules on AWS::RDS::DBInstance that Aurora meets on the cluster, with what meets them.
INSTANCE_RULES_THE_CLUSTER_MEETS = {
    "DB_INSTANCE_BACKUP_ENABLED": "BackupRetentionPeriod",
    "RDS_INSTANCE_DELETION_PROTECTION_ENABLED": "DeletionProtection (and its Snapshot deletion policy)",
}


def _add_instances(template: Template, blueprint: Blueprint, database: Database) -> None:
    zones = blueprint.network.availability_zones
    writer, *_ = instance_ids(database)
    for index, logical_id in enumerate(instance_ids(database)):
        instance = template.add_resource(
            DBInstance(
                logical_id,
                # The first instance of an Aurora cluster becomes its writer: the readers wait for it, so the
                # writer (and the replica-lag alarm's target) is the instance the template names DatabaseWriter.
                # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.CreateInstance.html
                **({"DependsOn": [writer]} if index else {}),
                PromotionTier=promotion_tier(index),
                Engine=ENGINE,
                DBClusterIdentifier=Ref("DatabaseCluster"),
                DBInstanceClass=database.instance_class,
                # Round-robin over the VPC's AZs (the subnets' order): the writer in the first, reader n in the next.
                AvailabilityZone=Select(index % zones, GetAZs("")),
                PubliclyAccessible=False,
                AutoMinorVersionUpgrade=True,
                MonitoringInterval=ENHANCED_MONITORING_INTERVAL_S,
                MonitoringRoleArn=GetAtt("DatabaseMonitoringRole", "Arn"),
                # The data lives in the cluster (snapshot on delete); an instance is compute, re-created from it.
                DeletionPolicy="Delete",
                UpdateReplacePolicy="Delete",
            )
        )
        # The registry's DBInstance rules assume instances that hold their data; an Aurora instance does not.
        for rule, what in INSTANCE_RULES_THE_CLUSTER_MEETS.items():
            skip_guard_rule(
                instance,
                rule,
                f"an Aurora instance holds no data of its own: the cluster's {what} covers it (DatabaseCluster)",
            )


def _add_outputs(template: Template, database: Database) -> None:
    add_output(template, contracts.DATABASE_CLUSTER_ID, Ref("DatabaseCluster"), "Aurora cluster identifier")
    add_output(template, contracts.DATABASE_ENDPOINT, GetAtt("DatabaseCluster", "Endpoint.Address"), "Writer endpoint")
    add_output(
        template,
        contracts.DATABASE_READER_ENDPOINT,
        GetAtt("DatabaseCluster", "ReadEndpoint.Address"),
        "Reader endpoint, balanced over the readers",
    )
    add_output(template, contracts.DATABASE_PORT, GetAtt("DatabaseCluster", "Endpoint.Port"), "MySQL port")
    add_output(
        template,
        contracts.DATABASE_SECRET_ARN,
        GetAtt("DatabaseCluster", "MasterUserSecret.SecretArn"),
        "ARN (never the value) of the secret RDS keeps the master username and password in",
    )
    add_output(
        template,
        contracts.DATABASE_SECURITY_GROUP_ID,
        GetAtt("DatabaseSecurityGroup", "GroupId"),
        "Security group of the database; services add their own ingress rules to it",
    )
    add_output(
        template,
        contracts.DATABASE_CLUSTER_RESOURCE_ID,
        GetAtt("DatabaseCluster", "DBClusterResourceId"),
        "Cluster resource id (cluster-...), the part of rds-db:connect ARNs that names the cluster",
    )
    add_output(
        template,
        contracts.DATABASE_INSTANCE_IDS,
        Join(",", [Ref(logical_id) for logical_id in instance_ids(database)]),
        "Instance identifiers, writer first, comma-separated",
    )

"""The database stack: Aurora MySQL with a managed secret, spread instances, protected data, and no secret leaks."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from cfngen import StackSet, synthesize
from cfngen.blueprint import Blueprint
from cfngen.builders.database import LOG_EXPORTS, build
from cfngen.facts import aws
from tests.stack_helpers import make_blueprint, resources, statements, the_resource

DATABASE = {
    "engine_version": "8.0.mysql_aurora.3.04.4",
    "instance_class": "db.r6g.large",
    "readers": 4,
    "database_name": "shop",
    "master_username": "shopadmin",
    "backup_retention_days": 14,
    "deletion_protection": True,
}


def _blueprint(zones: int = 3, **database: Any) -> Blueprint:
    return make_blueprint(
        network={"availability_zones": zones, "nat_gateways": 1},
        database={**DATABASE, **database},
        services=[
            {"name": "web", "port": 3000, "database": True},
            {"name": "jobs", "port": 3001, "listener_port": 81, "test_listener_port": 8081},
        ],
    )


def _cluster(blueprint: Blueprint | None = None) -> dict[str, Any]:
    blueprint = blueprint or _blueprint()
    assert blueprint.database is not None
    return the_resource(build(blueprint, blueprint.database), "AWS::RDS::DBCluster")


def test_stack_exists_only_with_a_database_section() -> None:
    assert "database" in [child.name for child in synthesize(_blueprint()).children]
    assert "database" not in [child.name for child in synthesize(make_blueprint()).children]


def test_database_comes_after_the_network_and_before_the_services() -> None:
    names = [child.name for child in synthesize(_blueprint()).children]
    assert names.index("network") < names.index("database") < names.index("cluster") < names.index("service-web")


def test_cluster_is_aurora_mysql_of_the_blueprint_version_with_managed_master_password() -> None:
    properties = _cluster()["Properties"]
    assert properties["Engine"] == "aurora-mysql"
    assert properties["EngineVersion"] == "8.0.mysql_aurora.3.04.4"
    assert properties["ManageMasterUserPassword"] is True
    assert properties["MasterUsername"] == "shopadmin" and properties["DatabaseName"] == "shop"
    assert "MasterUserPassword" not in properties


def test_cluster_protects_its_data() -> None:
    cluster = _cluster()
    properties = cluster["Properties"]
    assert properties["StorageEncrypted"] is True
    assert properties["EnableIAMDatabaseAuthentication"] is True
    assert properties["DeletionProtection"] is True
    assert properties["BackupRetentionPeriod"] == 14
    assert properties["CopyTagsToSnapshot"] is True
    assert properties["EnableCloudwatchLogsExports"] == list(LOG_EXPORTS) == ["error", "slowquery"]
    assert (cluster["DeletionPolicy"], cluster["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")


def test_exported_logs_go_to_log_groups_the_stack_creates_first_with_retention_and_key() -> None:
    blueprint = make_blueprint(
        name="shop", logs={"retention_days": 90}, database=DATABASE, services=[{"name": "web", "port": 3000}]
    )
    assert blueprint.database is not None
    template = build(blueprint, blueprint.database)
    cluster = the_resource(template, "AWS::RDS::DBCluster")
    assert cluster["Properties"]["DBClusterIdentifier"] == "shop-database"
    groups = resources(template, "AWS::Logs::LogGroup")
    assert sorted(cluster["DependsOn"]) == sorted(groups) == sorted(LOG_EXPORTS.values())
    assert {export: groups[logical_id]["Properties"]["LogGroupName"] for export, logical_id in LOG_EXPORTS.items()} == {
        "error": "/aws/rds/cluster/shop-database/error",
        "slowquery": "/aws/rds/cluster/shop-database/slowquery",
    }
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 90
        assert group["Properties"]["KmsKeyId"] == {"Ref": "LogsKmsKeyArn"}
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_deletion_protection_is_a_blueprint_option() -> None:
    assert _cluster(_blueprint(deletion_protection=False))["Properties"]["DeletionProtection"] is False


def test_parameter_group_enables_the_slow_query_log_the_export_needs_and_requires_tls() -> None:
    blueprint = _blueprint()
    assert blueprint.database is not None
    group = the_resource(build(blueprint, blueprint.database), "AWS::RDS::DBClusterParameterGroup")["Properties"]
    assert group["Family"] == "aurora-mysql8.0"
    assert group["Parameters"]["slow_query_log"] == "1" and group["Parameters"]["log_output"] == "FILE"
    assert group["Parameters"]["require_secure_transport"] == "ON"
    assert _cluster()["Properties"]["DBClusterParameterGroupName"] == {"Ref": "DatabaseClusterParameterGroup"}


@pytest.mark.parametrize(("zones", "readers"), [(2, 0), (2, 3), (3, 4), (6, 15)])
def test_one_writer_and_the_readers_spread_round_robin_over_the_azs(zones: int, readers: int) -> None:
    blueprint = _blueprint(zones=zones, readers=readers)
    assert blueprint.database is not None
    instances = resources(build(blueprint, blueprint.database), "AWS::RDS::DBInstance")
    expected = ["DatabaseWriter", *(f"DatabaseReader{n}" for n in range(1, readers + 1))]
    assert sorted(instances) == sorted(expected)
    for index, logical_id in enumerate(expected):
        properties = instances[logical_id]["Properties"]
        assert properties["AvailabilityZone"] == {"Fn::Select": [index % zones, {"Fn::GetAZs": ""}]}
        assert properties["DBClusterIdentifier"] == {"Ref": "DatabaseCluster"}
        assert properties["PubliclyAccessible"] is False and properties["AutoMinorVersionUpgrade"] is True
        assert properties["DBInstanceClass"] == "db.r6g.large"
    used = {index % zones for index in range(readers + 1)}
    assert len(used) == min(zones, readers + 1)


@pytest.mark.parametrize("readers", [0, 2, 15])
def test_the_writer_is_created_first_with_tier_0_and_the_readers_follow_in_order(readers: int) -> None:
    """Aurora makes the first instance of a cluster its writer and fails over to the lowest tier:
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html"""
    blueprint = _blueprint(readers=readers)
    assert blueprint.database is not None
    instances = resources(build(blueprint, blueprint.database), "AWS::RDS::DBInstance")
    assert instances["DatabaseWriter"]["Properties"]["PromotionTier"] == 0
    assert "DependsOn" not in instances["DatabaseWriter"]
    for number in range(1, readers + 1):
        reader = instances[f"DatabaseReader{number}"]
        assert reader["Properties"]["PromotionTier"] == number
        assert reader["DependsOn"] == ["DatabaseWriter"]


def test_the_default_engine_version_is_the_newest_long_term_support_release() -> None:
    """https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Update.SpecialVersions.html"""
    blueprint = make_blueprint(database={})
    assert blueprint.database is not None
    default = blueprint.database.engine_version
    assert default in aws.aurora_mysql_versions()
    major, minor, _ = aws.aurora_mysql_release(default)
    assert f"{major}.{minor:02d}" == aws.aurora_mysql_long_term_support()[-1]
    newest_patch = max(
        aws.aurora_mysql_release(version)
        for version in aws.aurora_mysql_versions()
        if aws.aurora_mysql_release(version)[:2] == (major, minor)
    )
    assert aws.aurora_mysql_release(default) == newest_patch
    assert _cluster(blueprint)["Properties"]["EngineVersion"] == default


def test_subnet_group_covers_the_private_subnets_and_the_security_group_opens_nothing() -> None:
    blueprint = _blueprint()
    assert blueprint.database is not None
    template = build(blueprint, blueprint.database)
    subnets = the_resource(template, "AWS::RDS::DBSubnetGroup")["Properties"]
    assert subnets["SubnetIds"] == {"Ref": "PrivateSubnetIds"}
    group = the_resource(template, "AWS::EC2::SecurityGroup")["Properties"]
    assert "SecurityGroupIngress" not in group
    assert [rule["CidrIp"] for rule in group["SecurityGroupEgress"]] == ["127.0.0.1/32"]
    assert not resources(template, "AWS::EC2::SecurityGroupIngress")


def test_only_services_with_database_true_open_the_database() -> None:
    stacks = synthesize(_blueprint())
    rules = {child.name: resources(child.template, "AWS::EC2::SecurityGroupIngress") for child in stacks.children}
    # The service, and the one-off task that creates its database user.
    assert {name for name, found in rules.items() if found} == {"service-web", "database-users"}
    (rule,) = rules["service-web"].values()
    assert rule["Properties"]["GroupId"] == {"Ref": "DatabaseSecurityGroupId"}


def test_enhanced_monitoring_role_writes_only_rds_os_metrics() -> None:
    blueprint = _blueprint()
    assert blueprint.database is not None
    role = the_resource(build(blueprint, blueprint.database), "AWS::IAM::Role")
    targets = [resource["Fn::Sub"] for statement in statements(role) for resource in statement["Resource"]]
    assert targets and all(":log-group:RDSOSMetrics" in target for target in targets)


def test_outputs_give_what_services_and_alarms_need() -> None:
    blueprint = _blueprint(readers=2)
    assert blueprint.database is not None
    outputs = build(blueprint, blueprint.database).to_dict()["Outputs"]
    assert set(outputs) == {
        "DatabaseClusterId",
        "DatabaseEndpoint",
        "DatabaseReaderEndpoint",
        "DatabasePort",
        "DatabaseSecretArn",
        "DatabaseSecurityGroupId",
        "DatabaseInstanceIds",
        "DatabaseClusterResourceId",
    }
    assert outputs["DatabaseClusterResourceId"]["Value"] == {"Fn::GetAtt": ["DatabaseCluster", "DBClusterResourceId"]}
    assert outputs["DatabaseSecretArn"]["Value"] == {"Fn::GetAtt": ["DatabaseCluster", "MasterUserSecret.SecretArn"]}
    assert outputs["DatabaseInstanceIds"]["Value"] == {
        "Fn::Join": [",", [{"Ref": "DatabaseWriter"}, {"Ref": "DatabaseReader1"}, {"Ref": "DatabaseReader2"}]]
    }


# --- the secret never leaks -------------------------------------------------------------------------------------

SECRETISH = re.compile(r"password|secret|credential", re.IGNORECASE)


def _templates(stacks: StackSet) -> dict[str, dict[str, Any]]:
    return {name: template.to_dict() for name, template in stacks.templates().items()}


def _walk(value: Any) -> Any:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


@pytest.fixture(scope="module")
def database_stacks() -> StackSet:
    return synthesize(_blueprint())


def test_no_template_resolves_or_sets_a_password(database_stacks: StackSet) -> None:
    for name, text in database_stacks.render().items():
        assert "{{resolve:" not in text, name
        assert not re.search(r"(?<!Manage)MasterUserPassword", text), name
        assert "NoEcho" not in text, name


def test_no_output_carries_a_secret_value(database_stacks: StackSet) -> None:
    for name, template in _templates(database_stacks).items():
        for output, body in template.get("Outputs", {}).items():
            value = body["Value"]
            assert not (isinstance(value, str) and SECRETISH.search(value)), (name, output)
            for node in _walk(value):
                if isinstance(node, dict) and "Fn::GetAtt" in node:
                    attribute = node["Fn::GetAtt"][1]
                    assert not attribute.startswith("MasterUserSecret") or attribute.endswith(".SecretArn"), (
                        name,
                        output,
                    )
                if isinstance(node, dict) and "Ref" in node:
                    assert not SECRETISH.search(node["Ref"]) or node["Ref"].endswith("Arn"), (name, output)


def test_no_parameter_default_carries_a_secret(database_stacks: StackSet) -> None:
    for name, template in _templates(database_stacks).items():
        for parameter, body in template.get("Parameters", {}).items():
            if SECRETISH.search(parameter):
                assert "Default" not in body, (name, parameter)
            assert not SECRETISH.search(str(body.get("Default", ""))), (name, parameter)


def test_no_environment_variable_carries_a_secret(database_stacks: StackSet) -> None:
    containers = [
        container
        for template in _templates(database_stacks).values()
        for body in template.get("Resources", {}).values()
        if body["Type"] == "AWS::ECS::TaskDefinition"
        for container in body["Properties"]["ContainerDefinitions"]
    ]
    assert containers
    for container in containers:
        for variable in container["Environment"]:
            assert not SECRETISH.search(variable["Name"]), variable
            assert "DatabaseSecretArn" not in json.dumps(variable["Value"]), variable
        for secret in container.get("Secrets", []):
            assert "DatabaseSecretArn" in json.dumps(secret["ValueFrom"]), secret


def test_only_the_database_users_task_reads_the_master_secret(database_stacks: StackSet) -> None:
    """The services sign in as their own users with IAM tokens; the master secret goes to one task definition."""
    takers = {
        name
        for name, template in _templates(database_stacks).items()
        if "DatabaseSecretArn" in template.get("Parameters", {})
    }
    assert takers == {"database-users.yaml"}
    (task,) = resources(database_stacks.child("database-users").template, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert {secret["Name"] for secret in container["Secrets"]} == {"DB_USER", "MYSQL_PWD"}

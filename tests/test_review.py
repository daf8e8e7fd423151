"""The review report: each section on the hand-written platform fixture and on real generated templates."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cfngen import Blueprint, StackSet, UsageError, review, synthesize
from cfngen.report import _access as access
from cfngen.report import _changes as changes
from cfngen.report import _checks as checks
from cfngen.report import _cost as cost
from cfngen.report import _data_safety as data_safety
from cfngen.report import _diagram as diagram
from cfngen.report import _exposure as exposure
from cfngen.report import assemble
from cfngen.report._model import Names, TemplateSet, counted, readable_arn
from tests.review_goldens import GOLDEN_DIR, edited, fixture_templates, goldens


@pytest.fixture(scope="module")
def fixture() -> TemplateSet:
    return fixture_templates()


# --- model: readable names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "readable"),
    [
        ("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/x:*", "logs log-group:/x:*"),
        ("arn:${AWS::Partition}:iam::${AWS::AccountId}:root", "this account"),
        ("arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS", "AWS managed policy AWSCodeDeployRoleForECS"),
        ("arn:aws:s3:::bucket/*", "s3 bucket/*"),
        ("arn:aws:sns:eu-west-1:123456789012:topic", "sns topic (region eu-west-1, account 123456789012)"),
        ("arn:aws:ecr:*:*:repository/x", "ecr repository/x (any region, any account)"),
        ("not-an-arn", "not-an-arn"),
    ],
)
def test_arns_read_without_boilerplate(arn: str, readable: str) -> None:
    assert readable_arn(arn) == readable


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [
        (1, "repository", "1 repository"),
        (2, "repository", "2 repositories"),
        (2, "gateway", "2 gateways"),
        (3, "address", "3 addresses"),
        (0, "role", "0 roles"),
    ],
)
def test_counts_read_as_english(count: int, noun: str, text: str) -> None:
    assert counted(count, noun) == text


def test_parameters_are_followed_to_the_producing_resource(fixture: TemplateSet) -> None:
    names = Names(fixture)
    assert names.describe("service-service-a", {"Ref": "ServiceARepositoryArn"}) == "registry/ServiceAImageRepository"
    assert names.describe("service-service-a", {"Ref": "ServiceAImage"}).startswith("root parameter ServiceAImage")
    assert names.literal("service-service-a", {"Ref": "ServiceAImage"}) == "public.ecr.aws/nginx/nginx:stable"
    assert names.count("load-balancer", {"Ref": "PublicSubnetIds"}) == 2
    assert (
        names.describe(
            "service-service-a",
            {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${ServiceALogGroup}:*"},
        )
        == "logs log-group:{ServiceALogGroup}:*"
    )


def test_wiring_is_read_from_the_root_and_orders_the_stacks(fixture: TemplateSet) -> None:
    order = [stack.name for stack in fixture.children]
    assert sorted(order) == sorted(fixture.wiring)
    for consumer, inputs in fixture.wiring.items():
        for source in inputs.values():
            assert not source.producer or order.index(source.producer) < order.index(consumer), (source, consumer)
    wiring = fixture.wiring["service-service-a"]
    assert (wiring["ClusterName"].producer, wiring["ServiceAImage"].producer) == ("cluster", "")


# --- exposure ---------------------------------------------------------------------------------------------------


def test_exposure_lists_listeners_with_their_outside_sources_and_targets(fixture: TemplateSet) -> None:
    found = exposure.analyse(fixture)
    listeners = {(path.resource, path.port, path.source, path.detail) for path in found.of_kind("listener")}
    assert listeners == {
        (
            "ServiceAProductionListener",
            "tcp 80",
            "anyone (0.0.0.0/0)",
            "target group ServiceABlueTargetGroup (service-service-a/ServiceAService port 3000)",
        ),
        ("ServiceATestListener", "tcp 8080", "203.0.113.0/24", "target group ServiceAGreenTargetGroup"),
    }
    rules = {(path.resource, path.port, path.detail) for path in found.of_kind("security group rule")}
    assert rules == {
        ("LoadBalancerSecurityGroup", "tcp 80", "used by load-balancer/LoadBalancer"),
        ("LoadBalancerSecurityGroup", "tcp 8080", "used by load-balancer/LoadBalancer"),
    }
    assert [path.resource for path in found.of_kind("public IP")] == ["NatGateway1Eip"]


def test_groups_open_only_inside_the_vpc_are_private(fixture: TemplateSet) -> None:
    private = {f"{group.stack}/{group.resource}": group.sources for group in exposure.analyse(fixture).private_groups}
    assert private["service-service-a/ServiceATaskSecurityGroup"] == (
        "tcp 3000 from security group load-balancer/LoadBalancerSecurityGroup",
        "tcp 9100 from the VPC 10.0.0.0/16 (network/Vpc)",
    )
    # the rule lives in the service stack, on the database's group, on the port the database stack outputs:
    # the cluster sets no Port, so Aurora MySQL's default
    assert private["database/DatabaseSecurityGroup"] == (
        "tcp 3306 from security group service-service-a/ServiceATaskSecurityGroup",
    )
    assert "load-balancer/LoadBalancerSecurityGroup" not in private


@pytest.mark.parametrize(
    ("properties", "port"), [({"Port": 3307}, "tcp 3307"), ({"Engine": "aurora-postgresql"}, "tcp 5432")]
)
def test_the_database_port_is_resolved_from_the_cluster(
    fixture: TemplateSet, properties: dict[str, Any], port: str
) -> None:
    database = edited(fixture, "database", lambda t: t["Resources"]["DatabaseCluster"]["Properties"].update(properties))
    private = {f"{group.stack}/{group.resource}": group.sources for group in exposure.analyse(database).private_groups}
    assert private["database/DatabaseSecurityGroup"] == (
        f"{port} from security group service-service-a/ServiceATaskSecurityGroup",
    )


def test_every_kind_of_public_path_is_found(fixture: TemplateSet) -> None:
    def open_up(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["ServiceATaskSecurityGroup"]["Properties"]["SecurityGroupIngress"].append(
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
        )
        resources["ServiceAService"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] = (
            "ENABLED"
        )

    changed = edited(
        edited(fixture, "service-service-a", open_up),
        "database",
        lambda t: t["Resources"]["DatabaseWriter"]["Properties"].update(PubliclyAccessible=True),
    )
    found = exposure.analyse(changed)
    summaries = {path.summary for path in found.paths}
    assert (
        "security group rule service-service-a/ServiceATaskSecurityGroup: tcp 22 from anyone (0.0.0.0/0) "
        "→ used by service-service-a/ServiceAService" in summaries
    )
    details = {path.detail for path in found.of_kind("public IP")}
    assert {"tasks get a public IP", "database is publicly accessible"} <= details
    assert "service-service-a" not in {group.stack for group in found.private_groups}


def test_a_listener_its_security_group_keeps_inside_is_private(fixture: TemplateSet) -> None:
    inside = edited(
        fixture,
        "load-balancer",
        lambda t: t["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"][1].update(
            CidrIp="10.0.0.0/16"
        ),
    )
    found = exposure.analyse(inside)
    assert [path.resource for path in found.of_kind("listener")] == ["ServiceAProductionListener"]
    assert [(path.resource, path.port) for path in found.private_listeners] == [("ServiceATestListener", "tcp 8080")]


def test_an_internal_load_balancer_exposes_nothing(fixture: TemplateSet) -> None:
    internal = edited(
        fixture, "load-balancer", lambda t: t["Resources"]["LoadBalancer"]["Properties"].update(Scheme="internal")
    )
    found = exposure.analyse(internal)
    assert found.of_kind("listener") == ()
    assert found.private_load_balancers == ("load-balancer/LoadBalancer",)


def test_a_load_balancer_without_security_groups_is_open_to_anyone(fixture: TemplateSet) -> None:
    bare = edited(
        fixture, "load-balancer", lambda t: t["Resources"]["LoadBalancer"]["Properties"].pop("SecurityGroups")
    )
    sources = {path.source for path in exposure.analyse(bare).of_kind("listener")}
    assert sources == {"anyone (the load balancer has no security group)"}


# --- who may do what --------------------------------------------------------------------------------------------


def test_the_report_says_which_load_balancer_serves_which_service() -> None:
    services = [
        {"name": f"s{index}", "port": 8080, "listener_port": 1000 + index, "test_listener_port": 2000 + index}
        for index in range(3)
    ]
    blueprint = Blueprint.model_validate(
        {"name": "spread", "services": services, "load_balancer": {"services_per_load_balancer": 2}}
    )
    found = exposure.analyse(TemplateSet.from_stack_set(synthesize(blueprint)))
    assert found.load_balancers == (
        exposure.Balancer(
            "load-balancer", "LoadBalancer", "internet-facing", 4, ("service-s0/S0Service", "service-s1/S1Service")
        ),
        exposure.Balancer("load-balancer-2", "LoadBalancer", "internet-facing", 2, ("service-s2/S2Service",)),
    )
    text = review(synthesize(blueprint), findings=[]).markdown()
    assert "| `load-balancer-2/LoadBalancer` | internet-facing | 2 of 50 | `service-s2/S2Service` |" in text
    one = review(synthesize(Blueprint.model_validate({"name": "one", "services": services})), findings=[])
    assert "spread over" not in one.markdown()


def test_roles_show_trust_statements_and_attached_policies(fixture: TemplateSet) -> None:
    roles = {role.role: role for role in access.analyse(fixture).roles}
    execution = roles["ServiceAExecutionRole"]
    assert execution.trusted == ("service ecs-tasks.amazonaws.com",)
    assert execution.trust_condition == "StringEquals aws:SourceAccount = this account"
    assert [(grant.actions, grant.resources) for grant in execution.grants][1:3] == [
        (("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"), ("registry/ServiceAImageRepository",)),
        (("logs:CreateLogStream", "logs:PutLogEvents"), ("logs log-group:{ServiceALogGroup}:*",)),
    ]
    # AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources count for the roles they name
    assert [grant.policy for grant in roles["ServiceABuildRole"].grants] == ["policy ServiceABuildPolicy"] * 2
    passing = roles["ServiceAPipelineRole"].grants[0]
    assert (passing.actions, passing.resources, passing.condition) == (
        ("iam:PassRole",),
        ("service-service-a/ServiceAExecutionRole",),
        "StringEquals iam:PassedToService = ecs-tasks.amazonaws.com",
    )
    assert roles["ServiceADeployRole"].managed_policies == ("AWS managed policy AWSCodeDeployRoleForECS",)


def test_wildcard_resources_carry_their_reason_or_a_warning(fixture: TemplateSet) -> None:
    (allowed,) = access.analyse(fixture).wildcard_grants()
    assert allowed.wildcard == (
        ("ecr:GetAuthorizationToken", "ECR's registry login token is account-wide; the action has no resource type"),
    )
    assert not allowed.unjustified

    def loosen(template: dict[str, Any]) -> None:
        statements = template["Resources"]["ServiceAExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        statements["Statement"].append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"})

    loose = access.analyse(edited(fixture, "service-service-a", loosen)).wildcard_grants()
    assert [grant.unjustified for grant in loose] == [False, True]
    assert (
        "**1 without a documented reason** ⚠️"
        in assemble(edited(fixture, "service-service-a", loosen), region="us-east-1").markdown()
    )


def test_resource_policies_are_listed(fixture: TemplateSet) -> None:
    policies = {policy.resource: policy for policy in access.analyse(fixture).resource_policies}
    key = policies["LogsKey"].grants[0]
    assert (key.principals, key.resources) == (("this account",), ("this key",))
    tls = policies["ServiceAArtifactBucketPolicy"].grants[0]
    assert (tls.effect, tls.principals, tls.condition) == ("Deny", ("anyone",), "Bool aws:SecureTransport = false")


# --- data safety ------------------------------------------------------------------------------------------------


def test_data_safety_reads_each_stateful_type(fixture: TemplateSet) -> None:
    rows = {row.resource: row for row in data_safety.analyse(fixture)}
    cluster = rows["DatabaseCluster"]
    assert (
        cluster.deletion_policy,
        cluster.encryption,
        cluster.backups,
        cluster.deletion_protection,
        cluster.warnings,
    ) == ("Snapshot", "yes (AWS managed key)", "automated, 7 days", "on", ())
    assert rows["DatabaseWriter"].encryption == "from cluster DatabaseCluster"
    assert rows["ServiceAArtifactBucket"].backups == "versioning on"
    assert rows["ServiceALogGroup"].encryption == "KMS key keys/LogsKey"
    assert rows["LogsKey"].backups == "rotation on"
    assert set(rows) >= {"ServiceAImageRepository", "ServiceASourceRepository", "ApiKeySecret", "SessionTable"}
    assert rows["SessionTable"].deletion_policy == "Delete (not set)"
    assert "point-in-time recovery is off" in rows["SessionTable"].warnings


def test_a_key_deleted_with_its_stack_is_only_scheduled_for_deletion(fixture: TemplateSet) -> None:
    def delete_with_stack(template: dict[str, Any]) -> None:
        for resource in template["Resources"].values():
            resource.update(DeletionPolicy="Delete", UpdateReplacePolicy="Delete")

    rows = {
        row.resource: row
        for row in data_safety.analyse(
            edited(edited(fixture, "keys", delete_with_stack), "pipeline-service-a", delete_with_stack)
        )
    }
    assert rows["LogsKey"].warnings == () and rows["LogsKey"].deletion_protection == "30-day deletion window"
    assert "DeletionPolicy Delete: the data goes with the resource" in rows["ServiceAArtifactBucket"].warnings


def test_an_unprotected_database_is_flagged(fixture: TemplateSet) -> None:
    def expose(template: dict[str, Any]) -> None:
        cluster = template["Resources"]["DatabaseCluster"]
        cluster.pop("DeletionPolicy")
        cluster["Properties"].update(StorageEncrypted=False, DeletionProtection=False)

    (row,) = [
        row for row in data_safety.analyse(edited(fixture, "database", expose)) if row.resource == "DatabaseCluster"
    ]
    assert row.deletion_policy == "Snapshot (not set)"  # CloudFormation's default for RDS clusters
    assert row.warnings == ("storage is not encrypted", "deletion protection is off")


# --- checks -----------------------------------------------------------------------------------------------------


def test_suppressions_are_read_with_their_reasons(fixture: TemplateSet) -> None:
    found = {(item.tool, item.check): item for item in checks.suppressions(fixture)}
    assert found[("checkov", "CKV_AWS_18")].resources == ("pipeline-service-a/ServiceAArtifactBucket",)
    assert found[("cfn-lint", "W1011")].reason == "the secret is filled in by the operator after the first deployment"


def test_the_root_suppression_is_grouped_over_every_stack(demo_stacks: StackSet) -> None:
    templates = TemplateSet.from_stack_set(demo_stacks)
    (w3002,) = [item for item in checks.suppressions(templates) if item.check == "W3002"]
    assert w3002.resources == tuple(sorted(f"root/{child.logical_id}" for child in demo_stacks.children))


def test_a_suppression_without_reason_is_flagged(fixture: TemplateSet) -> None:
    bare = edited(fixture, "state", lambda t: t["Resources"]["ApiKeySecret"]["Metadata"].pop("cfngen"))
    report = assemble(bare, region="us-east-1")
    assert [item.check for item in report.checks.unexplained()] == ["W1011"]
    assert "**1 without a reason** ⚠️" in report.markdown()


def test_checkov_counts_come_from_a_real_scan(demo_stacks: StackSet, checkov: str) -> None:
    result = checks.run_checkov(demo_stacks.render("yaml"), checkov)
    assert result.failed == ()
    assert result.passed > 0
    assert result.skipped == len(result.applied_skips)
    templates = TemplateSet.from_stack_set(demo_stacks)
    written = {
        (item.check, resource)
        for item in checks.suppressions(templates)
        if item.tool == "checkov"
        for resource in item.resources
    }
    assert result.applied_skips and result.applied_skips <= written
    # a skip the scanner never needed is pointed out next to the suppression
    report = assemble(templates, region="us-east-1", scan=result)
    unused = {(item.check, resource) for item in report.checks.suppressions for resource in report.checks.unused(item)}
    assert unused == written - result.applied_skips
    assert ("(the check did not apply in this scan)" in report.markdown()) == bool(unused)


# --- cost -------------------------------------------------------------------------------------------------------


def test_cost_of_the_fixture_matches_a_hand_computed_estimate(fixture: TemplateSet) -> None:
    # 730 h/month at the table's prices of 2025-01-15, us-east-1:
    expected = {
        "keys": 1.00,  # 1 KMS key
        "network": 730 * 0.045 + 730 * 0.005,  # NAT gateway + its public IPv4 address
        "database": 2 * 730 * 0.082 + 0.40,  # writer + reader db.t3.medium + RDS-managed secret
        "cluster": 2 * 730 * 0.0208,  # desired capacity 2 x t3.small
        "load-balancer": 730 * (0.0225 + 0.006 + 2 * 0.005),  # NLB hour + 1 LCU + 2 public IPv4 addresses
        "pipeline-service-a": 1.00,  # one active V1 pipeline
        "state": 0.40,  # one secret (the DynamoDB table is usage-based)
        "monitoring": 3 * 0.10 + 3.00,  # 3 alarms + 1 dashboard
    }
    estimate = cost.estimate(fixture)
    assert estimate.per_stack() == pytest.approx(expected)
    assert estimate.total == pytest.approx(220.793)
    assert estimate.unknown == ()
    assert "CodeBuild build minutes" in estimate.usage_based


def test_an_unknown_instance_type_is_not_guessed(fixture: TemplateSet) -> None:
    exotic = edited(
        fixture,
        "cluster",
        lambda t: t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"].update(InstanceType="x9z.huge"),
    )
    estimate = cost.estimate(exotic)
    (unknown,) = estimate.unknown
    assert (unknown.stack, unknown.monthly, unknown.note) == ("cluster", None, "unknown price")
    assert "cluster" in estimate.per_stack() and estimate.per_stack()["cluster"] == 0
    text = assemble(exotic, region="us-east-1").markdown()
    assert "plus 1 item of unknown price" in text and "Unknown price (not in the price table, so not guessed)" in text


def test_a_v2_pipeline_is_usage_based(fixture: TemplateSet) -> None:
    v2 = edited(
        fixture,
        "pipeline-service-a",
        lambda t: t["Resources"]["ServiceAPipeline"]["Properties"].update(PipelineType="V2"),
    )
    estimate = cost.estimate(v2)
    (line,) = [line for line in estimate.lines if "CodePipeline" in line.item]
    assert (line.monthly, line.unit_price, line.unit) == (None, 0.002, "action-minute")
    assert estimate.unknown == () and "CodePipeline V2 action minutes" in estimate.usage_based
    assert estimate.total == pytest.approx(220.793 - 1.00)


def test_price_table_names_date_region_and_every_required_size() -> None:
    table = cost.price_table()
    assert (table.region, table.currency, table.hours_per_month) == ("us-east-1", "USD", 730)
    for family in ("t3", "t4g", "m5", "m6i", "c5", "c6i", "r5"):
        assert table.hourly("ec2_instance_hour", f"{family}.large") is not None, family
    for family in ("db.t3", "db.t4g", "db.r5", "db.r6g"):
        assert (
            table.hourly("aurora_mysql_instance_hour", f"{family}.medium" if "t" in family[3:5] else f"{family}.large")
            is not None
        ), family


# --- diagram ----------------------------------------------------------------------------------------------------


def test_diagram_has_a_node_per_stack_and_an_edge_per_producer(fixture: TemplateSet) -> None:
    drawn = diagram.build(fixture, highlighted=frozenset({"load-balancer"}))
    assert [node.name for node in drawn.nodes] == [stack.name for stack in fixture.children]
    edges = {(wire.producer, wire.consumer) for wire in drawn.wires}
    assert ("network", "database") in edges and ("", "service-service-a") in edges
    assert '  stack_network -->|"3"| stack_service_service_a' in drawn.mermaid
    assert '  deploy_time_parameters -.->|"ServiceAImage"| stack_service_service_a' in drawn.mermaid
    assert "class stack_load_balancer exposed" in drawn.mermaid


# --- changes ----------------------------------------------------------------------------------------------------


def _texts(templates: TemplateSet) -> dict[str, str]:
    """The template set as files again (JSON), as a directory or a git revision would hold them."""
    return {f"{stack.name}.json": json.dumps(stack.template) for stack in templates.stacks()}


def test_changes_report_resources_permissions_exposure_and_cost(fixture: TemplateSet) -> None:
    def evolve_service(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["ServiceATaskSecurityGroup"]["Properties"]["SecurityGroupIngress"].append(
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "198.51.100.0/24"}
        )
        statements = resources["ServiceATaskRole"]["Properties"].setdefault("Policies", [])
        statements.append(
            {
                "PolicyName": "read",
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObjectVersion", "s3:GetObject"],
                            "Resource": ["arn:aws:s3:::shared-bucket/*"],
                        }
                    ]
                },
            }
        )

    def retire_state(template: dict[str, Any]) -> None:
        del template["Resources"]["SessionTable"]
        template["Resources"]["ApiKeySecret"]["DeletionPolicy"] = "Delete"

    new = edited(edited(fixture, "service-service-a", evolve_service), "state", retire_state)
    new_texts = {
        **_texts(new),
        "extra.json": json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}}}),
    }
    found = changes.compare(_texts(fixture), new_texts, name="fixture", region="us-east-1", against="before")
    table = {(row.stack, row.resource): (row.change, row.warning, row.details) for row in found.rows()}
    assert table[("state", "SessionTable")] == ("removed", "⚠️ stateful: its data is deleted", ())
    assert table[("state", "ApiKeySecret")] == (
        "modified",
        "⚠️ stateful: deletion policy changed",
        ("DeletionPolicy: Retain → Delete",),
    )
    assert table[("service-service-a", "ServiceATaskSecurityGroup")] == (
        "modified",
        "",
        ("SecurityGroupIngress: 2 → 3 items",),
    )
    assert table[("extra", "Queue")][0] == "added"
    assert found.stacks_with("added") == ("extra",)
    assert found.permissions_gained == (
        "role service-service-a/ServiceATaskRole: Allow s3:GetObject, s3:GetObjectVersion on s3 shared-bucket/*",
    )
    assert found.permissions_lost == ()
    assert found.exposure_gained == (
        "security group rule service-service-a/ServiceATaskSecurityGroup: tcp 22 from "
        "198.51.100.0/24 → used by service-service-a/ServiceAService",
    )
    assert found.cost_after == pytest.approx(found.cost_before)  # a DynamoDB table on demand has no fixed cost
    text = assemble(new, region="us-east-1", changes=found).markdown()
    assert "| removed ⚠️ stateful: its data is deleted ⛔ refused at deploy | `state/SessionTable` |" in text
    assert "**Exposure gained:**" in text and "**IAM permissions lost:**" not in text


def test_changed_values_are_shown_with_their_paths(fixture: TemplateSet) -> None:
    resized = edited(
        fixture,
        "cluster",
        lambda t: t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"].update(InstanceType="m6i.large"),
    )
    found = changes.compare(_texts(fixture), _texts(resized), name="fixture", region="us-east-1", against="before")
    (row,) = found.rows()
    assert (row.resource, row.details) == ("LaunchTemplate", ("LaunchTemplateData.InstanceType: t3.small → m6i.large",))
    assert found.cost_after - found.cost_before == pytest.approx(2 * 730 * (0.096 - 0.0208))


def test_no_changes_against_the_same_templates(demo_stacks: StackSet, tmp_path: Path) -> None:
    demo_stacks.write(tmp_path)
    report = review(demo_stacks, against=tmp_path, findings=[])
    assert report.changes is not None and report.changes.empty
    assert "No resource, permission or exposure differs." in report.markdown()


def test_against_a_git_revision_reads_the_committed_templates(demo_stacks: StackSet, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / demo_stacks.blueprint.name
    demo_stacks.write(folder)
    network = folder / "network.yaml"
    network.write_text(network.read_text().replace("  S3GatewayEndpoint:", "  OldEndpoint:"))
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "old templates"], check=True)
    found = review(demo_stacks, against="HEAD", directory=folder, findings=[]).changes
    assert found is not None and found.against == "git HEAD"
    # the same resource under a new logical id: a rename, which CloudFormation carries out as a replacement
    assert [(row.resource, row.change) for row in found.rows()] == [("S3GatewayEndpoint (was OldEndpoint)", "replaced")]
    # a revision without this blueprint's templates: a comparison with nothing is refused, not "everything new"
    subprocess.run([*git, "rm", "-rq", "templates"], check=True)
    subprocess.run([*git, "commit", "-qm", "nothing"], check=True)
    with pytest.raises(
        UsageError, match=f"no templates of blueprint '{demo_stacks.blueprint.name}' in .* at git revision HEAD"
    ):
        review(demo_stacks, against="HEAD", directory=folder, findings=[])
    with pytest.raises(UsageError, match="neither a directory nor a revision"):
        review(demo_stacks, against="no-such-ref", directory=folder, findings=[])


# --- the whole report -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(goldens()))
def test_golden_reports_are_current(name: str) -> None:
    assert goldens()[name]() == (GOLDEN_DIR / name).read_text(encoding="utf-8"), "run `make goldens`"


def test_markdown_cells_cannot_break_tables(fixture: TemplateSet) -> None:
    odd = edited(
        fixture,
        "service-service-a",
        lambda t: t["Resources"]["ServiceAExecutionRole"]["Properties"].update(
            Description="pipes | and *stars* and <b>tags</b>"
        ),
    )
    text = assemble(odd, region="us-east-1").markdown()
    assert "pipes \\| and \\*stars\\* and &lt;b&gt;tags&lt;/b&gt;" in text


def test_write_picks_the_format_by_suffix(fixture: TemplateSet, tmp_path: Path) -> None:
    report = assemble(fixture, region="us-east-1")
    assert report.write(tmp_path / "r.md").read_text().startswith("# Review of `fixture-platform`")
    html = report.write(tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and '<pre class="mermaid">flowchart LR' in html
    with pytest.raises(UsageError, match="name the file"):
        report.write(tmp_path / "r.txt")


def test_html_loads_nothing_from_the_network(fixture: TemplateSet) -> None:
    from importlib import resources

    html = assemble(fixture, region="us-east-1").html()
    script = resources.files("cfngen.report").joinpath("assets/mermaid.min.js").read_text()
    assert html.count(script) == 1
    page = html.replace(script, "").replace('http-equiv="Content-Security-Policy"', "")
    assert "<script src" not in page and "<link" not in page and "@import" not in page and "http" not in page


def test_vendored_mermaid_is_the_recorded_version() -> None:
    import hashlib
    from importlib import resources

    assets = resources.files("cfngen.report").joinpath("assets")
    notes = json.loads(assets.joinpath("mermaid.json").read_text())
    digest = hashlib.sha256(assets.joinpath("mermaid.min.js").read_bytes()).hexdigest()
    assert (notes["sha256"], notes["license"]) == (digest, "MIT")
    assert "Copyright (c) 2014 - 2022 Knut Sveidqvist" in assets.joinpath("mermaid.LICENSE").read_text()


# --- in a browser -----------------------------------------------------------------------------------------------


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any request to a host would fail
            "--virtual-time-budget=30000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("source", ["demo", "fixture"])
def test_the_html_diagram_renders_to_svg_offline(
    source: str, demo_stacks: StackSet, fixture: TemplateSet, chromium: str, tmp_path: Path
) -> None:
    templates = TemplateSet.from_stack_set(demo_stacks) if source == "demo" else fixture
    page = assemble(templates, region="us-east-1").write(tmp_path / "review.html")
    dom = _dump_dom(chromium, page, tmp_path / "profile")
    assert 'data-diagram="rendered"' in dom, dom[dom.find("<body") :][:300]
    start = dom.find('<pre class="mermaid"')
    drawn = dom[start : dom.find("<script", start)]  # the architecture, then the stack wiring
    assert drawn.count('<pre class="mermaid" data-processed="true"><svg') == 2
    assert 'aria-roledescription="error"' not in drawn
    for stack in templates.children:
        assert f"<b>{stack.name}</b>" in drawn, stack.name


def test_chromium_reports_a_broken_diagram(fixture: TemplateSet, chromium: str, tmp_path: Path) -> None:
    """The browser check can fail: a diagram Mermaid cannot parse leaves the page marked as failed."""
    page = tmp_path / "broken.html"
    html = assemble(fixture, region="us-east-1").html()
    page.write_text(
        html.replace('<pre class="mermaid">flowchart LR', '<pre class="mermaid">flowchart LR\n  a --> --> b', 1)
    )
    dom = _dump_dom(chromium, page, tmp_path / "profile")
    assert 'data-diagram="failed: ' in dom


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium package")
    return found


@pytest.fixture(scope="session")
def checkov() -> str:
    import os

    from tests.conftest import ROOT

    executable = os.environ.get("CFNGEN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    if not Path(executable).exists():
        pytest.fail("checkov is not installed: `make test` installs it in .venv-checkov")
    return executable


def test_interface_endpoints_are_priced_per_az_and_their_data_named_as_usage_based() -> None:
    """https://aws.amazon.com/privatelink/pricing/: each interface endpoint is billed per hour in each AZ, plus
    per GB processed; the S3 gateway endpoint costs nothing."""

    def templates(endpoints: str) -> TemplateSet:
        blueprint = Blueprint.model_validate(
            {
                "name": "cost",
                "network": {"availability_zones": 3, "endpoints": endpoints},
                "services": [{"name": "api", "port": 80}],
            }
        )
        return TemplateSet.from_stack_set(synthesize(blueprint))

    with_endpoints, without = cost.estimate(templates("interface")), cost.estimate(templates("gateway-only"))
    lines = [line for line in with_endpoints.lines if "interface VPC endpoint" in line.item]
    assert len(lines) == 7
    assert {(line.quantity, line.unit_price, line.unit) for line in lines} == {(3, 0.01, "AZ-hour")}
    assert with_endpoints.per_stack()["network"] - without.per_stack()["network"] == pytest.approx(7 * 3 * 0.01 * 730)
    assert "interface VPC endpoint data processing" in with_endpoints.usage_based
    assert "interface VPC endpoint data processing" not in without.usage_based

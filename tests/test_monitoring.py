"""The monitoring stack: alarm topic and key, alarms, failure rules, dashboard and budget."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cfngen import load_blueprint, synthesize
from cfngen.blueprint import MAX_SERVICES_PER_LOAD_BALANCER, Blueprint
from cfngen.builders import monitoring
from cfngen.builders.contracts import OUTPUTS, SERVICE_ALARM_KINDS, service_alarm_names
from cfngen.builders.keys import KEY_ADMIN_ACTIONS
from cfngen.facts.aws import AURORA_MYSQL_INSTANCE_MEMORY_GIB
from cfngen.linting import lint_texts
from tests.conftest import EXAMPLES, ROOT, checkov_failures, example_ids

# AWS's published default max_connections of Aurora MySQL ("Maximum connections to an Aurora MySQL
# DB instance", Aurora user guide), for the classes of that table the schema accepts.
PUBLISHED_MAX_CONNECTIONS = {
    "db.t3.medium": 90,
    "db.t3.large": 135,
    "db.t4g.medium": 90,
    "db.t4g.large": 135,
    "db.r5.large": 1000,
    "db.r5.xlarge": 2000,
    "db.r5.2xlarge": 3000,
    "db.r5.4xlarge": 4000,
    "db.r5.8xlarge": 5000,
    "db.r5.12xlarge": 6000,
    "db.r5.16xlarge": 6000,
    "db.r5.24xlarge": 7000,
    "db.r6g.large": 1000,
    "db.r6g.xlarge": 2000,
    "db.r6g.2xlarge": 3000,
    "db.r6g.4xlarge": 4000,
    "db.r6g.8xlarge": 5000,
    "db.r6g.12xlarge": 6000,
    "db.r6g.16xlarge": 6000,
    "db.x2g.large": 2000,
    "db.x2g.xlarge": 3000,
    "db.x2g.2xlarge": 4000,
    "db.x2g.4xlarge": 5000,
    "db.x2g.8xlarge": 6000,
    "db.x2g.12xlarge": 7000,
    "db.x2g.16xlarge": 7000,
}


def _blueprint(**sections: Any) -> Blueprint:
    data: dict[str, Any] = {
        "name": "shop",
        "services": [
            {"name": "api", "port": 8080},
            {"name": "web-front", "port": 3000, "listener_port": 81, "test_listener_port": 8081},
        ],
    }
    return Blueprint.model_validate({**data, **sections})


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in template["Resources"].items() if body["Type"] == kind}


def _build(blueprint: Blueprint) -> dict[str, Any]:
    result: dict[str, Any] = monitoring.build(blueprint).to_dict()
    return result


def _wiring_contract_names(blueprint: Blueprint) -> set[str]:
    """Every output name the wiring contract declares, for the blueprint's services and first load balancer."""
    return {
        output.name.replace("{Svc}", service.logical_name).replace("LoadBalancer<n>", "LoadBalancer")
        for output in OUTPUTS
        for service in blueprint.services
    }


FULL = {
    "database": {"readers": 2},
    "alarms": {"email": "ops@example.com"},
    "budget": {"monthly_usd": 300},
    "tags": {"Project": "shop", "CostCenter": "cc-1"},
}


def test_parameters_are_outputs_the_wiring_contract_promises() -> None:
    blueprint = _blueprint(**FULL)
    parameters = set(_build(blueprint)["Parameters"])
    assert parameters <= _wiring_contract_names(blueprint)
    assert {
        "ClusterName",
        "LoadBalancerFullName",
        "ApiServiceName",
        "ApiBlueTargetGroupFullName",
        "DatabaseInstanceIds",
        "WebFrontPipelineName",
        "WebFrontCodeDeployApplicationName",
    } <= parameters
    assert not any(name.startswith("Database") for name in _build(_blueprint())["Parameters"])


def test_outputs_the_topic_arn() -> None:
    assert _build(_blueprint())["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


def test_service_alarms_take_their_names_from_the_alarm_names_function() -> None:
    blueprint = _blueprint(**FULL)
    alarms = _resources(_build(blueprint), "AWS::CloudWatch::Alarm")
    for service in blueprint.services:
        created = {
            props["AlarmName"] for logical_id, props in alarms.items() if logical_id.startswith(service.logical_name)
        }
        assert created == set(service_alarm_names(blueprint, service))
        assert len(created) == len(SERVICE_ALARM_KINDS)
    assert alarms["WebFrontRunningTasksLowAlarm"]["AlarmName"] == "shop--web-front-running-tasks-low"
    all_names = [props["AlarmName"] for props in alarms.values()]
    assert len(all_names) == len(set(all_names))
    assert all(len(name) <= 255 for name in all_names)


@pytest.mark.parametrize("blueprint_path", EXAMPLES, ids=example_ids())
def test_every_alarm_a_deployment_group_rolls_back_on_is_an_alarm_the_monitoring_stack_creates(
    blueprint_path: Path,
) -> None:
    stack_set = synthesize(load_blueprint(blueprint_path))
    created = {
        props["AlarmName"]
        for props in _resources(stack_set.child("monitoring").template.to_dict(), "AWS::CloudWatch::Alarm").values()
    }
    named = []
    for child in stack_set.children:
        for group in _resources(child.template.to_dict(), "AWS::CodeDeploy::DeploymentGroup").values():
            assert group["AlarmConfiguration"]["Enabled"] is True
            assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
            named += [alarm["Name"] for alarm in group["AlarmConfiguration"]["Alarms"]]
        # Services under the ECS controller roll back on the same alarms, named in the service itself.
        for service in _resources(child.template.to_dict(), "AWS::ECS::Service").values():
            alarms = service.get("DeploymentConfiguration", {}).get("Alarms")
            if alarms is not None:
                assert alarms["Enable"] is True and alarms["Rollback"] is True
                named += alarms["AlarmNames"]
    assert len(named) == len(SERVICE_ALARM_KINDS) * len(stack_set.blueprint.services)
    assert set(named) <= created, f"named by a deployment group, created by nobody: {sorted(set(named) - created)}"


def test_every_alarm_notifies_the_topic_and_says_what_it_watches() -> None:
    alarms = _resources(_build(_blueprint(**FULL)), "AWS::CloudWatch::Alarm")
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}] == props["OKActions"]
        assert props["AlarmName"].startswith("shop-")
        assert len(props["AlarmDescription"]) > 40 and "for 5 minutes" in props["AlarmDescription"]


def test_thresholds_and_duration_come_from_the_blueprint() -> None:
    alarms_spec = {
        "cpu_high_percent": 61,
        "memory_high_percent": 62,
        "cluster_reservation_high_percent": 63,
        "database_cpu_high_percent": 64,
        "database_connections_high_percent": 50,
        "replica_lag_high_ms": 750,
        "evaluation_minutes": 3,
    }
    blueprint = _blueprint(database={"readers": 1, "instance_class": "db.r6g.large"}, alarms=alarms_spec)
    alarms = _resources(_build(blueprint), "AWS::CloudWatch::Alarm")
    assert alarms["ApiCpuHighAlarm"]["Threshold"] == 61
    assert alarms["ApiMemoryHighAlarm"]["Threshold"] == 62
    assert alarms["ClusterCpuReservationHighAlarm"]["Threshold"] == 63
    assert alarms["ClusterMemoryReservationHighAlarm"]["Threshold"] == 63
    assert alarms["DatabaseInstance2CpuHighAlarm"]["Threshold"] == 64
    assert alarms["DatabaseInstance1ConnectionsHighAlarm"]["Threshold"] == 500  # 50% of 1000
    assert alarms["DatabaseInstance2ReplicaLagHighAlarm"]["Threshold"] == 750
    assert {(props["EvaluationPeriods"], props["DatapointsToAlarm"]) for props in alarms.values()} == {(3, 3)}


def test_running_tasks_are_compared_with_the_live_desired_count() -> None:
    alarm = _resources(_build(_blueprint()), "AWS::CloudWatch::Alarm")["ApiRunningTasksLowAlarm"]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    assert {queries[q]["MetricStat"]["Metric"]["MetricName"] for q in ("desired", "running")} == {
        "DesiredTaskCount",
        "RunningTaskCount",
    }
    assert {queries[q]["MetricStat"]["Metric"]["Namespace"] for q in ("desired", "running")} == {
        "ECS/ContainerInsights"
    }
    result = next(query for query in alarm["Metrics"] if query.get("ReturnData"))
    assert result["Expression"] == "desired - running"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_unhealthy_targets_watch_both_target_groups_of_the_load_balancer() -> None:
    alarm = _resources(_build(_blueprint()), "AWS::CloudWatch::Alarm")["WebFrontUnhealthyTargetsAlarm"]
    watched = [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]
    assert {metric["MetricName"] for metric in watched} == {"UnHealthyHostCount"}
    groups = [{d["Name"]: d["Value"] for d in metric["Dimensions"]} for metric in watched]
    assert [group["TargetGroup"] for group in groups] == [
        {"Ref": "WebFrontBlueTargetGroupFullName"},
        {"Ref": "WebFrontGreenTargetGroupFullName"},
    ]
    assert all(group["LoadBalancer"] == {"Ref": "LoadBalancerFullName"} for group in groups)


@pytest.mark.parametrize("readers", [0, 1, 3])
def test_database_alarms_per_instance_and_replica_lag_only_with_readers(readers: int) -> None:
    alarms = _resources(_build(_blueprint(database={"readers": readers})), "AWS::CloudWatch::Alarm")
    database = {name: props for name, props in alarms.items() if name.startswith("Database")}
    instances = readers + 1
    assert len(database) == 2 * instances + (instances if readers else 0)
    for number in range(1, instances + 1):
        dimensions = alarms[f"DatabaseInstance{number}CpuHighAlarm"]["Dimensions"]
        assert dimensions == [
            {"Name": "DBInstanceIdentifier", "Value": {"Fn::Select": [number - 1, {"Ref": "DatabaseInstanceIds"}]}}
        ]
    assert any("ReplicaLag" in name for name in database) == bool(readers)
    assert not any(name.startswith("Database") for name in _resources(_build(_blueprint()), "AWS::CloudWatch::Alarm"))


@pytest.mark.parametrize(("instance_class", "expected"), sorted(PUBLISHED_MAX_CONNECTIONS.items()))
def test_max_connections_formula_reproduces_the_published_table(instance_class: str, expected: int) -> None:
    assert monitoring.aurora_mysql_max_connections(instance_class) == expected


def test_max_connections_grows_with_memory_for_every_accepted_class() -> None:
    by_memory = sorted(AURORA_MYSQL_INSTANCE_MEMORY_GIB.items(), key=lambda item: item[1])
    limits = [monitoring.aurora_mysql_max_connections(name) for name, _ in by_memory]
    assert limits == sorted(limits) and limits[0] >= 45 and limits[-1] <= 16_000


def test_connections_alarm_threshold_follows_the_instance_class() -> None:
    small = _resources(_build(_blueprint(database={"instance_class": "db.t3.medium"})), "AWS::CloudWatch::Alarm")
    large = _resources(_build(_blueprint(database={"instance_class": "db.r5.4xlarge"})), "AWS::CloudWatch::Alarm")
    assert small["DatabaseInstance1ConnectionsHighAlarm"]["Threshold"] == 72  # 80% of 90
    assert large["DatabaseInstance1ConnectionsHighAlarm"]["Threshold"] == 3200  # 80% of 4000


def test_topic_is_encrypted_with_a_rotating_key_without_wildcard_actions() -> None:
    template = _build(_blueprint(**FULL))
    (topic,) = _resources(template, "AWS::SNS::Topic").values()
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmKey", "Arn"]}
    key = _resources(template, "AWS::KMS::Key")["AlarmKey"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    actions = [action for statement in statements for action in statement["Action"]]
    assert not any(action.endswith("*") for action in actions)
    admin, publishers = statements
    assert admin["Action"] == [f"kms:{name}" for name in KEY_ADMIN_ACTIONS]
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert publishers["Principal"]["Service"] == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "budgets.amazonaws.com",
    ]
    without_budget = _resources(_build(_blueprint()), "AWS::KMS::Key")["AlarmKey"]["KeyPolicy"]["Statement"][1]
    assert "budgets.amazonaws.com" not in without_budget["Principal"]["Service"]


def test_topic_policy_admits_each_publisher_only_from_this_account_and_its_sources() -> None:
    template = _build(_blueprint(**FULL))
    (policy,) = _resources(template, "AWS::SNS::TopicPolicy").values()
    statements = {statement["Sid"]: statement for statement in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"CloudWatchAlarmsPublish", "EventBridgeRulesPublish", "BudgetsPublish"}
    for statement in statements.values():
        assert statement["Action"] == ["sns:Publish"] and statement["Resource"] == [{"Ref": "AlarmTopic"}]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    names = sorted(rule["Name"] for rule in _resources(template, "AWS::Events::Rule").values())
    sources = statements["EventBridgeRulesPublish"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(source["Fn::Sub"] for source in sources) == [
        f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{name}" for name in names
    ]
    assert "alarm:shop--*" in statements["CloudWatchAlarmsPublish"]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert "budget/shop-monthly" in statements["BudgetsPublish"]["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    (plain,) = _resources(_build(_blueprint()), "AWS::SNS::TopicPolicy").values()
    assert "BudgetsPublish" not in {statement["Sid"] for statement in plain["PolicyDocument"]["Statement"]}


def test_email_subscription_only_with_an_alarm_email() -> None:
    (subscription,) = _resources(_build(_blueprint(**FULL)), "AWS::SNS::Subscription").values()
    assert subscription == {"Endpoint": "ops@example.com", "Protocol": "email", "TopicArn": {"Ref": "AlarmTopic"}}
    assert _resources(_build(_blueprint()), "AWS::SNS::Subscription") == {}


def test_failure_rules_match_the_services_pipeline_deployment_and_crashed_tasks() -> None:
    rules = _resources(_build(_blueprint()), "AWS::Events::Rule")
    assert {name: rule["Name"] for name, rule in rules.items()} == {
        "PipelineFailedRule": "shop--pipeline-failed",
        "DeploymentFailedRule": "shop--deployment-failed",
        "TaskStoppedRule": "shop--task-crashed",
    }
    pipeline = rules["PipelineFailedRule"]["EventPattern"]
    # The run CodePipeline starts when it creates a pipeline, before its repository has a commit, pages nobody.
    assert pipeline["detail"] == {
        "state": ["FAILED"],
        "pipeline": [{"Ref": "ApiPipelineName"}, {"Ref": "WebFrontPipelineName"}],
        "execution-trigger": {"trigger-type": [{"anything-but": ["CreatePipeline"]}]},
    }
    deployment = rules["DeploymentFailedRule"]["EventPattern"]
    assert deployment["source"] == ["aws.codedeploy"] and deployment["detail"]["state"] == ["FAILURE"]
    assert deployment["detail"]["application"] == [
        {"Ref": "ApiCodeDeployApplicationName"},
        {"Ref": "WebFrontCodeDeployApplicationName"},
    ]
    task = rules["TaskStoppedRule"]["EventPattern"]["detail"]
    assert task["stopCode"] == ["EssentialContainerExited"] and task["lastStatus"] == ["STOPPED"]
    assert task["containers"] == {"exitCode": [{"anything-but": 0}]}
    assert task["clusterArn"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}"}
    ]


def test_ecs_deployments_fail_into_a_rule_of_their_own_and_codedeploys_only_where_used() -> None:
    blueprint = _blueprint(deployment={"strategy": "ecs-blue-green"})
    rules = _resources(_build(blueprint), "AWS::Events::Rule")
    assert set(rules) == {"PipelineFailedRule", "EcsDeploymentFailedRule", "TaskStoppedRule"}
    pattern = rules["EcsDeploymentFailedRule"]["EventPattern"]
    assert pattern["detail-type"] == ["ECS Deployment State Change"]
    assert pattern["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}
    assert pattern["resources"][0] == {
        "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${ClusterName}/${ApiServiceName}"
    }
    policy = _resources(_build(blueprint), "AWS::SNS::TopicPolicy")["AlarmTopicPolicy"]
    assert "shop--ecs-deployment-failed" in json.dumps(policy) and "shop--deployment-failed" not in json.dumps(policy)


@pytest.mark.parametrize("deployment", ["codedeploy", "ecs-canary"])
def test_rule_messages_are_readable_text_with_every_placeholder_mapped(deployment: str) -> None:
    for rule in _resources(_build(_blueprint(deployment={"strategy": deployment})), "AWS::Events::Rule").values():
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Ref": "AlarmTopic"}
        transformer = target["InputTransformer"]
        message = json.loads(transformer["InputTemplate"])
        assert isinstance(message, str) and len(message) > 40
        assert set(re.findall(r"<([a-z]+)>", message)) == set(transformer["InputPathsMap"])
        assert all(path.startswith("$.") for path in transformer["InputPathsMap"].values())


def _dashboard(blueprint: Blueprint) -> tuple[dict[str, Any], set[str]]:
    """The dashboard body with its ${...} placeholders filled, and the placeholder names."""
    template = _build(blueprint)
    sub = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    body, variables = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
    known = {
        *template["Parameters"],
        *template["Resources"],
        *variables,
        "AWS::Region",
        "AWS::Partition",
        "AWS::AccountId",
    }
    placeholders = set(re.findall(r"\$\{([^}]+)\}", body))
    assert placeholders <= known
    return json.loads(re.sub(r"\$\{([^}]+)\}", r"\1", body)), placeholders


def test_dashboard_shows_every_part_of_the_platform_without_overlaps() -> None:
    blueprint = _blueprint(**FULL)
    body, placeholders = _dashboard(blueprint)
    widgets = body["widgets"]
    headings = [widget["properties"]["markdown"] for widget in widgets if widget["type"] == "text"]
    assert headings == ["## Alarms", "## Services", "## Cluster", "## Load balancer", "## Database", "## Pipelines"]
    cells: set[tuple[int, int]] = set()
    for widget in widgets:
        assert widget["x"] + widget["width"] <= 24
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & area
        cells |= area
    metrics = {row[1] for widget in widgets if widget["type"] == "metric" for row in widget["properties"]["metrics"]}
    assert {
        "CPUUtilization",
        "MemoryUtilization",
        "RunningTaskCount",
        "HealthyHostCount",
        "ActiveFlowCount",
        "ProcessedBytes",
        "DatabaseConnections",
        "AuroraReplicaLag",
        "MatchedEvents",
    } <= metrics
    assert {"WebFrontServiceName", "DatabaseInstance3", "AutoScalingGroupName"} <= placeholders
    rules = {
        row[3]
        for widget in widgets
        if widget["type"] == "metric"
        for row in widget["properties"]["metrics"]
        if row[1] == "MatchedEvents"
    }
    assert rules == {rule["Name"] for rule in _resources(_build(blueprint), "AWS::Events::Rule").values()}
    alarms = [
        arn.rsplit(":", 1)[1]
        for widget in widgets
        if widget["type"] == "alarm"
        for arn in widget["properties"]["alarms"]
    ]
    assert sorted(alarms) == sorted(
        props["AlarmName"] for props in _resources(_build(blueprint), "AWS::CloudWatch::Alarm").values()
    )


def test_dashboard_without_a_database_has_no_database_section() -> None:
    body, placeholders = _dashboard(_blueprint())
    assert "## Database" not in {widget["properties"].get("markdown") for widget in body["widgets"]}
    assert not any(name.startswith("Database") for name in placeholders)


def test_budget_notifies_the_topic_at_actual_and_forecasted_percentages() -> None:
    blueprint = _blueprint(budget={"monthly_usd": 250.5, "actual_percent": 70}, tags={"Project": "shop"})
    (budget,) = _resources(_build(blueprint), "AWS::Budgets::Budget").values()
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 250.5, "Unit": "USD"}
    assert budget["Budget"]["TimeUnit"] == "MONTHLY" and budget["Budget"]["BudgetType"] == "COST"
    notifications = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in budget["NotificationsWithSubscribers"]
    }
    assert notifications == {("ACTUAL", 70), ("FORECASTED", 100)}
    assert all(
        n["Subscribers"] == [{"Address": {"Ref": "AlarmTopic"}, "SubscriptionType": "SNS"}]
        for n in budget["NotificationsWithSubscribers"]
    )
    assert budget["ResourceTags"] == [{"Key": "Project", "Value": "shop"}]
    assert _resources(_build(_blueprint()), "AWS::Budgets::Budget") == {}


VARIANTS = {
    "minimal": {},
    "full": FULL,
    "single-instance-database": {
        "database": {"readers": 0, "instance_class": "db.r7g.2xlarge"},
        "budget": {"monthly_usd": 10},
    },
    "one-minute": {"alarms": {"evaluation_minutes": 1, "email": "a@b.co"}, "region": "eu-west-1"},
}


def test_every_variant_lints_clean_and_passes_the_security_scanner(tmp_path: Path) -> None:
    texts = {}
    for name, sections in VARIANTS.items():
        blueprint = _blueprint(**sections)
        texts[f"{name}.yaml"] = monitoring.build(blueprint).to_yaml()
        assert [str(finding) for finding in lint_texts({name: texts[f"{name}.yaml"]}, region=blueprint.region)] == []
    for file_name, text in texts.items():
        (tmp_path / file_name).write_text(text)
    assert [(f["check_id"], f["resource"], f["file_path"]) for f in checkov_failures(tmp_path)] == []


def test_many_services_split_the_alarm_widget_and_stay_lint_clean() -> None:
    services = [
        {"name": f"svc{index}", "port": 80, "listener_port": 1000 + index, "test_listener_port": 2000 + index}
        for index in range(MAX_SERVICES_PER_LOAD_BALANCER)
    ]
    blueprint = Blueprint.model_validate({"name": "big", "services": services, "database": {"readers": 1}})
    body, _ = _dashboard(blueprint)
    alarm_widgets = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    alarm_count = len(_resources(_build(blueprint), "AWS::CloudWatch::Alarm"))
    assert alarm_count > 100
    assert [len(widget["properties"]["alarms"]) for widget in alarm_widgets] == [100, alarm_count - 100]
    assert lint_texts({"big": monitoring.build(blueprint).to_yaml()}) == []


def test_services_of_each_further_load_balancer_get_a_monitoring_stack_of_their_own() -> None:
    services = [
        {"name": f"svc{index}", "port": 80, "listener_port": 1000 + index, "test_listener_port": 2000 + index}
        for index in range(10)
    ]
    blueprint = Blueprint.model_validate(
        {"name": "big", "services": services, "load_balancer": {"services_per_load_balancer": 4}}
    )
    stacks = {stack.name: stack.template.to_dict() for stack in monitoring.stacks(blueprint)}
    assert list(stacks) == ["monitoring", "monitoring-2", "monitoring-3"]
    watched = {
        name: sorted(
            set(re.findall(r'"Ref": "(\w+)ServiceName"', json.dumps(_resources(template, "AWS::CloudWatch::Alarm"))))
        )
        for name, template in stacks.items()
    }
    assert watched == {
        "monitoring": ["Svc0", "Svc1", "Svc2", "Svc3"],
        "monitoring-2": ["Svc4", "Svc5", "Svc6", "Svc7"],
        "monitoring-3": ["Svc8", "Svc9"],
    }
    third = stacks["monitoring-3"]
    assert "LoadBalancer3FullName" in third["Parameters"] and "LoadBalancerFullName" not in third["Parameters"]
    assert {"AlarmTopicArn", "ClusterName"} <= set(third["Parameters"]) and "Outputs" not in third
    for props in [*_resources(third, "AWS::CloudWatch::Alarm").values()]:
        assert props["AlarmActions"] == [{"Ref": "AlarmTopicArn"}]
    assert third["Resources"]["Dashboard"]["Properties"]["DashboardName"] == "big--dashboard-3"
    names = {
        rule["Name"] for template in stacks.values() for rule in _resources(template, "AWS::Events::Rule").values()
    }
    assert names == {
        "big--task-crashed",
        *(f"big--{kind}{suffix}" for kind in ("pipeline-failed", "deployment-failed") for suffix in ("", "-2", "-3")),
    }
    (policy,) = _resources(stacks["monitoring"], "AWS::SNS::TopicPolicy").values()
    statement = next(
        statement
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Sid"] == "EventBridgeRulesPublish"
    )
    assert {
        source["Fn::Sub"].rsplit("/", 1)[1] for source in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    } == names
    assert lint_texts({name: yaml.safe_dump(template) for name, template in stacks.items()}) == []


def test_build_is_deterministic() -> None:
    blueprint = _blueprint(**FULL)
    assert monitoring.build(blueprint).to_yaml() == monitoring.build(blueprint).to_yaml()


def test_demo_blueprint_shows_every_optional_section() -> None:
    demo = load_blueprint(ROOT / "blueprints" / "demo.yaml")
    optional = [name for name, field in Blueprint.model_fields.items() if not field.is_required()]
    written = yaml.safe_load((ROOT / "blueprints" / "demo.yaml").read_text())
    assert {"database", "pipeline", "alarms", "budget", "logs", "tags"} <= set(optional) <= set(written)
    assert demo.database is not None and demo.budget is not None and demo.alarms.email is not None
    assert {child.name for child in synthesize(demo).children} >= {"database", "monitoring", "pipeline-service-a"}


def test_with_approvals_the_accounts_roles_may_use_the_alarm_key_through_sns_only() -> None:
    """The pipelines publish approval requests with their own roles; the key lets the account's roles use it
    only through SNS in this account, and only when the blueprint has approvals."""

    def key_statements(blueprint: Blueprint) -> list[dict[str, Any]]:
        (key,) = _resources(_build(blueprint), "AWS::KMS::Key").values()
        return list(key["KeyPolicy"]["Statement"])

    (through_sns,) = [
        statement
        for statement in key_statements(_blueprint(pipeline={"approval": True}))
        if statement["Sid"] == "AccountPublishersEncryptThroughSns"
    ]
    assert through_sns["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert through_sns["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"},
            "kms:CallerAccount": {"Ref": "AWS::AccountId"},
        }
    }
    assert "AccountPublishersEncryptThroughSns" not in [statement["Sid"] for statement in key_statements(_blueprint())]


def test_rule_descriptions_of_many_long_service_names_stay_within_eventbridges_512_characters() -> None:
    """Found by the property tests: 24 services of 24-character names listed in full made 650 characters."""
    services = [
        {
            "name": f"service-{index:02d}-" + "x" * 13,
            "port": 80,
            "listener_port": 1000 + index,
            "test_listener_port": 2000 + index,
        }
        for index in range(MAX_SERVICES_PER_LOAD_BALANCER)
    ]
    template = _build(Blueprint.model_validate({"name": "n" * 24, "services": services}))
    descriptions = [rule["Description"] for rule in _resources(template, "AWS::Events::Rule").values()]
    assert max(map(len, descriptions)) <= monitoring.RULE_DESCRIPTION_MAX
    assert any(description.endswith(" more") and "service-00-" in description for description in descriptions)
    short = _build(_blueprint())
    assert not any(rule["Description"].endswith(" more") for rule in _resources(short, "AWS::Events::Rule").values())

"""The monitoring stacks: trouble and cost show up here before users or the bill notice them.

One SNS topic receives everything:
- CloudWatch alarms: per service CPU and memory high, running tasks below desired and unhealthy
  NLB targets; cluster CPU and memory reservation high; per database instance CPU high,
  connections near ``max_connections`` and, with readers, replica lag;
- EventBridge rules, with input transformers that turn events into readable messages: pipeline
  execution FAILED, CodeDeploy deployment FAILURE, ECS task stopped because an essential container
  exited with a non-zero code;
- the monthly budget's notifications.
The topic is encrypted with a customer-managed KMS key of its own: alarms cannot publish to a
topic under the AWS-managed SNS key, whose policy nobody can extend. A dashboard shows services,
cluster, load balancer, database and pipelines on one page.

The services are watched in one stack per load balancer, which bounds every stack and dashboard
whatever the number of services: ``monitoring`` holds the topic, the platform-wide alarms and the
services of load balancer 1; ``monitoring-<n>`` the services of load balancer n, with a dashboard
of their own, publishing to the topic it receives. Failure rules match a list of pipelines or
applications, one rule per kind and stack, so the account's 300 rules per event bus are not spent
one per service, and have fixed names the topic policy lists.

A service's alarms take their names from :mod:`cfngen.builders.contracts`, the function the
pipeline stack, built earlier, uses to name them in the service's CodeDeploy deployment group for
automatic rollback: the two stacks agree on plain strings and nothing flows from this stack to it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from awacs import kms, sns
from awacs.aws import Allow, ArnEquals, ArnLike, Condition, Principal, Statement, StringEquals
from troposphere import AccountId, GetAtt, Ref, Select, Sub, Template
from troposphere.budgets import (
    Budget,
    BudgetData,
    Notification,
    NotificationWithSubscribers,
    ResourceTag,
    Spend,
    Subscriber,
)
from troposphere.cloudwatch import Alarm, Dashboard, Metric, MetricDataQuery, MetricDimension, MetricStat
from troposphere.events import InputTransformer, Rule, Target
from troposphere.kms import Alias, Key
from troposphere.sns import SubscriptionResource, Topic, TopicPolicy

from cfngen.blueprint import Blueprint, Database, Service
from cfngen.blueprint import Budget as BudgetSpec
from cfngen.builders import contracts, iam, load_balancer
from cfngen.builders.base import add_output, add_parameter, new_template, owned_name
from cfngen.builders.contracts import alarm_topic_name, service_alarm_name
from cfngen.builders.keys import key_administrators
from cfngen.facts.aws import AURORA_MYSQL_INSTANCE_MEMORY_GIB
from cfngen.synth._stack import NestedStack

TOPIC = "AlarmTopic"
PERIOD_S = 60  # ECS, NLB and RDS publish these metrics every minute
MAX_CONNECTIONS_LIMIT = 16_000  # Aurora MySQL refuses a larger max_connections
ALARMS_PER_WIDGET = 100  # CloudWatch's limit for one alarm status widget
GRID_WIDTH = 24  # dashboard grid columns
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")  # an Fn::Sub placeholder naming a parameter or variable

ROLLS_BACK = " CodeDeploy rolls back a deployment in progress."
ECS_ROLLS_BACK = " ECS rolls back a deployment in progress."


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The platform's monitoring stack, then one per further load balancer for the services behind it."""
    yield NestedStack("monitoring", build(blueprint))
    for number in range(2, len(blueprint.load_balancers) + 1):
        yield NestedStack(f"monitoring-{number}", build_services(blueprint, number))


def build(blueprint: Blueprint) -> Template:
    """Alarm topic and key, alarms, event rules, dashboard and budget; outputs AlarmTopicArn.

    Of the services, it watches those of load balancer 1.
    """
    template = new_template(blueprint, "alarms, failure notifications, dashboard and budget")
    services = blueprint.load_balancers[0]
    _add_platform_parameters(template, blueprint)
    _add_service_parameters(template, blueprint, services, 1)
    topic = _add_topic(template, blueprint)
    alarms = _add_services(template, blueprint, topic, services, 1)
    _add_task_stopped_rule(template, blueprint, topic)
    alarms += _add_cluster_alarms(template, blueprint, topic)
    if blueprint.database is not None:
        alarms += _add_database_alarms(template, blueprint, topic, blueprint.database)
    if blueprint.budget is not None:
        _add_budget(template, blueprint, blueprint.budget)
    _add_topic_policy(template, blueprint)
    _add_dashboard(template, blueprint, services, 1, alarms)
    add_output(
        template, contracts.ALARM_TOPIC_ARN, Ref(TOPIC), "SNS topic that receives alarms, failures and budget alerts"
    )
    return template


def build_services(blueprint: Blueprint, number: int) -> Template:
    """Alarms, failure rules and a dashboard for the services of load balancer `number` (from 2)."""
    services = blueprint.load_balancers[number - 1]
    template = new_template(
        blueprint, f"alarms, failure notifications and dashboard of the services of load balancer {number}"
    )
    add_parameter(template, contracts.CLUSTER_NAME, "String", "ECS cluster the services run in")
    topic = Ref(
        add_parameter(template, contracts.ALARM_TOPIC_ARN, "String", "SNS topic that receives alarms and failures")
    )
    _add_service_parameters(template, blueprint, services, number)
    alarms = _add_services(template, blueprint, topic, services, number)
    _add_dashboard(template, blueprint, services, number, alarms)
    return template


def rule_name(blueprint: Blueprint, number: int, kind: str) -> str:
    """Name of the failure rule `kind` of the monitoring stack of load balancer `number`."""
    return _alarm_name(blueprint, kind) if number == 1 else _alarm_name(blueprint, kind, str(number))


def dashboard_name(blueprint: Blueprint, number: int) -> str:
    """Name of the dashboard of the monitoring stack of load balancer `number`."""
    return owned_name(blueprint, "dashboard") if number == 1 else owned_name(blueprint, "dashboard", str(number))


def aurora_mysql_max_connections(instance_class: str) -> int:
    """Default ``max_connections`` of an Aurora MySQL instance of `instance_class` (a class the schema accepts).

    Aurora MySQL's default parameter group sets
    ``GREATEST({log(DBInstanceClassMemory/805306368)*45},{log(DBInstanceClassMemory/8187281408)*1000})``
    with a base-2 log. Evaluated on the class's memory with each log rounded to the nearest
    integer, it gives AWS's published table for every class (45 more per memory doubling on the
    burstable classes, 1000 more on the memory-optimised ones), capped at 16,000.
    """
    memory_bytes = AURORA_MYSQL_INSTANCE_MEMORY_GIB[instance_class] * 2**30
    burstable = round(math.log2(memory_bytes / 805_306_368)) * 45
    memory_optimised = round(math.log2(memory_bytes / 8_187_281_408)) * 1000
    return min(max(burstable, memory_optimised), MAX_CONNECTIONS_LIMIT)


def _connections_alarm_threshold(blueprint: Blueprint, database: Database) -> tuple[int, int]:
    """(max_connections of the instance class, the connection count the alarm fires above)."""
    max_connections = aurora_mysql_max_connections(database.instance_class)
    return max_connections, math.floor(max_connections * blueprint.alarms.database_connections_high_percent / 100)


def _alarm_name(blueprint: Blueprint, *parts: str) -> str:
    return owned_name(blueprint, *parts)


def _add_platform_parameters(template: Template, blueprint: Blueprint) -> None:
    add_parameter(template, contracts.CLUSTER_NAME, "String", "ECS cluster the services run in")
    add_parameter(
        template, contracts.AUTO_SCALING_GROUP_NAME, "String", "Auto Scaling group of the cluster's instances"
    )
    if blueprint.database is not None:
        add_parameter(template, contracts.DATABASE_CLUSTER_ID, "String", "Aurora DB cluster identifier")
        add_parameter(
            template,
            contracts.DATABASE_INSTANCE_IDS,
            "CommaDelimitedList",
            "Aurora DB instance identifiers, writer first",
        )


def _add_service_parameters(template: Template, blueprint: Blueprint, services: Sequence[Service], number: int) -> None:
    add_parameter(
        template, contracts.of_load_balancer(number, "FullName"), "String", "Network Load Balancer, as net/<name>/<id>"
    )
    for service in services:
        add_parameter(
            template, contracts.of_service(service, "ServiceName"), "String", f"ECS service of {service.name}"
        )
        for colour in load_balancer.COLOURS:
            add_parameter(
                template,
                contracts.of_target_group(service, colour, "FullName"),
                "String",
                f"{colour.lower()} target group of {service.name}, as targetgroup/<name>/<id>",
            )
        add_parameter(
            template, contracts.of_service(service, "PipelineName"), "String", f"CodePipeline of {service.name}"
        )
        if blueprint.deployment_of(service).uses_codedeploy:
            add_parameter(
                template,
                contracts.of_service(service, "CodeDeployApplicationName"),
                "String",
                f"CodeDeploy application of {service.name}",
            )


def _add_services(
    template: Template, blueprint: Blueprint, topic: Ref, services: Sequence[Service], number: int
) -> list[str]:
    """The services' alarms and delivery rules, notifying `topic`; returns the alarms' names."""
    alarms = [name for service in services for name in _add_service_alarms(template, blueprint, topic, service, number)]
    _add_delivery_rules(template, blueprint, topic, services, number)
    return alarms


def _add_topic(template: Template, blueprint: Blueprint) -> Ref:
    """The alarm topic and its key; returns the topic every alarm and rule of this stack notifies."""
    key = template.add_resource(
        Key(
            "AlarmKey",
            Description=f"{blueprint.name}: encrypts the alarm topic; CloudWatch, EventBridge and Budgets may publish",
            EnableKeyRotation=True,
            KeyPolicy=iam.policy_document(
                key_administrators(), _publishers_use_key(blueprint), *_account_publishes_through_sns(blueprint)
            ),
            # Nothing outlives the topic under this key: SNS keeps messages only until delivered.
            DeletionPolicy="Delete",
            UpdateReplacePolicy="Delete",
        )
    )
    template.add_resource(
        Alias("AlarmKeyAlias", AliasName=f"alias/{alarm_topic_name(blueprint)}", TargetKeyId=Ref(key))
    )
    template.add_resource(
        Topic(
            TOPIC,
            TopicName=alarm_topic_name(blueprint),
            DisplayName=f"{blueprint.name} alarms",
            KmsMasterKeyId=GetAtt(key, "Arn"),
        )
    )
    if blueprint.alarms.email is not None:
        template.add_resource(
            SubscriptionResource(
                "AlarmEmailSubscription",
                TopicArn=Ref(TOPIC),
                Protocol="email",
                Endpoint=blueprint.alarms.email,
            )
        )
    return Ref(TOPIC)


def _publisher_principals(blueprint: Blueprint) -> list[str]:
    services = ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    return services + ["budgets.amazonaws.com"] if blueprint.budget is not None else services


def _publishers_use_key(blueprint: Blueprint) -> Statement:
    # SNS encrypts a message with a data key on behalf of the publishing service, so each
    # publisher needs exactly these two actions on the key. AWS's documented policies for
    # alarms, rules and budgets carry no condition here: the topic policy is where the
    # source account and source ARN are checked.
    return Statement(
        Sid="AlarmPublishersEncryptForTheTopic",
        Effect=Allow,
        Principal=Principal("Service", _publisher_principals(blueprint)),
        Action=[kms.Decrypt, kms.GenerateDataKey],
        Resource=["*"],  # in a key policy "*" means this key
    )


def _account_publishes_through_sns(blueprint: Blueprint) -> list[Statement]:
    """With pipeline approvals: the account's roles whose IAM policy allows it may use the key, through SNS only.

    The pipelines publish their approval requests to the topic with their own roles, which exist before
    this stack; their policies name the key by its alias (pipeline.py).
    """
    if not blueprint.pipeline.approval:
        return []
    return [
        Statement(
            Sid="AccountPublishersEncryptThroughSns",
            Effect=Allow,
            Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=["*"],  # in a key policy "*" means this key
            Condition=Condition(
                StringEquals(
                    {"kms:ViaService": Sub("sns.${AWS::Region}.amazonaws.com"), "kms:CallerAccount": AccountId}
                )
            ),
        )
    ]


def _rule_names(blueprint: Blueprint) -> list[str]:
    """Every failure rule of every monitoring stack."""
    names = [rule_name(blueprint, 1, TASK_STOPPED)]
    for number, services in enumerate(blueprint.load_balancers, start=1):
        names += [rule_name(blueprint, number, kind) for kind in _delivery_failures(blueprint, services)]
    return names


def _delivery_failures(blueprint: Blueprint, services: Sequence[Service]) -> list[str]:
    """The delivery failure rules a monitoring stack holds: CodeDeploy's and ECS's only for services that use them."""
    codedeploy = {blueprint.deployment_of(service).uses_codedeploy for service in services}
    return [
        kind
        for kind, present in (
            (PIPELINE_FAILED, True),
            (DEPLOYMENT_FAILED, True in codedeploy),
            (ECS_DEPLOYMENT_FAILED, False in codedeploy),
        )
        if present
    ]


def _add_topic_policy(template: Template, blueprint: Blueprint) -> None:
    rules = [iam.arn("events", f"rule/{name}") for name in _rule_names(blueprint)]
    statements = [
        _publish(
            "CloudWatchAlarmsPublish",
            "cloudwatch.amazonaws.com",
            ArnLike({"aws:SourceArn": iam.arn("cloudwatch", "alarm:" + owned_name(blueprint, "*"))}),
        ),
        _publish("EventBridgeRulesPublish", "events.amazonaws.com", ArnEquals({"aws:SourceArn": rules})),
    ]
    if blueprint.budget is not None:
        statements.append(
            _publish(
                "BudgetsPublish",
                "budgets.amazonaws.com",
                ArnEquals({"aws:SourceArn": iam.arn("budgets", f"budget/{_budget_name(blueprint)}", region=False)}),
            )
        )
    template.add_resource(
        TopicPolicy(
            "AlarmTopicPolicy",
            Topics=[Ref(TOPIC)],
            PolicyDocument=iam.policy_document(*statements),
        )
    )


def _publish(sid: str, service_principal: str, source: ArnLike | ArnEquals) -> Statement:
    """One AWS service may publish to the topic, from this account and only for the named sources."""
    return Statement(
        Sid=sid,
        Effect=Allow,
        Principal=Principal("Service", [service_principal]),
        Action=[sns.Publish],
        Resource=[Ref(TOPIC)],
        Condition=Condition([StringEquals({"aws:SourceAccount": AccountId}), source]),
    )


def _metric(namespace: str, name: str, stat: str, **dimensions: Any) -> dict[str, Any]:
    """Alarm properties that watch one metric."""
    return {
        "Namespace": namespace,
        "MetricName": name,
        "Statistic": stat,
        "Period": PERIOD_S,
        "Dimensions": [MetricDimension(Name=key, Value=value) for key, value in dimensions.items()],
    }


def _math(expression: str, label: str, **queries: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    """Alarm properties that watch `expression` over named metrics: id -> (namespace, metric, stat, dimensions)."""
    metrics = [
        MetricDataQuery(
            Id=query_id,
            ReturnData=False,
            MetricStat=MetricStat(
                Period=PERIOD_S,
                Stat=stat,
                Metric=Metric(
                    Namespace=namespace,
                    MetricName=name,
                    Dimensions=[MetricDimension(Name=key, Value=value) for key, value in dimensions.items()],
                ),
            ),
        )
        for query_id, (namespace, name, stat, dimensions) in queries.items()
    ]
    metrics.append(MetricDataQuery(Id="result", Expression=expression, Label=label, ReturnData=True))
    return {"Metrics": metrics}


def _add_alarm(
    template: Template,
    blueprint: Blueprint,
    topic: Ref,
    logical_id: str,
    *,
    name: str,
    condition: str,
    threshold: float,
    consequence: str = "",
    missing_data: str = "notBreaching",
    **watched: Any,
) -> str:
    """An alarm on `watched` (see _metric, _math) above `threshold` for evaluation_minutes, notifying `topic`.

    Returns the alarm's name, for the dashboard's alarm widgets.
    """
    minutes = blueprint.alarms.evaluation_minutes
    template.add_resource(
        Alarm(
            logical_id,
            AlarmName=name,
            AlarmDescription=f"{condition} for {minutes} minute{'s' if minutes > 1 else ''}.{consequence}",
            AlarmActions=[topic],
            OKActions=[topic],
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            EvaluationPeriods=minutes,
            DatapointsToAlarm=minutes,
            TreatMissingData=missing_data,
            **watched,
        )
    )
    return name


def _add_service_alarms(
    template: Template, blueprint: Blueprint, topic: Ref, service: Service, number: int
) -> list[str]:
    prefix = service.logical_name
    thresholds = blueprint.alarms
    cluster, ecs_service = Ref(contracts.CLUSTER_NAME), Ref(contracts.of_service(service, "ServiceName"))
    name = functools.partial(service_alarm_name, blueprint, service)
    rolls_back = ROLLS_BACK if blueprint.deployment_of(service).uses_codedeploy else ECS_ROLLS_BACK
    names: list[str] = []
    names.append(
        _add_alarm(
            template,
            blueprint,
            topic,
            f"{prefix}CpuHighAlarm",
            name=name("cpu-high"),
            threshold=thresholds.cpu_high_percent,
            condition=f"{service.name}: average CPU above {thresholds.cpu_high_percent}% of the tasks' reservation",
            consequence=rolls_back,
            **_metric("AWS/ECS", "CPUUtilization", "Average", ClusterName=cluster, ServiceName=ecs_service),
        )
    )
    names.append(
        _add_alarm(
            template,
            blueprint,
            topic,
            f"{prefix}MemoryHighAlarm",
            name=name("memory-high"),
            threshold=thresholds.memory_high_percent,
            condition=f"{service.name}: average memory above {thresholds.memory_high_percent}% of the tasks' reservation",
            consequence=rolls_back,
            **_metric("AWS/ECS", "MemoryUtilization", "Average", ClusterName=cluster, ServiceName=ecs_service),
        )
    )
    # Container Insights publishes the service's running and desired task counts every minute.
    # Comparing with the live desired count follows auto scaling, where the blueprint's
    # desired_count (a creation-time value) or scaling.min would fire after every scale-out or
    # miss a shortfall above the minimum; AWS/ECS itself has no task count metric. Missing data
    # stays visible (INSUFFICIENT_DATA): it means Container Insights stopped reporting.
    insights = {"ClusterName": cluster, "ServiceName": ecs_service}
    names.append(
        _add_alarm(
            template,
            blueprint,
            topic,
            f"{prefix}RunningTasksLowAlarm",
            name=name("running-tasks-low"),
            threshold=0,
            missing_data="missing",
            condition=f"{service.name}: fewer tasks running than desired (tasks fail to start or crash)",
            consequence=rolls_back,
            **_math(
                "desired - running",
                "desired minus running tasks",
                desired=("ECS/ContainerInsights", "DesiredTaskCount", "Average", insights),
                running=("ECS/ContainerInsights", "RunningTaskCount", "Average", insights),
            ),
        )
    )
    # Production traffic moves between the blue and the green target group on every blue/green
    # deployment, so the alarm adds both: watching only blue would go blind after the first deploy.
    balancer = Ref(contracts.of_load_balancer(number, "FullName"))
    names.append(
        _add_alarm(
            template,
            blueprint,
            topic,
            f"{prefix}UnhealthyTargetsAlarm",
            name=name("unhealthy-targets"),
            threshold=0,
            condition=f"{service.name}: unhealthy targets in the blue or green target group",
            consequence=rolls_back,
            **_math(
                "SUM([FILL(blue, 0), FILL(green, 0)])",
                "unhealthy targets, blue and green",
                **{
                    colour.lower(): (
                        "AWS/NetworkELB",
                        "UnHealthyHostCount",
                        "Maximum",
                        {
                            "TargetGroup": Ref(contracts.of_target_group(service, colour, "FullName")),
                            "LoadBalancer": balancer,
                        },
                    )
                    for colour in load_balancer.COLOURS
                },
            ),
        )
    )
    return names


def _add_cluster_alarms(template: Template, blueprint: Blueprint, topic: Ref) -> list[str]:
    threshold = blueprint.alarms.cluster_reservation_high_percent
    names = []
    for resource, metric in (("CPU", "CPUReservation"), ("memory", "MemoryReservation")):
        names.append(
            _add_alarm(
                template,
                blueprint,
                topic,
                f"Cluster{resource.title()}ReservationHighAlarm",
                name=_alarm_name(blueprint, "cluster", f"{resource.lower()}-reservation-high"),
                threshold=threshold,
                condition=f"ECS cluster: tasks reserve more than {threshold}% of the instances' {resource}",
                consequence=" Instances are not added fast enough, or the Auto Scaling group is at max_size.",
                **_metric("AWS/ECS", metric, "Maximum", ClusterName=Ref(contracts.CLUSTER_NAME)),
            )
        )
    return names


def _add_database_alarms(template: Template, blueprint: Blueprint, topic: Ref, database: Database) -> list[str]:
    thresholds = blueprint.alarms
    max_connections, connections_limit = _connections_alarm_threshold(blueprint, database)
    names = []
    for index in range(database.readers + 1):
        number = index + 1
        role = "the writer at creation" if index == 0 else "a reader at creation"
        instance = Select(index, Ref(contracts.DATABASE_INSTANCE_IDS))
        names.append(
            _add_alarm(
                template,
                blueprint,
                topic,
                f"DatabaseInstance{number}CpuHighAlarm",
                name=_alarm_name(blueprint, "database", str(number), "cpu-high"),
                threshold=thresholds.database_cpu_high_percent,
                condition=f"Aurora instance {number} ({role}): CPU above {thresholds.database_cpu_high_percent}%",
                **_metric("AWS/RDS", "CPUUtilization", "Average", DBInstanceIdentifier=instance),
            )
        )
        names.append(
            _add_alarm(
                template,
                blueprint,
                topic,
                f"DatabaseInstance{number}ConnectionsHighAlarm",
                name=_alarm_name(blueprint, "database", str(number), "connections-high"),
                threshold=connections_limit,
                condition=f"Aurora instance {number} ({role}): more than {connections_limit} connections, "
                f"{thresholds.database_connections_high_percent}% of the {max_connections} that "
                f"{database.instance_class} allows by default",
                **_metric("AWS/RDS", "DatabaseConnections", "Maximum", DBInstanceIdentifier=instance),
            )
        )
        if database.readers:
            # Only a reader publishes AuroraReplicaLag; every instance gets the alarm because a
            # failover swaps the roles, and the writer's missing data counts as healthy.
            names.append(
                _add_alarm(
                    template,
                    blueprint,
                    topic,
                    f"DatabaseInstance{number}ReplicaLagHighAlarm",
                    name=_alarm_name(blueprint, "database", str(number), "replica-lag-high"),
                    threshold=thresholds.replica_lag_high_ms,
                    condition=f"Aurora instance {number} ({role}): replica lag above "
                    f"{thresholds.replica_lag_high_ms} ms while it is a reader",
                    **_metric("AWS/RDS", "AuroraReplicaLag", "Maximum", DBInstanceIdentifier=instance),
                )
            )
    return names


PIPELINE_FAILED = "pipeline-failed"
DEPLOYMENT_FAILED = "deployment-failed"
ECS_DEPLOYMENT_FAILED = "ecs-deployment-failed"
DELIVERY_FAILURES = (PIPELINE_FAILED, DEPLOYMENT_FAILED, ECS_DEPLOYMENT_FAILED)
TASK_STOPPED = "task-crashed"


def _add_delivery_rules(
    template: Template, blueprint: Blueprint, topic: Ref, services: Sequence[Service], number: int
) -> None:
    # A pipeline's or application's name is at most 49 characters, so one list of 24 of them stays
    # within EventBridge's 2048 characters per event pattern.
    room = RULE_DESCRIPTION_MAX - len(f"{blueprint.name}: CodeDeploy deployment failed: ")
    names = _listed([service.name for service in services], room)
    kinds = _delivery_failures(blueprint, services)
    # A pipeline starts once when it is created, before its repository holds a commit; that run fails
    # at its source stage and is no incident, so executions started by CreatePipeline are left out.
    # https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ExecutionTrigger.html
    _add_rule(
        template,
        blueprint,
        topic,
        "PipelineFailedRule",
        rule_name(blueprint, number, PIPELINE_FAILED),
        f"pipeline execution failed: {names}",
        pattern={
            "source": ["aws.codepipeline"],
            "detail-type": ["CodePipeline Pipeline Execution State Change"],
            "detail": {
                "state": ["FAILED"],
                "pipeline": [Ref(contracts.of_service(service, "PipelineName")) for service in services],
                "execution-trigger": {"trigger-type": [{"anything-but": ["CreatePipeline"]}]},
            },
        },
        paths={"pipeline": "$.detail.pipeline", "execution": "$.detail.execution-id", "time": "$.time"},
        message="CodePipeline <pipeline> FAILED at <time> (execution <execution>). The execution in the "
        "CodePipeline console shows the failed stage and action.",
    )
    if DEPLOYMENT_FAILED in kinds:
        # Every service has a CodeDeploy application of its own, so the application names the service.
        codedeploy = [service for service in services if blueprint.deployment_of(service).uses_codedeploy]
        _add_rule(
            template,
            blueprint,
            topic,
            "DeploymentFailedRule",
            rule_name(blueprint, number, DEPLOYMENT_FAILED),
            f"CodeDeploy deployment failed: {_listed([service.name for service in codedeploy], room)}",
            pattern={
                "source": ["aws.codedeploy"],
                "detail-type": ["CodeDeploy Deployment State-change Notification"],
                "detail": {
                    "state": ["FAILURE"],
                    "application": [
                        Ref(contracts.of_service(service, "CodeDeployApplicationName")) for service in codedeploy
                    ],
                },
            },
            paths={
                "application": "$.detail.application",
                "group": "$.detail.deploymentGroup",
                "deployment": "$.detail.deploymentId",
                "time": "$.time",
            },
            message="CodeDeploy deployment <deployment> of <application>/<group> FAILED at <time>. The deployment "
            "in the CodeDeploy console shows the failed lifecycle event and any rollback.",
        )
    if ECS_DEPLOYMENT_FAILED in kinds:
        # ECS reports a failed (and rolled back) deployment of the ecs-* strategies on the service itself.
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
        native = [service for service in services if not blueprint.deployment_of(service).uses_codedeploy]
        _add_rule(
            template,
            blueprint,
            topic,
            "EcsDeploymentFailedRule",
            rule_name(blueprint, number, ECS_DEPLOYMENT_FAILED),
            f"ECS deployment failed: {_listed([service.name for service in native], room)}",
            pattern={
                "source": ["aws.ecs"],
                "detail-type": ["ECS Deployment State Change"],
                "resources": [
                    iam.arn(
                        "ecs",
                        f"service/${{{contracts.CLUSTER_NAME}}}/${{{contracts.of_service(service, 'ServiceName')}}}",
                    )
                    for service in native
                ],
                "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            },
            paths={
                "service": "$.resources[0]",
                "deployment": "$.detail.deploymentId",
                "reason": "$.detail.reason",
                "time": "$.time",
            },
            message="ECS deployment <deployment> of <service> FAILED at <time>: <reason>. The service's "
            "deployments tab in the ECS console shows what failed and the rollback.",
        )


# A rule's Description holds at most 512 characters:
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html#eventbridge-PutRule-request-Description
RULE_DESCRIPTION_MAX = 512


def _listed(names: Sequence[str], room: int) -> str:
    """`names` joined by commas, the last ones counted instead ("a, b and 22 more") where all do not fit `room`."""
    for shown in range(len(names), -1, -1):
        text = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if shown < len(names) else "")
        if len(text) <= room:
            return text
    return f"{len(names)} services"


def _add_task_stopped_rule(template: Template, blueprint: Blueprint, topic: Ref) -> None:
    # Every task in the cluster belongs to a service of this platform. A task the scheduler stops
    # (deployments, scale-in) has another stopCode, so only crashes match.
    _add_rule(
        template,
        blueprint,
        topic,
        "TaskStoppedRule",
        rule_name(blueprint, 1, TASK_STOPPED),
        "task stopped, essential container exited non-zero",
        pattern={
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [iam.arn("ecs", "cluster/${ClusterName}")],
                "lastStatus": ["STOPPED"],
                "stopCode": ["EssentialContainerExited"],
                "containers": {"exitCode": [{"anything-but": 0}]},
            },
        },
        paths={
            "task": "$.detail.taskArn",
            "group": "$.detail.group",
            "reason": "$.detail.stoppedReason",
            "time": "$.detail.stoppedAt",
        },
        message="ECS task <task> of <group> stopped at <time>: <reason>. An essential container exited with "
        "a non-zero code; its output is in the service's log group.",
    )


def _add_rule(
    template: Template,
    blueprint: Blueprint,
    topic: Ref,
    logical_id: str,
    name: str,
    description: str,
    *,
    pattern: dict[str, Any],
    paths: dict[str, str],
    message: str,
) -> None:
    template.add_resource(
        Rule(
            logical_id,
            Name=name,
            Description=f"{blueprint.name}: {description}",
            State="ENABLED",
            EventPattern=pattern,
            Targets=[
                Target(
                    Id="AlarmTopic",
                    Arn=topic,
                    # A JSON string template: SNS delivers the message as plain text.
                    InputTransformer=InputTransformer(InputPathsMap=paths, InputTemplate=json.dumps(message)),
                )
            ],
        )
    )


def _add_dashboard(
    template: Template, blueprint: Blueprint, services: Sequence[Service], number: int, alarms: Sequence[str]
) -> None:
    """The platform's dashboard (load balancer 1), or the dashboard of the services of load balancer `number`."""
    platform = number == 1
    sections = [
        ("Alarms", _alarm_widgets(alarms)),
        ("Services", [widget for service in services for widget in _service_widgets(blueprint, service, number)]),
    ]
    if platform:
        sections.append(("Cluster", _cluster_widgets(blueprint)))
    heading = "Load balancer" if number == 1 else f"Load balancer {number}"
    sections.append((heading, _load_balancer_widgets(services, number)))
    variables: dict[str, Any] = {}
    if platform and blueprint.database is not None:
        sections.append(("Database", _database_widgets(blueprint, blueprint.database)))
        variables = {
            f"DatabaseInstance{index + 1}": Select(index, Ref(contracts.DATABASE_INSTANCE_IDS))
            for index in range(blueprint.database.readers + 1)
        }
    sections.append(("Pipelines", _pipeline_widgets(blueprint, number)))
    # The body is JSON with ${...} placeholders that Fn::Sub fills with this stack's parameters. Each
    # parameter it names is also passed as a variable, so cfn-lint checks each once rather than at every
    # one of its hundreds of uses (a tenth of the lint time of a monitoring stack).
    body = json.dumps({"widgets": _layout(sections)}, indent=1, sort_keys=True)
    variables.update((name, Ref(name)) for name in sorted(set(PLACEHOLDER.findall(body)) & set(template.parameters)))
    template.add_resource(
        Dashboard(
            "Dashboard",
            DashboardName=dashboard_name(blueprint, number),
            DashboardBody=Sub(body, **variables),
        )
    )


def _layout(sections: Sequence[tuple[str, Sequence[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Place widgets on the 24-column grid: a heading per section, then the widgets left to right, row by row."""
    placed: list[dict[str, Any]] = []
    y = 0
    for title, widgets in sections:
        placed.append(
            {
                "type": "text",
                "x": 0,
                "y": y,
                "width": GRID_WIDTH,
                "height": 1,
                "properties": {"markdown": f"## {title}"},
            }
        )
        y += 1
        x = row_height = 0
        for widget in widgets:
            if x + widget["width"] > GRID_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            placed.append({**widget, "x": x, "y": y})
            x += widget["width"]
            row_height = max(row_height, widget["height"])
        y += row_height
    return placed


def _graph(
    title: str, metrics: list[list[Any]], *, stat: str, period: int = PERIOD_S, lines: Sequence[tuple[str, float]] = ()
) -> dict[str, Any]:
    """A time-series widget; `lines` are horizontal annotations (label, value), e.g. alarm thresholds."""
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "region": "${AWS::Region}",
        "stat": stat,
        "period": period,
        "metrics": metrics,
    }
    if lines:
        properties["annotations"] = {"horizontal": [{"label": label, "value": value} for label, value in lines]}
    return {"type": "metric", "width": 8, "height": 6, "properties": properties}


def _alarm_widgets(names: Sequence[str]) -> list[dict[str, Any]]:
    arns = [f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{name}" for name in names]
    chunks = [arns[start : start + ALARMS_PER_WIDGET] for start in range(0, len(arns), ALARMS_PER_WIDGET)]
    return [
        {
            "type": "alarm",
            "width": GRID_WIDTH,
            "height": 2 + math.ceil(len(chunk) / 4),
            "properties": {"title": "Alarm states", "alarms": chunk},
        }
        for chunk in chunks
    ]


def _service_widgets(blueprint: Blueprint, service: Service, number: int) -> list[dict[str, Any]]:
    prefix = service.logical_name
    dimensions = ["ClusterName", "${ClusterName}", "ServiceName", f"${{{prefix}ServiceName}}"]
    thresholds = blueprint.alarms
    return [
        _graph(
            f"{service.name}: CPU and memory (% of reservation)",
            [
                ["AWS/ECS", "CPUUtilization", *dimensions, {"label": "CPU"}],
                ["AWS/ECS", "MemoryUtilization", *dimensions, {"label": "memory"}],
            ],
            stat="Average",
            lines=[("CPU alarm", thresholds.cpu_high_percent), ("memory alarm", thresholds.memory_high_percent)],
        ),
        _graph(
            f"{service.name}: tasks",
            [
                ["ECS/ContainerInsights", "RunningTaskCount", *dimensions, {"label": "running"}],
                ["ECS/ContainerInsights", "DesiredTaskCount", *dimensions, {"label": "desired"}],
            ],
            stat="Average",
        ),
        _graph(
            f"{service.name}: targets",
            [
                [
                    "AWS/NetworkELB",
                    f"{health}HostCount",
                    "TargetGroup",
                    f"${{{contracts.of_target_group(service, colour, 'FullName')}}}",
                    "LoadBalancer",
                    f"${{{contracts.of_load_balancer(number, 'FullName')}}}",
                    {"label": f"{health.lower()} ({colour.lower()})"},
                ]
                for health in ("Healthy", "UnHealthy")
                for colour in load_balancer.COLOURS
            ],
            stat="Maximum",
        ),
    ]


def _cluster_widgets(blueprint: Blueprint) -> list[dict[str, Any]]:
    cluster = ["ClusterName", "${ClusterName}"]
    return [
        _graph(
            "Cluster: reserved by tasks (% of instances)",
            [
                ["AWS/ECS", "CPUReservation", *cluster, {"label": "CPU"}],
                ["AWS/ECS", "MemoryReservation", *cluster, {"label": "memory"}],
            ],
            stat="Maximum",
            lines=[("reservation alarm", blueprint.alarms.cluster_reservation_high_percent)],
        ),
        _graph(
            "Cluster: used by tasks (% of instances)",
            [
                ["AWS/ECS", "CPUUtilization", *cluster, {"label": "CPU"}],
                ["AWS/ECS", "MemoryUtilization", *cluster, {"label": "memory"}],
            ],
            stat="Average",
        ),
        _graph(
            "Cluster: instance CPU (%)",
            [
                ["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "${AutoScalingGroupName}", {"label": "average"}],
                [
                    "AWS/EC2",
                    "CPUUtilization",
                    "AutoScalingGroupName",
                    "${AutoScalingGroupName}",
                    {"label": "busiest instance", "stat": "Maximum"},
                ],
            ],
            stat="Average",
        ),
    ]


def _load_balancer_widgets(services: Sequence[Service], number: int) -> list[dict[str, Any]]:
    balancer = ["LoadBalancer", f"${{{contracts.of_load_balancer(number, 'FullName')}}}"]
    return [
        _graph(
            "Load balancer: healthy targets",
            [
                [
                    "AWS/NetworkELB",
                    "HealthyHostCount",
                    "TargetGroup",
                    f"${{{contracts.of_target_group(service, colour, 'FullName')}}}",
                    *balancer,
                    {"label": f"{service.name} ({colour.lower()})"},
                ]
                for service in services
                for colour in load_balancer.COLOURS
            ],
            stat="Minimum",
        ),
        _graph(
            "Load balancer: active flows",
            [
                ["AWS/NetworkELB", "ActiveFlowCount", *balancer, {"label": "active"}],
                ["AWS/NetworkELB", "NewFlowCount", *balancer, {"label": "new", "stat": "Sum"}],
            ],
            stat="Average",
        ),
        _graph(
            "Load balancer: processed bytes",
            [
                ["AWS/NetworkELB", "ProcessedBytes", *balancer, {"label": "bytes"}],
            ],
            stat="Sum",
            period=300,
        ),
    ]


def _database_widgets(blueprint: Blueprint, database: Database) -> list[dict[str, Any]]:
    instances = range(1, database.readers + 2)
    max_connections, connections_limit = _connections_alarm_threshold(blueprint, database)
    thresholds = blueprint.alarms

    def per_instance(metric: str) -> list[list[Any]]:
        return [
            [
                "AWS/RDS",
                metric,
                "DBInstanceIdentifier",
                f"${{DatabaseInstance{number}}}",
                {"label": f"instance {number}"},
            ]
            for number in instances
        ]

    widgets = [
        _graph(
            "Database: CPU (%)",
            per_instance("CPUUtilization"),
            stat="Average",
            lines=[("CPU alarm", thresholds.database_cpu_high_percent)],
        ),
        _graph(
            "Database: connections",
            per_instance("DatabaseConnections"),
            stat="Maximum",
            lines=[
                ("max_connections", max_connections),
                ("connections alarm", connections_limit),
            ],
        ),
        _graph(
            "Database: cluster volume used (bytes)",
            [
                ["AWS/RDS", "VolumeBytesUsed", "DBClusterIdentifier", "${DatabaseClusterId}", {"label": "volume"}],
            ],
            stat="Maximum",
            period=3600,
        ),
    ]
    if database.readers:
        widgets.append(
            _graph(
                "Database: replica lag (ms)",
                per_instance("AuroraReplicaLag"),
                stat="Maximum",
                lines=[("lag alarm", thresholds.replica_lag_high_ms)],
            )
        )
    return widgets


def _pipeline_widgets(blueprint: Blueprint, number: int) -> list[dict[str, Any]]:
    # Each failure rule matches once per failure, so its MatchedEvents count is the failure count.
    def failures(kind: str, label: str, rule_number: int) -> list[Any]:
        return ["AWS/Events", "MatchedEvents", "RuleName", rule_name(blueprint, rule_number, kind), {"label": label}]

    metrics = [
        failures(PIPELINE_FAILED, "pipeline executions", number),
        failures(DEPLOYMENT_FAILED, "deployments", number),
    ]
    if number == 1:
        metrics.append(failures(TASK_STOPPED, "tasks stopped by a crash", 1))
    return [_graph("Failures", metrics, stat="Sum", period=300)]


def _budget_name(blueprint: Blueprint) -> str:
    return f"{blueprint.name}-monthly"


def _add_budget(template: Template, blueprint: Blueprint, budget: BudgetSpec) -> None:
    # Budgets reaches the alarm email through the topic, like every other notification.
    subscribers = [Subscriber(SubscriptionType="SNS", Address=Ref(TOPIC))]
    resource = template.add_resource(
        Budget(
            "MonthlyBudget",
            Budget=BudgetData(
                BudgetName=_budget_name(blueprint),
                BudgetType="COST",
                TimeUnit="MONTHLY",
                BudgetLimit=Spend(Amount=budget.monthly_usd, Unit="USD"),
            ),
            NotificationsWithSubscribers=[
                NotificationWithSubscribers(
                    Notification=Notification(
                        NotificationType=kind,
                        ComparisonOperator="GREATER_THAN",
                        Threshold=percent,
                        ThresholdType="PERCENTAGE",
                    ),
                    Subscribers=subscribers,
                )
                for kind, percent in (("ACTUAL", budget.actual_percent), ("FORECASTED", budget.forecasted_percent))
            ],
        )
    )
    if blueprint.tags:
        # A budget carries its own ResourceTags; set them rather than rely on stack tag propagation.
        resource.ResourceTags = [ResourceTag(Key=key, Value=value) for key, value in sorted(blueprint.tags.items())]

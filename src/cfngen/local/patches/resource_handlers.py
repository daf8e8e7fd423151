"""CloudFormation handlers for resource types moto has a service backend for but no CloudFormation model.

Emulator: moto's CloudFormation skips these types (cfngen stood placeholders in for them), although its services
model them: the deployed platform could not be inspected with boto3 (no pipeline, no alarms, no Aurora cluster), and
an RDS instance, whose generated name moto makes too long, failed.
AWS: CloudFormation's handler for a type calls the service's API with the resource's properties
(https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-develop.html); the handlers here do
the same against the emulator's own endpoint, with boto3, so botocore checks the parameters against the service's
model (a type AWS refuses fails here too) and the resource lands in moto's backend, where boto3 finds it.
Test: tests/test_local_aws.py::test_types_with_a_moto_backend_are_created_in_it
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.parsing:resource_class_from_type", "ca766bc34c1950ae"),)
_ENDPOINTS: list[str] = []  # the serving emulators of this process (they share moto's backends)


def serve_from(endpoint_url: str) -> None:
    """Where the handlers may send their API calls: an emulator of this process started serving."""
    _ENDPOINTS.append(endpoint_url)


def stop_serving(endpoint_url: str) -> None:
    """That emulator stopped."""
    _ENDPOINTS.remove(endpoint_url)


def apply() -> None:
    """Answer a handler for the types below before moto's own lookup (and before the placeholder)."""
    from moto.cloudformation import parsing

    lookup = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return _handler_class(resource_type) if resource_type in SPECS else lookup(resource_type)

    parsing.resource_class_from_type = resource_class_from_type


@dataclass(frozen=True)
class Spec:
    """How one type's properties become one API call, and what its physical id and attributes are."""

    service: str
    create: str
    delete: str | None = None
    name: str | None = None  # the property (and API member) that names the resource; generated when absent
    name_limit: int = 255  # AWS's generated names fit the service's limit (RDS: 63, lower case)
    lower: bool = False
    wrap: str | None = None  # the API member holding the properties (CodePipeline's `pipeline`)
    renames: Mapping[str, str] = field(default_factory=dict)  # property -> API member, where the names differ
    physical: Callable[[dict[str, Any], dict[str, Any]], str] = lambda params, response: ""
    deleting: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda physical, params: {}
    attributes: Callable[[Any, str, dict[str, Any]], dict[str, Any]] = lambda client, physical, params: {}
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = lambda properties: properties
    put: bool = False  # the create call overwrites: an update calls it again (else an update replaces)
    # Where moto's service lacks the delete action (CodeDeploy): remove it from the backend.
    remove: Callable[[str, str, str, dict[str, Any]], None] | None = None


def _named(key: str) -> Callable[[dict[str, Any], dict[str, Any]], str]:
    return lambda params, response: str(params[key])


def _cluster_attributes(client: Any, identifier: str, params: dict[str, Any]) -> dict[str, Any]:
    cluster = client.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
    return {
        "Endpoint.Address": cluster["Endpoint"],
        "Endpoint.Port": str(cluster["Port"]),
        "ReadEndpoint.Address": cluster.get("ReaderEndpoint", ""),
        "DBClusterArn": cluster["DBClusterArn"],
        "DBClusterResourceId": cluster.get("DbClusterResourceId", ""),
        "MasterUserSecret.SecretArn": cluster.get("MasterUserSecret", {}).get("SecretArn", ""),
    }


def _instance_attributes(client: Any, identifier: str, params: dict[str, Any]) -> dict[str, Any]:
    instance = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    endpoint = instance.get("Endpoint", {})
    return {
        "Endpoint.Address": endpoint.get("Address", ""),
        "Endpoint.Port": str(endpoint.get("Port", "")),
        "DBInstanceArn": instance["DBInstanceArn"],
    }


def _repository_attributes(client: Any, repository_id: str, params: dict[str, Any]) -> dict[str, Any]:
    name = params["repositoryName"]
    metadata = client.get_repository(repositoryName=name)["repositoryMetadata"]
    return {
        "Arn": metadata["Arn"],
        "Name": name,
        "CloneUrlHttp": metadata.get("cloneUrlHttp", ""),
        "CloneUrlSsh": metadata.get("cloneUrlSsh", ""),
    }


def _forget_application(account_id: str, region_name: str, name: str, params: dict[str, Any]) -> None:
    from moto.codedeploy.models import codedeploy_backends

    backend = codedeploy_backends[account_id][region_name]
    backend.applications.pop(name, None)
    backend.deployment_groups.pop(name, None)


def _forget_deployment_group(account_id: str, region_name: str, name: str, params: dict[str, Any]) -> None:
    from moto.codedeploy.models import codedeploy_backends

    codedeploy_backends[account_id][region_name].deployment_groups.get(params["applicationName"], {}).pop(name, None)


def _scaling_target(properties: dict[str, Any]) -> dict[str, Any]:
    """A ScalingPolicy names its target by the target's physical id (`resource|dimension|namespace`)."""
    target = properties.get("ScalingTargetId")
    if not target:
        return properties
    resource, dimension, namespace = str(target).split("|")
    rest = {key: value for key, value in properties.items() if key != "ScalingTargetId"}
    return {**rest, "ResourceId": resource, "ScalableDimension": dimension, "ServiceNamespace": namespace}


def _policy_text(properties: dict[str, Any]) -> dict[str, Any]:
    return {**properties, "PolicyDocument": json.dumps(properties["PolicyDocument"])}


def _first_topic(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "TopicArn": properties["Topics"][0],
        "AttributeName": "Policy",
        "AttributeValue": json.dumps(properties["PolicyDocument"]),
    }


def _budget_account(properties: dict[str, Any]) -> dict[str, Any]:
    from moto.core.models import DEFAULT_ACCOUNT_ID

    return {**properties, "AccountId": DEFAULT_ACCOUNT_ID}


SPECS: dict[str, Spec] = {
    "AWS::CloudWatch::Alarm": Spec(
        "cloudwatch",
        "put_metric_alarm",
        "delete_alarms",
        name="AlarmName",
        put=True,
        physical=_named("AlarmName"),
        deleting=lambda physical, params: {"AlarmNames": [physical]},
        attributes=lambda client, name, params: {
            "Arn": client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        },
    ),
    "AWS::SNS::Subscription": Spec(
        "sns",
        "subscribe",
        "unsubscribe",
        physical=lambda params, response: str(response["SubscriptionArn"]),
        deleting=lambda physical, params: {"SubscriptionArn": physical},
    ),
    "AWS::SNS::TopicPolicy": Spec(
        "sns",
        "set_topic_attributes",
        put=True,
        prepare=_first_topic,
        physical=lambda params, response: f"{params['TopicArn']}|Policy",
    ),
    "AWS::S3::BucketPolicy": Spec(
        "s3",
        "put_bucket_policy",
        "delete_bucket_policy",
        put=True,
        renames={"PolicyDocument": "Policy"},
        prepare=_policy_text,
        physical=_named("Bucket"),
        deleting=lambda physical, params: {"Bucket": physical},
    ),
    "AWS::CodeCommit::Repository": Spec(
        "codecommit",
        "create_repository",
        "delete_repository",
        name="RepositoryName",
        physical=lambda params, response: str(response["repositoryMetadata"]["repositoryId"]),
        deleting=lambda physical, params: {"repositoryName": params["repositoryName"]},
        attributes=_repository_attributes,
    ),
    "AWS::CodeBuild::Project": Spec(
        "codebuild",
        "create_project",
        "delete_project",
        name="Name",
        physical=_named("name"),
        deleting=lambda physical, params: {"name": physical},
        attributes=lambda client, name, params: {"Arn": client.batch_get_projects(names=[name])["projects"][0]["arn"]},
    ),
    "AWS::CodePipeline::Pipeline": Spec(
        "codepipeline",
        "create_pipeline",
        "delete_pipeline",
        name="Name",
        wrap="pipeline",
        physical=lambda params, response: str(params["pipeline"]["name"]),
        deleting=lambda physical, params: {"name": physical},
    ),
    "AWS::CodeDeploy::Application": Spec(
        "codedeploy",
        "create_application",
        name="ApplicationName",
        physical=_named("applicationName"),
        remove=_forget_application,
    ),
    "AWS::CodeDeploy::DeploymentGroup": Spec(
        "codedeploy",
        "create_deployment_group",
        name="DeploymentGroupName",
        physical=_named("deploymentGroupName"),
        remove=_forget_deployment_group,
    ),
    "AWS::Budgets::Budget": Spec(
        "budgets",
        "create_budget",
        "delete_budget",
        prepare=_budget_account,
        physical=lambda params, response: str(params["Budget"]["BudgetName"]),
        deleting=lambda physical, params: {"AccountId": params["AccountId"], "BudgetName": physical},
    ),
    "AWS::ECS::CapacityProvider": Spec(
        "ecs",
        "create_capacity_provider",
        "delete_capacity_provider",
        name="Name",
        physical=_named("name"),
        deleting=lambda physical, params: {"capacityProvider": physical},
    ),
    "AWS::ECS::ClusterCapacityProviderAssociations": Spec(
        "ecs", "put_cluster_capacity_providers", put=True, physical=_named("cluster")
    ),
    "AWS::ApplicationAutoScaling::ScalableTarget": Spec(
        "application-autoscaling",
        "register_scalable_target",
        "deregister_scalable_target",
        put=True,
        physical=lambda params, response: (
            f"{params['ResourceId']}|{params['ScalableDimension']}|{params['ServiceNamespace']}"
        ),
        deleting=lambda physical, params: {
            key: params[key] for key in ("ResourceId", "ScalableDimension", "ServiceNamespace")
        },
    ),
    "AWS::ApplicationAutoScaling::ScalingPolicy": Spec(
        "application-autoscaling",
        "put_scaling_policy",
        "delete_scaling_policy",
        put=True,
        prepare=_scaling_target,
        physical=lambda params, response: str(response["PolicyARN"]),
        deleting=lambda physical, params: {
            key: params[key] for key in ("PolicyName", "ResourceId", "ScalableDimension", "ServiceNamespace")
        },
    ),
    "AWS::RDS::DBCluster": Spec(
        "rds",
        "create_db_cluster",
        "delete_db_cluster",
        name="DBClusterIdentifier",
        name_limit=63,
        lower=True,
        physical=_named("DBClusterIdentifier"),
        deleting=lambda physical, params: {"DBClusterIdentifier": physical, "SkipFinalSnapshot": True},
        attributes=_cluster_attributes,
    ),
    "AWS::RDS::DBClusterParameterGroup": Spec(
        "rds",
        "create_db_cluster_parameter_group",
        "delete_db_cluster_parameter_group",
        name="DBClusterParameterGroupName",
        name_limit=255,
        lower=True,
        renames={"Family": "DBParameterGroupFamily"},
        physical=_named("DBClusterParameterGroupName"),
        deleting=lambda physical, params: {"DBClusterParameterGroupName": physical},
    ),
    "AWS::RDS::DBInstance": Spec(
        "rds",
        "create_db_instance",
        "delete_db_instance",
        name="DBInstanceIdentifier",
        name_limit=63,
        lower=True,
        physical=_named("DBInstanceIdentifier"),
        deleting=lambda physical, params: {"DBInstanceIdentifier": physical, "SkipFinalSnapshot": True},
        attributes=_instance_attributes,
    ),
}


def client(service: str, region_name: str) -> Any:
    """A boto3 client of `service` on the serving emulator (the handlers call the API as CloudFormation does)."""
    import boto3

    if not _ENDPOINTS:
        raise RuntimeError("the emulator's handlers run only in a serving emulator")
    return boto3.client(
        service,
        endpoint_url=_ENDPOINTS[-1],
        region_name=region_name,
        aws_access_key_id="cfngen-local",
        aws_secret_access_key="cfngen-local",
    )


def _generated_name(stack_name: str, logical_id: str, spec: Spec) -> str:
    """CloudFormation's generated name: `<stack>-<logical id>-<random>`, within the service's limit."""
    from moto.cloudformation.utils import random_suffix

    suffix = random_suffix()
    prefix = re.sub("-+", "-", f"{stack_name}-{logical_id}")[: spec.name_limit - len(suffix) - 1].rstrip("-")
    name = f"{prefix}-{suffix}"
    return name.lower() if spec.lower else name


def coerce(shape: Any, value: Any) -> Any:
    """`value` (from a template: names in PascalCase, numbers as strings) in the form `shape` of the API takes:
    members matched by name regardless of case, scalars converted; what the shape lacks is dropped."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = {name.lower(): name for name in shape.members}
        found = {members[key.lower()]: item for key, item in value.items() if key.lower() in members}
        return {name: coerce(shape.members[name], item) for name, item in found.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {str(key): coerce(shape.value, item) for key, item in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, dict) else str(value)
    return value


class _Handled:
    """A resource created through its service's API; its attributes come from the service."""

    spec: Spec
    resource_type: str

    def __init__(self, physical_id: str, params: dict[str, Any], region_name: str) -> None:
        self.physical_resource_id = physical_id
        self.params = params
        self.region_name = region_name

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> _Handled:
        """Call the type's create API with the resource's properties."""
        spec = cls.spec
        properties = dict(cloudformation_json.get("Properties") or {})
        if spec.name and not properties.get(spec.name):
            stack_name = resource_name.rsplit("-", 2)[0]
            properties[spec.name] = _generated_name(stack_name, kwargs.get("LogicalId", "Resource"), spec)
        properties = spec.prepare(properties)
        properties = {spec.renames.get(key, key): value for key, value in properties.items()}
        api = client(spec.service, region_name)
        operation = api.meta.service_model.operation_model(_operation_name(api, spec.create))
        params = coerce(operation.input_shape, {spec.wrap: properties} if spec.wrap else properties)
        response = getattr(api, spec.create)(**params)
        return cls(spec.physical(params, response), params, region_name)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _Handled,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _Handled:
        """A put call again; otherwise the old resource goes and a new one is made (a replacement)."""
        if not cls.spec.put:
            original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(
            new_resource_name,
            cloudformation_json,
            account_id,
            region_name,
            LogicalId=getattr(original_resource, "logical_resource_id", ""),
        )

    def delete(self, account_id: str, region_name: str) -> None:
        """Call the type's delete API (types without one go with their parent)."""
        if self.spec.remove:
            self.spec.remove(account_id, region_name, self.physical_resource_id, self.params)
        elif self.spec.delete:
            api = client(self.spec.service, region_name)
            getattr(api, self.spec.delete)(**self.spec.deleting(self.physical_resource_id, self.params))

    def is_created(self) -> bool:
        """Ready when created."""
        return True

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        """Attributes are checked when read."""
        return True

    def get_cfn_attribute(self, attribute: str) -> Any:
        """From the service (AttributeError, hence a placeholder value, for one it does not give)."""
        values = self.spec.attributes(
            client(self.spec.service, self.region_name), self.physical_resource_id, self.params
        )
        if attribute not in values:
            raise AttributeError(attribute)
        return values[attribute]


def _operation_name(client: Any, method: str) -> str:
    from botocore import xform_name

    return str(next(name for name in client.meta.service_model.operation_names if xform_name(name) == method))


def _handler_class(resource_type: str) -> type[_Handled]:
    return type(
        f"Handled{resource_type.replace(':', '')}",
        (_Handled,),
        {"spec": SPECS[resource_type], "resource_type": resource_type},
    )

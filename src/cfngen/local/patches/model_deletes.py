"""Resources of the types below are deleted when their stack deletes them.

Emulator: moto's models of these types have no CloudFormation delete, so a deleted stack reported them gone and kept
them: route tables, routes, gateways, endpoints, ECS services and clusters, listeners and target groups stayed, and the
VPC they belong to could never be deleted ("The vpc ... has dependencies and cannot be deleted").
AWS: deleting a stack deletes each of its resources through the type's delete handler, which calls the service's
delete API (https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-develop.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-console-delete-stack.html); the deletes here call
the same APIs against the emulator's own endpoint. An ``AWS::EC2::SecurityGroupIngress`` goes with its group.
Test: tests/test_destroy.py::test_destroy_deletes_every_nested_stack,
tests/test_local_aws.py::test_a_deleted_nat_gateway_takes_its_network_interface_so_the_vpc_goes
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

Delete = Callable[[Any, Any], object]  # (boto3 client of the service, moto's model) -> the API's answer


def _route(client: Any, route: Any) -> object:
    destination = (
        {"DestinationCidrBlock": route.destination_cidr_block}
        if route.destination_cidr_block
        else {"DestinationIpv6CidrBlock": route.destination_ipv6_cidr_block}
    )
    return client.delete_route(RouteTableId=route.route_table.id, **destination)


def _association(client: Any, association: Any) -> object:
    (table,) = client.describe_route_tables(RouteTableIds=[association.route_table_id])["RouteTables"]
    for found in table.get("Associations", []):
        if found.get("SubnetId") == association.subnet_id:
            client.disassociate_route_table(AssociationId=found["RouteTableAssociationId"])
    return None


# moto module:Class -> (service, how the API deletes one)
DELETES: dict[str, tuple[str, Delete]] = {
    "moto.ec2.models.route_tables:Route": ("ec2", _route),
    "moto.ec2.models.route_tables:RouteTable": (
        "ec2",
        lambda ec2, table: ec2.delete_route_table(RouteTableId=table.id),
    ),
    "moto.ec2.models.subnets:SubnetRouteTableAssociation": ("ec2", _association),
    "moto.ec2.models.vpn_gateway:VPCGatewayAttachment": (
        "ec2",
        lambda ec2, attachment: ec2.detach_internet_gateway(
            InternetGatewayId=attachment.gateway_id, VpcId=attachment.vpc_id
        ),
    ),
    "moto.ec2.models.internet_gateways:InternetGateway": (
        "ec2",
        lambda ec2, gateway: ec2.delete_internet_gateway(InternetGatewayId=gateway.id),
    ),
    "moto.ec2.models.vpcs:VPCEndPoint": (
        "ec2",
        lambda ec2, endpoint: ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint.id]),
    ),
    "moto.ec2.models.elastic_ip_addresses:ElasticAddress": (
        "ec2",
        lambda ec2, address: ec2.release_address(AllocationId=address.allocation_id),
    ),
    "moto.ec2.models.flow_logs:FlowLogs": ("ec2", lambda ec2, flow_log: ec2.delete_flow_logs(FlowLogIds=[flow_log.id])),
    "moto.ecs.models:Service": (
        "ecs",
        lambda ecs, service: ecs.delete_service(cluster=service.cluster_arn, service=service.name, force=True),
    ),
    "moto.ecs.models:TaskDefinition": (
        "ecs",
        lambda ecs, definition: ecs.deregister_task_definition(taskDefinition=definition.arn),
    ),
    "moto.ecs.models:Cluster": ("ecs", lambda ecs, cluster: ecs.delete_cluster(cluster=cluster.arn)),
    "moto.elbv2.models:FakeListener": (
        "elbv2",
        lambda elbv2, listener: elbv2.delete_listener(ListenerArn=listener.arn),
    ),
    "moto.elbv2.models:FakeTargetGroup": (
        "elbv2",
        lambda elbv2, group: elbv2.delete_target_group(TargetGroupArn=group.arn),
    ),
}
TARGETS = tuple(Target(f"{path}.delete", "") for path in DELETES)


def apply() -> None:
    """Give each model the `delete(account_id, region_name)` moto's ResourceMap calls when a stack deletes it."""
    for path, (service, delete) in DELETES.items():
        module, _, name = path.partition(":")
        setattr(getattr(importlib.import_module(module), name), "delete", _deleting(service, delete))


def _deleting(service: str, delete: Delete) -> Callable[[Any, str, str], None]:
    def delete_model(model: Any, account_id: str, region_name: str) -> None:
        from cfngen.local.patches.resource_handlers import client

        delete(client(service, region_name), model)

    return delete_model

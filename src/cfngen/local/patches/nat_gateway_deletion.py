"""A NAT gateway of a stack is deleted with it, and a deleted NAT gateway takes its network interface along.

Emulator: moto's NAT gateway has no CloudFormation delete (deleting its stack kept it), and DeleteNatGateway keeps its
network interface, so the VPC could never be deleted afterwards ("The vpc ... has dependencies").
AWS: "When you delete a NAT gateway, its network interface is deleted"; the Elastic IP address is disassociated but
stays allocated (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html#nat-gateway-deleting).
Test: tests/test_local_aws.py::test_a_deleted_nat_gateway_takes_its_network_interface_so_the_vpc_goes
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.ec2.models.nat_gateways:NatGateway.delete_from_cloudformation_json", ""),
    Target("moto.ec2.models.nat_gateways:NatGatewayBackend.delete_nat_gateway", "bae2427a0ac96528"),
)


def apply() -> None:
    """Give NatGateway a CloudFormation delete; wrap DeleteNatGateway."""
    from moto.ec2.models import nat_gateways

    setattr(nat_gateways.NatGateway, "delete_from_cloudformation_json", classmethod(_delete_from_cloudformation))
    setattr(
        nat_gateways.NatGatewayBackend,
        "delete_nat_gateway",
        _releasing_interface(nat_gateways.NatGatewayBackend.delete_nat_gateway),
    )


def _delete_from_cloudformation(
    nat_class: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
) -> None:
    """The stack's delete of the gateway (its physical id is the gateway id)."""
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account_id][region_name]
    if resource_name in backend.nat_gateways:
        backend.delete_nat_gateway(resource_name)


def _releasing_interface(delete: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def delete_with_interface(backend: Any, nat_gateway_id: str) -> Any:
        gateway = delete(backend, nat_gateway_id)
        interface = gateway._eni
        if interface.id in backend.enis:
            for address in backend.addresses:
                if address.eni is interface:
                    backend.disassociate_address(association_id=address.association_id)
            backend.delete_network_interface(interface.id)
        return gateway

    return delete_with_interface

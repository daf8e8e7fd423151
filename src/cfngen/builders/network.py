"""The network stack: a VPC over N AZs with public and private subnets, NAT, an S3 endpoint and flow logs.

Subnet addresses are computed here, not with Fn::Cidr, so a reviewer reads the
real ranges in the template. The VPC is cut into 16 slots of /(prefix+4):
public subnet i takes slot i and private subnet i takes slot 8+i, so adding an
AZ later never renumbers (and so never replaces) an existing subnet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from awacs import logs
from troposphere import GetAtt, GetAZs, Join, Ref, Select, Sub, Template
from troposphere.ec2 import (
    EIP,
    VPC,
    FlowLog,
    InternetGateway,
    NatGateway,
    Route,
    RouteTable,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetRouteTableAssociation,
    VPCEndpoint,
    VPCGatewayAttachment,
)
from troposphere.logs import LogGroup

from cfngen.blueprint import Blueprint
from cfngen.builders import contracts, iam
from cfngen.builders.base import add_output, add_parameter, new_template, role_path
from cfngen.synth._stack import NestedStack
from cfngen.synth.suppress import skip_guard_rule

PRIVATE_SLOT_OFFSET = 8
HTTPS_PORT = 443
# network.endpoints "interface": logical id prefix -> the service's endpoint name (com.amazonaws.<region>.<name>).
# What the container instances and tasks call: image pulls (ECR api and dkr; the layers come from S3 through the
# gateway endpoint), logs, secrets at task start, and the ECS agent (ecs, its polling ecs-agent, and
# ecs-telemetry for Container Insights' metrics).
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/vpc-endpoints.html
INTERFACE_ENDPOINTS = {
    "EcrApi": "ecr.api",
    "EcrDkr": "ecr.dkr",
    "Logs": "logs",
    "SecretsManager": "secretsmanager",
    "Ecs": "ecs",
    "EcsAgent": "ecs-agent",
    "EcsTelemetry": "ecs-telemetry",
}


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The one network stack."""
    yield NestedStack("network", build(blueprint))


def build(blueprint: Blueprint) -> Template:
    """VPC, subnets, gateways, routes, S3 endpoint and flow logs for `blueprint.network`."""
    template = new_template(
        blueprint, f"VPC over {blueprint.network.availability_zones} AZs with public and private subnets"
    )
    add_parameter(template, contracts.LOGS_KMS_KEY_ARN, "String", "KMS key that encrypts the flow log group")
    _add_vpc(template, blueprint)
    _add_subnets(template, blueprint)
    _add_public_routing(template, blueprint)
    _add_private_routing(template, blueprint)
    _add_s3_endpoint(template, blueprint)
    if blueprint.vpc_endpoints == "interface":
        _add_interface_endpoints(template, blueprint)
    _add_flow_logs(template, blueprint)
    _add_outputs(template, blueprint)
    return template


def subnet_cidrs(cidr: str, availability_zones: int) -> tuple[list[str], list[str]]:
    """(public, private) subnet CIDRs, one of each per AZ."""
    vpc = ipaddress.IPv4Network(cidr)
    slots = list(vpc.subnets(prefixlen_diff=4))
    public = [str(slots[index]) for index in range(availability_zones)]
    private = [str(slots[PRIVATE_SLOT_OFFSET + index]) for index in range(availability_zones)]
    return public, private


def _zone_ids(blueprint: Blueprint) -> range:
    return range(1, blueprint.network.availability_zones + 1)


def _add_vpc(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(VPC("Vpc", CidrBlock=blueprint.network.cidr, EnableDnsSupport=True, EnableDnsHostnames=True))
    template.add_resource(InternetGateway("InternetGateway"))
    template.add_resource(
        VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref("Vpc"), InternetGatewayId=Ref("InternetGateway"))
    )


def _add_subnets(template: Template, blueprint: Blueprint) -> None:
    public, private = subnet_cidrs(blueprint.network.cidr, blueprint.network.availability_zones)
    for zone in _zone_ids(blueprint):
        zone_name = Select(zone - 1, GetAZs(""))
        # No public IPs on launch: only NAT gateways (EIPs) and the NLB face the internet.
        template.add_resource(
            Subnet(
                f"PublicSubnet{zone}",
                VpcId=Ref("Vpc"),
                AvailabilityZone=zone_name,
                CidrBlock=public[zone - 1],
                MapPublicIpOnLaunch=False,
            )
        )
        template.add_resource(
            Subnet(
                f"PrivateSubnet{zone}",
                VpcId=Ref("Vpc"),
                AvailabilityZone=zone_name,
                CidrBlock=private[zone - 1],
                MapPublicIpOnLaunch=False,
            )
        )


def _add_public_routing(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(RouteTable("PublicRouteTable", VpcId=Ref("Vpc")))
    route = template.add_resource(
        Route(
            "PublicDefaultRoute",
            RouteTableId=Ref("PublicRouteTable"),
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=Ref("InternetGateway"),
            DependsOn="InternetGatewayAttachment",
        )
    )
    skip_guard_rule(
        route,
        "NO_UNRESTRICTED_ROUTE_TO_IGW",
        "the public subnets exist to reach the internet: the load balancer and the NAT gateways sit there; "
        "instances, tasks and the database sit in private subnets without this route",
    )
    for zone in _zone_ids(blueprint):
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PublicSubnet{zone}RouteTableAssociation",
                SubnetId=Ref(f"PublicSubnet{zone}"),
                RouteTableId=Ref("PublicRouteTable"),
            )
        )


def _add_private_routing(template: Template, blueprint: Blueprint) -> None:
    gateways = blueprint.network.nat_gateways
    for gateway in range(1, gateways + 1):
        template.add_resource(EIP(f"NatGateway{gateway}Eip", Domain="vpc", DependsOn="InternetGatewayAttachment"))
        template.add_resource(
            NatGateway(
                f"NatGateway{gateway}",
                AllocationId=GetAtt(f"NatGateway{gateway}Eip", "AllocationId"),
                SubnetId=Ref(f"PublicSubnet{gateway}"),
            )
        )
    for zone in _zone_ids(blueprint):
        # With fewer gateways than AZs, zones share them round-robin; each zone keeps its own table
        # so that adding a gateway later changes one route, not the subnet associations.
        gateway = (zone - 1) % gateways + 1
        template.add_resource(RouteTable(f"PrivateRouteTable{zone}", VpcId=Ref("Vpc")))
        template.add_resource(
            Route(
                f"PrivateDefaultRoute{zone}",
                RouteTableId=Ref(f"PrivateRouteTable{zone}"),
                DestinationCidrBlock="0.0.0.0/0",
                NatGatewayId=Ref(f"NatGateway{gateway}"),
            )
        )
        template.add_resource(
            SubnetRouteTableAssociation(
                f"PrivateSubnet{zone}RouteTableAssociation",
                SubnetId=Ref(f"PrivateSubnet{zone}"),
                RouteTableId=Ref(f"PrivateRouteTable{zone}"),
            )
        )


def _add_s3_endpoint(template: Template, blueprint: Blueprint) -> None:
    # ECR image layers are served from S3: the gateway endpoint keeps that traffic off the NAT gateways (and their bill).
    template.add_resource(
        VPCEndpoint(
            "S3GatewayEndpoint",
            VpcId=Ref("Vpc"),
            VpcEndpointType="Gateway",
            ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
            RouteTableIds=[Ref(f"PrivateRouteTable{zone}") for zone in _zone_ids(blueprint)],
        )
    )


def _add_interface_endpoints(template: Template, blueprint: Blueprint) -> None:
    # Private DNS makes the services' usual names resolve to the endpoints inside the VPC: the agent, the SDKs
    # and the awslogs driver need no configuration. The endpoints accept HTTPS from the VPC and nothing else.
    template.add_resource(
        SecurityGroup(
            "InterfaceEndpointSecurityGroup",
            GroupDescription=f"{blueprint.name} interface VPC endpoints: HTTPS from the VPC only",
            VpcId=Ref("Vpc"),
            SecurityGroupIngress=[
                SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=HTTPS_PORT,
                    ToPort=HTTPS_PORT,
                    CidrIp=GetAtt("Vpc", "CidrBlock"),
                    Description="HTTPS from the VPC to the AWS APIs",
                )
            ],
            # An endpoint opens no connections of its own; this rule replaces the default allow-all egress.
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
    for prefix, service in INTERFACE_ENDPOINTS.items():
        template.add_resource(
            VPCEndpoint(
                f"{prefix}InterfaceEndpoint",
                VpcId=Ref("Vpc"),
                VpcEndpointType="Interface",
                ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                PrivateDnsEnabled=True,
                SubnetIds=[Ref(f"PrivateSubnet{zone}") for zone in _zone_ids(blueprint)],
                SecurityGroupIds=[Ref("InterfaceEndpointSecurityGroup")],
            )
        )


def _add_flow_logs(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        LogGroup(
            "FlowLogGroup",
            RetentionInDays=blueprint.logs.retention_days,
            KmsKeyId=Ref(contracts.LOGS_KMS_KEY_ARN),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    template.add_resource(
        iam.service_role(
            "FlowLogRole",
            "vpc-flow-logs.amazonaws.com",
            {
                "deliver-flow-logs": [
                    iam.allow(
                        [logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
                        [GetAtt("FlowLogGroup", "Arn")],
                    )
                ]
            },
            path=role_path(blueprint),
            description="Lets VPC Flow Logs write to this VPC's flow log group only",
        )
    )
    template.add_resource(
        FlowLog(
            "FlowLog",
            ResourceId=Ref("Vpc"),
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref("FlowLogGroup"),
            DeliverLogsPermissionArn=GetAtt("FlowLogRole", "Arn"),
        )
    )


def _add_outputs(template: Template, blueprint: Blueprint) -> None:
    zones = list(_zone_ids(blueprint))
    add_output(template, contracts.VPC_ID, Ref("Vpc"), "VPC id")
    add_output(template, contracts.VPC_CIDR, GetAtt("Vpc", "CidrBlock"), "VPC IPv4 CIDR")
    add_output(
        template,
        contracts.PUBLIC_SUBNET_IDS,
        Join(",", [Ref(f"PublicSubnet{zone}") for zone in zones]),
        "Public subnet ids, one per AZ, comma-separated",
    )
    add_output(
        template,
        contracts.PRIVATE_SUBNET_IDS,
        Join(",", [Ref(f"PrivateSubnet{zone}") for zone in zones]),
        "Private subnet ids, one per AZ, comma-separated",
    )

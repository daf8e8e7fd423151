"""The load-balancer stacks: Network Load Balancers, and per service two listeners and two IP target groups.

One balancer holds at most 50 listeners, so services are spread over as many
balancers as `Blueprint.load_balancers` says, one stack each: ``load-balancer``
for the first (its outputs keep their plain names, so a blueprint that fits on
one balancer never sees the others) and ``load-balancer-<n>`` for the n-th,
whose outputs are numbered (``LoadBalancer<n>Arn``); :func:`cfngen.builders.contracts.of_load_balancer` gives
every consumer the name of its service's balancer.

Blue/green (CodeDeploy's, or ECS's own) needs, per service, a production listener
(clients) and a test listener (the new version before traffic shifts), each forwarding
to one of two target groups. CodeDeploy or ECS later swaps what the listeners forward to;
the listeners' properties here depend only on the service's ports and target
groups, so an ordinary stack update never resets a swap.

With ``load_balancer.listener_protocol: tls`` both listeners of a service terminate TLS
with its certificate under :data:`TLS_POLICY` and forward plain TCP to the tasks, and the
balancer writes access logs to a bucket of its own stack (AWS writes NLB access logs only
for TLS listeners, so a TCP balancer has none).

The security group is attached at creation because a Network Load Balancer
created without one can never get one. It admits the production listener ports
from the clients (the internet, or the VPC for an internal balancer) and the test
listener ports from the VPC only; it lets traffic out only to the services'
container ports inside the VPC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from awacs import s3
from awacs.aws import Action as PolicyAction
from awacs.aws import Allow, ArnLike, Bool, Condition, Deny, Principal, Statement, StringEquals
from troposphere import AccountId, GetAtt, Ref, Sub, Template
from troposphere.ec2 import SecurityGroup, SecurityGroupRule
from troposphere.elasticloadbalancingv2 import (
    Action,
    Certificate,
    Listener,
    LoadBalancer,
    LoadBalancerAttributes,
    Matcher,
    TargetGroup,
    TargetGroupAttribute,
)
from troposphere.s3 import (
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import contracts, iam
from cfngen.builders.base import add_output, add_parameter, new_template
from cfngen.synth._stack import NestedStack
from cfngen.synth.suppress import skip_check, skip_guard_rule

WORLD = "0.0.0.0/0"
COLOURS: tuple[Literal["Blue", "Green"], ...] = ("Blue", "Green")
ROLES: tuple[Literal["Production", "Test"], ...] = ("Production", "Test")
HEALTH_CHECK_INTERVAL_S = 10
HEALTHY_THRESHOLD = 3
UNHEALTHY_THRESHOLD = 3
# The policy the console now gives a new TLS listener: TLS 1.3 and 1.2 with forward-secret AEAD ciphers only,
# and hybrid post-quantum key exchange (ML-KEM) for the clients that offer it. CloudFormation would otherwise
# default to ELBSecurityPolicy-2016-08 (TLS 1.0 and CBC ciphers).
# https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
# Where AWS delivers NLB access logs from, and the bucket policy it needs:
# https://docs.aws.amazon.com/elasticloadbalancing/latest/network/enable-access-logs.html (bucket requirements:
# same region; SSE-S3 or a customer managed KMS key, see load-balancer-access-logs.html). NLB logs arrive through
# CloudWatch's log delivery, one service principal in every region (an ALB's older bucket policy names a per-region
# Elastic Load Balancing account instead).
LOG_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"
ACCESS_LOG_BUCKET = "AccessLogBucket"


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """One stack per load balancer; each balancer's DNS name is also an output of the root."""
    for number in range(1, len(blueprint.load_balancers) + 1):
        yield NestedStack(
            stack_name(number), build(blueprint, number), root_outputs=(contracts.of_load_balancer(number, "DnsName"),)
        )


def stack_name(number: int) -> str:
    """Name of the stack of load balancer `number` (from 1)."""
    return "load-balancer" if number == 1 else f"load-balancer-{number}"


def build(blueprint: Blueprint, number: int = 1) -> Template:
    """NLB `number` with its security group; per service of it production and test listeners, blue and green target groups."""
    services = blueprint.load_balancers[number - 1]
    # The number alone, not "n of N": a new balancer must not change the templates of the others.
    which = "" if number == 1 else f" {number}"
    template = new_template(
        blueprint,
        f"{blueprint.load_balancer.scheme} Network Load Balancer{which}, "
        "listeners and blue/green target groups per service",
    )
    add_parameter(template, contracts.VPC_ID, "AWS::EC2::VPC::Id", "VPC of the load balancer and its targets")
    add_parameter(
        template,
        contracts.VPC_CIDR,
        "String",
        "VPC CIDR: the source of test traffic (and of all traffic when internal)",
    )
    add_parameter(
        template,
        _subnets_parameter(blueprint),
        "List<AWS::EC2::Subnet::Id>",
        "Subnets of the load balancer, one per AZ",
    )
    _add_security_group(template, blueprint, services)
    if uses_tls(blueprint):
        _add_access_log_bucket(template, blueprint)
    _add_load_balancer(template, blueprint)
    for service in services:
        _add_target_groups(template, service)
        _add_listeners(template, blueprint, service)
    _add_outputs(template, blueprint, number, services)
    return template


def is_internet_facing(blueprint: Blueprint) -> bool:
    """True when clients reach the services from the internet."""
    return blueprint.load_balancer.scheme == "internet-facing"


def uses_tls(blueprint: Blueprint) -> bool:
    """True when the listeners terminate TLS (and the balancer writes access logs)."""
    return blueprint.load_balancer.listener_protocol == "tls"


def _subnets_parameter(blueprint: Blueprint) -> str:
    return "PublicSubnetIds" if is_internet_facing(blueprint) else "PrivateSubnetIds"


def _add_security_group(template: Template, blueprint: Blueprint, services: Sequence[Service]) -> None:
    clients = WORLD if is_internet_facing(blueprint) else Ref(contracts.VPC_CIDR)
    ingress = []
    for service in services:
        ingress.append(
            SecurityGroupRule(
                IpProtocol="tcp",
                FromPort=service.listener_port,
                ToPort=service.listener_port,
                CidrIp=clients,
                Description=f"{service.name} production listener",
            )
        )
        ingress.append(
            SecurityGroupRule(
                IpProtocol="tcp",
                FromPort=service.test_listener_port,
                ToPort=service.test_listener_port,
                CidrIp=Ref(contracts.VPC_CIDR),
                Description=f"{service.name} test listener, from inside the VPC only",
            )
        )
    # One rule per container port: services may share one, and a group refuses a duplicate rule.
    egress = [
        SecurityGroupRule(
            IpProtocol="tcp",
            FromPort=port,
            ToPort=port,
            CidrIp=Ref(contracts.VPC_CIDR),
            Description=f"tasks on port {port}: traffic and health checks",
        )
        for port in sorted({service.port for service in services})
    ]
    group = template.add_resource(
        SecurityGroup(
            "LoadBalancerSecurityGroup",
            GroupDescription=f"{blueprint.name} Network Load Balancer: listener ports in, container ports out",
            VpcId=Ref(contracts.VPC_ID),
            SecurityGroupIngress=ingress,
            SecurityGroupEgress=egress,
        )
    )
    if is_internet_facing(blueprint):
        reason = (
            "an internet-facing load balancer exists to serve its production "
            "listener ports to the internet; test listener ports stay VPC-only"
        )
        skip_check(group, "CKV_AWS_260", reason)
        skip_guard_rule(group, "EC2_SECURITY_GROUP_INGRESS_OPEN_TO_WORLD_RULE", reason)


def _add_access_log_bucket(template: Template, blueprint: Blueprint) -> None:
    """A private, encrypted (SSE-S3) bucket that only AWS's log delivery, for this account's balancers, writes to."""
    bucket = template.add_resource(
        Bucket(
            ACCESS_LOG_BUCKET,
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
                    )
                ]
            ),
            PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
            ),
            OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            # A deleted or overwritten log stays recoverable for a day (the lifecycle rule's noncurrent expiry).
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[
                    LifecycleRule(
                        Id="ExpireAccessLogs",
                        Status="Enabled",
                        ExpirationInDays=blueprint.logs.retention_days,
                        NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1),
                    )
                ]
            ),
            # Logs are evidence: removing the balancer (or TLS) must not delete them with the stack.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    skip_check(
        bucket,
        "CKV_AWS_18",
        "this bucket holds access logs itself; logging its own reads would need another bucket, "
        "and CloudTrail records the API calls on it",
    )
    delivery = Principal("Service", [LOG_DELIVERY_PRINCIPAL])
    # Confused-deputy guard, as the page's example policy has it: deliveries for this account's resources only.
    this_account = {"aws:SourceAccount": AccountId}
    its_logs = ArnLike({"aws:SourceArn": iam.arn("logs", "*")})
    template.add_resource(
        BucketPolicy(
            f"{ACCESS_LOG_BUCKET}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=iam.policy_document(
                Statement(
                    Sid="AWSLogDeliveryAclCheck",
                    Effect=Allow,
                    Principal=delivery,
                    Action=[s3.GetBucketAcl],
                    Resource=[GetAtt(bucket, "Arn")],
                    Condition=Condition([StringEquals(this_account), its_logs]),
                ),
                Statement(
                    Sid="AWSLogDeliveryWrite",
                    Effect=Allow,
                    Principal=delivery,
                    Action=[s3.PutObject],
                    Resource=[Sub(f"${{{ACCESS_LOG_BUCKET}.Arn}}/AWSLogs/${{AWS::AccountId}}/*")],
                    Condition=Condition(
                        [StringEquals({"s3:x-amz-acl": "bucket-owner-full-control", **this_account}), its_logs]
                    ),
                ),
                Statement(
                    Sid="DenyInsecureTransport",
                    Effect=Deny,
                    Principal=Principal("*"),
                    Action=[PolicyAction("s3", "*")],
                    Resource=[GetAtt(bucket, "Arn"), Sub(f"${{{ACCESS_LOG_BUCKET}.Arn}}/*")],
                    Condition=Condition(Bool("aws:SecureTransport", False)),
                ),
            ),
        )
    )


def _add_load_balancer(template: Template, blueprint: Blueprint) -> None:
    attributes = [LoadBalancerAttributes(Key="load_balancing.cross_zone.enabled", Value="true")]
    if uses_tls(blueprint):
        attributes += [
            LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
            LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=Ref(ACCESS_LOG_BUCKET)),
        ]
    balancer = template.add_resource(
        LoadBalancer(
            "LoadBalancer",
            Type="network",
            Scheme=blueprint.load_balancer.scheme,
            Subnets=Ref(_subnets_parameter(blueprint)),
            SecurityGroups=[Ref("LoadBalancerSecurityGroup")],
            LoadBalancerAttributes=attributes,
        )
    )
    if uses_tls(blueprint):
        # ELB checks that it may write to the bucket when logging is turned on: the policy must exist first.
        balancer.DependsOn = [f"{ACCESS_LOG_BUCKET}Policy"]
    else:
        no_access_logs = (
            "the listeners are TCP, and a Network Load Balancer writes access logs "
            "only for TLS listeners (listener_protocol: tls turns them on)"
        )
        skip_check(balancer, "CKV_AWS_91", no_access_logs)
        skip_guard_rule(balancer, "ELBV2_ACCESS_LOGGING_RULE", no_access_logs)
    no_deletion_protection = (
        "the balancer holds no data and a deploy re-creates it; deletion "
        "protection would turn every stack teardown into a manual step"
    )
    skip_check(balancer, "CKV_AWS_150", no_deletion_protection)
    skip_guard_rule(balancer, "ELB_DELETION_PROTECTION_ENABLED", no_deletion_protection)


def _add_target_groups(template: Template, service: Service) -> None:
    prefix = service.logical_name
    health_check: dict[str, object] = {"HealthCheckProtocol": "TCP"}
    if service.health_check is not None:
        health_check = {
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPath": service.health_check.path,
            "Matcher": Matcher(HttpCode="200-399"),
        }
    for colour in COLOURS:
        template.add_resource(
            TargetGroup(
                f"{prefix}{colour}TargetGroup",
                TargetType="ip",
                Protocol="TCP",
                Port=service.port,
                VpcId=Ref(contracts.VPC_ID),
                HealthCheckIntervalSeconds=HEALTH_CHECK_INTERVAL_S,
                HealthyThresholdCount=HEALTHY_THRESHOLD,
                UnhealthyThresholdCount=UNHEALTHY_THRESHOLD,
                TargetGroupAttributes=[
                    TargetGroupAttribute(
                        Key="deregistration_delay.timeout_seconds",
                        Value=str(service.deregistration_delay_s),
                    )
                ],
                **health_check,
            )
        )


def _add_listeners(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    certificate = blueprint.certificate_of(service)
    protocol: dict[str, object] = {"Protocol": "TCP"}
    if uses_tls(blueprint) and certificate is not None:
        # The certificate is per service, not per listener: the test listener serves the same names.
        protocol = {
            "Protocol": "TLS",
            "Certificates": [Certificate(CertificateArn=certificate)],
            "SslPolicy": TLS_POLICY,
        }
    for role, port, colour in (
        ("Production", service.listener_port, "Blue"),
        ("Test", service.test_listener_port, "Green"),
    ):
        template.add_resource(
            Listener(
                f"{prefix}{role}Listener",
                LoadBalancerArn=Ref("LoadBalancer"),
                Port=port,
                DefaultActions=[Action(Type="forward", TargetGroupArn=Ref(f"{prefix}{colour}TargetGroup"))],
                **protocol,
            )
        )


def _add_outputs(template: Template, blueprint: Blueprint, number: int, services: Sequence[Service]) -> None:
    add_output(template, contracts.of_load_balancer(number, "Arn"), Ref("LoadBalancer"), "Network Load Balancer ARN")
    add_output(
        template,
        contracts.of_load_balancer(number, "FullName"),
        GetAtt("LoadBalancer", "LoadBalancerFullName"),
        "Load balancer dimension value of its CloudWatch metrics (net/<name>/<id>)",
    )
    add_output(
        template,
        contracts.of_load_balancer(number, "DnsName"),
        GetAtt("LoadBalancer", "DNSName"),
        f"DNS name clients of {', '.join(service.name for service in services)} connect to",
    )
    add_output(
        template,
        contracts.of_load_balancer(number, "SecurityGroupId"),
        GetAtt("LoadBalancerSecurityGroup", "GroupId"),
        "Security group of the load balancer: the one source the tasks admit",
    )
    for service in services:
        prefix = service.logical_name
        for role in ROLES:
            add_output(
                template,
                contracts.of_listener(service, role),
                Ref(f"{prefix}{role}Listener"),
                f"{role} listener of {service.name}",
            )
        # The service starts behind blue. CodeDeploy finds both groups by name; ECS's own blue/green
        # takes the green one by ARN; the alarms find both by their metric dimension (FullName).
        # Only what the service's strategy uses leaves the stack: outputs count against its quota.
        add_output(
            template,
            contracts.of_service(service, "BlueTargetGroupArn"),
            Ref(f"{prefix}BlueTargetGroup"),
            f"Blue target group ARN of {service.name}",
        )
        deployment = blueprint.deployment_of(service)
        if deployment.shifts_traffic and not deployment.uses_codedeploy:
            add_output(
                template,
                contracts.of_service(service, "GreenTargetGroupArn"),
                Ref(f"{prefix}GreenTargetGroup"),
                f"Green target group ARN of {service.name}",
            )
        for colour in COLOURS:
            group = f"{prefix}{colour}TargetGroup"
            if deployment.uses_codedeploy:
                add_output(
                    template,
                    contracts.of_target_group(service, colour, "Name"),
                    GetAtt(group, "TargetGroupName"),
                    f"{colour} target group name of {service.name}",
                )
            add_output(
                template,
                contracts.of_target_group(service, colour, "FullName"),
                GetAtt(group, "TargetGroupFullName"),
                f"{colour} target group dimension value of the CloudWatch metrics of {service.name}",
            )

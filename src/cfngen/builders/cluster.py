"""The cluster stack: an ECS cluster on EC2 capacity that scales itself through a capacity provider.

Instances run in the private subnets of every AZ from the ECS-optimised Amazon
Linux 2023 AMI. Tasks use awsvpc networking, so each task has its own ENI and
security group; IMDSv2 with a hop limit of 1 (and ECS_AWSVPC_BLOCK_IMDS) keeps
containers away from the instance role, which holds only what the ECS agent
needs to register and report.

Teardown: managed termination protection needs every new instance protected
from scale-in, and deleting an Auto Scaling group whose instances are protected
hangs until it times out (aws/aws-cdk#14732, #18179). Two things make teardown work:
- the DependsOn order here: the capacity provider association goes first, then
  the capacity provider, then the Auto Scaling group, and only then the cluster
  and the instance role and profile (the agent on a terminating instance still
  needs both to deregister);
- one documented step (README, "Tearing down"): once the deletion reaches the
  group named by the ``AutoScalingGroupName`` output, release its instances'
  scale-in protection. No DependsOn order can do that: ECS lifts the protection
  only through the capacity provider, which must be created after the group and
  is therefore deleted before it.
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import ecs, ssm, ssmmessages
from awacs.aws import Statement
from troposphere import AWSProperty, Base64, GetAtt, Ref, Tags, Template
from troposphere.autoscaling import AutoScalingGroup, LaunchTemplateSpecification
from troposphere.autoscaling import Tags as AutoScalingTags
from troposphere.ec2 import (
    EBSBlockDevice,
    IamInstanceProfile,
    LaunchTemplate,
    LaunchTemplateBlockDeviceMapping,
    LaunchTemplateData,
    MetadataOptions,
    NetworkInterfaces,
    SecurityGroup,
    TagSpecifications,
)
from troposphere.ecs import (
    AutoScalingGroupProvider,
    CapacityProvider,
    CapacityProviderStrategy,
    Cluster,
    ClusterCapacityProviderAssociations,
    ClusterSetting,
    ManagedScaling,
)
from troposphere.iam import InstanceProfile
from troposphere.policies import UpdatePolicy

from cfngen._jinja import render
from cfngen.blueprint import Blueprint
from cfngen.builders import contracts, iam
from cfngen.builders.base import add_output, add_parameter, new_template, role_path
from cfngen.synth._stack import NestedStack

ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
ROOT_DEVICE = "/dev/xvda"
INSTANCE_WARMUP_S = 180
# An instance refresh keeps every instance the group wants in service and starts at most half as many again
# beside them: ECS moves the tasks (managed draining) onto instances that are already up.
REFRESH_MIN_HEALTHY_PERCENT = 100
REFRESH_MAX_HEALTHY_PERCENT = 150
# What the launch template tags when an instance starts: the stack's tags reach none of these.
LAUNCHED_RESOURCE_TYPES = ("instance", "volume", "network-interface")


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The one cluster stack."""
    yield NestedStack("cluster", build(blueprint))


def build(blueprint: Blueprint) -> Template:
    """ECS cluster, instance role and security group, launch template, Auto Scaling group and capacity provider."""
    template = new_template(blueprint, "ECS cluster on EC2 with a capacity provider over the private subnets")
    add_parameter(template, contracts.VPC_ID, "AWS::EC2::VPC::Id", "VPC of the container instances")
    add_parameter(template, contracts.PRIVATE_SUBNET_IDS, "List<AWS::EC2::Subnet::Id>", "Private subnets, one per AZ")
    add_parameter(
        template,
        contracts.ECS_AMI_ID,
        "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
        "Public SSM parameter naming the current ECS-optimised Amazon Linux 2023 AMI",
        Default=ECS_AMI_PARAMETER,
    )
    _add_cluster(template, blueprint)
    _add_instance_role(template, blueprint)
    _add_instance_security_group(template, blueprint)
    _add_launch_template(template, blueprint)
    _add_auto_scaling_group(template, blueprint)
    _add_capacity_provider(template, blueprint)
    _add_outputs(template)
    return template


def cluster_name(blueprint: Blueprint) -> str:
    """The ECS cluster's name: the blueprint's name."""
    return blueprint.name


def _add_cluster(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        Cluster(
            "Cluster",
            ClusterName=cluster_name(blueprint),
            ClusterSettings=[ClusterSetting(Name="containerInsights", Value="enabled")],
        )
    )


def _add_instance_role(template: Template, blueprint: Blueprint) -> None:
    cluster_arn = iam.arn("ecs", f"cluster/{cluster_name(blueprint)}")
    instances_arn = iam.arn("ecs", f"container-instance/{cluster_name(blueprint)}/*")
    template.add_resource(
        iam.service_role(
            "InstanceRole",
            "ec2.amazonaws.com",
            {
                "ecs-agent": [
                    iam.allow(
                        [
                            ecs.RegisterContainerInstance,
                            ecs.DeregisterContainerInstance,
                            ecs.SubmitAttachmentStateChanges,
                            ecs.SubmitContainerStateChange,
                            ecs.SubmitTaskStateChange,
                        ],
                        [cluster_arn],
                    ),
                    iam.allow([ecs.Poll, ecs.StartTelemetrySession], [instances_arn]),
                    iam.allow([ecs.DiscoverPollEndpoint], ["*"]),
                ],
                "session-manager": session_manager_statements(),
            },
            path=role_path(blueprint),
            description=f"ECS agent on the container instances of {cluster_name(blueprint)}: register and report only; "
            "Session Manager instead of SSH",
        )
    )
    template.add_resource(InstanceProfile("InstanceProfile", Roles=[Ref("InstanceRole")]))


def session_manager_statements() -> list[Statement]:
    """What the SSM agent needs for Session Manager, and nothing more: report the instance, open its channels.

    Instead of the AWS managed policy AmazonSSMManagedInstanceCore, which also grants ssm:GetParameter(s),
    GetDocument, ListAssociations and a dozen more on Resource "*" (State Manager, Run Command, inventory): the
    least-privilege tests refuse "*" on actions that support resource-level permissions. These are the
    statements of AWS's minimal Session Manager instance profile:
    https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html
    """
    return [
        iam.allow([ssm.UpdateInstanceInformation], [iam.arn("ec2", "instance/*")]),
        iam.allow(
            [
                ssmmessages.CreateControlChannel,
                ssmmessages.CreateDataChannel,
                ssmmessages.OpenControlChannel,
                ssmmessages.OpenDataChannel,
            ],
            ["*"],
        ),
    ]


def _add_instance_security_group(template: Template, blueprint: Blueprint) -> None:
    # No ingress: tasks have security groups of their own (awsvpc) and nobody logs in to the instances over the
    # network: Session Manager reaches them through the SSM agent's own outbound connection (no SSH, no key pair).
    template.add_resource(
        SecurityGroup(
            "InstanceSecurityGroup",
            GroupDescription=f"{blueprint.name} ECS container instances: no inbound traffic",
            VpcId=Ref(contracts.VPC_ID),
        )
    )


def instance_tags(blueprint: Blueprint) -> dict[str, str]:
    """Tags of the container instances and what they launch with: a Name, then the blueprint's tags."""
    return {"Name": f"{blueprint.name}-ecs", **blueprint.tags}


def _add_launch_template(template: Template, blueprint: Blueprint) -> None:
    user_data = render("cluster-user-data.sh.j2", cluster_name=cluster_name(blueprint))
    tags = instance_tags(blueprint)
    template.add_resource(
        LaunchTemplate(
            "LaunchTemplate",
            # CloudFormation propagates no stack tags to a launch template (its schema: not taggable).
            TagSpecifications=[TagSpecifications(ResourceType="launch-template", Tags=Tags(**tags))],
            LaunchTemplateData=LaunchTemplateData(
                TagSpecifications=[
                    TagSpecifications(ResourceType=kind, Tags=Tags(**tags)) for kind in LAUNCHED_RESOURCE_TYPES
                ],
                ImageId=Ref(contracts.ECS_AMI_ID),
                InstanceType=blueprint.cluster.instance_type,
                IamInstanceProfile=IamInstanceProfile(Arn=GetAtt("InstanceProfile", "Arn")),
                NetworkInterfaces=[
                    NetworkInterfaces(
                        DeviceIndex=0,
                        AssociatePublicIpAddress=False,
                        Groups=[Ref("InstanceSecurityGroup")],
                    )
                ],
                # Hop limit 1: an IMDSv2 token cannot cross the extra hop into a task's network namespace.
                MetadataOptions=MetadataOptions(
                    HttpEndpoint="enabled", HttpTokens="required", HttpPutResponseHopLimit=1
                ),
                BlockDeviceMappings=[
                    LaunchTemplateBlockDeviceMapping(
                        DeviceName=ROOT_DEVICE,
                        Ebs=EBSBlockDevice(
                            VolumeType="gp3",
                            VolumeSize=blueprint.cluster.root_volume_gib,
                            Encrypted=True,
                            DeleteOnTermination=True,
                        ),
                    )
                ],
                UserData=Base64(user_data),
            ),
        )
    )


class _InstanceRefreshPreferences(AWSProperty):  # type: ignore[misc]  # troposphere is untyped
    props = {
        "MinHealthyPercentage": (int, False),
        "MaxHealthyPercentage": (int, False),
        "InstanceWarmup": (int, False),
        "ScaleInProtectedInstances": (str, False),
    }


class _InstanceRefresh(AWSProperty):  # type: ignore[misc]
    props = {"Strategy": (str, True), "Preferences": (_InstanceRefreshPreferences, False)}


class _UpdatePolicy(UpdatePolicy):  # type: ignore[misc]
    """troposphere's UpdatePolicy with the AutoScalingInstanceRefresh CloudFormation added (cfn-lint's schema has it)."""

    props = {**UpdatePolicy.props, "AutoScalingInstanceRefresh": (_InstanceRefresh, False)}


def instance_refresh() -> _UpdatePolicy:
    """A new AMI rolls the instances: the ECS AMI is an SSM parameter that CloudFormation resolves at every stack
    update; a new value makes a new launch template version, and this update policy has CloudFormation run an
    instance refresh of the group onto it, keeping REFRESH_MIN_HEALTHY_PERCENT of the instances in service.
    The instances are scale-in protected (managed termination protection), so the refresh must replace protected
    instances too ("Refresh"); ECS drains each one first (the capacity provider's managed draining).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/asg-instance-refresh.html"""
    return _UpdatePolicy(
        AutoScalingInstanceRefresh=_InstanceRefresh(
            Strategy="Rolling",
            Preferences=_InstanceRefreshPreferences(
                MinHealthyPercentage=REFRESH_MIN_HEALTHY_PERCENT,
                MaxHealthyPercentage=REFRESH_MAX_HEALTHY_PERCENT,
                InstanceWarmup=INSTANCE_WARMUP_S,
                ScaleInProtectedInstances="Refresh",
            ),
        )
    )


def _add_auto_scaling_group(template: Template, blueprint: Blueprint) -> None:
    capacity = blueprint.cluster
    template.add_resource(
        AutoScalingGroup(
            "AutoScalingGroup",
            UpdatePolicy=instance_refresh(),
            # Deleted before these (see the module docstring): the cluster and the agent's role outlive the instances.
            DependsOn=["Cluster", "InstanceProfile", "InstanceRole"],
            VPCZoneIdentifier=Ref(contracts.PRIVATE_SUBNET_IDS),
            LaunchTemplate=LaunchTemplateSpecification(
                LaunchTemplateId=Ref("LaunchTemplate"),
                Version=GetAtt("LaunchTemplate", "LatestVersionNumber"),
            ),
            MinSize=str(capacity.min_size),
            MaxSize=str(capacity.max_size),
            DesiredCapacity=str(capacity.desired_capacity),
            # Managed termination protection requires it: ECS lifts the protection only from instances it empties.
            NewInstancesProtectedFromScaleIn=True,
            HealthCheckType="EC2",
            HealthCheckGracePeriod=INSTANCE_WARMUP_S,
            # PropagateAtLaunch (the default of AutoScalingTags): the instances carry them, for cost allocation.
            Tags=AutoScalingTags(**instance_tags(blueprint)),
        )
    )


def _add_capacity_provider(template: Template, blueprint: Blueprint) -> None:
    template.add_resource(
        CapacityProvider(
            "CapacityProvider",
            AutoScalingGroupProvider=AutoScalingGroupProvider(
                AutoScalingGroupArn=Ref("AutoScalingGroup"),
                ManagedScaling=ManagedScaling(
                    Status="ENABLED",
                    TargetCapacity=blueprint.cluster.target_capacity,
                    InstanceWarmupPeriod=INSTANCE_WARMUP_S,
                ),
                ManagedTerminationProtection="ENABLED",
                # ECS moves an instance's tasks before Auto Scaling terminates it (scale-in, instance refresh).
                ManagedDraining="ENABLED",
            ),
        )
    )
    template.add_resource(
        ClusterCapacityProviderAssociations(
            "CapacityProviderAssociation",
            Cluster=Ref("Cluster"),
            CapacityProviders=[Ref("CapacityProvider")],
            DefaultCapacityProviderStrategy=[
                CapacityProviderStrategy(CapacityProvider=Ref("CapacityProvider"), Weight=1)
            ],
        )
    )


def _add_outputs(template: Template) -> None:
    add_output(template, contracts.CLUSTER_NAME, Ref("Cluster"), "ECS cluster name")
    add_output(template, contracts.CLUSTER_ARN, GetAtt("Cluster", "Arn"), "ECS cluster ARN")
    # Consumers start once this whole stack is complete, so the provider is associated when a service uses it.
    add_output(template, contracts.CAPACITY_PROVIDER_NAME, Ref("CapacityProvider"), "Capacity provider of the cluster")
    add_output(
        template,
        contracts.AUTO_SCALING_GROUP_NAME,
        Ref("AutoScalingGroup"),
        "Auto Scaling group of the container instances",
    )

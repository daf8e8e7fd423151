"""The cluster stack: IMDSv2, encrypted volumes, private instances, capacity provider, agent-only role, teardown order."""

from __future__ import annotations

import jinja2
import pytest

from cfngen import synthesize
from cfngen._jinja import render
from cfngen.builders import iam
from cfngen.builders.cluster import ECS_AMI_PARAMETER, build
from cfngen.deploy._plan import Plan, to_change
from tests.stack_helpers import make_blueprint, statements, the_resource

BLUEPRINT = make_blueprint(
    cluster={
        "instance_type": "m6i.large",
        "min_size": 1,
        "max_size": 9,
        "desired_capacity": 3,
        "target_capacity": 70,
        "root_volume_gib": 40,
    }
)
TEMPLATE = build(BLUEPRINT)


def _launch_data() -> dict[str, object]:
    data: dict[str, object] = the_resource(TEMPLATE, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    return data


def test_instances_require_imdsv2_with_a_hop_limit_of_one() -> None:
    assert _launch_data()["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
    }


def test_root_volume_is_encrypted_gp3_of_the_blueprint_size() -> None:
    (mapping,) = _launch_data()["BlockDeviceMappings"]  # type: ignore[misc]
    assert mapping["Ebs"] == {"VolumeType": "gp3", "VolumeSize": 40, "Encrypted": True, "DeleteOnTermination": True}


def test_instances_get_no_public_ip_and_the_instance_security_group_opens_nothing() -> None:
    (interface,) = _launch_data()["NetworkInterfaces"]  # type: ignore[misc]
    assert interface["AssociatePublicIpAddress"] is False
    group = the_resource(TEMPLATE, "AWS::EC2::SecurityGroup")
    assert "SecurityGroupIngress" not in group["Properties"]


def test_ami_comes_from_the_public_al2023_ecs_parameter_and_the_root_passes_its_name() -> None:
    parameter = TEMPLATE.to_dict()["Parameters"]["EcsAmiId"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert parameter["Default"] == ECS_AMI_PARAMETER and "amazon-linux-2023" in ECS_AMI_PARAMETER
    assert _launch_data()["ImageId"] == {"Ref": "EcsAmiId"}
    root = synthesize(BLUEPRINT).root().to_dict()
    assert root["Parameters"]["EcsAmiId"]["Type"] == "AWS::SSM::Parameter::Name"
    assert root["Parameters"]["EcsAmiId"]["Default"] == ECS_AMI_PARAMETER


def test_user_data_joins_the_cluster_and_blocks_task_access_to_instance_metadata() -> None:
    user_data = _launch_data()["UserData"]
    text = user_data["Fn::Base64"]  # type: ignore[index]
    assert text.startswith("#!/bin/bash\n")
    assert "ECS_CLUSTER=unit\n" in text and "ECS_AWSVPC_BLOCK_IMDS=true\n" in text


def test_user_data_template_refuses_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("cluster-user-data.sh.j2")


def test_auto_scaling_group_spans_the_private_subnets_with_blueprint_sizes_and_scale_in_protection() -> None:
    group = the_resource(TEMPLATE, "AWS::AutoScaling::AutoScalingGroup")
    properties = group["Properties"]
    assert properties["VPCZoneIdentifier"] == {"Ref": "PrivateSubnetIds"}
    assert (properties["MinSize"], properties["MaxSize"], properties["DesiredCapacity"]) == ("1", "9", "3")
    assert properties["NewInstancesProtectedFromScaleIn"] is True
    assert _launch_data()["InstanceType"] == "m6i.large"


def test_teardown_order_deletes_the_group_before_the_cluster_and_the_agent_role() -> None:
    group = the_resource(TEMPLATE, "AWS::AutoScaling::AutoScalingGroup")
    assert set(group["DependsOn"]) == {"Cluster", "InstanceProfile", "InstanceRole"}
    provider = the_resource(TEMPLATE, "AWS::ECS::CapacityProvider")
    assert provider["Properties"]["AutoScalingGroupProvider"]["AutoScalingGroupArn"] == {"Ref": "AutoScalingGroup"}


def test_capacity_provider_scales_managed_with_termination_protection_as_the_default_strategy() -> None:
    provider = the_resource(TEMPLATE, "AWS::ECS::CapacityProvider")["Properties"]["AutoScalingGroupProvider"]
    assert provider["ManagedScaling"]["Status"] == "ENABLED"
    assert provider["ManagedScaling"]["TargetCapacity"] == 70
    assert provider["ManagedTerminationProtection"] == "ENABLED"
    association = the_resource(TEMPLATE, "AWS::ECS::ClusterCapacityProviderAssociations")["Properties"]
    assert association["CapacityProviders"] == [{"Ref": "CapacityProvider"}]
    assert association["DefaultCapacityProviderStrategy"] == [
        {"CapacityProvider": {"Ref": "CapacityProvider"}, "Weight": 1}
    ]


def test_cluster_has_container_insights() -> None:
    cluster = the_resource(TEMPLATE, "AWS::ECS::Cluster")["Properties"]
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["ClusterSettings"]


def test_instance_role_holds_only_what_the_agent_needs_scoped_to_this_cluster() -> None:
    role = the_resource(TEMPLATE, "AWS::IAM::Role")
    granted = [
        (action, resource)
        for statement in statements(role)
        for action in statement["Action"]
        for resource in statement["Resource"]
    ]
    actions = {action for action, _ in granted}
    assert "ecs:CreateCluster" not in actions
    assert not any(action.startswith(("ecr:", "logs:", "iam:")) for action in actions)
    # Of Systems Manager only what Session Manager needs (tests/test_least_privilege.py proves the statements).
    assert {action for action in actions if action.startswith("ssm:")} == {"ssm:UpdateInstanceInformation"}
    for action, resource in granted:
        if resource == "*":
            assert action in iam.ACTIONS_WITHOUT_RESOURCE_LEVEL, action
        elif action == "ssm:UpdateInstanceInformation":
            assert resource["Fn::Sub"].endswith(":instance/*")
        else:
            assert "cluster/unit" in resource["Fn::Sub"] or "container-instance/unit/" in resource["Fn::Sub"]


def test_outputs_follow_the_wiring_contract() -> None:
    assert set(TEMPLATE.to_dict()["Outputs"]) == {
        "ClusterName",
        "ClusterArn",
        "CapacityProviderName",
        "AutoScalingGroupName",
    }


def test_a_new_ami_rolls_the_instances_through_an_instance_refresh_that_keeps_them_all_in_service() -> None:
    """The AMI is an SSM parameter CloudFormation resolves at each update; a new value is a new launch template
    version, which the AutoScalingInstanceRefresh update policy rolls out. The instances are scale-in protected, so
    the refresh must replace protected instances too, and ECS drains them first.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatepolicy.html"""
    resources = TEMPLATE.to_dict()["Resources"]
    group = resources["AutoScalingGroup"]
    assert group["UpdatePolicy"] == {
        "AutoScalingInstanceRefresh": {
            "Strategy": "Rolling",
            "Preferences": {
                "MinHealthyPercentage": 100,
                "MaxHealthyPercentage": 150,
                "InstanceWarmup": 180,
                "ScaleInProtectedInstances": "Refresh",
            },
        }
    }
    assert group["Properties"]["LaunchTemplate"]["Version"] == {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}
    assert resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["ImageId"] == {"Ref": "EcsAmiId"}
    assert TEMPLATE.to_dict()["Parameters"]["EcsAmiId"]["Type"].startswith("AWS::SSM::Parameter::Value<")
    provider = resources["CapacityProvider"]["Properties"]["AutoScalingGroupProvider"]
    assert provider["ManagedDraining"] == "ENABLED"


# What DescribeChangeSet says of the cluster stack when the EcsAmiId parameter resolves to a new AMI: the launch
# template is modified (its ImageId comes from the parameter), and the group follows its LatestVersionNumber.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChangeDetail.html
AMI_CHANGE = (
    {
        "Action": "Modify",
        "LogicalResourceId": "LaunchTemplate",
        "ResourceType": "AWS::EC2::LaunchTemplate",
        "Replacement": "False",
        "Details": [
            {
                "Target": {"Attribute": "Properties", "Name": "LaunchTemplateData", "RequiresRecreation": "Never"},
                "Evaluation": "Static",
                "ChangeSource": "ParameterReference",
                "CausingEntity": "EcsAmiId",
            }
        ],
    },
    {
        "Action": "Modify",
        "LogicalResourceId": "AutoScalingGroup",
        "ResourceType": "AWS::AutoScaling::AutoScalingGroup",
        "Replacement": "False",
        "Details": [
            {
                "Target": {"Attribute": "Properties", "Name": "LaunchTemplate", "RequiresRecreation": "Never"},
                "Evaluation": "Dynamic",
                "ChangeSource": "ResourceAttribute",
                "CausingEntity": "LaunchTemplate.LatestVersionNumber",
            }
        ],
    },
)


def _plan(*raw_changes: dict[str, object]) -> Plan:
    return Plan(
        stack_name="microservices-dev",
        region="us-east-1",
        change_set_type="UPDATE",
        change_set_id="arn:aws:cloudformation:us-east-1:123456789012:changeSet/cfngen/1",
        changes=tuple(to_change("root/Cluster", raw) for raw in raw_changes),
    )


def test_the_plan_says_the_instances_roll_when_the_launch_template_changes() -> None:
    rolls = "instances roll: root/Cluster AutoScalingGroup (instance refresh, min healthy 100 %)"
    assert rolls in _plan(*AMI_CHANGE).render().splitlines()
    # The launch template alone (a change set that leaves the group's row out) rolls the group just the same.
    assert rolls.replace("AutoScalingGroup", "Auto Scaling group") in _plan(AMI_CHANGE[0]).render().splitlines()
    # Other changes of the group (its sizes) start no refresh.
    resized = {**AMI_CHANGE[1], "Details": [{"Target": {"Attribute": "Properties", "Name": "MaxSize"}}]}
    assert "instances roll" not in _plan(resized).render()

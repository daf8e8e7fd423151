"""The embedded emulator's extensions to moto, each checked through the AWS API as a client sees it."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from cfngen import local as local_aws
from cfngen.cli import local_aws as local_aws_command
from cfngen.cli import main
from cfngen.local import LocalAws
from tests.conftest import ROOT, cloudformation

PRODUCER = {
    "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}}},
    "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
}
CONSUMER = {
    "Parameters": {"KeyArn": {"Type": "String"}},
    "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Ref": "KeyArn"}}}},
    "Outputs": {"UsedKey": {"Value": {"Ref": "KeyArn"}}},
}


def _upload(aws: LocalAws, name: str, template: dict[str, Any]) -> str:
    s3 = boto3.client("s3", region_name="us-west-2")
    if not s3.list_buckets()["Buckets"]:
        s3.create_bucket(Bucket="templates", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="templates", Key=name, Body=json.dumps(template).encode())
    return f"{aws.endpoint_url}/templates/{name}"


def _create(name: str, body: str) -> dict[str, Any]:
    client = cloudformation()
    change_set = client.create_change_set(
        StackName=name, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=body, IncludeNestedStacks=True
    )
    client.execute_change_set(ChangeSetName=change_set["Id"])
    stack: dict[str, Any] = client.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def _root_yaml(producer_url: str, consumer_url: str) -> str:
    # The short form !GetAtt A.Outputs.B is what cfngen's YAML root uses.
    return f"""
Resources:
  Producer:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {producer_url}
  Consumer:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: {consumer_url}
      Parameters:
        KeyArn: !GetAtt Producer.Outputs.KeyArn
Outputs:
  UsedKey:
    Value: !GetAtt Consumer.Outputs.UsedKey
"""


def test_one_nested_stack_output_feeds_a_sibling_parameter(aws: LocalAws) -> None:
    root = _root_yaml(_upload(aws, "producer.json", PRODUCER), _upload(aws, "consumer.json", CONSUMER))
    stack = _create("wiring", root)
    used = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}["UsedKey"]
    assert re.fullmatch(r"arn:aws:kms:us-west-2:\d{12}:key/[-0-9a-f]+", used)
    keys = boto3.client("kms", region_name="us-west-2").list_keys()["Keys"]
    assert used in [key["KeyArn"] for key in keys]


def test_a_get_att_on_a_missing_output_is_a_template_error(aws: LocalAws) -> None:
    root = _root_yaml(_upload(aws, "producer.json", PRODUCER), _upload(aws, "consumer.json", CONSUMER))
    with pytest.raises(Exception, match="Outputs"):
        _create("broken", root.replace("Producer.Outputs.KeyArn", "Producer.Outputs.NoSuchOutput"))


def test_a_type_moto_does_not_model_gets_a_visible_placeholder(aws: LocalAws) -> None:
    template = {
        "Resources": {
            "Provider": {
                "Type": "AWS::WAFv2::IPSet",
                "Properties": {"Addresses": [], "IPAddressVersion": "IPV4", "Scope": "REGIONAL"},
            },
            "Group": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::GetAtt": ["Provider", "Arn"]}},
            },
        },
        "Outputs": {"ProviderName": {"Value": {"Ref": "Provider"}}},
    }
    stack = _create("placeholders", json.dumps(template))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "not-emulated:Provider"
    events = cloudformation().describe_stack_events(StackName="placeholders")["StackEvents"]
    reasons = {event["LogicalResourceId"]: event.get("ResourceStatusReason", "") for event in events}
    assert "does not model AWS::WAFv2::IPSet" in reasons["Provider"]
    groups = boto3.client("logs", region_name="us-west-2").describe_log_groups()["logGroups"]
    # An ARN attribute is ARN-shaped, so that a template can split it on ':' as on AWS.
    assert [group["logGroupName"] for group in groups] == ["arn:aws:not-emulated:us-west-2:123456789012:Provider:Arn"]


def _group(source: str | None) -> dict[str, Any]:
    """A security group; with `source`, an ingress rule from that group (moto refuses a group it does not know)."""
    rules = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": source}] if source else []
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": rules}}


def _events(stack: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of a stack's events, oldest first."""
    events = cloudformation().describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (event["LogicalResourceId"], event["ResourceStatus"], event.get("ResourceStatusReason", ""))
        for event in reversed(events)
    ]


def test_a_resource_that_fails_to_create_rolls_the_stack_back(aws: LocalAws) -> None:
    """AWS: a resource that fails makes the create fail and roll back to ROLLBACK_COMPLETE, deleting what it made
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html)."""
    stack = _create("tolerant", json.dumps({"Resources": {"Fine": _group(None), "Broken": _group("sg-unknown")}}))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = _events("tolerant")
    assert (
        "Broken",
        "CREATE_FAILED",
        "InvalidGroup.NotFound: The security group 'sg-unknown' does not exist",
    ) in events
    assert events[-1][:2] == ("tolerant", "ROLLBACK_COMPLETE")
    assert local_aws.stand_ins("us-west-2") == {}, "no placeholder for a type moto models"
    groups = boto3.client("ec2", region_name="us-west-2").describe_security_groups()["SecurityGroups"]
    # (moto leaves the half-made "Broken" group behind: its model creates the group before it fails on the rule.)
    assert not [group for group in groups if "-Fine-" in group["GroupName"]], "the rollback deleted what it made"


def test_a_failed_update_rolls_back_and_the_next_update_works(aws: LocalAws) -> None:
    """AWS: a failed update restores the previous resources and ends UPDATE_ROLLBACK_COMPLETE; the stack can be
    updated again (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks.html)."""
    _create("updated", json.dumps({"Resources": {"Fine": _group(None)}}))
    client = cloudformation()
    before = client.describe_stack_resource(StackName="updated", LogicalResourceId="Fine")["StackResourceDetail"]

    def update(name: str, resources: dict[str, Any]) -> str:
        change_set = client.create_change_set(
            StackName="updated",
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps({"Resources": resources}),
        )
        client.execute_change_set(ChangeSetName=change_set["Id"])
        status: str = client.describe_stacks(StackName="updated")["Stacks"][0]["StackStatus"]
        return status

    assert update("bad", {"Fine": _group(None), "Added": _group("sg-unknown")}) == "UPDATE_ROLLBACK_COMPLETE"
    assert (
        "Added",
        "CREATE_FAILED",
        "InvalidGroup.NotFound: The security group 'sg-unknown' does not exist",
    ) in _events("updated")
    assert client.get_template(StackName="updated")["TemplateBody"] == {"Resources": {"Fine": _group(None)}}
    after = client.describe_stack_resource(StackName="updated", LogicalResourceId="Fine")["StackResourceDetail"]
    assert after["PhysicalResourceId"] == before["PhysicalResourceId"]
    assert update("good", {"Fine": _group(None), "Other": _group(None)}) == "UPDATE_COMPLETE"


def test_a_template_error_is_still_an_error(aws: LocalAws) -> None:
    broken = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::GetAtt": ["Missing", "Arn"]}}}
        }
    }
    with pytest.raises(Exception, match="undefined resource Missing"):
        _create("broken-ref", json.dumps(broken))
    assert local_aws.summary({}) == "the local emulator created every resource"


def test_an_executed_change_set_leaves_its_template_and_outputs_on_the_stack(aws: LocalAws) -> None:
    body = json.dumps(PRODUCER)
    stack = _create("recorded", body)
    assert [output["OutputKey"] for output in stack["Outputs"]] == ["KeyArn"]
    client = cloudformation()
    assert client.get_template(StackName="recorded")["TemplateBody"] == PRODUCER
    again = client.create_change_set(
        StackName="recorded", ChangeSetName="again", ChangeSetType="UPDATE", TemplateBody=body
    )
    described = client.describe_change_set(ChangeSetName=again["Id"])
    assert described["Status"] == "FAILED"
    assert "didn't contain changes" in described["StatusReason"]


def test_termination_protection_can_be_turned_on(aws: LocalAws) -> None:
    _create("protected", json.dumps(PRODUCER))
    client = cloudformation()
    client.update_termination_protection(StackName="protected", EnableTerminationProtection=True)
    assert client.describe_stacks(StackName="protected")["Stacks"][0]["EnableTerminationProtection"] is True


def test_local_aws_command_serves_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    stop = threading.Event()
    args = argparse.Namespace(port=0, region="eu-west-1", management=False, lambda_docker=False)
    runner = threading.Thread(target=local_aws_command.run, args=(args, stop))
    runner.start()
    try:
        endpoint = ""
        for _ in range(200):
            match = re.search(r"AWS_ENDPOINT_URL=(\S+)", capsys.readouterr().out)
            if match:
                endpoint = match.group(1)
                break
            time.sleep(0.05)
        assert endpoint.startswith("http://localhost:")
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y"
        )
        assert "Buckets" in s3.list_buckets()
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()


def test_a_nested_stack_is_updated_in_place(aws: LocalAws) -> None:
    child = {
        "Parameters": {"Note": {"Type": "String"}},
        "Resources": {
            "Images": {
                "Type": "AWS::ECR::Repository",
                "DeletionPolicy": "Retain",
                "Properties": {"RepositoryName": "fixed/name"},
            }
        },
        "Outputs": {"Note": {"Value": {"Ref": "Note"}}},
    }
    url = _upload(aws, "child.json", child)

    def root(note: str) -> str:
        return json.dumps(
            {
                "Resources": {
                    "Child": {
                        "Type": "AWS::CloudFormation::Stack",
                        "Properties": {"TemplateURL": url, "Parameters": {"Note": note}},
                    }
                }
            }
        )

    _create("inplace", root("first"))
    client = cloudformation()
    before = client.describe_stack_resource(StackName="inplace", LogicalResourceId="Child")
    update = client.create_change_set(
        StackName="inplace", ChangeSetName="second", ChangeSetType="UPDATE", TemplateBody=root("second")
    )
    client.execute_change_set(ChangeSetName=update["Id"])
    after = client.describe_stack_resource(StackName="inplace", LogicalResourceId="Child")
    child_id = after["StackResourceDetail"]["PhysicalResourceId"]
    assert child_id == before["StackResourceDetail"]["PhysicalResourceId"]
    outputs = client.describe_stacks(StackName=child_id)["Stacks"][0]["Outputs"]
    assert outputs == [{"OutputKey": "Note", "OutputValue": "second"}]


AMI_NAME = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


def test_an_ssm_parameter_name_stays_a_name_and_its_value_resolves_in_the_child(aws: LocalAws) -> None:
    child = {
        "Parameters": {"ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ImageId": {"Value": {"Ref": "ImageId"}}},
    }
    root = {
        "Parameters": {"ImageName": {"Type": "AWS::SSM::Parameter::Name", "Default": AMI_NAME}},
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": _upload(aws, "ami.json", child),
                    "Parameters": {"ImageId": {"Ref": "ImageName"}},
                },
            }
        },
        "Outputs": {
            "ImageName": {"Value": {"Ref": "ImageName"}},
            "ImageId": {"Value": {"Fn::GetAtt": ["Child", "Outputs.ImageId"]}},
        },
    }
    stack = _create("ssm", json.dumps(root))
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    published = boto3.client("ssm", region_name="us-west-2").get_parameter(Name=AMI_NAME)["Parameter"]["Value"]
    assert outputs == {"ImageName": AMI_NAME, "ImageId": published}
    assert published.startswith("ami-")


def test_a_missing_ssm_parameter_is_a_validation_error(aws: LocalAws) -> None:
    root = {
        "Parameters": {"ImageName": {"Type": "AWS::SSM::Parameter::Name", "Default": "/no/such/parameter"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    with pytest.raises(ClientError, match=r"ValidationError.*Unable to fetch parameters \[/no/such/parameter\]"):
        _create("no-ssm", json.dumps(root))


def test_a_placeholder_passes_into_a_number_parameter(aws: LocalAws) -> None:
    child = {
        "Parameters": {"Port": {"Type": "Number"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Port": {"Value": {"Ref": "Port"}}},
    }
    root = {
        "Resources": {
            "Endpoint": {"Type": "AWS::DAX::Cluster", "Properties": {}},  # a type moto does not model
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": _upload(aws, "port.json", child),
                    "Parameters": {"Port": {"Fn::GetAtt": ["Endpoint", "ClusterDiscoveryEndpointPort"]}},
                },
            },
        },
        "Outputs": {"Port": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Port"]}}},
    }
    stack = _create("numbers", json.dumps(root))
    assert stack["Outputs"] == [
        {"OutputKey": "Port", "OutputValue": "not-emulated:Endpoint.ClusterDiscoveryEndpointPort"}
    ]


def test_a_network_load_balancer_takes_tcp_listeners_and_gives_its_full_names(aws: LocalAws) -> None:
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"}},
        "Balancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Type": "network", "Subnets": [{"Ref": "Subnet"}]},
        },
        "Targets": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {"Name": "blue", "Port": 80, "Protocol": "TCP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
        },
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "Balancer"},
                "Port": 80,
                "Protocol": "TCP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}],
            },
        },
    }
    outputs = {
        "TargetGroupName": {"Value": {"Fn::GetAtt": ["Targets", "TargetGroupName"]}},
        "TargetGroupFullName": {"Value": {"Fn::GetAtt": ["Targets", "TargetGroupFullName"]}},
        "FullName": {"Value": {"Fn::GetAtt": ["Balancer", "LoadBalancerFullName"]}},
        "Zone": {"Value": {"Fn::GetAtt": ["Balancer", "CanonicalHostedZoneID"]}},
    }
    stack = _create("nlb", json.dumps({"Resources": resources, "Outputs": outputs}))
    elbv2 = boto3.client("elbv2", region_name="us-west-2")
    balancer = elbv2.describe_load_balancers()["LoadBalancers"][0]
    group = elbv2.describe_target_groups()["TargetGroups"][0]
    assert {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]} == {
        "TargetGroupName": "blue",
        "TargetGroupFullName": group["TargetGroupArn"].split(":", 5)[5],
        "FullName": balancer["LoadBalancerArn"].split(":loadbalancer/")[1],
        "Zone": "not-emulated:Balancer.CanonicalHostedZoneID",
    }
    assert balancer["Type"] == "network"
    assert [
        listener["Protocol"]
        for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    ] == ["TCP"]
    assert local_aws.stand_ins("us-west-2") == {
        "AWS::ElasticLoadBalancingV2::LoadBalancer": ["nlb: Balancer.CanonicalHostedZoneID"]
    }
    events = cloudformation().describe_stack_events(StackName="nlb")["StackEvents"]
    reasons = [event.get("ResourceStatusReason", "") for event in events if event["LogicalResourceId"] == "Balancer"]
    assert [reason for reason in reasons if reason.startswith("attribute")] == [
        local_aws.ATTRIBUTE_REASON.format(
            attribute="CanonicalHostedZoneID", type="AWS::ElasticLoadBalancingV2::LoadBalancer"
        )
    ]


def test_depends_on_is_created_first_even_when_a_resource_is_referred_to_earlier(aws: LocalAws) -> None:
    # "AService" names the task definition's family (no Ref), so only DependsOn orders them; "Scaling" refers to
    # the service and comes first in moto's order, which then creates the service on first reference.
    template = {
        "Resources": {
            "Cluster": {"Type": "AWS::ECS::Cluster"},
            "AScaling": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::GetAtt": ["AService", "Name"]}}},
            "AService": {
                "Type": "AWS::ECS::Service",
                "DependsOn": "TaskDefinition",
                "Properties": {
                    "Cluster": {"Ref": "Cluster"},
                    "ServiceName": "web",
                    "TaskDefinition": "family",
                    "DesiredCount": 1,
                },
            },
            "TaskDefinition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "family",
                    "Memory": "512",
                    "ContainerDefinitions": [{"Name": "web", "Image": "nginx"}],
                },
            },
        }
    }
    _create("ordered", json.dumps(template))
    assert local_aws.stand_ins("us-west-2") == {}
    ecs = boto3.client("ecs", region_name="us-west-2")
    services = ecs.describe_services(cluster=ecs.list_clusters()["clusterArns"][0], services=["web"])["services"]
    assert services[0]["taskDefinition"].endswith(":task-definition/family:1")


def test_a_replan_with_parameters_left_at_their_defaults_finds_no_changes(aws: LocalAws) -> None:
    template = {
        "Parameters": {"Image": {"Type": "String", "Default": "nginx"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    _create("defaults", json.dumps(template))
    client = cloudformation()
    # By URL, as the deployer sends a root (moto refuses an identical TemplateBody outright, unlike AWS).
    again = client.create_change_set(
        StackName="defaults",
        ChangeSetName="again",
        ChangeSetType="UPDATE",
        TemplateURL=_upload(aws, "defaults.json", template),
        Parameters=[{"ParameterKey": "Image", "UsePreviousValue": True}],
    )
    assert "didn't contain changes" in client.describe_change_set(ChangeSetName=again["Id"])["StatusReason"]


def test_a_request_moto_fails_on_gets_an_aws_error_naming_the_failure(aws: LocalAws) -> None:
    # A Number parameter given a word: AWS refuses the change set; moto fails the execution request on it.
    root = {"Parameters": {"Port": {"Type": "Number"}}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    client = cloudformation()
    change_set = client.create_change_set(
        StackName="moto-fails",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=json.dumps(root),
        Parameters=[{"ParameterKey": "Port", "ParameterValue": "http"}],
    )
    with pytest.raises(ClientError) as raised:
        client.execute_change_set(ChangeSetName=change_set["Id"])
    assert raised.value.response["Error"] == {
        "Code": local_aws.EMULATOR_FAILURE,
        "Type": "Sender",
        "Message": local_aws.EMULATOR_FAILURE_MESSAGE.format(
            error="ValueError: could not convert string to float: 'http'"
        ),
    }
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0, "a failure of the emulator is not retried"


def test_a_nested_stack_that_fails_fails_its_resource_in_the_parent_with_the_reason(aws: LocalAws) -> None:
    """AWS: the child rolls back, and the parent's resource fails with "Embedded stack <arn> was not successfully
    created: The following resource(s) failed to create: [...]" (the child's events hold the resource's reason)."""
    child = {"Parameters": {"Port": {"Type": "Number"}}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    root = {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": _upload(aws, "port.json", child), "Parameters": {"Port": "http"}},
            }
        }
    }
    assert _create("nested-fails", json.dumps(root))["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [event for event in _events("nested-fails") if event[1] == "CREATE_FAILED"]
    assert failed == [("Child", "CREATE_FAILED", "ValueError: could not convert string to float: 'http'")]


def test_a_nested_stack_whose_template_is_missing_fails_naming_it(aws: LocalAws) -> None:
    url = _upload(aws, "present.json", PRODUCER).replace("present.json", "missing.json")
    root = {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}}}
    assert _create("no-template", json.dumps(root))["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [event for event in _events("no-template") if event[1] == "CREATE_FAILED"]
    assert [event[0] for event in failed] == ["Child"]
    assert "missing.json" in failed[0][2] or "NoSuchKey" in failed[0][2], failed


def test_a_port_in_use_is_bad_input_not_a_hang(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind((local_aws.LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local-aws", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"cfngen: error: cannot serve the local AWS emulator on 127.0.0.1:{port}: "
        "Address already in use; pick another --port (or 0 for any free one)\n"
    )


def test_termination_protection_can_be_turned_on_and_refuses_deletion(aws: LocalAws) -> None:
    """AWS: DeleteStack on a protected stack fails and the stack stays
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html)."""
    _create("guarded", json.dumps(PRODUCER))
    client = cloudformation()
    client.update_termination_protection(StackName="guarded", EnableTerminationProtection=True)
    with pytest.raises(
        ClientError,
        match=r"ValidationError.*Stack \[guarded\] cannot be deleted while "
        "TerminationProtection is enabled",
    ):
        client.delete_stack(StackName="guarded")
    assert client.describe_stacks(StackName="guarded")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    client.update_termination_protection(StackName="guarded", EnableTerminationProtection=False)
    client.delete_stack(StackName="guarded")
    assert not [stack for stack in client.describe_stacks()["Stacks"] if stack["StackName"] == "guarded"]


def test_a_create_change_set_goes_on_the_stack_waiting_in_review(aws: LocalAws) -> None:
    """AWS: a CREATE change set for a stack in REVIEW_IN_PROGRESS goes on that stack; for any other existing stack it
    is refused (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html)."""
    client = cloudformation()
    body = json.dumps(PRODUCER)
    first = client.create_change_set(
        StackName="waiting", ChangeSetName="plan1", ChangeSetType="CREATE", TemplateBody=body
    )
    second = client.create_change_set(
        StackName="waiting", ChangeSetName="plan2", ChangeSetType="CREATE", TemplateBody=body
    )
    assert first["StackId"] == second["StackId"]
    assert [stack["StackName"] for stack in client.describe_stacks()["Stacks"]] == ["waiting"]
    client.execute_change_set(ChangeSetName=second["Id"])
    stack = client.describe_stacks(StackName="waiting")["Stacks"][0]
    assert (stack["StackId"], stack["StackStatus"]) == (first["StackId"], "CREATE_COMPLETE")
    assert [output["OutputKey"] for output in stack["Outputs"]] == ["KeyArn"]
    with pytest.raises(
        ClientError,
        match=r"ValidationError.*Stack \[waiting\] already exists and cannot be "
        r"created again with the changeSet \[plan3\]",
    ):
        client.create_change_set(StackName="waiting", ChangeSetName="plan3", ChangeSetType="CREATE", TemplateBody=body)


def test_an_update_sets_last_updated_time_and_makes_other_change_sets_obsolete(aws: LocalAws) -> None:
    """AWS: LastUpdatedTime appears after the first update
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html); executing a change set makes
    the stack's others OBSOLETE, and executing one of those is InvalidChangeSetStatus
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ChangeSetSummary.html)."""
    created = _create("stale", json.dumps(PRODUCER))
    assert "LastUpdatedTime" not in created
    client = cloudformation()

    def plan(name: str, description: str) -> str:
        template = {**PRODUCER, "Description": description}
        change_set: str = client.create_change_set(
            StackName="stale", ChangeSetName=name, ChangeSetType="UPDATE", TemplateBody=json.dumps(template)
        )["Id"]
        return change_set

    mine, theirs = plan("mine", "mine"), plan("theirs", "theirs")
    client.execute_change_set(ChangeSetName=theirs)
    stack = client.describe_stacks(StackName="stale")["Stacks"][0]
    assert stack["LastUpdatedTime"] >= stack["CreationTime"]
    assert client.describe_change_set(ChangeSetName=mine)["ExecutionStatus"] == "OBSOLETE"
    with pytest.raises(ClientError) as refused:
        client.execute_change_set(ChangeSetName=mine)
    assert refused.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert "cannot be executed in its current execution status of [OBSOLETE]" in str(refused.value)
    assert client.describe_stacks(StackName="stale")["Stacks"][0]["Description"] == "theirs"


def test_an_operation_while_another_is_in_progress_is_refused(aws: LocalAws) -> None:
    """AWS: while a stack changes it is *_IN_PROGRESS, and another update of it is a ValidationError
    "Stack:<arn> is in UPDATE_IN_PROGRESS state and can not be updated."
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html)."""
    from tests.conftest import moto_stack

    _create("busy", json.dumps(PRODUCER))
    stack = moto_stack("busy")
    stack.status = "UPDATE_IN_PROGRESS"  # as during another request's execution (moto runs one synchronously)
    client = cloudformation()
    with pytest.raises(
        ClientError,
        match=r"ValidationError.*Stack:arn:aws:cloudformation:us-west-2:\d+:stack/busy/"
        r"\S+ is in UPDATE_IN_PROGRESS state and can not be updated\.",
    ):
        client.create_change_set(
            StackName="busy",
            ChangeSetName="second",
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps({**PRODUCER, "Description": "x"}),
        )
    stack.status = "UPDATE_COMPLETE"
    change_set = client.create_change_set(
        StackName="busy",
        ChangeSetName="second",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps({**PRODUCER, "Description": "x"}),
    )
    stack.status = "UPDATE_IN_PROGRESS"
    with pytest.raises(ClientError, match="is in UPDATE_IN_PROGRESS state and can not be updated"):
        client.execute_change_set(ChangeSetName=change_set["Id"])
    stack.status = "UPDATE_COMPLETE"
    assert client.describe_change_set(ChangeSetName=change_set["Id"])["ExecutionStatus"] == "AVAILABLE"
    client.execute_change_set(ChangeSetName=change_set["Id"])


def test_concurrent_executions_of_one_stack_apply_one_and_refuse_the_other(aws: LocalAws) -> None:
    """Two deploys racing (the server answers each in its own thread): exactly one update applies."""
    from concurrent.futures import ThreadPoolExecutor

    _create("race", json.dumps(PRODUCER))
    client = cloudformation()
    change_sets = [
        client.create_change_set(
            StackName="race",
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps({**PRODUCER, "Description": name}),
        )["Id"]
        for name in ("one", "two")
    ]

    def execute(change_set: str) -> str:
        try:
            boto3.client("cloudformation", region_name="us-west-2").execute_change_set(ChangeSetName=change_set)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "executed"

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(execute, change_sets))
    assert results[1] == "executed" and results[0] in ("InvalidChangeSetStatus", "ValidationError"), results


def test_parameters_are_recorded_as_aws_records_them(aws: LocalAws) -> None:
    """AWS: ParameterValue is what was given (lists comma-separated); an SSM parameter type adds ResolvedValue
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html)."""
    child = {
        "Parameters": {
            "ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"},
            "Zones": {"Type": "CommaDelimitedList"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    root = {
        "Parameters": {"Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}},
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": _upload(aws, "params.json", child),
                    "Parameters": {"ImageId": AMI_NAME, "Zones": "a,b"},
                },
            }
        },
    }
    _create("params", json.dumps(root))
    client = cloudformation()
    child_id = client.describe_stack_resource(StackName="params", LogicalResourceId="Child")["StackResourceDetail"][
        "PhysicalResourceId"
    ]
    recorded = {
        parameter["ParameterKey"]: parameter
        for parameter in client.describe_stacks(StackName=child_id)["Stacks"][0]["Parameters"]
    }
    published = boto3.client("ssm", region_name="us-west-2").get_parameter(Name=AMI_NAME)["Parameter"]["Value"]
    assert recorded["ImageId"] == {"ParameterKey": "ImageId", "ParameterValue": AMI_NAME, "ResolvedValue": published}
    assert recorded["Zones"] == {"ParameterKey": "Zones", "ParameterValue": "a,b"}
    root_zones = client.describe_stacks(StackName="params")["Stacks"][0]["Parameters"]
    assert root_zones == [{"ParameterKey": "Zones", "ParameterValue": "a,b"}]


def test_a_deny_statement_whose_condition_does_not_match_denies_nothing(aws: LocalAws) -> None:
    """AWS: "Deny unless TLS" denies nothing over TLS (the emulator stands for AWS's HTTPS endpoints), and a Deny
    whose condition matches denies
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html)."""
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.create_bucket(Bucket="guarded", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="guarded", Key="k", Body=b"x")

    def deny_when(condition: dict[str, Any]) -> None:
        s3.put_bucket_policy(
            Bucket="guarded",
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": "arn:aws:s3:::guarded/*",
                            "Condition": condition,
                        }
                    ],
                }
            ),
        )

    deny_when({"Bool": {"aws:SecureTransport": "false"}})
    assert s3.head_object(Bucket="guarded", Key="k")["ContentLength"] == 1
    deny_when({"Bool": {"aws:SecureTransport": "true"}})
    with pytest.raises(ClientError, match="403"):
        s3.head_object(Bucket="guarded", Key="k")


def test_types_with_a_moto_backend_are_created_in_it(aws: LocalAws) -> None:
    """AWS: each resource exists in its service, as the template says; the emulator creates these through the
    services' APIs (resource_handlers), so boto3 finds them."""
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Email": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.com"},
        },
        "TopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": "Topic"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": "Topic"},
                        }
                    ],
                },
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "cpu-high",
                "Namespace": "AWS/ECS",
                "MetricName": "CPUUtilization",
                "Statistic": "Average",
                "Period": "60",
                "EvaluationPeriods": "3",
                "Threshold": "80",
                "ComparisonOperator": "GreaterThanThreshold",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
        "Repository": {"Type": "AWS::CodeCommit::Repository", "Properties": {"RepositoryName": "source"}},
        "Cluster": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "Engine": "aurora-postgresql",
                "MasterUsername": "app",
                "ManageMasterUserPassword": True,
                "Port": 5432,
            },
        },
        "Writer": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {
                "DBClusterIdentifier": {"Ref": "Cluster"},
                "DBInstanceClass": "db.t4g.medium",
                "Engine": "aurora-postgresql",
            },
        },
    }
    outputs = {
        "Endpoint": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Address"]}},
        "Port": {"Value": {"Fn::GetAtt": ["Cluster", "Endpoint.Port"]}},
        "RepositoryArn": {"Value": {"Fn::GetAtt": ["Repository", "Arn"]}},
    }
    stack = _create("handled", json.dumps({"Resources": resources, "Outputs": outputs}))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert local_aws.stand_ins("us-west-2") == {}
    topic = boto3.client("sns", region_name="us-west-2").list_topics()["Topics"][0]["TopicArn"]
    alarm = boto3.client("cloudwatch", region_name="us-west-2").describe_alarms()["MetricAlarms"][0]
    assert (alarm["AlarmName"], alarm["AlarmActions"], alarm["EvaluationPeriods"]) == ("cpu-high", [topic], 3)
    sns = boto3.client("sns", region_name="us-west-2")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(entry["Protocol"], entry["Endpoint"]) for entry in subscriptions] == [("email", "ops@example.com")]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    rds = boto3.client("rds", region_name="us-west-2")
    cluster = rds.describe_db_clusters()["DBClusters"][0]
    assert [member["DBInstanceIdentifier"] for member in cluster["DBClusterMembers"]] == [
        rds.describe_db_instances()["DBInstances"][0]["DBInstanceIdentifier"]
    ]
    assert {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]} == {
        "Endpoint": cluster["Endpoint"],
        "Port": "5432",
        "RepositoryArn": boto3.client("codecommit", region_name="us-west-2").get_repository(repositoryName="source")[
            "repositoryMetadata"
        ]["Arn"],
    }
    cloudformation().delete_stack(StackName="handled")
    assert boto3.client("cloudwatch", region_name="us-west-2").describe_alarms()["MetricAlarms"] == []


# Deleting stacks -------------------------------------------------------------------------------------------------------


def _resource_events(stack: str) -> list[tuple[str, str]]:
    """(logical id, status) of a stack's events (deleted stacks by id), oldest first, without the stack's own."""
    events = cloudformation().describe_stack_events(StackName=stack)["StackEvents"]
    return [
        (event["LogicalResourceId"], event["ResourceStatus"])
        for event in reversed(events)
        if event["ResourceType"] != "AWS::CloudFormation::Stack" or event["PhysicalResourceId"] != event["StackId"]
    ]


def test_a_deleted_stack_goes_in_reverse_dependency_order_with_its_nested_stacks(aws: LocalAws) -> None:
    """AWS: "When you delete a stack, CloudFormation deletes the nested stacks along with it"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html), what refers to a
    resource before that resource, each with DELETE_IN_PROGRESS and DELETE_COMPLETE; a retained resource is
    DELETE_SKIPPED and stays
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html)."""
    root = _root_yaml(_upload(aws, "producer.json", PRODUCER), _upload(aws, "consumer.json", CONSUMER))
    kept = "\n  Kept:\n    Type: AWS::SNS::Topic\n    DeletionPolicy: Retain\n"
    root_id = _create("tree", root.replace("\nOutputs:", kept + "Outputs:"))["StackId"]
    client = cloudformation()
    children = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for summary in client.list_stack_resources(StackName="tree")["StackResourceSummaries"]
        if summary["ResourceType"] == "AWS::CloudFormation::Stack"
    }
    assert all(child.startswith("arn:aws:cloudformation:us-west-2:") for child in children.values()), children
    client.delete_stack(StackName="tree")
    events = _resource_events(root_id)
    assert events.index(("Consumer", "DELETE_COMPLETE")) < events.index(("Producer", "DELETE_IN_PROGRESS")), events
    assert ("Kept", "DELETE_SKIPPED") in events and ("Kept", "DELETE_IN_PROGRESS") not in events
    assert _resource_events(children["Producer"]) == [("Key", "DELETE_IN_PROGRESS"), ("Key", "DELETE_COMPLETE")]
    statuses = {summary["StackName"]: summary["StackStatus"] for summary in client.list_stacks()["StackSummaries"]}
    assert sorted(statuses.values()) == ["DELETE_COMPLETE"] * 3, statuses
    listed = client.list_stack_resources(StackName=root_id)["StackResourceSummaries"]
    assert {summary["LogicalResourceId"]: summary["ResourceStatus"] for summary in listed} == {
        "Producer": "DELETE_COMPLETE",
        "Consumer": "DELETE_COMPLETE",
        "Kept": "DELETE_SKIPPED",
    }
    assert len(client.list_stacks()["StackSummaries"]) == 3, "listing a deleted stack re-creates nothing"
    assert len(boto3.client("sns", region_name="us-west-2").list_topics()["Topics"]) == 1, "retained"


def test_a_resource_that_fails_to_delete_leaves_the_stack_delete_failed(aws: LocalAws) -> None:
    """AWS: a resource that cannot be deleted (here a bucket that is not empty) is DELETE_FAILED, the stack ends
    DELETE_FAILED and stays, and deleting it again once the cause is gone finishes the deletion
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/troubleshooting.html#troubleshooting-errors-delete-stack-fails)."""
    stack_id = _create("full", json.dumps({"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}))["StackId"]
    client = cloudformation()
    bucket = client.describe_stack_resource(StackName="full", LogicalResourceId="Bucket")["StackResourceDetail"]
    s3 = boto3.client("s3", region_name="us-west-2")
    s3.put_object(Bucket=bucket["PhysicalResourceId"], Key="data", Body=b"x")
    client.delete_stack(StackName="full")
    stack = client.describe_stacks(StackName="full")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert _events(stack_id)[-2][:2] == ("Bucket", "DELETE_FAILED") and "BucketNotEmpty" in _events(stack_id)[-2][2]
    assert _events(stack_id)[-1][2] == "The following resource(s) failed to delete: [Bucket]. "
    s3.delete_object(Bucket=bucket["PhysicalResourceId"], Key="data")
    client.delete_stack(StackName="full")
    assert client.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert s3.list_buckets()["Buckets"] == []


def test_update_stack_and_delete_stack_are_refused_while_another_operation_runs(aws: LocalAws) -> None:
    """AWS: UpdateStack on a stack in progress is a ValidationError "Stack:<arn> is in UPDATE_IN_PROGRESS state and
    can not be updated."; DeleteStack is a ValidationError "Stack [<arn>] cannot be deleted while in status
    UPDATE_IN_PROGRESS"; DeleteStack of a stack being deleted changes nothing
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html)."""
    from tests.conftest import moto_stack

    _create("busy", json.dumps(PRODUCER))
    stack = moto_stack("busy")
    stack.status = "UPDATE_IN_PROGRESS"  # as during another request's execution (moto runs one synchronously)
    client = cloudformation()
    with pytest.raises(
        ClientError, match=r"Stack:\S+/busy/\S+ is in UPDATE_IN_PROGRESS state and can not be updated\."
    ):
        client.update_stack(StackName="busy", TemplateBody=json.dumps({**PRODUCER, "Description": "x"}))
    with pytest.raises(
        ClientError,
        match=r"ValidationError.*Stack \[\S+/busy/\S+\] cannot be deleted while in status UPDATE_IN_PROGRESS",
    ):
        client.delete_stack(StackName="busy")
    stack.status = "DELETE_IN_PROGRESS"
    client.delete_stack(StackName="busy")
    assert moto_stack("busy").status == "DELETE_IN_PROGRESS", "the second DeleteStack did nothing"
    stack.status = "CREATE_COMPLETE"
    client.update_stack(StackName="busy", TemplateBody=json.dumps({**PRODUCER, "Description": "x"}))
    assert client.describe_stacks(StackName="busy")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    client.delete_stack(StackName="busy")
    assert client.describe_stacks(StackName=stack.stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"


NETWORK = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"}},
        "Gateway": {"Type": "AWS::EC2::InternetGateway"},
        "Attachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Gateway"}},
        },
        "Address": {"Type": "AWS::EC2::EIP", "DependsOn": "Attachment", "Properties": {"Domain": "vpc"}},
        "Nat": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {"SubnetId": {"Ref": "Subnet"}, "AllocationId": {"Fn::GetAtt": ["Address", "AllocationId"]}},
        },
        "Table": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Route": {
            "Type": "AWS::EC2::Route",
            "Properties": {
                "RouteTableId": {"Ref": "Table"},
                "DestinationCidrBlock": "0.0.0.0/0",
                "NatGatewayId": {"Ref": "Nat"},
            },
        },
        "Association": {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
        },
        "Endpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "ServiceName": "com.amazonaws.us-west-2.s3",
                "VpcEndpointType": "Gateway",
                "RouteTableIds": [{"Ref": "Table"}],
            },
        },
    },
    "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}}},
}


def test_a_deleted_nat_gateway_takes_its_network_interface_so_the_vpc_goes(aws: LocalAws) -> None:
    """AWS: deleting a NAT gateway deletes its network interface
    (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-working-with.html#nat-gateway-deleting), and every
    resource of a deleted stack is deleted through its service: the VPC and all in it go."""
    stack = _create("network", json.dumps(NETWORK))
    vpc = stack["Outputs"][0]["OutputValue"]
    ec2 = boto3.client("ec2", region_name="us-west-2")
    assert ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"]
    cloudformation().delete_stack(StackName="network")
    assert cloudformation().describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert vpc not in [found["VpcId"] for found in ec2.describe_vpcs()["Vpcs"]]
    assert ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NetworkInterfaces"] == []
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    assert [gateway["State"] for gateway in ec2.describe_nat_gateways()["NatGateways"]] == ["deleted"]


def test_generated_names_are_lower_case_where_aws_requires_it(aws: LocalAws) -> None:
    """AWS: a repository (or bucket) without a name gets a generated one, lower case as ECR and S3 require
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecr-repository.html#cfn-ecr-repository-repositoryname,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html#cfn-s3-bucket-bucketname)."""
    template = {"Resources": {"Images": {"Type": "AWS::ECR::Repository"}, "Files": {"Type": "AWS::S3::Bucket"}}}
    _create("Mixed-Case", json.dumps(template))
    client = cloudformation()
    names = {
        summary["LogicalResourceId"]: summary["PhysicalResourceId"]
        for summary in client.list_stack_resources(StackName="Mixed-Case")["StackResourceSummaries"]
    }
    assert re.fullmatch(r"mixed-case-images-[a-z0-9]{12}", names["Images"]), names
    assert re.fullmatch(r"mixed-case-files-[a-z0-9]{12}", names["Files"]), names
    repositories = boto3.client("ecr", region_name="us-west-2").describe_repositories()["repositories"]
    assert [repository["repositoryName"] for repository in repositories] == [names["Images"]]


def test_a_kms_key_without_a_key_policy_gets_the_default_one(aws: LocalAws) -> None:
    """AWS: KeyPolicy is optional; without it the key gets the default key policy, the account's root principal
    allowed kms:* (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)."""
    stack = _create("keys", json.dumps({"Resources": {"Key": {"Type": "AWS::KMS::Key"}}}))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    key = cloudformation().describe_stack_resource(StackName="keys", LogicalResourceId="Key")["StackResourceDetail"]
    kms = boto3.client("kms", region_name="us-west-2")
    policy = json.loads(kms.get_key_policy(KeyId=key["PhysicalResourceId"], PolicyName="default")["Policy"])
    assert policy["Statement"] == [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]


CUSTOM = {
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    raise RuntimeError('never runs here')\n"},
            },
        },
        "Invoke": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": "Function"},
                "Action": "lambda:InvokeFunction",
                "Principal": "cloudformation.amazonaws.com",
            },
        },
        "Users": {
            "Type": "Custom::DatabaseUsers",
            "DependsOn": "Invoke",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]}, "Users": ["api"]},
        },
        "Legacy": {
            "Type": "AWS::CloudFormation::CustomResource",
            "Properties": {"ServiceToken": {"Fn::GetAtt": ["Function", "Arn"]}},
        },
    },
    "Outputs": {
        "SecretArn": {"Value": {"Fn::GetAtt": ["Users", "SecretArn"]}},
        "Legacy": {"Value": {"Ref": "Legacy"}},
    },
}


def test_a_custom_resource_is_a_listed_placeholder_and_its_function_is_created(aws: LocalAws) -> None:
    """AWS runs a custom resource's function and answers Fn::GetAtt from its response
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources.html); the emulator
    creates the function (inline code included, without Docker) but runs nothing, and says so."""
    stack = _create("custom", json.dumps(CUSTOM))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    assert outputs == {
        "SecretArn": "arn:aws:not-emulated:us-west-2:123456789012:Users:SecretArn",
        "Legacy": "not-emulated:Legacy",
    }
    function = cloudformation().describe_stack_resource(StackName="custom", LogicalResourceId="Function")
    name = function["StackResourceDetail"]["PhysicalResourceId"]
    configuration = boto3.client("lambda", region_name="us-west-2").get_function(FunctionName=name)["Configuration"]
    assert configuration["Runtime"] == "python3.12"
    reasons = {event[0]: event[2] for event in _events("custom")}
    assert reasons["Users"].startswith(
        "not run: the local AWS emulator (moto) does not run the code behind Custom::DatabaseUsers"
    )
    assert local_aws.stand_ins("us-west-2") == {
        "AWS::CloudFormation::CustomResource": ["custom: Legacy"],
        "Custom::DatabaseUsers": ["custom: Users"],
    }
    cloudformation().delete_stack(StackName="custom")
    assert cloudformation().describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"


# The patches, kept like a library ------------------------------------------------------------------------------------


def test_every_patch_says_what_it_corrects_what_aws_does_and_names_a_test_that_exists() -> None:
    from cfngen.local import patches

    tests = {path.stem: path.read_text() for path in (ROOT / "tests").glob("test_*.py")}
    for patch in patches._patches():
        doc = patch.__doc__ or ""
        assert "Emulator:" in doc and "AWS:" in doc and "https://docs.aws.amazon.com/" in doc, patch.__name__
        named = re.findall(r"tests/(test_\w+)\.py::(test_\w+)", doc.split("Test:", 1)[1])
        assert named, patch.__name__
        for module, test in named:
            assert f"def {test}(" in tests[module], f"{patch.__name__} names {module}::{test}, which does not exist"
        assert patch.TARGETS, patch.__name__


def test_importing_cfngen_and_using_the_deployer_patches_nothing() -> None:
    """In a fresh process: import cfngen (and its emulator package), run the Deployer against moto's in-process mock;
    moto stays as released (every patched function's source digest as recorded), and nothing was applied."""
    script = """
import warnings
import cfngen, cfngen.local, cfngen.cli
from cfngen.deploy import Deployer
from moto import mock_aws
from cfngen.local import patches
with mock_aws(), warnings.catch_warnings():
    warnings.simplefilter("ignore")
    try:
        Deployer(region="us-east-1", poll_s=0.01, timeout_s=5).bootstrap()
    except Exception as exc:
        print("deployer:", type(exc).__name__)
print("applied:", patches.applied())
print("problems:", patches.problems())
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    assert "applied: False\nproblems: []\n" in result.stdout, result.stdout + result.stderr


def test_a_patched_function_that_is_missing_or_changed_refuses_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from cfngen.errors import UsageError
    from cfngen.local import patches

    fake = SimpleNamespace(
        __name__="cfngen.local.patches.fake",
        TARGETS=(
            patches.Target("moto.cloudformation.models:ChangeSet.renamed_apply", "0123456789abcdef"),
            patches.Target("moto.cloudformation.utils:random_suffix", "0123456789abcdef"),
        ),
    )
    monkeypatch.setattr(patches, "_patches", lambda: (fake,))
    with pytest.raises(UsageError) as refused:
        patches.check()
    message = str(refused.value)
    assert message.startswith(
        "the local AWS emulator cannot start: cfngen's corrections to moto were verified on moto 5.2.6, and with moto "
    )
    assert message.endswith("; install a verified release (pip install 'moto[server]==5.2.6')")
    assert (
        "moto.cloudformation.models:ChangeSet.renamed_apply (patched by cfngen.local.patches.fake) is missing"
        in message
    )
    assert re.search(
        r"moto.cloudformation.utils:random_suffix \(patched by cfngen.local.patches.fake\) changed "
        r"\(source digest [0-9a-f]{16}, expected 0123456789abcdef\)",
        message,
    )
    monkeypatch.setattr(patches.metadata, "version", lambda name: "5.2.7")
    monkeypatch.setattr(patches, "_patches", lambda: ())
    with pytest.raises(
        UsageError, match=r"verified on moto 5.2.6, and with moto 5.2.7: moto 5.2.7 is not a verified release;"
    ):
        patches.check()


def test_setup_cfg_allows_exactly_the_moto_releases_the_digests_were_verified_on() -> None:
    import configparser

    from packaging.requirements import Requirement

    from cfngen.local import patches

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    for extra in ("local", "test"):
        (moto,) = [
            Requirement(line)
            for line in config["options.extras_require"][extra].split("\n")
            if line.strip().startswith("moto")
        ]
        assert {spec.version for spec in moto.specifier if spec.operator == "=="} == set(patches.VERIFIED_MOTO), extra
        assert all(spec.operator == "==" for spec in moto.specifier), extra


# The emulator answers only the developer (issue 21) ------------------------------------------------------------------


def _raw(aws: LocalAws, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with the headers a browser page would send (boto3 would set Host itself)."""
    import http.client

    port = int(aws.endpoint_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection(local_aws.LOOPBACK, port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_a_request_for_another_host_name_is_refused_dns_rebinding(aws: LocalAws) -> None:
    """A page of attacker.example whose name now resolves to 127.0.0.1 sends `Host: attacker.example`."""
    port = aws.endpoint_url.rsplit(":", 1)[1]
    status, _, body = _raw(aws, "GET", "/", {"Host": f"attacker.example:{port}"})
    assert (status, body) == (
        403,
        b"the local AWS emulator answers only requests addressed to localhost or 127.0.0.1\n",
    )
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"bucket.localhost:{port}"):
        assert _raw(aws, "GET", "/", {"Host": host})[0] != 403, host  # (404: moto has no such bucket)


def test_no_cors_header_lets_a_page_read_an_answer(aws: LocalAws) -> None:
    port = aws.endpoint_url.rsplit(":", 1)[1]
    origin = {"Host": f"localhost:{port}", "Origin": "https://attacker.example"}
    status, headers, _ = _raw(aws, "GET", "/", origin)
    assert status == 200
    assert not [name for name in headers if name.startswith("access-control-")], headers
    preflight = {**origin, "Access-Control-Request-Method": "POST"}
    status, headers, _ = _raw(aws, "OPTIONS", "/", preflight)
    assert status == 403 and "access-control-allow-origin" not in headers


def test_the_management_endpoints_are_off_unless_asked_for(aws: LocalAws) -> None:
    port = aws.endpoint_url.rsplit(":", 1)[1]
    host = {"Host": f"localhost:{port}"}
    for method, path in (
        ("GET", "/moto-api/data.json"),
        ("POST", "/moto-api/reset"),
        ("POST", "/moto-api/recorder/start-recording"),
        ("GET", "/moto-api/recorder/download-recording"),
    ):
        assert _raw(aws, method, path, host)[0] == 404, path
    with LocalAws(management=True) as managed:
        port = managed.endpoint_url.rsplit(":", 1)[1]
        assert _raw(managed, "GET", "/moto-api/data.json", {"Host": f"localhost:{port}"})[0] == 200


def test_lambda_functions_do_not_run_in_docker_unless_asked_for(aws: LocalAws) -> None:
    """moto would start a Docker container for an Invoke (running the function's code) where Docker exists."""
    iam = boto3.client("iam", region_name="us-west-2")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = boto3.client("lambda", region_name="us-west-2")
    functions.create_function(
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": b"not run"}
    )
    answer = functions.invoke(FunctionName="fn", Payload=b"")
    assert answer["Payload"].read() == b"Simple Lambda happy path OK"


def test_a_resource_removed_and_added_back_is_created_anew(aws: LocalAws) -> None:
    """AWS: a resource removed from the template is deleted, and one added back later is a new resource
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html)."""
    url = _upload(aws, "producer.json", PRODUCER)
    child = {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": url}}
    topic = {"Type": "AWS::SNS::Topic"}
    _create("readded", json.dumps({"Resources": {"Topic": topic, "Child": child}}))
    client = cloudformation()

    def update(name: str, resources: dict[str, Any]) -> None:
        change_set = client.create_change_set(
            StackName="readded",
            ChangeSetName=name,
            ChangeSetType="UPDATE",
            TemplateBody=json.dumps({"Resources": resources}),
        )
        client.execute_change_set(ChangeSetName=change_set["Id"])

    first = client.describe_stack_resource(StackName="readded", LogicalResourceId="Child")["StackResourceDetail"]
    update("remove", {"Topic": topic})
    update("add-back", {"Topic": topic, "Child": child})
    again = client.describe_stack_resource(StackName="readded", LogicalResourceId="Child")["StackResourceDetail"]
    assert again["PhysicalResourceId"] != first["PhysicalResourceId"]
    child_stack = client.describe_stacks(StackName=again["PhysicalResourceId"])["Stacks"][0]
    assert child_stack["StackStatus"] == "CREATE_COMPLETE"


def test_an_added_resource_reads_the_updated_output_of_a_modified_one(aws: LocalAws) -> None:
    """AWS: an update creates or updates what a resource refers to before it (here: the producer's new output before
    the consumer added in the same update), (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html)."""
    producer = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {}}
    grown = {**producer, "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}}}
    consumer = {
        "Parameters": {"TopicArn": {"Type": "String"}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"Used": {"Value": {"Ref": "TopicArn"}}},
    }

    def root(producer_url: str, with_consumer: bool) -> dict[str, Any]:
        resources: dict[str, Any] = {
            "Producer": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": producer_url}}
        }
        if with_consumer:
            resources["Consumer"] = {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {
                    "TemplateURL": _upload(aws, "consumer.json", consumer),
                    "Parameters": {"TopicArn": {"Fn::GetAtt": ["Producer", "Outputs.TopicArn"]}},
                },
            }
        return {"Resources": resources}

    _create("ordered-update", json.dumps(root(_upload(aws, "producer.json", producer), False)))
    client = cloudformation()
    change_set = client.create_change_set(
        StackName="ordered-update",
        ChangeSetName="both",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(root(_upload(aws, "grown.json", grown), True)),
    )
    client.execute_change_set(ChangeSetName=change_set["Id"])
    assert client.describe_stacks(StackName="ordered-update")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    consumer_id = client.describe_stack_resource(StackName="ordered-update", LogicalResourceId="Consumer")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]
    used = client.describe_stacks(StackName=consumer_id)["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert used.startswith("arn:aws:sns:us-west-2:")


def test_a_pipeline_and_its_build_project_are_created_as_the_template_says(aws: LocalAws) -> None:
    """AWS: a CodeBuild project with a CODEPIPELINE source and artifacts has no location
    (https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectSource.html), and a pipeline's role may list
    its service principals (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html);
    the pipeline exists with its stages and role."""

    def role(service: str) -> dict[str, Any]:
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["sts:AssumeRole"], "Principal": {"Service": [service]}}
                    ],
                }
            },
        }

    artifacts = {"Type": "AWS::S3::Bucket"}
    action = {
        "Name": "Build",
        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
        "Configuration": {"ProjectName": {"Ref": "Project"}},
        "InputArtifacts": [{"Name": "Source"}],
        "OutputArtifacts": [{"Name": "Built"}],
        "RunOrder": "1",
    }
    source = {
        "Name": "Source",
        "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
        "Configuration": {"S3Bucket": {"Ref": "Artifacts"}, "S3ObjectKey": "source.zip"},
        "OutputArtifacts": [{"Name": "Source"}],
    }
    resources = {
        "Artifacts": artifacts,
        "BuildRole": role("codebuild.amazonaws.com"),
        "PipelineRole": role("codepipeline.amazonaws.com"),
        "Project": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {
                "Name": "build",
                "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]},
                "Source": {"Type": "CODEPIPELINE", "BuildSpec": "version: 0.2"},
                "Artifacts": {"Type": "CODEPIPELINE"},
                "Environment": {
                    "Type": "LINUX_CONTAINER",
                    "ComputeType": "BUILD_GENERAL1_SMALL",
                    "Image": "aws/codebuild/standard:7.0",
                },
            },
        },
        "Pipeline": {
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {
                "Name": "delivery",
                "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
                "ArtifactStore": {"Type": "S3", "Location": {"Ref": "Artifacts"}},
                "Stages": [{"Name": "Source", "Actions": [source]}, {"Name": "Build", "Actions": [action]}],
            },
        },
    }
    assert _create("delivery", json.dumps({"Resources": resources}))["StackStatus"] == "CREATE_COMPLETE"
    pipeline = boto3.client("codepipeline", region_name="us-west-2").get_pipeline(name="delivery")["pipeline"]
    assert [stage["name"] for stage in pipeline["stages"]] == ["Source", "Build"]
    assert pipeline["stages"][1]["actions"][0]["configuration"] == {"ProjectName": "build"}
    assert ":role/delivery-PipelineRole-" in pipeline["roleArn"]
    project = boto3.client("codebuild", region_name="us-west-2").batch_get_projects(names=["build"])["projects"][0]
    assert project["source"]["type"] == "CODEPIPELINE" and ":role/delivery-BuildRole-" in project["serviceRole"]


def test_import_existing_resources_adopts_a_retained_repository(aws: LocalAws) -> None:
    """AWS: with ImportExistingResources a change set adopts an existing resource of the template's custom name;
    without it the create fails "already exists"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html)."""
    template = json.dumps(
        {
            "Resources": {
                "Images": {
                    "Type": "AWS::ECR::Repository",
                    "DeletionPolicy": "Retain",
                    "Properties": {"RepositoryName": "kept/images"},
                }
            }
        }
    )
    _create("first", template)
    cloudformation().delete_stack(StackName="first")
    arn = boto3.client("ecr", region_name="us-west-2").describe_repositories()["repositories"][0]["repositoryArn"]
    assert _create("plain", template)["StackStatus"] == "ROLLBACK_COMPLETE"
    client = cloudformation()
    change_set = client.create_change_set(
        StackName="adopting",
        ChangeSetName="first",
        ChangeSetType="CREATE",
        TemplateBody=template,
        ImportExistingResources=True,
    )
    client.execute_change_set(ChangeSetName=change_set["Id"])
    assert client.describe_stacks(StackName="adopting")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    adopted = client.describe_stack_resource(StackName="adopting", LogicalResourceId="Images")["StackResourceDetail"]
    assert adopted["PhysicalResourceId"] == "kept/images"
    assert (
        boto3.client("ecr", region_name="us-west-2").describe_repositories()["repositories"][0]["repositoryArn"] == arn
    )

"""The embedded emulator's extensions to moto, each checked through the AWS API as a client sees it."""

from __future__ import annotations

import argparse
import json
import re
import socket
import threading
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError
import pytest

from cfngen import local as local_aws
from cfngen.cli import local_aws as local_aws_command
from cfngen.cli import main
from cfngen.local import LocalAws
from tests.conftest import cloudformation

PRODUCER = {"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}}},
            "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}}
CONSUMER = {"Parameters": {"KeyArn": {"Type": "String"}},
            "Resources": {"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Ref": "KeyArn"}}}},
            "Outputs": {"UsedKey": {"Value": {"Ref": "KeyArn"}}}}


def _upload(aws: LocalAws, name: str, template: dict[str, Any]) -> str:
    s3 = boto3.client("s3", region_name="us-west-2")
    if not s3.list_buckets()["Buckets"]:
        s3.create_bucket(Bucket="templates", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="templates", Key=name, Body=json.dumps(template).encode())
    return f"{aws.endpoint_url}/templates/{name}"


def _create(name: str, body: str) -> dict[str, Any]:
    client = cloudformation()
    change_set = client.create_change_set(StackName=name, ChangeSetName="first", ChangeSetType="CREATE",
                                          TemplateBody=body, IncludeNestedStacks=True)
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
    template = {"Resources": {
        "Provider": {"Type": "AWS::WAFv2::IPSet", "Properties": {"Addresses": [], "IPAddressVersion": "IPV4",
                                                                 "Scope": "REGIONAL"}},
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::GetAtt": ["Provider", "Arn"]}}},
    }, "Outputs": {"ProviderName": {"Value": {"Ref": "Provider"}}}}
    stack = _create("placeholders", json.dumps(template))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "not-emulated:Provider"
    events = cloudformation().describe_stack_events(StackName="placeholders")["StackEvents"]
    reasons = {event["LogicalResourceId"]: event.get("ResourceStatusReason", "") for event in events}
    assert "does not model AWS::WAFv2::IPSet" in reasons["Provider"]
    groups = boto3.client("logs", region_name="us-west-2").describe_log_groups()["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["not-emulated:Provider.Arn"]


def _group(source: str | None) -> dict[str, Any]:
    """A security group; with `source`, an ingress rule from that group (moto refuses a group it does not know)."""
    rules = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": source}] if source else []
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": rules}}


def _events(stack: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of a stack's events, oldest first."""
    events = cloudformation().describe_stack_events(StackName=stack)["StackEvents"]
    return [(event["LogicalResourceId"], event["ResourceStatus"], event.get("ResourceStatusReason", ""))
            for event in reversed(events)]


def test_a_resource_that_fails_to_create_rolls_the_stack_back(aws: LocalAws) -> None:
    """AWS: a resource that fails makes the create fail and roll back to ROLLBACK_COMPLETE, deleting what it made
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.html)."""
    stack = _create("tolerant", json.dumps({"Resources": {"Fine": _group(None), "Broken": _group("sg-unknown")}}))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    events = _events("tolerant")
    assert ("Broken", "CREATE_FAILED",
            "InvalidGroup.NotFound: The security group 'sg-unknown' does not exist") in events
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
        change_set = client.create_change_set(StackName="updated", ChangeSetName=name, ChangeSetType="UPDATE",
                                              TemplateBody=json.dumps({"Resources": resources}))
        client.execute_change_set(ChangeSetName=change_set["Id"])
        status: str = client.describe_stacks(StackName="updated")["Stacks"][0]["StackStatus"]
        return status

    assert update("bad", {"Fine": _group(None), "Added": _group("sg-unknown")}) == "UPDATE_ROLLBACK_COMPLETE"
    assert ("Added", "CREATE_FAILED", "InvalidGroup.NotFound: The security group 'sg-unknown' does not exist") \
        in _events("updated")
    assert client.get_template(StackName="updated")["TemplateBody"] == {"Resources": {"Fine": _group(None)}}
    after = client.describe_stack_resource(StackName="updated", LogicalResourceId="Fine")["StackResourceDetail"]
    assert after["PhysicalResourceId"] == before["PhysicalResourceId"]
    assert update("good", {"Fine": _group(None), "Other": _group(None)}) == "UPDATE_COMPLETE"


def test_a_template_error_is_still_an_error(aws: LocalAws) -> None:
    broken = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                     "Properties": {"LogGroupName": {"Fn::GetAtt": ["Missing", "Arn"]}}}}}
    with pytest.raises(Exception, match="undefined resource Missing"):
        _create("broken-ref", json.dumps(broken))
    assert local_aws.summary({}) == "the local emulator created every resource"


def test_an_executed_change_set_leaves_its_template_and_outputs_on_the_stack(aws: LocalAws) -> None:
    body = json.dumps(PRODUCER)
    stack = _create("recorded", body)
    assert [output["OutputKey"] for output in stack["Outputs"]] == ["KeyArn"]
    client = cloudformation()
    assert client.get_template(StackName="recorded")["TemplateBody"] == PRODUCER
    again = client.create_change_set(StackName="recorded", ChangeSetName="again", ChangeSetType="UPDATE",
                                      TemplateBody=body)
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
    args = argparse.Namespace(port=0, region="eu-west-1")
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
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1",
                          aws_access_key_id="x", aws_secret_access_key="y")
        assert "Buckets" in s3.list_buckets()
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()


def test_a_nested_stack_is_updated_in_place(aws: LocalAws) -> None:
    child = {"Parameters": {"Note": {"Type": "String"}},
             "Resources": {"Images": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                                      "Properties": {"RepositoryName": "fixed/name"}}},
             "Outputs": {"Note": {"Value": {"Ref": "Note"}}}}
    url = _upload(aws, "child.json", child)

    def root(note: str) -> str:
        return json.dumps({"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": url, "Parameters": {"Note": note}}}}})

    _create("inplace", root("first"))
    client = cloudformation()
    before = client.describe_stack_resource(StackName="inplace", LogicalResourceId="Child")
    update = client.create_change_set(StackName="inplace", ChangeSetName="second", ChangeSetType="UPDATE",
                                      TemplateBody=root("second"))
    client.execute_change_set(ChangeSetName=update["Id"])
    after = client.describe_stack_resource(StackName="inplace", LogicalResourceId="Child")
    child_id = after["StackResourceDetail"]["PhysicalResourceId"]
    assert child_id == before["StackResourceDetail"]["PhysicalResourceId"]
    outputs = client.describe_stacks(StackName=child_id)["Stacks"][0]["Outputs"]
    assert outputs == [{"OutputKey": "Note", "OutputValue": "second"}]


AMI_NAME = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"


def test_an_ssm_parameter_name_stays_a_name_and_its_value_resolves_in_the_child(aws: LocalAws) -> None:
    child = {"Parameters": {"ImageId": {"Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"}},
             "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
             "Outputs": {"ImageId": {"Value": {"Ref": "ImageId"}}}}
    root = {"Parameters": {"ImageName": {"Type": "AWS::SSM::Parameter::Name", "Default": AMI_NAME}},
            "Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
                "TemplateURL": _upload(aws, "ami.json", child), "Parameters": {"ImageId": {"Ref": "ImageName"}}}}},
            "Outputs": {"ImageName": {"Value": {"Ref": "ImageName"}},
                        "ImageId": {"Value": {"Fn::GetAtt": ["Child", "Outputs.ImageId"]}}}}
    stack = _create("ssm", json.dumps(root))
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    published = boto3.client("ssm", region_name="us-west-2").get_parameter(Name=AMI_NAME)["Parameter"]["Value"]
    assert outputs == {"ImageName": AMI_NAME, "ImageId": published}
    assert published.startswith("ami-")


def test_a_missing_ssm_parameter_is_a_validation_error(aws: LocalAws) -> None:
    root = {"Parameters": {"ImageName": {"Type": "AWS::SSM::Parameter::Name", "Default": "/no/such/parameter"}},
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    with pytest.raises(ClientError, match=r"ValidationError.*Unable to fetch parameters \[/no/such/parameter\]"):
        _create("no-ssm", json.dumps(root))


def test_a_placeholder_passes_into_a_number_parameter(aws: LocalAws) -> None:
    child = {"Parameters": {"Port": {"Type": "Number"}}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
             "Outputs": {"Port": {"Value": {"Ref": "Port"}}}}
    root = {"Resources": {
        "Endpoint": {"Type": "AWS::DAX::Cluster", "Properties": {}},  # a type moto does not model
        "Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
            "TemplateURL": _upload(aws, "port.json", child),
            "Parameters": {"Port": {"Fn::GetAtt": ["Endpoint", "ClusterDiscoveryEndpointPort"]}}}}},
        "Outputs": {"Port": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Port"]}}}}
    stack = _create("numbers", json.dumps(root))
    assert stack["Outputs"] == [{"OutputKey": "Port",
                                 "OutputValue": "not-emulated:Endpoint.ClusterDiscoveryEndpointPort"}]


def test_a_network_load_balancer_takes_tcp_listeners_and_missing_attributes_stand_in(aws: LocalAws) -> None:
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.0.0.0/24"}},
        "Balancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                     "Properties": {"Type": "network", "Subnets": [{"Ref": "Subnet"}]}},
        "Targets": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Name": "blue", "Port": 80, "Protocol": "TCP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Balancer"}, "Port": 80, "Protocol": "TCP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Targets"}}]}}}
    outputs = {"TargetGroupName": {"Value": {"Fn::GetAtt": ["Targets", "TargetGroupName"]}},
               "FullName": {"Value": {"Fn::GetAtt": ["Balancer", "LoadBalancerFullName"]}}}
    stack = _create("nlb", json.dumps({"Resources": resources, "Outputs": outputs}))
    assert {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]} == {
        "TargetGroupName": "not-emulated:Targets.TargetGroupName",
        "FullName": "not-emulated:Balancer.LoadBalancerFullName"}
    elbv2 = boto3.client("elbv2", region_name="us-west-2")
    balancer = elbv2.describe_load_balancers()["LoadBalancers"][0]
    assert balancer["Type"] == "network"
    assert [listener["Protocol"] for listener in elbv2.describe_listeners(
        LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]] == ["TCP"]
    assert local_aws.stand_ins("us-west-2") == {
        "AWS::ElasticLoadBalancingV2::LoadBalancer": ["nlb: Balancer.LoadBalancerFullName"],
        "AWS::ElasticLoadBalancingV2::TargetGroup": ["nlb: Targets.TargetGroupName"]}
    events = cloudformation().describe_stack_events(StackName="nlb")["StackEvents"]
    reasons = [event.get("ResourceStatusReason", "") for event in events if event["LogicalResourceId"] == "Targets"]
    assert [reason for reason in reasons if reason.startswith("attribute")] == [
        local_aws.ATTRIBUTE_REASON.format(attribute="TargetGroupName", type="AWS::ElasticLoadBalancingV2::TargetGroup")]


def test_depends_on_is_created_first_even_when_a_resource_is_referred_to_earlier(aws: LocalAws) -> None:
    # "AService" names the task definition's family (no Ref), so only DependsOn orders them; "Scaling" refers to
    # the service and comes first in moto's order, which then creates the service on first reference.
    template = {"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "AScaling": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::GetAtt": ["AService", "Name"]}}},
        "AService": {"Type": "AWS::ECS::Service", "DependsOn": "TaskDefinition", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "ServiceName": "web", "TaskDefinition": "family", "DesiredCount": 1}},
        "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "family", "Memory": "512", "ContainerDefinitions": [{"Name": "web", "Image": "nginx"}]}}}}
    _create("ordered", json.dumps(template))
    assert local_aws.stand_ins("us-west-2") == {}
    ecs = boto3.client("ecs", region_name="us-west-2")
    services = ecs.describe_services(cluster=ecs.list_clusters()["clusterArns"][0], services=["web"])["services"]
    assert services[0]["taskDefinition"].endswith(":task-definition/family:1")


def test_a_replan_with_parameters_left_at_their_defaults_finds_no_changes(aws: LocalAws) -> None:
    template = {"Parameters": {"Image": {"Type": "String", "Default": "nginx"}},
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    _create("defaults", json.dumps(template))
    client = cloudformation()
    # By URL, as the deployer sends a root (moto refuses an identical TemplateBody outright, unlike AWS).
    again = client.create_change_set(StackName="defaults", ChangeSetName="again", ChangeSetType="UPDATE",
                                     TemplateURL=_upload(aws, "defaults.json", template),
                                     Parameters=[{"ParameterKey": "Image", "UsePreviousValue": True}])
    assert "didn't contain changes" in client.describe_change_set(ChangeSetName=again["Id"])["StatusReason"]


def test_a_request_moto_fails_on_gets_an_aws_error_naming_the_failure(aws: LocalAws) -> None:
    # A Number parameter given a word: AWS refuses the change set; moto fails the execution request on it.
    root = {"Parameters": {"Port": {"Type": "Number"}}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    client = cloudformation()
    change_set = client.create_change_set(StackName="moto-fails", ChangeSetName="first", ChangeSetType="CREATE",
                                          TemplateBody=json.dumps(root),
                                          Parameters=[{"ParameterKey": "Port", "ParameterValue": "http"}])
    with pytest.raises(ClientError) as raised:
        client.execute_change_set(ChangeSetName=change_set["Id"])
    assert raised.value.response["Error"] == {
        "Code": local_aws.EMULATOR_FAILURE, "Type": "Sender",
        "Message": local_aws.EMULATOR_FAILURE_MESSAGE.format(
            error="ValueError: could not convert string to float: 'http'")}
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 0, "a failure of the emulator is not retried"


def test_a_nested_stack_that_fails_fails_its_resource_in_the_parent_with_the_reason(aws: LocalAws) -> None:
    """AWS: the child rolls back, and the parent's resource fails with "Embedded stack <arn> was not successfully
    created: The following resource(s) failed to create: [...]" (the child's events hold the resource's reason)."""
    child = {"Parameters": {"Port": {"Type": "Number"}}, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    root = {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {
        "TemplateURL": _upload(aws, "port.json", child), "Parameters": {"Port": "http"}}}}}
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
    assert capsys.readouterr().err == (f"cfngen: error: cannot serve the local AWS emulator on 127.0.0.1:{port}: "
                                       "Address already in use; pick another --port (or 0 for any free one)\n")

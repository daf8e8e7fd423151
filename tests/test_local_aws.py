"""The embedded emulator's extensions to moto, each checked through the AWS API as a client sees it."""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from typing import Any

import boto3
import pytest

from cfngen import local_aws
from cfngen.cli import local_aws as local_aws_command
from cfngen.local_aws import LocalAws
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
        "Provider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {"AutoScalingGroupProvider": {}}},
        "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::GetAtt": ["Provider", "Arn"]}}},
    }, "Outputs": {"ProviderName": {"Value": {"Ref": "Provider"}}}}
    stack = _create("placeholders", json.dumps(template))
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == "not-emulated:Provider"
    events = cloudformation().describe_stack_events(StackName="placeholders")["StackEvents"]
    reasons = {event["LogicalResourceId"]: event.get("ResourceStatusReason", "") for event in events}
    assert "does not model AWS::ECS::CapacityProvider" in reasons["Provider"]
    groups = boto3.client("logs", region_name="us-west-2").describe_log_groups()["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["not-emulated:Provider.Arn"]


def test_a_model_that_fails_gets_a_placeholder_and_a_failed_update_keeps_the_old_resource(aws: LocalAws) -> None:
    def group(source: str | None) -> dict[str, Any]:
        rules = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "SourceSecurityGroupId": source}] if source else []
        return {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": rules}}

    # moto refuses an ingress rule from a group it does not know: the emulator stands in for it.
    _create("tolerant", json.dumps({"Resources": {"Broken": group("sg-unknown"), "Fine": group(None)}}))
    client = cloudformation()
    broken = client.describe_stack_resource(StackName="tolerant", LogicalResourceId="Broken")["StackResourceDetail"]
    fine = client.describe_stack_resource(StackName="tolerant", LogicalResourceId="Fine")["StackResourceDetail"]
    assert broken["PhysicalResourceId"] == "not-emulated:Broken"
    assert fine["PhysicalResourceId"].startswith("sg-")
    assert local_aws.stand_ins("us-west-2") == {"AWS::EC2::SecurityGroup": ["tolerant: Broken"]}
    summary = local_aws.summary(local_aws.stand_ins("us-west-2"))
    assert summary.splitlines()[1] == "  AWS::EC2::SecurityGroup: tolerant: Broken"

    update = client.create_change_set(StackName="tolerant", ChangeSetName="u", ChangeSetType="UPDATE",
                                      TemplateBody=json.dumps({"Resources": {"Broken": group("sg-unknown"),
                                                                             "Fine": group("sg-unknown")}}))
    client.execute_change_set(ChangeSetName=update["Id"])
    assert client.describe_stacks(StackName="tolerant")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    events = client.describe_stack_events(StackName="tolerant")["StackEvents"]
    assert [event["ResourceStatusReason"].split(":")[0] for event in events if event["LogicalResourceId"] == "Fine"] \
        == ["not updated"]
    after = client.describe_stack_resource(StackName="tolerant", LogicalResourceId="Fine")["StackResourceDetail"]
    assert after["PhysicalResourceId"] == fine["PhysicalResourceId"]


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

"""The deployer against the AWS emulator (moto in server mode): package, plan, apply, stack states, plan files."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from typing import Any

import boto3
import pytest

from cfngen import Blueprint, Deployer, DeployError, Plan, SafetyError, StackSet, UsageError, load_blueprint, synthesize
from cfngen.deploy._bootstrap import BUCKET_OUTPUT, STACK_NAME
from cfngen.deploy._package import KEY_PREFIX
from cfngen.deploy._safety import violations
from cfngen.local import LocalAws
from tests.conftest import ROOT, cloudformation, moto_stack

REGION = "us-east-1"


@pytest.fixture()
def dev() -> StackSet:
    return synthesize(load_blueprint(ROOT / "tests" / "blueprints" / "minimal.yaml"))


@pytest.fixture()
def deployer(aws: LocalAws) -> Deployer:
    deployer = Deployer(region=REGION, poll_s=0.05, timeout_s=30)
    deployer.bootstrap()
    return deployer


def retagged(stacks: StackSet, **tags: str) -> StackSet:
    """The same blueprint with other tags: every nested stack resource in the root changes."""
    return synthesize(stacks.blueprint.model_copy(update={"tags": tags}))


def _objects(bucket: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=REGION)
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listing}


def test_bootstrap_makes_a_versioned_encrypted_private_bucket_and_is_idempotent(aws: LocalAws) -> None:
    deployer = Deployer(region=REGION, poll_s=0.05)
    first = deployer.bootstrap()
    assert first.result == "applied"
    bucket = first.outputs[BUCKET_OUTPUT]
    assert deployer.bucket == bucket == "cfngen-templates-123456789012-us-east-1"
    s3 = boto3.client("s3", region_name=REGION)
    # moto's CloudFormation model of a bucket applies its name, encryption and tags only;
    # versioning, the public access block and the lifecycle are checked in the template (test_bootstrap.py).
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    second = Deployer(region=REGION, poll_s=0.05).bootstrap()
    assert (second.result, second.outputs[BUCKET_OUTPUT]) == ("no changes", bucket)


def test_without_bootstrap_the_deployer_says_how_to_make_a_bucket(aws: LocalAws, dev: StackSet) -> None:
    with pytest.raises(UsageError, match=f"cfngen bootstrap --region {REGION}"):
        Deployer(region=REGION).package(dev)


def test_package_uploads_each_template_once_under_its_sha256(deployer: Deployer, dev: StackSet) -> None:
    package = deployer.package(dev)
    objects = _objects(deployer.bucket)
    assert sorted(package.uploaded) == sorted(package.template_hashes)
    for key, body in objects.items():
        assert key == f"{KEY_PREFIX}{hashlib.sha256(body).hexdigest()}.json"
    root = json.loads(objects[f"{KEY_PREFIX}{package.template_hashes['root.json']}.json"])
    urls = sorted(resource["Properties"]["TemplateURL"] for resource in root["Resources"].values())
    children = sorted(name for name in package.template_hashes if name != "root.json")
    assert urls == sorted(
        f"{aws_url(deployer)}/{deployer.bucket}/{KEY_PREFIX}{package.template_hashes[name]}.json" for name in children
    )
    assert package.url.endswith(f"{package.template_hashes['root.json']}.json")
    assert package.capabilities == ("CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"), "nesting; the flow-log role"
    again = deployer.package(dev)
    assert again.uploaded == () and again.url == package.url
    assert len(_objects(deployer.bucket)) == len(objects)


def aws_url(deployer: Deployer) -> str:
    return str(deployer._s3.meta.endpoint_url).replace("127.0.0.1", "localhost")


def test_package_refuses_a_blueprint_of_another_region(deployer: Deployer, demo_stacks: StackSet) -> None:
    with pytest.raises(UsageError, match="is for us-west-2"):
        deployer.package(demo_stacks)


def test_plan_apply_replan_creates_protects_and_then_finds_no_changes(deployer: Deployer, dev: StackSet) -> None:
    plan = deployer.plan(deployer.package(dev))
    assert (plan.change_set_type, plan.has_changes) == ("CREATE", True)
    assert {(c.stack, c.logical_id, c.action) for c in plan.changes} == {
        ("root", child.logical_id, "add") for child in dev.children
    }
    assert f"{len(dev.children)} changes: {len(dev.children)} to add" in plan.render()
    outcome = deployer.apply(plan)
    assert (outcome.result, outcome.stack_status) == ("applied", "CREATE_COMPLETE")
    assert any(
        event.logical_id == "microservices-minimal" and event.status == "CREATE_COMPLETE" for event in outcome.events
    )
    nested = {event.stack_name.split("-")[2] for event in outcome.events if event.stack_name != "microservices-minimal"}
    assert nested == {child.logical_id for child in dev.children}, "nested stacks' events are streamed too"
    client = cloudformation(REGION)
    stack = client.describe_stacks(StackName="microservices-minimal")["Stacks"][0]
    assert stack["EnableTerminationProtection"] is True
    policy = json.loads(client.get_stack_policy(StackName="microservices-minimal")["StackPolicyBody"])
    denied = [statement for statement in policy["Statement"] if statement["Effect"] == "Deny"]
    assert denied[0]["Condition"]["StringEquals"]["ResourceType"][0] == "AWS::EC2::VPC"
    assert denied[1]["Resource"] == ["LogicalResourceId/Network"]
    network = client.describe_stack_resource(StackName="microservices-minimal", LogicalResourceId="Network")
    nested = network["StackResourceDetail"]["PhysicalResourceId"]
    assert client.get_stack_policy(StackName=nested)["StackPolicyBody"] == json.dumps(policy, indent=2, sort_keys=True)

    replan = deployer.plan(deployer.package(dev))
    assert (replan.change_set_type, replan.has_changes) == ("UPDATE", False)
    assert "no changes" in replan.render()
    summaries = client.list_change_sets(StackName="microservices-minimal")["Summaries"]
    assert [summary["Status"] for summary in summaries if summary["StackName"] == "microservices-minimal"] == [
        "CREATE_COMPLETE"
    ], "only the executed change set is left: the empty one is deleted"
    assert deployer.apply(replan).result == "no changes"


def test_an_update_changes_the_tree_and_keeps_termination_protection_choice(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev), termination_protection=False))
    client = cloudformation(REGION)
    assert (
        client.describe_stacks(StackName="microservices-minimal")["Stacks"][0]["EnableTerminationProtection"] is False
    )
    changed = retagged(dev, Team="payments")
    plan = deployer.plan(deployer.package(changed))
    assert plan.change_set_type == "UPDATE"
    assert {change.action for change in plan.changes} == {"modify"}
    assert deployer.apply(plan).stack_status == "UPDATE_COMPLETE"
    tags = client.describe_stacks(StackName="microservices-minimal")["Stacks"][0]["Tags"]
    assert {"Key": "Team", "Value": "payments"} in tags
    assert not deployer.plan(deployer.package(changed)).has_changes


def test_unknown_parameters_are_bad_input(deployer: Deployer, dev: StackSet) -> None:
    with pytest.raises(UsageError, match="unknown parameter NoSuch"):
        deployer.plan(deployer.package(dev), parameters={"NoSuch": "1"})


def test_a_stack_in_review_gets_a_create_change_set(deployer: Deployer, dev: StackSet) -> None:
    deployer.plan(deployer.package(dev))  # planned, never applied: REVIEW_IN_PROGRESS
    assert moto_stack("microservices-minimal", REGION).status == "REVIEW_IN_PROGRESS"
    plan = deployer.plan(deployer.package(dev))
    assert plan.change_set_type == "CREATE"
    assert deployer.apply(plan).stack_status == "CREATE_COMPLETE"


def test_a_failed_first_create_is_replaced_only_when_asked(deployer: Deployer, dev: StackSet) -> None:
    deployer.plan(deployer.package(dev))
    failed = moto_stack("microservices-minimal", REGION)
    failed.status = "ROLLBACK_COMPLETE"  # a first create that failed and rolled back everything it made
    with pytest.raises(DeployError, match="ROLLBACK_COMPLETE.*--replace-failed"):
        deployer.plan(deployer.package(dev))
    package = deployer.package(dev)
    plan = deployer.plan(package, replace_failed=True)
    assert (plan.change_set_type, plan.replaces_stack, plan.change_set_id) == ("CREATE", failed.stack_id, "")
    assert moto_stack("microservices-minimal", REGION).status == "ROLLBACK_COMPLETE", "planning deletes nothing"
    assert "is deleted at apply" in plan.render()
    assert {change.logical_id for change in plan.changes} == {child.logical_id for child in dev.children}
    outcome = deployer.apply(plan, pkg=package)
    assert outcome.stack_status == "CREATE_COMPLETE"
    assert moto_stack("microservices-minimal", REGION).stack_id != failed.stack_id


def test_an_update_rollback_complete_stack_is_updatable(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    moto_stack("microservices-minimal", REGION).status = "UPDATE_ROLLBACK_COMPLETE"
    plan = deployer.plan(deployer.package(retagged(dev, Team="x")))
    assert plan.change_set_type == "UPDATE" and plan.has_changes


def test_update_rollback_failed_refuses_with_the_command_to_run(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    moto_stack("microservices-minimal", REGION).status = "UPDATE_ROLLBACK_FAILED"
    with pytest.raises(DeployError) as caught:
        deployer.plan(deployer.package(dev))
    assert f"aws cloudformation continue-update-rollback --stack-name microservices-minimal --region {REGION}" in str(
        caught.value
    )


def test_a_busy_stack_is_waited_for(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    stack = moto_stack("microservices-minimal", REGION)
    stack.status = "UPDATE_IN_PROGRESS"
    finish = threading.Timer(0.3, lambda: setattr(stack, "status", "UPDATE_COMPLETE"))
    finish.start()
    try:
        plan = deployer.plan(deployer.package(retagged(dev, Team="y")))
    finally:
        finish.cancel()
    assert plan.change_set_type == "UPDATE" and plan.has_changes


def test_a_stack_that_stays_busy_is_refused_after_the_timeout(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    impatient = Deployer(region=REGION, bucket=deployer.bucket, poll_s=0.01, timeout_s=0.05)
    moto_stack("microservices-minimal", REGION).status = "UPDATE_IN_PROGRESS"
    with pytest.raises(DeployError, match="still busy \\(UPDATE_IN_PROGRESS\\)"):
        impatient.plan(impatient.package(dev))


def test_a_plan_file_applies_exactly_its_change_set(deployer: Deployer, dev: StackSet, tmp_path: Any) -> None:
    package = deployer.package(dev)
    path = deployer.plan(package, parameters={}).save(tmp_path / "plan.json")
    loaded = Plan.load(path)
    assert json.loads(loaded.to_json()) == json.loads(path.read_text())
    assert loaded.change_set_id.startswith("arn:aws:cloudformation:us-east-1:")
    assert loaded.template_hashes == package.template_hashes
    assert deployer.apply(loaded, pkg=deployer.package(dev)).stack_status == "CREATE_COMPLETE"


def test_a_plan_is_refused_when_the_templates_changed(deployer: Deployer, dev: StackSet) -> None:
    plan = deployer.plan(deployer.package(dev))
    with pytest.raises(SafetyError, match="templates changed since the plan.*root.json"):
        deployer.apply(plan, pkg=deployer.package(retagged(dev, Team="z")))


def test_a_plan_is_refused_when_the_stack_changed(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    stale = deployer.plan(deployer.package(retagged(dev, Team="a")))
    deployer.apply(deployer.plan(deployer.package(retagged(dev, Team="b"))))
    # (AWS, and now the emulator, mark the stale plan's change set OBSOLETE when another one executes.)
    with pytest.raises(SafetyError, match="changed since the plan was made|OBSOLETE"):
        deployer.apply(stale)


def test_a_plan_whose_change_set_is_gone_is_refused(deployer: Deployer, dev: StackSet) -> None:
    plan = deployer.plan(deployer.package(dev))
    cloudformation(REGION).delete_change_set(ChangeSetName=plan.change_set_id)
    with pytest.raises(SafetyError, match="make a new plan"):
        deployer.apply(plan)


def test_the_full_demo_blueprint_deploys_with_its_sibling_wiring(aws: LocalAws, demo_stacks: StackSet) -> None:
    deployer = Deployer(region="us-west-2", poll_s=0.05)
    deployer.bootstrap()
    plan = deployer.plan(deployer.package(demo_stacks))
    assert deployer.apply(plan).stack_status == "CREATE_COMPLETE"
    client = cloudformation("us-west-2")
    network = client.describe_stack_resource(StackName="microservices-demo", LogicalResourceId="Network")
    parameters = client.describe_stacks(StackName=network["StackResourceDetail"]["PhysicalResourceId"])["Stacks"][0][
        "Parameters"
    ]
    assert parameters[0]["ParameterKey"] == "LogsKmsKeyArn"
    assert parameters[0]["ParameterValue"].startswith("arn:aws:kms:us-west-2:")
    assert not deployer.plan(deployer.package(demo_stacks)).has_changes
    assert STACK_NAME in [stack["StackName"] for stack in client.describe_stacks()["Stacks"]]


def test_package_points_group_stacks_at_their_members(
    deployer: Deployer, dev: StackSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A blueprint large enough to need group stacks takes minutes to lint; force the grouped layout instead.
    monkeypatch.setattr(sys.modules["cfngen.synth._grouping"], "flat_root_counts", lambda children, wiring: (501, 0, 0))
    grouped = synthesize(dev.blueprint.model_copy(update={"region": REGION}))
    assert {name for group in grouped.groups for name in group.members} == {
        child.name for child in grouped.children if child.service
    }
    package = deployer.package(grouped)
    objects = {key: json.loads(body) for key, body in _objects(deployer.bucket).items()}

    def reached(template: dict[str, Any]) -> list[str]:
        """Every template reached from `template` through its nested stacks' URLs, by uploaded key."""
        keys = []
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::CloudFormation::Stack":
                key = resource["Properties"]["TemplateURL"].split(f"/{deployer.bucket}/", 1)[1]
                keys += [key, *reached(objects[key])]
        return keys

    assert sorted(reached(objects[package.url.split(f"/{deployer.bucket}/", 1)[1]])) == sorted(
        f"{KEY_PREFIX}{digest}.json" for name, digest in package.template_hashes.items() if name != "root.json"
    )


def test_services_on_two_load_balancers_deploy_and_a_move_between_them_is_refused(deployer: Deployer) -> None:
    services = [
        {"name": name, "port": 8080, "listener_port": 80, "test_listener_port": 8080} for name in ("web", "api")
    ]
    blueprint = Blueprint.model_validate(
        {"name": "spread", "region": REGION, "services": services, "load_balancer": {"services_per_load_balancer": 1}}
    )
    spread = synthesize(blueprint)
    assert deployer.apply(deployer.plan(deployer.package(spread))).stack_status == "CREATE_COMPLETE"
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in cloudformation(REGION).describe_stacks(StackName="spread")["Stacks"][0]["Outputs"]
    }
    assert {"LoadBalancerDnsName", "LoadBalancer2DnsName"} <= set(outputs)
    assert outputs["LoadBalancerDnsName"] != outputs["LoadBalancer2DnsName"]
    # Both services on one balancer: the second balancer's stacks would go, and api's listeners with them.
    together = synthesize(
        blueprint.model_copy(
            update={"load_balancer": blueprint.load_balancer.model_copy(update={"services_per_load_balancer": 2})}
        )
    )
    plan = deployer.plan(deployer.package(together))
    refused = {(change.stack, change.logical_id) for change in (v.change for v in violations(plan))}
    assert {("root", "LoadBalancer2"), ("root", "Monitoring2")} <= refused, plan.changes
    with pytest.raises(SafetyError, match="LoadBalancer2"):
        deployer.apply(plan)

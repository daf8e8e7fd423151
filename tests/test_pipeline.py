"""The pipeline stacks: what a push to a service's branch sets in motion, asserted on the generated templates."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.validate import ParamValidator

from cfngen import Blueprint, load_blueprint
from cfngen.builders import pipeline
from cfngen.builders.contracts import service_alarm_name, service_alarm_names
from cfngen.builders.taskdef import family
from cfngen.extras._service_files import StackValues, render_service_files
from cfngen.linting import lint_texts
from cfngen.local import LocalAws
from tests.conftest import ROOT, checkov_failures

CONNECTION = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"


def _blueprint(**pipeline_settings: Any) -> Blueprint:
    return Blueprint.model_validate(
        {
            "name": "shop",
            "pipeline": pipeline_settings,
            "services": [
                {
                    "name": "web",
                    "port": 8080,
                    "test_command": "make test",
                    "deploy_hooks": {"AfterAllowTestTraffic": "web-smoke-test"},
                }
            ],
        }
    )


def _template(blueprint: Blueprint) -> dict[str, Any]:
    return pipeline.build(blueprint, blueprint.services[0]).to_dict()


def _resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [resource for resource in template["Resources"].values() if resource["Type"] == resource_type]


def _one(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = _resources(template, resource_type)
    return resource["Properties"]  # type: ignore[no-any-return]


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = template["Resources"][role]["Properties"]["Policies"]
    return [statement for policy in policies for statement in policy["PolicyDocument"]["Statement"]]


VARIANTS = {
    "codecommit": _blueprint(),
    "connection-with-approval": _blueprint(
        approval=True, source={"connection_arn": CONNECTION, "repository": "example/web"}
    ),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_lint_and_scanner_find_nothing(name: str, tmp_path: Path) -> None:
    blueprint = VARIANTS[name]
    text = pipeline.build(blueprint, blueprint.services[0]).to_yaml()
    assert [str(finding) for finding in lint_texts({"pipeline-web.yaml": text})] == []
    (tmp_path / "pipeline-web.yaml").write_text(text, encoding="utf-8")
    assert [(f["check_id"], f["resource"]) for f in checkov_failures(tmp_path)] == []


def test_stack_per_service_with_the_wired_names() -> None:
    blueprint = load_blueprint(ROOT / "blueprints" / "demo.yaml")
    stacks = list(pipeline.stacks(blueprint))
    assert [stack.name for stack in stacks] == ["pipeline-service-a", "pipeline-service-b"]
    template = stacks[0].template
    assert sorted(template.outputs) == [
        "ServiceABuildProjectName",
        "ServiceACodeDeployApplicationName",
        "ServiceADeploymentGroupName",
        "ServiceAPipelineName",
    ]
    assert sorted(template.parameters) == sorted(
        [
            "LogsKmsKeyArn",
            "ClusterName",
            "ServiceAServiceName",
            "ServiceAServiceArn",
            "ServiceAExecutionRoleArn",
            "ServiceATaskRoleArn",
            "ServiceARepositoryUri",
            "ServiceARepositoryArn",
            "ServiceAProductionListenerArn",
            "ServiceATestListenerArn",
            "ServiceABlueTargetGroupName",
            "ServiceAGreenTargetGroupName",
            "ServiceASourceRepositoryName",
            "ServiceASourceRepositoryArn",
            "CapacityProviderName",
        ]
    )
    assert stacks[0].root_outputs == ("ServiceAPipelineName",)


def test_artifact_bucket_is_private_encrypted_versioned_tls_only_and_expires() -> None:
    template = _template(_blueprint(artifact_retention_days=14))
    bucket = template["Resources"]["WebArtifactBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert properties["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 14
    (deny,) = _one(template, "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


def test_build_is_privileged_with_a_written_skip_and_logs_to_an_encrypted_group() -> None:
    template = _template(_blueprint())
    project = template["Resources"]["WebBuildProject"]
    assert project["Properties"]["Environment"]["PrivilegedMode"] is True
    (skip,) = project["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_316" and "docker build" in skip["comment"]
    names = {variable["Name"] for variable in project["Properties"]["Environment"]["EnvironmentVariables"]}
    assert names == {"REPOSITORY_URI", "CONTAINER_NAME", "BASE_IMAGE_REGISTRY"}
    log_group = template["Resources"]["WebBuildLogGroup"]["Properties"]
    assert log_group["KmsKeyId"] == {"Ref": "LogsKmsKeyArn"} and log_group["RetentionInDays"] == 30
    assert project["Properties"]["LogsConfig"]["CloudWatchLogs"]["GroupName"] == {"Ref": "WebBuildLogGroup"}


def test_build_role_pushes_to_one_repository() -> None:
    statements = _statements(_template(_blueprint()), "WebBuildRole")
    pushes = [statement for statement in statements if "ecr:PutImage" in statement["Action"]]
    assert [statement["Resource"] for statement in pushes] == [[{"Ref": "WebRepositoryArn"}]]
    unscoped = [statement["Action"] for statement in statements if statement["Resource"] == ["*"]]
    # ECR's login token is account-wide (cfngen.facts.iam); the build reads no task definition (the derive
    # project does) and writes only its own output.
    assert unscoped == [["ecr:GetAuthorizationToken"]]
    writes = [statement["Resource"] for statement in statements if "s3:PutObject" in statement["Action"]]
    assert writes == [[{"Fn::Sub": "${WebArtifactBucket.Arn}/shop--web/BuildOutpu/*"}]]


def test_the_deploy_stage_reads_only_what_the_unprivileged_derive_project_wrote() -> None:
    """The privileged build runs the service's code; the files CodeDeploy trusts come from the derive project,
    which runs only its inline buildspec, unprivileged, and alone may read task definitions."""
    template = _template(_blueprint(approval=True))
    derive = template["Resources"]["WebDeriveProject"]["Properties"]
    assert "PrivilegedMode" not in derive["Environment"]
    assert derive["Source"] == {"Type": "CODEPIPELINE", "BuildSpec": pipeline.derive_spec(*_service(_blueprint()))}
    statements = _statements(template, "WebDeriveRole")
    grants = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    assert grants["ecs:DescribeTaskDefinition"] == ["*"]
    assert grants["s3:GetObject"] == [{"Fn::Sub": "${WebArtifactBucket.Arn}/shop--web/BuildOutpu/*"}]
    assert grants["s3:PutObject"] == [{"Fn::Sub": "${WebArtifactBucket.Arn}/shop--web/DeriveOutp/*"}]
    assert not {action for action in grants if not action.startswith(("s3:", "logs:"))} - {"ecs:DescribeTaskDefinition"}
    stages = _one(template, "AWS::CodePipeline::Pipeline")["Stages"]
    assert [stage["Name"] for stage in stages] == ["Source", "Build", "Approve", "Deploy"]
    derive_action, deploy = stages[-1]["Actions"]
    assert (derive_action["Name"], derive_action["RunOrder"], deploy["RunOrder"]) == ("DeriveDeployment", 1, 2)
    assert derive_action["InputArtifacts"] == [{"Name": "BuildOutput"}]
    assert derive_action["OutputArtifacts"] == [{"Name": "DeriveOutput"}]
    assert deploy["InputArtifacts"] == [{"Name": "DeriveOutput"}]
    runs = {action for statement in _statements(template, "WebPipelineRole") for action in statement["Action"]}
    assert "codebuild:StartBuild" in runs


def _service(blueprint: Blueprint) -> tuple[Blueprint, Any]:
    return blueprint, blueprint.services[0]


def test_deployment_group_is_blue_green_with_traffic_control_and_rolls_back() -> None:
    blueprint = _blueprint(termination_wait_minutes=15)
    group = _one(_template(blueprint), "AWS::CodeDeploy::DeploymentGroup")
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["DeploymentConfigName"] == "CodeDeployDefault.ECSAllAtOnce"
    termination = group["BlueGreenDeploymentConfiguration"]["TerminateBlueInstancesOnDeploymentSuccess"]
    assert termination == {"Action": "TERMINATE", "TerminationWaitTimeInMinutes": 15}
    assert group["ECSServices"] == [{"ClusterName": {"Ref": "ClusterName"}, "ServiceName": {"Ref": "WebServiceName"}}]
    (pair,) = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    assert pair["TargetGroups"] == [
        {"Name": {"Ref": "WebBlueTargetGroupName"}},
        {"Name": {"Ref": "WebGreenTargetGroupName"}},
    ]
    assert pair["ProdTrafficRoute"] == {"ListenerArns": [{"Ref": "WebProductionListenerArn"}]}
    assert pair["TestTrafficRoute"] == {"ListenerArns": [{"Ref": "WebTestListenerArn"}]}
    assert group["AutoRollbackConfiguration"] == {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    }
    alarms = [alarm["Name"] for alarm in group["AlarmConfiguration"]["Alarms"]]
    assert alarms == service_alarm_names(blueprint, blueprint.services[0])


def test_codedeploy_role_is_scoped_to_the_service_its_listeners_alarms_and_hooks() -> None:
    statements = {
        action: statement["Resource"]
        for statement in _statements(_template(_blueprint()), "WebCodeDeployRole")
        for action in statement["Action"]
    }
    assert statements["ecs:UpdateServicePrimaryTaskSet"] == [{"Ref": "WebServiceArn"}]
    assert statements["ecs:CreateTaskSet"] == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:"
            "${AWS::AccountId}:task-set/${ClusterName}/${WebServiceName}/*"
        }
    ]
    assert statements["elasticloadbalancing:ModifyListener"] == [
        {"Ref": "WebProductionListenerArn"},
        {"Ref": "WebTestListenerArn"},
    ]
    assert statements["lambda:InvokeFunction"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:web-smoke-test"}
    ]
    assert len(statements["cloudwatch:DescribeAlarms"]) == 4


def test_pipeline_stages_with_codecommit_source_started_by_eventbridge() -> None:
    template = _template(_blueprint(branch="release"))
    stages = _one(template, "AWS::CodePipeline::Pipeline")["Stages"]
    assert [stage["Name"] for stage in stages] == ["Source", "Build", "Deploy"]
    (source,) = stages[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["PollForSourceChanges"] is False
    rule = _one(template, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail"]["referenceName"] == ["release"]
    assert rule["EventPattern"]["resources"] == [{"Ref": "WebSourceRepositoryArn"}]
    (_, deploy) = stages[-1]["Actions"]
    assert deploy["ActionTypeId"]["Provider"] == "CodeDeployToECS"
    configuration = dict(deploy["Configuration"])
    assert configuration.pop("ApplicationName") == {"Ref": "WebCodeDeployApplication"}
    assert configuration.pop("DeploymentGroupName") == {"Ref": "WebDeploymentGroup"}
    # The derive project writes taskdef.json and appspec.yaml beside imageDetail.json: the source holds only code.
    assert configuration == {
        "TaskDefinitionTemplateArtifact": "DeriveOutput",
        "TaskDefinitionTemplatePath": "taskdef.json",
        "AppSpecTemplateArtifact": "DeriveOutput",
        "AppSpecTemplatePath": "appspec.yaml",
        "Image1ArtifactName": "DeriveOutput",
        "Image1ContainerName": "IMAGE1_NAME",
    }
    assert deploy["InputArtifacts"] == [{"Name": "DeriveOutput"}]


def test_a_repository_buildspec_reads_the_repository_files() -> None:
    template = _template(_blueprint(buildspec="repository"))
    assert template["Resources"]["WebBuildProject"]["Properties"]["Source"]["BuildSpec"] == "buildspec.yml"
    (deploy,) = _one(template, "AWS::CodePipeline::Pipeline")["Stages"][-1]["Actions"]
    assert deploy["Configuration"]["TaskDefinitionTemplateArtifact"] == "SourceOutput"
    assert deploy["InputArtifacts"] == [{"Name": "SourceOutput"}, {"Name": "BuildOutput"}]
    assert "CapacityProviderName" not in template["Parameters"]
    assert not [
        statement
        for statement in _statements(template, "WebBuildRole")
        if "ecs:DescribeTaskDefinition" in statement["Action"]
    ]


def test_connection_source_and_manual_approval() -> None:
    template = _template(VARIANTS["connection-with-approval"])
    stages = _one(template, "AWS::CodePipeline::Pipeline")["Stages"]
    assert [stage["Name"] for stage in stages] == ["Source", "Build", "Approve", "Deploy"]
    (approve,) = stages[2]["Actions"]
    topic = {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:shop-alarms"}
    assert approve["Configuration"]["NotificationArn"] == topic
    notify = {tuple(statement["Action"]): statement for statement in _statements(template, "WebPipelineRole")}
    assert notify[("sns:Publish",)]["Resource"] == [topic]
    key_use = notify[("kms:Decrypt", "kms:GenerateDataKey")]
    assert key_use["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": "alias/shop-alarms"}
    assert key_use["Condition"]["StringEquals"] == {"kms:ViaService": {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}}
    (source,) = stages[0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION
    assert _resources(template, "AWS::Events::Rule") == []
    assert not any(name.startswith("WebSource") for name in template["Parameters"])
    uses = [
        statement
        for statement in _statements(template, "WebPipelineRole")
        if statement["Action"] == ["codestar-connections:UseConnection"]
    ]
    assert [statement["Resource"] for statement in uses] == [[CONNECTION]]


def test_deploy_hooks_take_known_events_and_function_names() -> None:
    with pytest.raises(ValueError, match="deploy_hooks"):
        Blueprint.model_validate(
            {"name": "shop", "services": [{"name": "web", "port": 8080, "deploy_hooks": {"AfterTraffic": "fn"}}]}
        )
    with pytest.raises(ValueError, match="deploy_hooks"):
        Blueprint.model_validate(
            {
                "name": "shop",
                "services": [{"name": "web", "port": 8080, "deploy_hooks": {"AfterAllowTraffic": "arn:aws:lambda:x"}}],
            }
        )


def test_alarm_names_are_fixed_per_kind() -> None:
    blueprint = _blueprint()
    assert service_alarm_names(blueprint, blueprint.services[0]) == [
        "shop--web-cpu-high",
        "shop--web-memory-high",
        "shop--web-running-tasks-low",
        "shop--web-unhealthy-targets",
    ]
    with pytest.raises(ValueError, match="unknown alarm kind"):
        service_alarm_name(blueprint, blueprint.services[0], "disk-full")


def test_each_role_trusts_the_one_service_that_assumes_it() -> None:
    template = _template(_blueprint())
    principals = {
        logical_id: resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role"
    }
    assert principals == {
        "WebBuildRole": ["codebuild.amazonaws.com"],
        "WebDeriveRole": ["codebuild.amazonaws.com"],
        "WebCodeDeployRole": ["codedeploy.amazonaws.com"],
        "WebPipelineRole": ["codepipeline.amazonaws.com"],
        "WebSourceEventRole": ["events.amazonaws.com"],
    }


def test_pipeline_may_tag_only_the_revisions_it_registers_and_only_when_they_carry_tags() -> None:
    tagged = Blueprint.model_validate({**_blueprint().model_dump(), "tags": {"CostCenter": "cc-7"}})
    revisions = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/shop--web:*"}
    (tagging,) = [
        statement
        for statement in _statements(_template(tagged), "WebPipelineRole")
        if "ecs:TagResource" in statement["Action"]
    ]
    assert tagging["Action"] == ["ecs:TagResource"] and tagging["Resource"] == [revisions]
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}
    untagged = [
        action
        for statement in _statements(_template(_blueprint()), "WebPipelineRole")
        for action in statement["Action"]
    ]
    assert "ecs:RegisterTaskDefinition" in untagged and "ecs:TagResource" not in untagged


def _commands(buildspec: str, phase: str) -> list[str]:
    commands: list[str] = yaml.safe_load(buildspec)["phases"][phase]["commands"]
    return commands


def test_the_derive_project_writes_taskdef_and_appspec_from_the_revision_the_stacks_registered(
    aws: LocalAws, tmp_path: Path
) -> None:
    """The derive buildspec's own commands, run on what ECS answers for the registered revision: taskdef.json
    is a RegisterTaskDefinition request (botocore's model) with <IMAGE1_NAME>, appspec.yaml names the
    capacity provider, imageDetail.json passes only when it names a tag of the service's repository."""
    blueprint = Blueprint.model_validate({**_blueprint().model_dump(), "tags": {"CostCenter": "cc-7"}})
    service = blueprint.services[0]
    buildspec = pipeline.derive_spec(blueprint, service)
    ecs = boto3.client("ecs", region_name="us-east-1")
    values = StackValues(
        values={
            "WebExecutionRoleArn": "arn:aws:iam::123456789012:role/x",
            "WebTaskRoleArn": "arn:aws:iam::123456789012:role/t",
            "WebLogGroupName": "g",
            "CapacityProviderName": "shop-capacity",
        },
        partition="aws",
        region="us-east-1",
        account_id="123456789012",
    )
    # What the service stack registers: its task definition as the ECS API takes it, with an image.
    registered = json.loads(render_service_files(blueprint, "web", stack_values=values)["taskdef.json"])
    registered["containerDefinitions"][0]["image"] = "old:1"
    ecs.register_task_definition(**registered)
    (check_image, describe, derive, appspec) = _commands(buildspec, "build")
    assert describe == (
        'aws ecs describe-task-definition --task-definition "$TASK_FAMILY" --output json > registered.json'
    )
    (tmp_path / "registered.json").write_text(
        json.dumps(ecs.describe_task_definition(taskDefinition=family(blueprint, service)), default=str)
    )
    repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web"
    env = {**os.environ, "CONTAINER_NAME": "web", "CAPACITY_PROVIDER": "shop-capacity", "REPOSITORY_URI": repository}
    for uri in (f"{repository}-evil:1", "public.ecr.aws/x/y:1", f"{repository}@sha256:{'a' * 64}", repository):
        (tmp_path / "imageDetail.json").write_text(json.dumps({"ImageURI": uri}))
        refused = subprocess.run(["bash", "-c", check_image], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert refused.returncode != 0 and "not a tag of" in refused.stderr, uri
    (tmp_path / "imageDetail.json").write_text(json.dumps({"ImageURI": f"{repository}:abc123", "extra": 1}))
    for command in (check_image, derive, appspec):
        subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, check=True)
    assert json.loads((tmp_path / "imageDetail.json").read_text()) == {"ImageURI": f"{repository}:abc123"}
    request = json.loads((tmp_path / "taskdef.json").read_text())
    assert request["family"] == family(blueprint, service)
    assert request["containerDefinitions"][0]["image"] == "<IMAGE1_NAME>"
    assert request["tags"] == [{"key": "CostCenter", "value": "cc-7"}]
    report = ParamValidator().validate(request, _register_shape())
    assert not report.has_errors(), report.generate_report()
    spec = yaml.safe_load((tmp_path / "appspec.yaml").read_text())
    (target,) = spec["Resources"]
    properties = target["TargetService"]["Properties"]
    assert properties["CapacityProviderStrategy"] == [{"CapacityProvider": "shop-capacity", "Base": 0, "Weight": 1}]
    assert properties["LoadBalancerInfo"] == {"ContainerName": "web", "ContainerPort": 8080}
    assert spec["Hooks"] == [{"AfterAllowTestTraffic": "web-smoke-test"}]
    assert yaml.safe_load(buildspec)["artifacts"]["files"] == ["imageDetail.json", "taskdef.json", "appspec.yaml"]
    assert yaml.safe_load(pipeline.build_spec(blueprint, service))["artifacts"]["files"] == ["imageDetail.json"]


def _register_shape() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape


def _ecs_blueprint(strategy: str) -> Blueprint:
    return Blueprint.model_validate(
        {"name": "shop", "deployment": {"strategy": strategy}, "services": [{"name": "web", "port": 8080}]}
    )


@pytest.mark.parametrize("strategy", ["ecs-blue-green", "ecs-rolling"])
def test_ecs_strategies_deploy_through_a_stack_update_not_codedeploy(strategy: str) -> None:
    template = _template(_ecs_blueprint(strategy))
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert not {"AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup"} & types
    stages = _one(template, "AWS::CodePipeline::Pipeline")["Stages"]
    (deploy,) = stages[-1]["Actions"]
    assert deploy["ActionTypeId"]["Provider"] == "CodeBuild"
    assert deploy["Configuration"] == {"ProjectName": {"Ref": "WebDeployProject"}}
    project = template["Resources"]["WebDeployProject"]["Properties"]
    assert "PrivilegedMode" not in project["Environment"]
    commands = _commands(project["Source"]["BuildSpec"], "build")
    assert "--use-previous-template" in commands[0] and "ParameterKey=WebImage,ParameterValue=$IMAGE_URI" in commands[0]
    assert "UsePreviousValue=true" in commands[0] and "*/shop/*" in commands[0]
    # A blue/green rollout bakes 15 minutes by default; the project waits for it, and an hour more.
    assert project["TimeoutInMinutes"] == (75 if strategy == "ecs-blue-green" else 60)


def test_the_deploy_role_updates_only_the_blueprints_stacks_and_that_services_revisions() -> None:
    statements = _statements(_template(_ecs_blueprint("ecs-canary")), "WebDeployRole")
    grants = {action: statement["Resource"] for statement in statements for action in statement["Action"]}
    stacks = [
        {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/shop/*"},
        {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/shop-*/*"},
    ]
    assert grants["cloudformation:ExecuteChangeSet"] == stacks == grants["cloudformation:UpdateStack"]
    assert grants["ecs:RegisterTaskDefinition"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/shop--web:*"}
    ]
    assert grants["ecs:UpdateService"] == [{"Ref": "WebServiceArn"}]
    assert sorted(action for action, resources in grants.items() if resources == ["*"]) == [
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
    ]

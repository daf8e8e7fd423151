"""`cfngen render`: buildspec.yml, appspec.yaml and taskdef.json, golden and checked against what consumes them.

The golden files under tests/golden/render/<case>/<service>/ are what `cfngen render`
writes for each case; `make goldens` regenerates them (tests/goldens.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import jinja2
import pytest
import yaml

from cfngen import Blueprint, Deployer, UsageError, load_blueprint, load_stack_values, render_service_files
from cfngen._jinja import render
from cfngen.blueprint._model import TrafficTest
from cfngen.builders import service as service_stack
from cfngen.cli import main
from cfngen.extras._service_files import StackValues, task_definition_request
from cfngen.local import LocalAws
from tests.conftest import ROOT
from tests.goldens import RENDER_CASES, RENDER_DIR

CASES = RENDER_CASES
GOLDEN = RENDER_DIR


def _files(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): path.read_text(encoding="utf-8")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_files_match_the_golden_ones(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blueprint, values = CASES[case]
    assert main(["render", str(blueprint), "--stack-values", str(values), "-o", str(tmp_path)]) == 0
    services = [service.name for service in load_blueprint(blueprint).services]
    assert sorted(_files(tmp_path)) == sorted(
        f"{service}/{name}" for service in services for name in ("appspec.yaml", "buildspec.yml", "taskdef.json")
    )
    assert _files(tmp_path) == _files(GOLDEN / case), "run `make goldens` and review the diff"


def _demo() -> tuple[Blueprint, StackValues]:
    blueprint, values = CASES["demo"]
    return load_blueprint(blueprint), load_stack_values([values])


def test_taskdef_is_the_service_stacks_task_definition_with_the_image_placeholder() -> None:
    blueprint, values = _demo()
    service = blueprint.service("service-a")
    request = json.loads(render_service_files(blueprint, "service-a", stack_values=values)["taskdef.json"])
    stack = service_stack.build(blueprint, service).to_dict()
    (properties,) = [
        resource["Properties"]
        for resource in stack["Resources"].values()
        if resource["Type"] == "AWS::ECS::TaskDefinition"
    ]
    assert request["family"] == properties["Family"] == "microservices-demo--service-a"
    assert request["cpu"] == properties["Cpu"] and request["memory"] == properties["Memory"]
    (container,) = request["containerDefinitions"]
    (stack_container,) = properties["ContainerDefinitions"]
    assert container["image"] == "<IMAGE1_NAME>"
    assert container["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    assert container["healthCheck"]["command"] == stack_container["HealthCheck"]["Command"]
    deployed = values.values
    assert request["executionRoleArn"] == deployed["ServiceAExecutionRoleArn"]
    assert request["taskRoleArn"] == deployed["ServiceATaskRoleArn"]
    assert container["logConfiguration"]["options"]["awslogs-group"] == deployed["ServiceALogGroupName"]
    assert container["logConfiguration"]["options"]["awslogs-region"] == "us-west-2"
    environment = {variable["name"]: variable["value"] for variable in container["environment"]}
    assert environment["DB_HOST"] == deployed["DatabaseEndpoint"] and environment["DB_PORT"] == "3306"
    assert environment["DB_USERNAME"] == "service_a" and "secrets" not in container, "IAM authentication"


@pytest.mark.parametrize("case", sorted(CASES))
def test_taskdef_fits_the_ecs_register_task_definition_api(case: str) -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    blueprint_path, values_path = CASES[case]
    blueprint, values = load_blueprint(blueprint_path), load_stack_values([values_path])
    shape = get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    for service in blueprint.services:
        request = json.loads(render_service_files(blueprint, service.name, stack_values=values)["taskdef.json"])
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), report.generate_report()


def test_appspec_targets_the_container_and_port_the_load_balancer_sends_to() -> None:
    blueprint, values = _demo()
    appspec = yaml.safe_load(render_service_files(blueprint, "service-b", stack_values=values)["appspec.yaml"])
    (target,) = appspec["Resources"]
    properties = target["TargetService"]["Properties"]
    assert properties["TaskDefinition"] == "<TASK_DEFINITION>"
    assert properties["LoadBalancerInfo"] == {"ContainerName": "service-b", "ContainerPort": 3001}
    assert "Hooks" not in appspec


def test_buildspec_runs_the_test_command_verbatim_and_hooks_follow_the_lifecycle() -> None:
    blueprint_path, values_path = CASES["shop"]
    blueprint = load_blueprint(blueprint_path)
    files = render_service_files(blueprint, "web", stack_values=load_stack_values([values_path]))
    buildspec = yaml.safe_load(files["buildspec.yml"])
    commands = buildspec["phases"]["build"]["commands"]
    assert commands[0] == blueprint.services[0].test_command
    assert buildspec["artifacts"]["files"] == ["imageDetail.json"]
    hooks = yaml.safe_load(files["appspec.yaml"])["Hooks"]
    assert hooks == [{"BeforeInstall": "shop-web-pre-install"}, {"AfterAllowTestTraffic": "shop-web-smoke-test"}]
    # With deployment.test, the repository's appspec runs cfngen's test traffic function at AfterAllowTestTraffic.
    web = blueprint.services[0]
    tested = blueprint.model_copy(
        update={
            "deployment": blueprint.deployment.model_copy(update={"test": TrafficTest(path="/health")}),
            "services": [web.model_copy(update={"deploy_hooks": {"BeforeInstall": "shop-web-pre-install"}})],
        }
    )
    files = render_service_files(tested, "web", stack_values=load_stack_values([values_path]))
    assert yaml.safe_load(files["appspec.yaml"])["Hooks"] == [
        {"BeforeInstall": "shop-web-pre-install"},
        {"AfterAllowTestTraffic": f"{blueprint.name}--web-test-traffic"},
    ]


def test_templates_refuse_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("appspec.yaml.j2", blueprint="shop", service="web", container_name="web", hooks=[])


def test_missing_deployed_values_are_listed() -> None:
    blueprint, _ = _demo()
    values = StackValues.from_describe_stacks(
        [
            {
                "Stacks": [
                    {
                        "StackName": "other",
                        "StackId": "arn:aws:cloudformation:us-west-2:123456789012:stack/other/1",
                        "Outputs": [
                            {"OutputKey": "ServiceATaskRoleArn", "OutputValue": "arn:aws:iam::123456789012:role/t"}
                        ],
                    }
                ]
            }
        ]
    )
    with pytest.raises(
        UsageError,
        match="DatabaseEndpoint, DatabasePort, ServiceAExecutionRoleArn, ServiceALogGroupName;",
    ):
        render_service_files(blueprint, "service-a", stack_values=values)


def test_conflicting_stack_values_are_refused_when_a_file_needs_them(tmp_path: Path) -> None:
    blueprint, _ = _demo()
    stacks = json.loads(CASES["demo"][1].read_text(encoding="utf-8"))
    stacks["Stacks"][1]["Parameters"][0]["ParameterValue"] = "another-cluster"  # no file needs ClusterName
    stacks["Stacks"][1]["Outputs"].append({"OutputKey": "ServiceAExecutionRoleArn", "OutputValue": "arn:other"})
    path = tmp_path / "stacks.json"
    path.write_text(json.dumps(stacks), encoding="utf-8")
    values = load_stack_values([path])
    render_service_files(blueprint, "service-b", stack_values=values)
    with pytest.raises(UsageError, match="ServiceAExecutionRoleArn is .* pass the stacks of one deployed blueprint"):
        render_service_files(blueprint, "service-a", stack_values=values)


def test_unknown_intrinsic_in_a_task_definition_is_an_error() -> None:
    values = StackValues(values={}, partition="aws", region="us-east-1", account_id="123456789012")
    with pytest.raises(Exception, match="cannot evaluate"):
        task_definition_request({"Family": {"Fn::ImportValue": "x"}}, {}, [], values)


def test_cli_without_stack_values_reads_aws_and_names_a_missing_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blueprint, values = CASES["demo"]
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["render", str(blueprint), "-o", str(tmp_path)]) == 2
    assert "Unable to locate credentials for CloudFormation DescribeStacks" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    assert main(["render", str(blueprint), "--service", "nope", "--stack-values", str(values)]) == 2
    assert "has no service 'nope'; it has service-a, service-b" in capsys.readouterr().err


def test_stack_values_of_a_whole_region_are_filtered_to_the_blueprints_stacks(tmp_path: Path) -> None:
    """describe-stacks of a region holds other blueprints' stacks (here another account and region, whose
    values would clash and whose place differs): only the root stack's tree counts."""
    blueprint, values = CASES["demo"]
    region = json.loads(values.read_text())
    region["Stacks"] += json.loads(CASES["shop"][1].read_text())["Stacks"]
    mixed = tmp_path / "region.json"
    mixed.write_text(json.dumps(region))
    with pytest.raises(UsageError, match="one account and region"):
        load_stack_values([mixed])
    assert main(["render", str(blueprint), "--stack-values", str(mixed), "-o", str(tmp_path / "out")]) == 0
    assert _files(tmp_path / "out") == _files(GOLDEN / "demo")
    assert (
        main(
            [
                "render",
                str(blueprint),
                "--stack-values",
                str(mixed),
                "--stack-name",
                "other",
                "-o",
                str(tmp_path / "none"),
            ]
        )
        == 2
    )


def test_render_reads_the_deployed_stacks_of_the_root_stack_itself(
    aws: LocalAws, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Deployed to the emulator, then rendered from what `describe-stacks` says of the root and its nested
    stacks: the same files as from a --stack-values file of those stacks."""
    minimal = str(ROOT / "tests" / "blueprints" / "minimal.yaml")
    assert main(["bootstrap", "--region", "us-east-1"]) == 0
    assert main(["deploy", minimal, "--yes"]) == 0
    capsys.readouterr()
    assert main(["render", minimal, "-o", str(tmp_path / "read")]) == 0
    dump = tmp_path / "stacks.json"
    tree = Deployer(region="us-east-1").describe_stack_tree("microservices-minimal")
    # AWS names the root of every nested stack (RootId); moto 5.2 does not model it yet, so the dump gets
    # what AWS would print. https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Stack.html
    root_id = tree["Stacks"][0]["StackId"]
    for stack in tree["Stacks"][1:]:
        stack.setdefault("RootId", root_id)
    dump.write_text(json.dumps(tree, default=str))
    assert main(["render", minimal, "--stack-values", str(dump), "-o", str(tmp_path / "file")]) == 0
    assert _files(tmp_path / "read") == _files(tmp_path / "file")
    taskdef = json.loads((tmp_path / "read" / "web" / "taskdef.json").read_text())
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for stack in boto3.client("cloudformation", region_name="us-east-1").describe_stacks()["Stacks"]
        for output in stack.get("Outputs", [])
    }
    assert taskdef["executionRoleArn"] == outputs["WebExecutionRoleArn"]
    # AWS's own answer, translated as for deploy (exit 1: AWS refused), and nothing written.
    assert main(["render", minimal, "--stack-name", "nope", "-o", str(tmp_path / "nope")]) == 1
    assert "DescribeStacks: ValidationError: Stack with id nope does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()


def test_cli_renders_one_service_into_the_directory_itself(tmp_path: Path) -> None:
    blueprint, values = CASES["demo"]
    assert (
        main(["render", str(blueprint), "--service", "service-b", "--stack-values", str(values), "-o", str(tmp_path)])
        == 0
    )
    assert _files(tmp_path) == _files(GOLDEN / "demo" / "service-b")

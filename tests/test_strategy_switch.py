"""Switching a service between deployment strategies follows AWS's documented migration paths.

CODE_DEPLOY -> ECS (codedeploy -> ecs-*) and switches between ECS's own strategies update the service in place;
ECS -> CODE_DEPLOY has no in-place path AWS documents: the deployer names the service and refuses it without
--allow-replace (facts.resource_types.IN_PLACE_CONTROLLER_SWITCHES cites the pages). Checked on the rules alone,
through `cfngen diff`, and against the emulator through the library and the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cfngen import Blueprint, Deployer, SafetyError, synthesize
from cfngen.cli import main
from cfngen.deploy._plan import Plan, ResourceChange
from cfngen.deploy._safety import violations
from cfngen.local import LocalAws
from cfngen.report._template_diff import diff_texts

REGION = "us-east-1"
SERVICE = "root/ServiceWeb/WebService"


def _blueprint(strategy: str) -> Blueprint:
    return Blueprint.model_validate(
        {
            "name": "microservices-minimal",
            "region": REGION,
            "deployment": {"strategy": strategy},
            "services": [{"name": "web", "port": 8080}],
        }
    )


def _change(before: str, after: str) -> ResourceChange:
    return ResourceChange(
        "root/ServiceWeb", "WebService", "AWS::ECS::Service", "modify", controller_switch=(before, after)
    )


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [("CODE_DEPLOY", "ECS", False), ("ECS", "CODE_DEPLOY", True), ("EXTERNAL", "ECS", False)],
)
def test_only_a_switch_without_a_documented_path_is_refused(before: str, after: str, refused: bool) -> None:
    change = _change(before, after)
    found = violations([change])
    assert bool(found) is refused
    if refused:
        (violation,) = found
        assert f"{before} -> {after}" in violation.message and "--allow-replace WebService" in violation.message
        assert "CODE_DEPLOY -> ECS" in violation.message  # the paths AWS does document
        assert violations([change], allow_replace=("WebService",)) == []
    # Until the switch runs, CodeDeploy does not own the service: the pipeline-owned rule stays silent.
    assert not violations([ResourceChange(**{**change.__dict__, "pipeline_owned": ("TaskDefinition",)})]) or refused
    plan = Plan("microservices-minimal", REGION, "UPDATE", change_set_id="cs", changes=(change,))
    path = "no in-place path AWS documents" if refused else "in place, AWS's documented migration (https://"
    assert f"root/ServiceWeb/WebService switches deployment controller {before} -> {after}: {path}" in plan.render()
    assert Plan.from_dict(json.loads(plan.to_json())).changes == (change,)


def _files(strategy: str) -> dict[str, str]:
    return {name: template.to_json() for name, template in synthesize(_blueprint(strategy)).templates().items()}


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [
        ("codedeploy", "ecs-blue-green", False),
        ("ecs-rolling", "ecs-canary", False),
        ("ecs-linear", "codedeploy", True),
        ("ecs-rolling", "codedeploy", True),
    ],
)
def test_the_diff_shows_the_refusal_the_deployer_would_make(before: str, after: str, refused: bool) -> None:
    found = diff_texts(_files(before), _files(after), region=REGION)
    (service,) = [resource for _, resource in found.resources() if resource.logical_id == "WebService"]
    switch = [reason for reason in service.refused if "deployment controller" in reason]
    assert bool(switch) is refused, service.refused


@pytest.fixture()
def deployer(aws: LocalAws) -> Deployer:
    # A generous deadline: under load the emulator takes seconds per call, and a timed-out ExecuteChangeSet retried
    # finds its stack busy.
    deployer = Deployer(region=REGION, poll_s=0.05, timeout_s=600)
    deployer.bootstrap()
    return deployer


def test_the_deployer_plans_the_documented_path_and_refuses_the_undocumented_one(deployer: Deployer) -> None:
    created = deployer.apply(deployer.plan(deployer.package(synthesize(_blueprint("codedeploy")))))
    assert created.stack_status == "CREATE_COMPLETE", created
    to_ecs = deployer.plan(deployer.package(synthesize(_blueprint("ecs-blue-green"))))
    (switch,) = [change for change in to_ecs.changes if change.controller_switch]
    assert (f"{switch.stack}/{switch.logical_id}", switch.controller_switch) == (SERVICE, ("CODE_DEPLOY", "ECS"))
    assert "switches deployment controller CODE_DEPLOY -> ECS: in place" in to_ecs.render()
    assert not [problem for problem in violations(to_ecs) if "deployment controller" in problem.message]
    deployer.apply(to_ecs)
    back = deployer.plan(deployer.package(synthesize(_blueprint("codedeploy"))))
    assert "switches deployment controller ECS -> CODE_DEPLOY: no in-place path" in back.render()
    with pytest.raises(SafetyError, match="WebService .*deployment controller ECS -> CODE_DEPLOY"):
        deployer.apply(back)


def test_the_cli_refuses_the_switch_back_to_codedeploy(
    aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, Any] = {}
    for strategy in ("ecs-rolling", "codedeploy"):
        files[strategy] = tmp_path / f"{strategy}.yaml"
        files[strategy].write_text(yaml.safe_dump(_blueprint(strategy).model_dump(exclude_defaults=True)))
    assert main(["bootstrap", "--region", REGION]) == 0
    assert main(["deploy", str(files["ecs-rolling"]), "--yes"]) == 0
    capsys.readouterr()
    assert main(["deploy", str(files["codedeploy"]), "--yes"]) == 3
    err = capsys.readouterr().err
    assert "WebService" in err and "deployment controller ECS -> CODE_DEPLOY" in err

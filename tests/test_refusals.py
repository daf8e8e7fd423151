"""`diff` and the review mark every change the deployer would refuse, with the deployer's own rules and message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cfngen import load_blueprint, review, synthesize
from cfngen.cli import main
from cfngen.deploy._plan import Plan, ResourceChange
from cfngen.deploy._safety import violations
from cfngen.report._document import REFUSED
from tests.conftest import ROOT

DEV = ROOT / "blueprints" / "dev.yaml"
PORT_CHANGE = ["--set", "services.service-a.port=8081"]


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("before")
    synthesize(load_blueprint(DEV)).write(directory)
    return directory


def _deployer_message(stack: str, logical_id: str, resource_type: str, **change: object) -> str:
    plan = Plan(
        stack_name=stack,
        region="us-west-2",
        change_set_type="UPDATE",
        changes=(ResourceChange(stack=stack, logical_id=logical_id, resource_type=resource_type, **change),),
    )  # type: ignore[arg-type]
    (violation,) = violations(plan)
    return violation.message


def test_a_service_port_change_is_refused_in_diff(before: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(DEV), "--against", str(before), *PORT_CHANGE, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    refused = {
        (stack["file"], resource["logical_id"]): resource["refused"]
        for stack in printed["stacks"]
        for resource in stack["resources"]
        if resource["refused"]
    }
    message = _deployer_message(
        "service-service-a", "ServiceAService", "AWS::ECS::Service", action="modify", pipeline_owned=("LoadBalancers",)
    )
    assert refused == {("service-service-a.yaml", "ServiceAService"): [message]}
    assert main(["diff", str(DEV), "--against", str(before), *PORT_CHANGE]) == 0
    text = capsys.readouterr().out
    assert f"this change will be refused at deploy: {message}" in text
    assert "1 change will be refused at deploy (cfngen deploy exits 3): service-service-a/ServiceAService" in text


def test_a_stateful_replacement_is_refused_unless_allowed(before: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = json.loads(json.dumps(synthesize(load_blueprint(DEV)).child("database").template.to_dict()))
    cluster = next(name for name, item in database["Resources"].items() if item["Type"] == "AWS::RDS::DBCluster")
    old = before.parent / "renamed"
    old.mkdir(exist_ok=True)
    for path in before.iterdir():
        (old / path.name).write_text(path.read_text())
    database["Resources"][cluster]["Properties"]["DatabaseName"] = "olddb"  # create-only: a replacement
    (old / "database.yaml").unlink()
    (old / "database.json").write_text(json.dumps(database))
    assert main(["diff", str(DEV), "--against", str(old), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    (resource,) = [item for stack in printed["stacks"] for item in stack["resources"] if item["refused"]]
    assert resource["logical_id"] == cluster and resource["action"] == "replace"
    assert resource["refused"] == [_deployer_message("database", cluster, "AWS::RDS::DBCluster", action="replace")]


def test_the_review_puts_the_refusal_first(before: Path) -> None:
    stacks = synthesize(load_blueprint(DEV, overrides=["services.service-a.port=8081"]))
    report = review(stacks, against=before, findings=[])
    decisions = report.decisions()
    assert decisions[0].startswith(
        f"{REFUSED} service-service-a/ServiceAService (AWS::ECS::Service): changes "
        "LoadBalancers of an ECS service under the CODE_DEPLOY controller"
    )
    full = report.markdown()
    assert f"- ⛔ **{REFUSED}** `service-service-a/ServiceAService`" in full
    assert "| modified ⛔ refused at deploy | `service-service-a/ServiceAService` |" in full
    summary = report.markdown(max_chars=len(full) - 1)
    section = summary.split("## Decisions for the reviewer")[1].split("## Warnings")[0]
    assert f"- {REFUSED} service-service-a/ServiceAService" in section

"""`cfngen bootstrap / plan / deploy` against the emulator: exit codes, JSON, plan files, prompts, the local cycle."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest

from cfngen import load_blueprint, synthesize
from cfngen.cli import main
from cfngen.linting import Finding
from cfngen.local import LocalAws
from tests.conftest import ROOT, moto_stack

DEV = str(ROOT / "tests" / "blueprints" / "minimal.yaml")
DEMO = str(ROOT / "blueprints" / "demo.yaml")


@pytest.fixture()
def bootstrapped(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> LocalAws:
    assert main(["bootstrap", "--region", "us-east-1"]) == 0
    assert "templates bucket: cfngen-templates-123456789012-us-east-1" in capsys.readouterr().out
    return aws


def test_plan_without_a_bucket_says_how_to_bootstrap(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", DEV]) == 2
    assert "cfngen bootstrap --region us-east-1" in capsys.readouterr().err


def test_plan_then_deploy_the_reviewed_plan_then_nothing_to_do(
    bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    assert main(["plan", DEV, "--detailed-exitcode", "--out", str(plan_file)]) == 4
    out = capsys.readouterr().out
    children = synthesize(load_blueprint(DEV)).children
    assert f"{len(children)} changes: {len(children)} to add" in out and f"cfngen deploy --plan {plan_file}" in out
    recorded = json.loads(plan_file.read_text())
    assert recorded["change_set_id"].startswith("arn:aws:cloudformation:us-east-1:")
    assert set(recorded["template_hashes"]) == {"root.json", *(f"{child.name}.json" for child in children)}

    assert main(["deploy", "--plan", str(plan_file), DEV, "--yes"]) == 0
    assert "microservices-minimal: applied (CREATE_COMPLETE)" in capsys.readouterr().out

    assert main(["plan", DEV, "--detailed-exitcode"]) == 0
    assert "no changes" in capsys.readouterr().out
    assert main(["deploy", DEV, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["plan"]["has_changes"], report["outcome"]["result"]) == (False, "no changes")


def test_plan_json_is_machine_readable(bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", DEV, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["change_set_type"] == "CREATE" and report["violations"] == []
    assert [change["logical_id"] for change in report["changes"]] == sorted(
        child.logical_id for child in synthesize(load_blueprint(DEV)).children
    )


def test_deploy_asks_unless_told_not_to(
    bootstrapped: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", DEV]) == 2, "no terminal and not CI: refuse rather than apply unasked"
    assert "pass --yes (or set CI=true)" in capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    assert main(["deploy", DEV]) == 0
    assert "applied (CREATE_COMPLETE)" in capsys.readouterr().out


def test_deploy_plan_needs_the_blueprint_it_was_made_from(
    bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    assert main(["plan", DEV, "--out", str(plan_file)]) == 0
    capsys.readouterr()
    assert main(["deploy", "--plan", str(plan_file), "--yes"]) == 2
    assert "the stack policy and the templates are taken from it" in capsys.readouterr().err


def test_a_stale_plan_is_blocked(bootstrapped: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", DEV, "--yes"]) == 0
    stale = tmp_path / "stale.json"
    assert main(["plan", DEV, "--param", "Nothing=1", "--out", str(stale)]) == 2, "unknown parameters: bad input"
    tagged = tmp_path / "minimal.yaml"
    tagged.write_text(Path(DEV).read_text(encoding="utf-8") + "tags:\n  Team: payments\n", encoding="utf-8")
    assert main(["plan", str(tagged), "--out", str(stale), "--detailed-exitcode"]) == 4
    stack = moto_stack("microservices-minimal", "us-east-1")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"  # somebody else deployed (and rolled back) since
    capsys.readouterr()
    assert main(["deploy", "--plan", str(stale), str(tagged), "--yes"]) == 3
    assert "changed since the plan was made" in capsys.readouterr().err


def test_a_failed_first_create_needs_replace_failed(bootstrapped: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", DEV]) == 0
    moto_stack("microservices-minimal", "us-east-1").status = "ROLLBACK_COMPLETE"
    assert main(["deploy", DEV, "--yes"]) == 1
    assert "--replace-failed" in capsys.readouterr().err
    assert main(["deploy", DEV, "--yes", "--replace-failed", "--no-termination-protection"]) == 0


def test_templates_with_lint_errors_are_not_planned(
    bootstrapped: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = Finding("network.yaml", 3, 5, "E3012", "error", "Property Foo should be of type String")
    monkeypatch.setattr(sys.modules["cfngen"], "lint_texts", lambda texts, region: [error])
    assert main(["plan", DEV]) == 1
    err = capsys.readouterr().err
    assert "lint: network.yaml:3:5 E3012" in err and "cfn-lint found 1 error(s)" in err


def test_deploy_local_runs_the_whole_cycle_on_the_demo_blueprint_and_names_what_is_not_emulated(
    aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", DEMO, "--local"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "microservices-demo: applied (CREATE_COMPLETE)" in captured.out
    assert "stack microservices-demo (us-west-2), update: no changes" in captured.out
    # Every type of the demo has a model or a handler in the emulator (placeholders: tests/test_local_aws.py), but
    # the ECR pull-through cache rule (moto has no pull-through cache API to create it in) and the services' database
    # users (their custom resource needs a function to run, which the emulator does not): the run says so.
    not_emulated = captured.out.split("not emulated (placeholders", 1)[1].splitlines()[1:]
    assert sorted(line.strip().split(": ", 1)[0] for line in not_emulated) == [
        "AWS::ECR::PullThroughCacheRule",
        "Custom::DatabaseUser",
    ]
    # moto's state outlives the run's own server: what it created is there to look at.
    ecs = boto3.client("ecs", region_name="us-west-2")
    cluster = ecs.list_clusters()["clusterArns"][0]
    assert sorted(service.rsplit("/", 1)[1] for service in ecs.list_services(cluster=cluster)["serviceArns"]) == [
        "service-a",
        "service-b",
    ]
    balancer = boto3.client("elbv2", region_name="us-west-2").describe_load_balancers()["LoadBalancers"][0]
    assert balancer["Type"] == "network"

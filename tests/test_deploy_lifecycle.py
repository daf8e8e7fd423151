"""The lifecycle on the emulator: protections converge on every run, plan files cannot weaken safety,
interrupted runs, --resume, --replace-failed, what a first create does on failure, time and API budget."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from cfngen import Deployer, SafetyError, StackSet, load_blueprint, synthesize
from cfngen.cli import main
from cfngen.deploy import Deadline, Interrupted
from cfngen.deploy._events import EventWatcher, StackEvent
from cfngen.errors import DeployError, TimedOut
from cfngen.local import LocalAws
from tests.conftest import ROOT, cloudformation, moto_stack

REGION = "us-east-1"
NAME = "microservices-minimal"
DEV = str(ROOT / "tests" / "blueprints" / "minimal.yaml")


@pytest.fixture()
def dev() -> StackSet:
    return synthesize(load_blueprint(DEV))


@pytest.fixture()
def deployer(aws: LocalAws) -> Deployer:
    deployer = Deployer(region=REGION, poll_s=0.05, timeout_s=30)
    deployer.bootstrap()
    return deployer


def _stacks() -> list[str]:
    client = cloudformation(REGION)
    root = client.describe_stacks(StackName=NAME)["Stacks"][0]["StackId"]
    return list(EventWatcher(client, root).stacks())


def _protected() -> bool:
    """Termination protection on the root and a stack policy on every stack of the tree."""
    client = cloudformation(REGION)
    root = client.describe_stacks(StackName=NAME)["Stacks"][0]
    return bool(root.get("EnableTerminationProtection")) and all(
        client.get_stack_policy(StackName=stack).get("StackPolicyBody") for stack in _stacks()
    )


def _unprotect() -> None:
    client = cloudformation(REGION)
    client.update_termination_protection(StackName=NAME, EnableTerminationProtection=False)
    nested = _stacks()[1]
    client.set_stack_policy(
        StackName=nested,
        StackPolicyBody=json.dumps(
            {"Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}
        ),
    )


def test_protections_that_differ_are_reported_by_plan_and_restored_by_a_deploy_without_changes(
    deployer: Deployer, dev: StackSet
) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    assert _protected()
    _unprotect()
    assert not _protected()
    package = deployer.package(dev)
    plan = deployer.plan(package)
    assert not plan.has_changes
    assert len(plan.protection_gaps) == 2, plan.protection_gaps
    assert (
        f"protection differs: stack {NAME}: termination protection is off (wanted on) (deploy restores it)"
        in plan.render()
    )
    assert "stack policy differs from cfngen's" in plan.render()
    outcome = deployer.apply(plan, pkg=package)
    assert outcome.result == "no changes" and len(outcome.restored) == 2
    assert _protected()
    assert deployer.protection_gaps(NAME, package) == []


def test_an_interrupted_first_create_ends_protected_on_the_next_deploy(
    deployer: Deployer, dev: StackSet, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = deployer.plan(deployer.package(dev))
    # cfngen was killed right after ExecuteChangeSet: CloudFormation created everything, nobody protected it.
    cloudformation(REGION).execute_change_set(ChangeSetName=plan.change_set_id)
    assert moto_stack(NAME, REGION).status == "CREATE_COMPLETE" and not _protected()
    capsys.readouterr()
    assert main(["deploy", DEV, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "no changes" in out and f"restored: stack {NAME}: termination protection is off" in out
    assert _protected()


def test_deploy_never_turns_termination_protection_off(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    package = deployer.package(dev)
    outcome = deployer.apply(deployer.plan(package, termination_protection=False), pkg=package)
    assert outcome.restored == () and _protected()


@pytest.fixture()
def planned(deployer: Deployer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A deployed stack and a plan file of an update that removes the Pipeline nested stack (refused) ..."""
    assert main(["deploy", DEV, "--yes"]) == 0
    path = tmp_path / "plan.json"
    assert main(["plan", DEV, "--set", "tags.Team=payments", "--out", str(path)]) == 0
    capsys.readouterr()
    return path


EDITS = {
    "rows removed": lambda plan: {**plan, "changes": plan["changes"][:1]},
    "stack policy": lambda plan: {**plan, "stack_policy": json.dumps({"Statement": []})},
    "termination protection": lambda plan: {**plan, "termination_protection": False},
    "template hashes": lambda plan: {**plan, "template_hashes": {**plan["template_hashes"], "root.json": "0" * 64}},
    "nested change sets": lambda plan: {**plan, "nested_change_sets": ["arn:aws:cloudformation:x"]},
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_plan_file_is_refused_saying_what_differs(
    planned: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    recorded = json.loads(planned.read_text())
    planned.write_text(json.dumps(EDITS[edit](recorded)))
    assert main(["deploy", "--plan", str(planned), DEV, "--set", "tags.Team=payments", "--yes"]) == 3
    err = capsys.readouterr().err
    assert "the plan file differs from what AWS and the blueprint say" in err
    field = {
        "rows removed": "changes:",
        "stack policy": "stack_policy:",
        "termination protection": "termination_protection:",
        "template hashes": "template_hashes:",
        "nested change sets": "nested_change_sets:",
    }[edit]
    assert field in err
    assert moto_stack(NAME, REGION).status == "CREATE_COMPLETE", "nothing executed"


def test_a_plan_file_applies_once_then_says_already_applied(planned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    command = ["deploy", "--plan", str(planned), DEV, "--set", "tags.Team=payments", "--yes"]
    assert main(command) == 0
    assert f"{NAME}: applied (UPDATE_COMPLETE)" in capsys.readouterr().out
    assert main(command) == 0
    assert f"{NAME}: already applied" in capsys.readouterr().out


def test_deploy_plan_compares_templates_without_uploading(planned: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = f"cfngen-templates-123456789012-{REGION}"
    before = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert main(["deploy", "--plan", str(planned), DEV, "--set", "tags.Team=other", "--yes"]) == 3
    assert "template_hashes" in capsys.readouterr().err
    assert {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]} == before


def test_the_library_refuses_a_stale_plan_by_the_stacks_markers(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    changed = synthesize(dev.blueprint.model_copy(update={"tags": {"Team": "a"}}))
    stale = deployer.plan(deployer.package(changed))
    moto_stack(NAME, REGION).status = "UPDATE_ROLLBACK_COMPLETE"  # someone else's update rolled back since
    with pytest.raises(SafetyError, match="changed since the plan was made"):
        deployer.apply(stale)


def test_plan_replace_failed_deletes_nothing_and_the_plan_file_recreates(
    deployer: Deployer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", DEV]) == 0
    failed = moto_stack(NAME, REGION)
    failed.status = "ROLLBACK_COMPLETE"
    path = tmp_path / "plan.json"
    assert main(["plan", DEV, "--replace-failed", "--out", str(path)]) == 0
    assert "is deleted at apply" in capsys.readouterr().out
    assert moto_stack(NAME, REGION).stack_id == failed.stack_id and failed.status == "ROLLBACK_COMPLETE"
    assert main(["deploy", "--plan", str(path), DEV, "--yes"]) == 0
    assert moto_stack(NAME, REGION).stack_id != failed.stack_id
    assert _protected()


@pytest.mark.parametrize(
    ("option", "on_failure", "said"),
    [
        ("rollback", "ROLLBACK", "on failure: the create rolls back; resources created by this run are deleted"),
        ("delete", "DELETE", "on failure: the create rolls back and deletes the stack"),
        ("keep", "DO_NOTHING", "on failure: the create keeps what was created (no rollback)"),
    ],
)
def test_a_first_create_says_what_a_failure_does(
    deployer: Deployer, dev: StackSet, option: str, on_failure: str, said: str
) -> None:
    """OnStackFailure on a CREATE change set, RetainExceptOnCreate at execution (the emulator accepts both and
    models neither): https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html"""
    plan = deployer.plan(deployer.package(dev), on_failure=option)
    assert plan.on_failure == on_failure and said in plan.render()
    assert deployer.apply(plan).stack_status == "CREATE_COMPLETE"


class _Interrupting:
    """Progress that delivers a signal to this process at the first stack event (execution has started)."""

    def __init__(self, number: int) -> None:
        self.number = number

    def event(self, event: StackEvent) -> None:
        if self.number:
            number, self.number = self.number, 0
            os.kill(os.getpid(), number)

    def waiting(self, what: str, elapsed_s: float) -> None:
        """Ignore."""

    def done(self) -> None:
        """Ignore."""


@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_after_execution_started_says_cloudformation_carries_on_and_how_to_resume(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], number: int, code: int
) -> None:
    assert main(["bootstrap", "--region", REGION]) == 0
    progress = sys.modules["cfngen.deploy"].ConsoleProgress
    monkeypatch.setattr(sys.modules["cfngen"], "ConsoleProgress", lambda stream: _Interrupting(number))
    assert main(["deploy", DEV, "--yes"]) == code
    err = capsys.readouterr().err
    assert f"CloudFormation carries on with {NAME}" in err
    assert f"cfngen deploy BLUEPRINT --resume --region {REGION} --stack-name {NAME}" in err
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or number == signal.SIGINT, "handler restored"
    monkeypatch.setattr(sys.modules["cfngen"], "ConsoleProgress", progress)
    assert main(["deploy", DEV, "--resume"]) == 0
    out = capsys.readouterr().out
    assert f"{NAME}: nothing running (CREATE_COMPLETE)" in out and "restored: " in out
    assert _protected()


def test_resume_re_attaches_to_a_running_operation(deployer: Deployer, dev: StackSet) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    stack = moto_stack(NAME, REGION)
    stack.status = "UPDATE_IN_PROGRESS"
    finish = threading.Timer(0.3, lambda: setattr(stack, "status", "UPDATE_COMPLETE"))
    finish.start()
    try:
        outcome = deployer.resume(NAME)
    finally:
        finish.cancel()
    assert (outcome.result, outcome.stack_status) == ("applied", "UPDATE_COMPLETE")


def test_interrupted_carries_the_exit_code_of_its_signal() -> None:
    assert Interrupted("x", signal.SIGTERM).exit_code == 143 and Interrupted("x", signal.SIGINT).exit_code == 130
    assert isinstance(Interrupted("x", 2), DeployError)


def test_event_polling_reads_only_the_root_when_every_nested_stack_is_settled(
    deployer: Deployer, dev: StackSet
) -> None:
    deployer.apply(deployer.plan(deployer.package(dev)))
    client = cloudformation(REGION)
    calls: list[str] = []
    client.meta.events.register("before-call.cloudformation", lambda model, **_: calls.append(model.name))
    watcher = EventWatcher(client, client.describe_stacks(StackName=NAME)["Stacks"][0]["StackId"])
    calls.clear()
    watcher.mark_seen()
    assert calls == ["DescribeStackEvents"], "one call marks the whole tree's events as old"
    assert watcher.poll() == [], "the nested stacks' events from before are old too"
    calls.clear()
    assert watcher.poll() == []
    assert calls == ["DescribeStackEvents", "ListStackResources"], f"{len(dev.children)} nested stacks not read"


@pytest.fixture()
def frozen_endpoint() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers. It accepts them for real (and holds them): left
    in the listen backlog, connections beyond it would fail to connect, another failure than a frozen endpoint's."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):  # the server closed: the test is over
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for connection in held:
            connection.close()


def test_a_frozen_endpoint_fails_within_the_timeout_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, frozen_endpoint: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", frozen_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    deployer = Deployer(region=REGION, timeout_s=10)
    config: Any = deployer._cloudformation.meta.config
    assert (config.read_timeout, config.connect_timeout, config.retries["total_max_attempts"]) == (5.0, 5.0, 2)
    with pytest.raises(DeployError, match="cannot reach AWS for CloudFormation DescribeStacks.*[Rr]ead timeout"):
        _ = deployer.bucket
    assert Deployer(region=REGION, timeout_s=3600)._cloudformation.meta.config.read_timeout == 60.0


def test_timeout_bounds_the_whole_command_on_a_frozen_endpoint(frozen_endpoint: str, tmp_path: Path) -> None:
    """plan, deploy, destroy and drift against an endpoint that accepts connections and never answers: each ends
    with exit 124 and one line naming --timeout and the call that got no answer, well before botocore's 10
    attempts x 60 s (the bound below is the timeout plus 30 s of start-up, synthesis and lint)."""
    timeout_s = 10
    environment = {
        **os.environ,
        "AWS_ENDPOINT_URL": frozen_endpoint,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "CI": "true",
    }
    environment.pop("AWS_MAX_ATTEMPTS", None)
    aws_options = ["--region", REGION, "--bucket", "templates", "--timeout", str(timeout_s)]
    commands = {
        "plan": ["plan", DEV, *aws_options],
        "deploy": ["deploy", DEV, "--yes", *aws_options],
        "destroy": ["destroy", DEV, "--yes", *aws_options],
        "drift": ["drift", DEV, *aws_options],
    }
    started = time.monotonic()
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "cfngen", *argv],
            env=environment,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in commands.items()
    }
    for name, process in running.items():
        out, err = process.communicate(timeout=timeout_s + 30 - (time.monotonic() - started))
        errors = [line for line in err.splitlines() if line.startswith("cfngen: error:")]
        assert process.returncode == 124, (name, out, err)
        assert "Traceback" not in err
        assert len(errors) == 1 and err.rstrip().endswith(errors[0]), (name, err)
        assert errors[0].startswith(f"cfngen: error: --timeout of {timeout_s} s used up"), (name, errors[0])
        assert re.search(r"(CloudFormation|S3) [A-Z]\w+", errors[0]), (name, errors[0])


def test_a_used_up_deadline_executes_nothing_and_leaves_the_protections(deployer: Deployer, dev: StackSet) -> None:
    """A command whose --timeout ran out during synthesis and lint (or an earlier wait) sends no further request:
    the planned change set is not executed, and the stack stays as protected as it was (exit 124)."""
    deployer.apply(deployer.plan(deployer.package(dev)))
    assert _protected()
    pkg = deployer.package(synthesize(dev.blueprint.model_copy(update={"tags": {"Team": "a"}})))
    plan = deployer.plan(pkg)
    late = Deployer(region=REGION, poll_s=0.05, deadline=Deadline(30, started=time.monotonic() - 30))
    with pytest.raises(TimedOut, match="^--timeout of 30 s used up before CloudFormation DescribeChangeSet$") as raised:
        late.apply(plan, pkg=pkg)
    assert raised.value.exit_code == 124
    assert late.api_calls == 0
    change_set = cloudformation(REGION).describe_change_set(ChangeSetName=plan.change_set_id)
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert _protected()


def test_an_execution_whose_answer_came_too_late_is_followed_not_retried_into_a_refusal(
    deployer: Deployer, dev: StackSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first ExecuteChangeSet is accepted but answers after the read timeout (5 s here): botocore sends it again,
    and AWS refuses the second while the change set runs. The deployer reads the change set's ExecutionStatus
    (EXECUTE_IN_PROGRESS, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html)
    and follows the execution instead of failing."""
    from moto.cloudformation import models

    deployer.apply(deployer.plan(deployer.package(dev)))
    pkg = deployer.package(synthesize(dev.blueprint.model_copy(update={"tags": {"Team": "late"}})))
    plan = deployer.plan(pkg)
    apply = models.ChangeSet.apply

    def slow(change_set: Any) -> None:
        time.sleep(6)  # longer than the deployer's read timeout: the emulator executes inside the request
        apply(change_set)

    monkeypatch.setattr(models.ChangeSet, "apply", slow)
    assert deployer._cloudformation.meta.config.read_timeout == 5.0
    outcome = deployer.apply(plan, pkg=pkg)
    assert (outcome.result, outcome.stack_status) == ("applied", "UPDATE_COMPLETE")

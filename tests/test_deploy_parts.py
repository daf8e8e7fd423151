"""The deployer's pure parts: capabilities, quotas, template URLs, stack states, plan files and progress output."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cfngen import DeployError, Plan, ResourceChange, SynthError, UsageError
from cfngen.deploy._events import ConsoleProgress, StackEvent, root_cause
from cfngen.deploy._package import MAX_TEMPLATE_BYTES, capabilities, check_limits, object_url
from cfngen.deploy._states import Next, next_step


def _role(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}, **properties}}


@pytest.mark.parametrize(
    ("resources", "transform", "expected"),
    [
        ({"Bucket": {"Type": "AWS::S3::Bucket"}}, False, ()),
        ({"Role": _role()}, False, ("CAPABILITY_IAM",)),
        ({"Role": _role(RoleName="fixed")}, False, ("CAPABILITY_NAMED_IAM",)),
        (
            {"Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "p"}}, "Role": _role()},
            False,
            ("CAPABILITY_NAMED_IAM",),
        ),
        ({"Child": {"Type": "AWS::CloudFormation::Stack"}}, False, ("CAPABILITY_AUTO_EXPAND",)),
        ({"Bucket": {"Type": "AWS::S3::Bucket"}}, True, ("CAPABILITY_AUTO_EXPAND",)),
    ],
)
def test_capabilities_are_what_the_templates_need(
    resources: dict[str, Any], transform: bool, expected: tuple[str, ...]
) -> None:
    template: dict[str, Any] = {"Resources": resources}
    if transform:
        template["Transform"] = "AWS::Serverless-2016-10-31"
    assert capabilities([template, {"Resources": {}}]) == expected


@pytest.mark.parametrize(
    ("section", "count", "limit"), [("Resources", 501, 500), ("Parameters", 201, 200), ("Outputs", 201, 200)]
)
def test_quotas_are_checked_per_stack(section: str, count: int, limit: int) -> None:
    check_limits("ok.json", {section: {f"X{i}": {} for i in range(limit)}}, 10)
    with pytest.raises(SynthError, match=f"big.json has {count} {section.lower()}; CloudFormation allows {limit}"):
        check_limits("big.json", {section: {f"X{i}": {} for i in range(count)}}, 10)


def test_a_template_over_one_megabyte_is_refused() -> None:
    with pytest.raises(SynthError, match="reads at most 1,000,000"):
        check_limits("huge.json", {}, MAX_TEMPLATE_BYTES + 1)


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("https://s3.us-west-2.amazonaws.com", "https://b.s3.us-west-2.amazonaws.com/k.json"),
        ("https://s3.cn-north-1.amazonaws.com.cn", "https://b.s3.cn-north-1.amazonaws.com.cn/k.json"),
        ("http://127.0.0.1:5000", "http://localhost:5000/b/k.json"),
        ("http://localhost:4566", "http://localhost:4566/b/k.json"),
    ],
)
def test_template_urls_are_virtual_hosted_on_aws_and_path_style_on_an_emulator(endpoint: str, url: str) -> None:
    assert object_url(SimpleNamespace(meta=SimpleNamespace(endpoint_url=endpoint)), "b", "k.json") == url


@pytest.mark.parametrize(
    ("status", "step"),
    [
        (None, Next.CREATE),
        ("REVIEW_IN_PROGRESS", Next.CREATE),
        ("CREATE_COMPLETE", Next.UPDATE),
        ("UPDATE_COMPLETE", Next.UPDATE),
        ("UPDATE_ROLLBACK_COMPLETE", Next.UPDATE),
        ("IMPORT_COMPLETE", Next.UPDATE),
        ("UPDATE_IN_PROGRESS", Next.WAIT),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Next.WAIT),
        ("DELETE_IN_PROGRESS", Next.WAIT),
    ],
)
def test_stack_states_lead_to_a_step(status: str | None, step: Next) -> None:
    assert next_step("s", status, region="eu-west-1") is step


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("ROLLBACK_COMPLETE", "--replace-failed"),
        ("UPDATE_ROLLBACK_FAILED", "aws cloudformation continue-update-rollback --stack-name s --region eu-west-1"),
        ("DELETE_FAILED", "fix or delete it"),
        ("ROLLBACK_FAILED", "fix or delete it"),
    ],
)
def test_stack_states_that_need_a_person_are_refused_with_what_to_do(status: str, message: str) -> None:
    with pytest.raises(DeployError, match=message.replace("-", "\\-")):
        next_step("s", status, region="eu-west-1")
    if status == "ROLLBACK_COMPLETE":
        assert next_step("s", status, region="eu-west-1", replace_failed=True) is Next.RECREATE


def test_a_plan_file_round_trips_and_damaged_ones_are_bad_input(tmp_path: Path) -> None:
    plan = Plan(
        stack_name="s",
        region="r",
        change_set_type="UPDATE",
        change_set_id="cs",
        changes=(
            ResourceChange("root", "A", "AWS::S3::Bucket", "replace", "true", ("BucketName",), pipeline_owned=("X",)),
        ),
        capabilities=("CAPABILITY_IAM",),
    )
    assert Plan.load(plan.save(tmp_path / "p.json")) == plan
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"format": 99}), encoding="utf-8")
    (tmp_path / "damaged.json").write_text(json.dumps({"format": 1, "stack_name": "s"}), encoding="utf-8")
    for name, message in (
        ("bad.json", "not JSON"),
        ("other.json", "not a cfngen plan"),
        ("damaged.json", "damaged"),
        ("missing.json", "cannot read"),
    ):
        with pytest.raises(UsageError, match=message):
            Plan.load(tmp_path / name)


def _event(
    logical_id: str, status: str, reason: str = "", second: int = 0, resource_type: str = "AWS::EC2::Subnet"
) -> StackEvent:
    return StackEvent(
        f"{logical_id}{second}",
        "stack",
        logical_id,
        resource_type,
        status,
        reason,
        datetime(2024, 1, 1, 0, 0, second, tzinfo=timezone.utc),
    )


def test_the_root_cause_skips_cascades_and_prefers_the_earliest_own_failure() -> None:
    events = [
        _event("Later", "CREATE_FAILED", "quota", 5),
        _event("Sibling", "CREATE_FAILED", "Resource creation cancelled", 1),
        _event("First", "CREATE_FAILED", "bad CIDR", 2),
        _event("Child", "UPDATE_FAILED", "Embedded stack x failed", 0, "AWS::CloudFormation::Stack"),
    ]
    assert root_cause(events) == events[2]
    assert root_cause(events[1:2]) == events[1], "a cascade is still better than nothing"
    assert root_cause([_event("Ok", "CREATE_COMPLETE")]) is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_plain_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(stream)
    progress.event(_event("Vpc", "CREATE_COMPLETE"))
    progress.waiting("stack: waiting", 0.5)
    progress.waiting("stack: waiting", 31.0)
    progress.waiting("stack: waiting", 32.0)
    progress.done()
    assert stream.getvalue().splitlines() == [
        "00:00:00 stack Vpc AWS::EC2::Subnet CREATE_COMPLETE",
        "waiting: stack: waiting (31 s)",
    ]


def test_progress_on_a_terminal_prints_events_and_a_live_status() -> None:
    stream = _Terminal()
    progress = ConsoleProgress(stream)
    progress.waiting("stack: waiting", 2.0)
    progress.event(_event("Vpc", "CREATE_COMPLETE", "[not markup]"))
    progress.done()
    assert "00:00:00 stack Vpc AWS::EC2::Subnet CREATE_COMPLETE  [not markup]" in stream.getvalue()


def test_aws_clients_retry_throttling_in_adaptive_mode() -> None:
    import boto3

    from cfngen import Deployer

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="eu-west-1")
    deployer = Deployer(session=session, bucket="b")
    for client in (deployer._cloudformation, deployer._s3):
        assert client.meta.config.retries["mode"] == "adaptive"
        assert client.meta.config.retries["total_max_attempts"] == 10, "ten attempts in all, as AWS_MAX_ATTEMPTS counts"

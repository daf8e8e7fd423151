"""cfngen's Guard rules: every generated template meets them, each rule fails the template it must fail, and a
resource's `guard: SuppressedRules` (listed with its reason in the review's checks section) opts it out."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from troposphere.s3 import Bucket

from cfngen import load_blueprint, synthesize
from cfngen.linting._guard import RULES, guard
from cfngen.report import assemble
from cfngen.synth.suppress import ignore_lint_rule, skip_guard_rule
from tests.conftest import EXAMPLES, example_ids
from tests.review_goldens import edited, fixture_templates

GOOD: dict[str, Any] = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Bucket"},
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": False}},
                        }
                    ]
                },
            },
        },
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"KmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "RetentionInDays": 30},
        },
        "Database": {
            "Type": "AWS::RDS::DBCluster",
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
            "Properties": {
                "Engine": "aurora-mysql",
                "StorageEncrypted": True,
                "BackupRetentionPeriod": 7,
                "EnableCloudwatchLogsExports": ["error"],
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {},
                "Policies": [
                    {
                        "PolicyName": "p",
                        "PolicyDocument": {
                            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]
                        },
                    }
                ],
            },
        },
    }
}


def _broken(edit: str) -> dict[str, Any]:
    template = copy.deepcopy(GOOD)
    resources = template["Resources"]
    if edit == "CFNGEN_BUCKET_TLS_ONLY":
        del resources["BucketPolicy"]
    elif edit == "CFNGEN_LOG_GROUP_ENCRYPTED_AND_RETAINED":
        del resources["Logs"]["Properties"]["KmsKeyId"]
    elif edit.startswith("CFNGEN_DATABASE_CLUSTER_DATA_SAFE"):
        broken = edit.partition(":")[2]
        if broken in ("DeletionPolicy", "UpdateReplacePolicy"):
            resources["Database"][broken] = "Delete"
        else:
            del resources["Database"]["Properties"][broken]
    else:
        resources["Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"] = ["s3:*"]
    return template


@pytest.mark.parametrize("blueprint", EXAMPLES, ids=example_ids())
def test_every_generated_template_meets_the_rules(blueprint: Any) -> None:
    stacks = synthesize(load_blueprint(blueprint))
    templates = {name: json.loads(json.dumps(template.to_dict())) for name, template in stacks.templates().items()}
    assert guard(templates) == []


@pytest.mark.parametrize(
    "case",
    [
        "CFNGEN_BUCKET_TLS_ONLY",
        "CFNGEN_LOG_GROUP_ENCRYPTED_AND_RETAINED",
        "CFNGEN_NO_WILDCARD_ACTIONS",
        *(
            f"CFNGEN_DATABASE_CLUSTER_DATA_SAFE:{broken}"
            for broken in (
                "StorageEncrypted",
                "BackupRetentionPeriod",
                "EnableCloudwatchLogsExports",
                "DeletionPolicy",
                "UpdateReplacePolicy",
            )
        ),
    ],
)
def test_each_rule_fails_what_it_forbids_unless_suppressed(case: str) -> None:
    rule = case.partition(":")[0]
    assert guard({"good.json": GOOD}) == []
    (finding,) = guard({"bad.json": _broken(case)})
    assert finding.rule == rule and finding.messages
    suppressed = _broken(case)
    holder = {
        "CFNGEN_BUCKET_TLS_ONLY": "Bucket",
        "CFNGEN_LOG_GROUP_ENCRYPTED_AND_RETAINED": "Logs",
        "CFNGEN_DATABASE_CLUSTER_DATA_SAFE": "Database",
    }.get(rule, "Role")
    suppressed["Resources"][holder]["Metadata"] = {"guard": {"SuppressedRules": [rule]}}
    assert guard({"suppressed.json": suppressed}) == []


def test_a_wildcard_in_a_managed_policy_fails_too() -> None:
    template = {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
            }
        }
    }
    assert [finding.rule for finding in guard({"t.json": template})] == ["CFNGEN_NO_WILDCARD_ACTIONS"]


def test_the_rules_ship_with_the_package_for_the_cfn_guard_command_line() -> None:
    script = "from cfngen.linting._guard import RULES; print(RULES.read_text()[:500])"
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "cfn-guard validate --rules cfngen.guard" in printed and RULES.name == "cfngen.guard"


def test_the_review_lists_guard_suppressions_with_their_reasons() -> None:
    def suppress(template: dict[str, Any]) -> None:
        template["Resources"]["ServiceAArtifactBucket"]["Metadata"] = {
            "guard": {"SuppressedRules": ["S3_BUCKET_LOGGING_ENABLED"]},
            "cfngen": {"guard-suppressions": {"S3_BUCKET_LOGGING_ENABLED": "artifacts are written by the pipeline"}},
        }

    report = assemble(edited(fixture_templates(), "pipeline-service-a", suppress), region="us-east-1")
    text = report.markdown()
    assert (
        "| cfn-guard | `S3_BUCKET_LOGGING_ENABLED` | artifacts are written by the pipeline | "
        "`pipeline-service-a/ServiceAArtifactBucket` |"
    ) in text


@pytest.mark.parametrize("blueprint", EXAMPLES, ids=example_ids())
def test_every_guard_suppression_in_the_templates_has_its_reason(blueprint: Any) -> None:
    """What the builders suppress of the AWS Guard Rules Registry (docs/guard-registry.md) is written with a reason."""
    suppressed = set()
    for template in synthesize(load_blueprint(blueprint)).templates().values():
        for name, resource in template.to_dict().get("Resources", {}).items():
            metadata = resource.get("Metadata") or {}
            reasons = (metadata.get("cfngen") or {}).get("guard-suppressions") or {}
            for rule in (metadata.get("guard") or {}).get("SuppressedRules") or []:
                assert len(reasons.get(rule, "")) >= 20, (name, rule)
                suppressed.add(rule)
    assert {"IAM_NO_INLINE_POLICY_CHECK", "NO_UNRESTRICTED_ROUTE_TO_IGW", "CODEBUILD_ENCRYPTION_KEY_RULE"} <= suppressed


def test_suppressions_of_every_tool_keep_each_other_and_need_a_reason() -> None:
    bucket = Bucket("Artifacts")
    bucket.Metadata = {"cfngen": {"test-command": "make test"}}
    skip_guard_rule(bucket, "S3_BUCKET_LOGGING_ENABLED", "only the pipeline's roles use this bucket")
    ignore_lint_rule(bucket, "W3045", "the bucket policy is a separate resource on purpose")
    skip_guard_rule(bucket, "S3_BUCKET_DEFAULT_LOCK_ENABLED", "artifacts expire by the lifecycle rule")
    metadata = bucket.Metadata
    assert metadata["guard"] == {"SuppressedRules": ["S3_BUCKET_DEFAULT_LOCK_ENABLED", "S3_BUCKET_LOGGING_ENABLED"]}
    assert metadata["cfngen"]["test-command"] == "make test"
    assert set(metadata["cfngen"]["guard-suppressions"]) == {
        "S3_BUCKET_DEFAULT_LOCK_ENABLED",
        "S3_BUCKET_LOGGING_ENABLED",
    }
    assert metadata["cfngen"]["lint-suppressions"] == {"W3045": "the bucket policy is a separate resource on purpose"}
    with pytest.raises(ValueError, match="needs a written reason"):
        skip_guard_rule(bucket, "S3_BUCKET_REPLICATION_ENABLED", "no")

"""The bootstrap template: a bucket that is versioned, encrypted, private and TLS only; lint- and scanner-clean."""

from __future__ import annotations

from pathlib import Path

from cfngen.deploy import bootstrap
from cfngen.linting import lint_texts
from tests.conftest import checkov_failures


def test_the_templates_bucket_is_versioned_private_and_expires_old_versions() -> None:
    resources = bootstrap.build().to_dict()["Resources"]
    bucket = resources["TemplatesBucket"]
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert properties["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    statement = resources["TemplatesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bootstrap_template_is_lint_and_scanner_clean(tmp_path: Path) -> None:
    text = str(bootstrap.build().to_yaml())
    assert [str(finding) for finding in lint_texts({"bootstrap.yaml": text})] == []
    (tmp_path / "bootstrap.yaml").write_text(text, encoding="utf-8")
    assert [(f["check_id"], f["resource"]) for f in checkov_failures(tmp_path)] == []

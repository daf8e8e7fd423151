"""Suppressions of checkov checks and cfn-lint rules, each on one resource and each with a written reason.

The reasons live in the template next to the resource, so the review report and
a reviewer reading the YAML see why a check does not apply.
"""

from __future__ import annotations

from troposphere import AWSObject


def skip_check(resource: AWSObject, check_id: str, reason: str) -> AWSObject:
    """Suppress one checkov check on one resource, with the reason written next to it in the template.

    Refuses an empty or token reason: every suppression must say why the check cannot apply here.
    """
    _require_reason(resource, check_id, reason)
    metadata = dict(getattr(resource, "Metadata", None) or {})
    checkov = dict(metadata.get("checkov", {}))
    skips = [*checkov.get("skip", []), {"id": check_id, "comment": reason.strip()}]
    checkov["skip"] = sorted(skips, key=lambda item: item["id"])
    metadata["checkov"] = checkov
    resource.Metadata = metadata
    return resource


def ignore_lint_rule(resource: AWSObject, rule_id: str, reason: str) -> AWSObject:
    """Suppress one cfn-lint rule on one resource; the reason is kept beside it under Metadata.cfngen."""
    _require_reason(resource, rule_id, reason)
    metadata = dict(getattr(resource, "Metadata", None) or {})
    config = dict(metadata.get("cfn-lint", {}).get("config", {}))
    config["ignore_checks"] = sorted({*config.get("ignore_checks", []), rule_id})
    metadata["cfn-lint"] = {"config": config}
    reasons = dict(metadata.get("cfngen", {}).get("lint-suppressions", {}))
    reasons[rule_id] = reason.strip()
    metadata["cfngen"] = {"lint-suppressions": reasons}
    resource.Metadata = metadata
    return resource


def _require_reason(resource: AWSObject, check: str, reason: str) -> None:
    if len(reason.strip()) < 20:
        raise ValueError(f"suppressing {check} on {resource.title} needs a written reason, got {reason!r}")

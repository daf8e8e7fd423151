"""Suppressions of checkov checks, cfn-lint rules and cfn-guard rules, each on one resource with a written reason.

The reasons live in the template next to the resource, so the review report and
a reviewer reading the YAML see why a check does not apply.
"""

from __future__ import annotations

from typing import Any

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
    _keep_reason(metadata, "lint-suppressions", rule_id, reason)
    resource.Metadata = metadata
    return resource


def skip_guard_rule(resource: AWSObject, rule: str, reason: str) -> AWSObject:
    """Suppress one cfn-guard rule (an AWS Guard Rules Registry rule or cfngen's own) on one resource.

    Writes ``Metadata.guard.SuppressedRules``, the convention the registry's rules read (each rule that
    honours it filters suppressed resources out itself; cfn-guard has no suppression of its own), and the
    reason under ``Metadata.cfngen.guard-suppressions``, which the review's checks section lists.
    """
    _require_reason(resource, rule, reason)
    metadata = dict(getattr(resource, "Metadata", None) or {})
    guard = dict(metadata.get("guard", {}))
    guard["SuppressedRules"] = sorted({*guard.get("SuppressedRules", []), rule})
    metadata["guard"] = guard
    _keep_reason(metadata, "guard-suppressions", rule, reason)
    resource.Metadata = metadata
    return resource


def _keep_reason(metadata: dict[str, Any], key: str, check: str, reason: str) -> None:
    """Record `reason` for `check` under ``Metadata.cfngen.<key>``, keeping what else cfngen wrote there."""
    cfngen = dict(metadata.get("cfngen", {}))
    cfngen[key] = {**cfngen.get(key, {}), check: reason.strip()}
    metadata["cfngen"] = cfngen


def _require_reason(resource: AWSObject, check: str, reason: str) -> None:
    if len(reason.strip()) < 20:
        raise ValueError(f"suppressing {check} on {resource.title} needs a written reason, got {reason!r}")

"""E9101: no wildcard grants in any IAM policy of a template."""

from __future__ import annotations

from typing import Any

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from cfngen.facts.iam import policy_documents, wildcard_findings


class WildcardPermission(CloudFormationLintRule):  # type: ignore[misc]
    """Allow statements name their actions, and their resources unless the action supports none."""

    id = "E9101"
    shortdesc = "No wildcard IAM grants"
    description = (
        "Allow statements in any IAM policy (role, managed, bucket, topic, queue, key policies) must not use "
        "Action '*' or 'service:*', nor Resource '*' except for actions that support no resource-level "
        "permission (cfngen.builders.iam.ACTIONS_WITHOUT_RESOURCE_LEVEL). In a key policy '*' is the key itself."
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["resources", "iam", "least-privilege", "cfngen"]

    def match(self, cfn: Any) -> list[Any]:
        """One match per wildcard grant, located at the offending Action or Resource."""
        return [
            RuleMatch(list(path), message)
            for policy in policy_documents(cfn.template)
            for path, message in wildcard_findings(policy)
        ]

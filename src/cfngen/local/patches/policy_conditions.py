"""A policy statement applies only when its conditions match; a request to the emulator counts as HTTPS.

Emulator: moto treats a condition on a key the request does not carry as met, and answers DENIED for any statement
whose conditions do not match, Deny statements included: the usual "Deny when aws:SecureTransport is false" bucket
policy (cfngen's templates and artifact buckets) denied every request (the deployer's first HeadObject: 403).
AWS: a condition on a key missing from the request context does not match (except the ...IfExists operators), and a
statement whose conditions do not match has no effect
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html);
requests to AWS's endpoints come over TLS (aws:SecureTransport true), which the emulator's plain HTTP stands for.
Test: tests/test_local_aws.py::test_a_deny_statement_whose_condition_does_not_match_denies_nothing
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.iam.access_control:IAMPolicyStatement.is_action_permitted", "e3e502fdb0334b31"),
    Target("moto.iam.access_control:IAMPolicyStatement._check_conditions", "b4c3c794df669a6e"),
    # moto evaluates StringEquals only (and ignores, that is matches, every other operator); Bool is added.
    Target("moto.iam.policy_conditions:TrustCondition.verify_condition", "f9fe98004d4d9cdc"),
)
REQUEST_CONTEXT = {"aws:SecureTransport": "true"}  # what every request to the emulator stands for


def apply() -> None:
    """Wrap moto's evaluation of one statement."""
    from moto.iam.access_control import IAMPolicyStatement
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    CONDITION_OPERATIONS["Bool"] = _bool_equals
    setattr(IAMPolicyStatement, "_check_conditions", _present_keys_only(IAMPolicyStatement._check_conditions))
    setattr(IAMPolicyStatement, "is_action_permitted", _conditional(IAMPolicyStatement.is_action_permitted))


def _present_keys_only(check: Callable[..., bool]) -> Callable[..., bool]:
    def check_conditions(statement: Any, incoming_condition_values: dict[str, str] | None) -> bool:
        incoming = {**REQUEST_CONTEXT, **(incoming_condition_values or {})}
        for operator, values in (statement._statement.get("Condition") or {}).items():
            if not operator.endswith("IfExists") and any(key not in incoming for key in values):
                return False
        return bool(check(statement, incoming))

    return check_conditions


def _bool_equals(expected_value: list[str] | str, actual_value: str) -> bool:
    expected = expected_value if isinstance(expected_value, list) else [expected_value]
    return str(actual_value).lower() in [str(value).lower() for value in expected]


def _conditional(evaluate: Callable[..., Any]) -> Callable[..., Any]:
    def is_action_permitted(
        statement: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        from moto.iam.access_control import PermissionResult

        result = evaluate(statement, action, resource, principal, incoming_condition_values)
        unmet = statement._statement.get("Condition") and not statement._check_conditions(incoming_condition_values)
        return PermissionResult.NEUTRAL if result == PermissionResult.DENIED and unmet else result

    return is_action_permitted

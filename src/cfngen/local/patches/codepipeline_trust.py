"""CodePipeline accepts a role whose trust policy names its service in a list of principals.

Emulator: moto compares each statement's ``Principal.Service`` to the string ``codepipeline.amazonaws.com``, so a
trust policy that lists the service (``Service: [codepipeline.amazonaws.com]``, cfngen's form) was refused:
"CodePipeline is not authorized to perform AssumeRole on role ...".
AWS: a principal element's value is a string or an array of strings
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services).
Test: tests/test_local_aws.py::test_a_pipeline_and_its_build_project_are_created_as_the_template_says
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.codepipeline.models:CodePipelineBackend.create_pipeline", "5d2b65aa65c01f88"),)


def apply() -> None:
    """Wrap moto's CreatePipeline."""
    from moto.codepipeline.models import CodePipelineBackend

    setattr(CodePipelineBackend, "create_pipeline", _listed_principals(CodePipelineBackend.create_pipeline))


def _listed_principals(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_pipeline(backend: Any, pipeline: dict[str, Any], tags: list[dict[str, str]]) -> Any:
        from moto.iam.exceptions import NotFoundException

        try:
            role = backend.iam_backend.get_role_by_arn(pipeline["roleArn"])
        except NotFoundException:
            return create(backend, pipeline, tags)  # moto's own answer
        document = role.assume_role_policy_document
        role.assume_role_policy_document = json.dumps(_one_service_per_statement(json.loads(document)))
        try:
            return create(backend, pipeline, tags)
        finally:
            role.assume_role_policy_document = document

    return create_pipeline


def _one_service_per_statement(policy: dict[str, Any]) -> dict[str, Any]:
    """The same policy, with each statement that lists services split into one statement per service (the form
    moto reads)."""
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    split = []
    for statement in statements:
        services = (
            (statement.get("Principal") or {}).get("Service") if isinstance(statement.get("Principal"), dict) else None
        )
        if isinstance(services, list):
            split += [
                {**statement, "Principal": {**statement["Principal"], "Service": service}} for service in services
            ]
        else:
            split.append(statement)
    return {**policy, "Statement": split}

"""A deployed stack tree as CloudFormation holds it: its stacks, their resources, their deployed templates.

destroy and drift read what is deployed rather than what the local blueprint would make now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from cfngen.facts.resource_types import NESTED_STACK


def stacks(cloudformation: Any, stack_id: str, path: str) -> Iterator[tuple[str, str]]:
    """(path, stack id) of the stack and every stack nested under it, parents first; a nested stack's path is
    its parent's path and its logical id ("microservices-demo/Network")."""
    yield path, stack_id
    for resource in resources(cloudformation, stack_id):
        if resource["ResourceType"] == NESTED_STACK and resource.get("PhysicalResourceId"):
            yield from stacks(cloudformation, resource["PhysicalResourceId"], f"{path}/{resource['LogicalResourceId']}")


def resources(cloudformation: Any, stack_id: str) -> list[dict[str, Any]]:
    """The stack's resources (ListStackResources summaries), deleted ones left out."""
    paginator = cloudformation.get_paginator("list_stack_resources")
    return [
        resource
        for page in paginator.paginate(StackName=stack_id)
        for resource in page.get("StackResourceSummaries", [])
        if resource.get("ResourceStatus") != "DELETE_COMPLETE"
    ]


def template(cloudformation: Any, stack_id: str) -> Mapping[str, Any]:
    """The stack's deployed template (GetTemplate, the original text), parsed."""
    body = cloudformation.get_template(StackName=stack_id, TemplateStage="Original")["TemplateBody"]
    if isinstance(body, Mapping):
        return body
    try:
        parsed: Mapping[str, Any] = json.loads(body)
    except ValueError:
        from cfnlint.decode.cfn_yaml import loads  # YAML with the short-form intrinsic tags

        parsed = loads(str(body))
    return parsed

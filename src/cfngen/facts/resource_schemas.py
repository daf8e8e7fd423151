"""What CloudFormation says about each resource type, read from the resource schemas that cfn-lint ships.

The registry schemas carry the two facts cfngen needs and must not keep by hand:
which properties force a replacement when they change (``createOnlyProperties``)
and which IAM actions CloudFormation performs to create, update and delete a
resource (``handlers.<operation>.permissions``). cfn-lint keeps them current
per region; we read them through its schema manager, which caches them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

# Some handler permission lists contain names that are not IAM actions (e.g. "s3:REST.PUT.OBJECT").
_IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
HANDLERS = ("create", "update", "delete")


def create_only_properties(resource_type: str, region: str) -> tuple[tuple[str, ...], ...]:
    """Property paths of `resource_type` whose change replaces the resource ("*" stands for any list index).

    ("CidrBlock",) for AWS::EC2::VPC; empty for types without a schema (custom resources).
    """
    schema = _schema(resource_type, region)
    pointers = schema.get("createOnlyProperties", []) if schema else []
    return tuple(tuple(pointer.split("/")[2:]) for pointer in pointers if pointer.startswith("/properties/"))


def handler_permissions(resource_type: str, region: str, handlers: Iterable[str] = HANDLERS) -> frozenset[str] | None:
    """IAM actions CloudFormation needs to run `handlers` on `resource_type`; None when the schema lists none."""
    schema = _schema(resource_type, region)
    declared = (schema or {}).get("handlers", {})
    if not any(handler in declared for handler in handlers):
        return None
    return frozenset(
        action
        for handler in handlers
        for action in declared.get(handler, {}).get("permissions", [])
        if _IAM_ACTION.match(action)
    )


def forces_replacement(path: tuple[str | int, ...], create_only: Iterable[tuple[str, ...]]) -> bool:
    """True when a change at property `path` touches a create-only property (at, above or below it)."""
    for pointer in create_only:
        common = min(len(pointer), len(path))
        if all(want == "*" or want == str(have) for want, have in zip(pointer[:common], path[:common])):
            return True
    return False


@functools.cache
def _schema(resource_type: str, region: str) -> dict[str, Any] | None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    if not resource_type.startswith("AWS::"):
        return None
    try:
        schema: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    return schema

"""A change set with ImportExistingResources adopts a resource of a fixed name that exists already.

Emulator: moto ignores the option, so re-creating a stack whose retained resources (ECR and source repositories,
log groups) survived a deletion or a failed create failed on "already exists", where AWS adopts them.
AWS: "ImportExistingResources: Indicates if the change set imports resources that already exist. This parameter can
only import resources that have custom names in templates"; set on the root, it applies to the nested stacks
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html#API_CreateChangeSet_RequestParameters).
The emulator adopts the fixed-name types cfngen retains: ECR repositories, CodeCommit repositories and log groups.
Test: tests/test_local_aws.py::test_import_existing_resources_adopts_a_retained_repository
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import announce

TARGETS = (
    Target("moto.cloudformation.responses:CloudFormationResponse.create_change_set", "9eb833dacc5f8452"),
    Target("moto.cloudformation.models:CloudFormationBackend.execute_change_set", "1090cb5b81abc8ff"),
    Target("moto.cloudformation.parsing:parse_and_create_resource", "ea3c10d68d2c03e6"),
)
IMPORTED_REASON = "Resource imported: the existing resource of this name was adopted (ImportExistingResources)"
_ADOPTING = threading.local()  # set while a change set with the option executes (nested stacks included)


def _ecr(name: str, account_id: str, region_name: str) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[account_id][region_name].repositories.get(name)


def _log_group(name: str, account_id: str, region_name: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account_id][region_name].groups.get(name)


def _source_repository(name: str, account_id: str, region_name: str) -> Any:
    from moto.codecommit.models import codecommit_backends

    from cfngen.local.patches.resource_handlers import _handler_class

    repository = codecommit_backends[account_id][region_name].repositories.get(name)
    return (
        None
        if repository is None
        else _handler_class("AWS::CodeCommit::Repository")(
            repository.repository_metadata["repositoryId"], {"repositoryName": name}, region_name
        )
    )


# Type -> (the property that names it, how to find the existing one by that name).
ADOPTABLE: dict[str, tuple[str, Callable[[str, str, str], Any]]] = {
    "AWS::ECR::Repository": ("RepositoryName", _ecr),
    "AWS::CodeCommit::Repository": ("RepositoryName", _source_repository),
    "AWS::Logs::LogGroup": ("LogGroupName", _log_group),
}


def apply() -> None:
    """Record the option on the change set; adopt while such a change set executes."""
    from moto.cloudformation import models, parsing, responses

    setattr(
        responses.CloudFormationResponse,
        "create_change_set",
        _recording(responses.CloudFormationResponse.create_change_set),
    )
    setattr(
        models.CloudFormationBackend, "execute_change_set", _adopting(models.CloudFormationBackend.execute_change_set)
    )
    parsing.parse_and_create_resource = _adopt_existing(parsing.parse_and_create_resource)


def _recording(create_change_set: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def create_and_record(response: Any) -> Any:
        result = create_change_set(response)
        if response._get_bool_param("ImportExistingResources", False):
            name, stack = response._get_param("ChangeSetName"), response._get_param("StackName")
            created = [
                change_set
                for change_set in response.cloudformation_backend.change_sets.values()
                if change_set.change_set_name == name and stack in (change_set.stack_name, change_set.stack_id)
            ]
            created[-1].import_existing = True
        return result

    return create_and_record


def _adopting(execute: Callable[..., None]) -> Callable[..., None]:
    def execute_adopting(backend: Any, change_set_name: str, stack_name: str | None = None) -> None:
        _ADOPTING.active = getattr(backend.describe_change_set(change_set_name), "import_existing", False)
        try:
            execute(backend, change_set_name, stack_name)
        finally:
            _ADOPTING.active = False

    return execute_adopting


def _adopt_existing(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_or_adopt(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        try:
            return create(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as exc:
            kind = resource_json.get("Type", "")
            name = (resource_json.get("Properties") or {}).get(ADOPTABLE.get(kind, ("", None))[0])
            existing = (
                ADOPTABLE[kind][1](name, account_id, region_name)
                if getattr(_ADOPTING, "active", False) and kind in ADOPTABLE and isinstance(name, str)
                else None
            )
            if existing is None or "exist" not in str(exc).lower():
                raise
            existing.cf_resource_type, existing.logical_resource_id = kind, logical_id
            announce(account_id, region_name, resources_map.stack_id, existing, "CREATE_COMPLETE", IMPORTED_REASON)
            return existing

    return create_or_adopt

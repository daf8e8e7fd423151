"""DeleteStack deletes a stack's resources in reverse dependency order, its nested stacks with them, and reports
each resource as AWS does; a stack whose resource fails to delete ends DELETE_FAILED and stays.

Emulator: moto deletes resources in set order, retrying what fails, with no resource events; a nested stack that
fails to delete vanished from both the live and the deleted stacks; and listing a deleted stack's resources (as
the deployer does while it waits) re-created every nested stack of it, retained repositories colliding, so a
destroyed root left its nested stacks behind.
AWS: "When you delete a stack, CloudFormation deletes the nested stacks along with it"; resources are deleted in
the reverse order of their dependencies, each with DELETE_IN_PROGRESS and DELETE_COMPLETE events, one with
DeletionPolicy Retain (or RetainExceptOnCreate) is DELETE_SKIPPED and kept; when a resource cannot be deleted, the
stack ends DELETE_FAILED ("The following resource(s) failed to delete: [X]."), and a nested stack's failure fails
its resource in the parent ("Embedded stack <arn> was not successfully deleted: ..."). A nested stack's physical id
(and Ref) is its stack id, so its events stay readable after the deletion.
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-stack.html#aws-resource-cloudformation-stack-return-values).
Test: tests/test_destroy.py::test_destroy_deletes_every_nested_stack,
tests/test_local_aws.py::test_a_deleted_stack_goes_in_reverse_dependency_order_with_its_nested_stacks,
tests/test_local_aws.py::test_a_resource_that_fails_to_delete_leaves_the_stack_delete_failed
"""

from __future__ import annotations

from collections.abc import Callable
from graphlib import TopologicalSorter
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import announce, live_stack

TARGETS = (
    Target("moto.cloudformation.models:Stack.delete", "bf0c199611d254b6"),
    Target("moto.cloudformation.models:Stack.physical_resource_id", "7535d25dd993ff2c"),
    Target("moto.cloudformation.models:CloudFormationBackend.delete_stack", "d0113177c342c294"),
    Target("moto.cloudformation.responses:CloudFormationResponse.list_stack_resources", "fcc4b4296d4f9e58"),
)
RETAINED = ("Retain", "RetainExceptOnCreate")  # the policies that keep a resource when its stack is deleted
STATUSES = "_cfngen_resource_statuses"  # logical id -> the resource's status once a deletion reached it


def apply() -> None:
    """Replace moto's stack deletion and the nested stack's physical id; list resources with their status."""
    from moto.cloudformation import models, responses

    setattr(models.Stack, "delete", _delete_resources)
    setattr(models.Stack, "physical_resource_id", property(lambda stack: stack.stack_id))
    setattr(models.CloudFormationBackend, "delete_stack", _delete_stack)
    setattr(
        responses.CloudFormationResponse,
        "list_stack_resources",
        _with_statuses(responses.CloudFormationResponse.list_stack_resources),
    )


def resource_statuses(stack: Any) -> dict[str, str]:
    """The status of each resource of `stack` that a deletion reached (the rest are as created)."""
    statuses: dict[str, str] = stack.__dict__.setdefault(STATUSES, {})
    return statuses


def _delete_stack(backend: Any, name_or_stack_id: str) -> None:
    """Delete the live stack of that id or name; a stack left DELETE_FAILED stays live, as on AWS."""
    stack = live_stack(backend, name_or_stack_id)
    if stack is None:  # AWS: deleting a stack that does not exist (or is deleted) succeeds
        return
    stack.delete()
    if stack.status == "DELETE_COMPLETE":
        for export in stack.exports:
            backend.exports.pop(export.name, None)
        backend.stacks.pop(stack.stack_id)
        backend.deleted_stacks[stack.stack_id] = stack


def _delete_resources(stack: Any) -> None:
    """Stack.delete: every resource in reverse dependency order, with its events; the stack's status at the end."""
    stack.status = "DELETE_IN_PROGRESS"
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    resources = stack.resource_map
    statuses = resource_statuses(stack)
    uses = _dependencies(resources._resource_json_map)
    failed: list[str] = []
    kept: set[str] = set()  # what a resource that failed to delete still uses
    for logical_id in reversed(list(TopologicalSorter(uses).static_order())):
        model = resources._parsed_resources.get(logical_id)
        gone = statuses.get(logical_id) in ("DELETE_COMPLETE", "DELETE_SKIPPED")  # by an earlier, failed deletion
        if model is None or isinstance(model, str) or logical_id in kept or gone:
            continue  # never created (a false condition), in use by a failure, or gone already
        if resources._resource_json_map[logical_id].get("DeletionPolicy") in RETAINED:
            _report(stack, model, "DELETE_SKIPPED", "")
            continue
        _report(stack, model, "DELETE_IN_PROGRESS", "")
        reason = _delete_one(stack, model)
        if reason:
            _report(stack, model, "DELETE_FAILED", reason)
            failed.append(logical_id)
            kept |= _used_through(logical_id, uses)
        else:
            _report(stack, model, "DELETE_COMPLETE", "")
    if failed:
        stack.status = "DELETE_FAILED"
        stack._add_stack_event(
            "DELETE_FAILED",
            resource_status_reason=f"The following resource(s) failed to delete: [{', '.join(failed)}]. ",
        )
    else:
        stack.status = "DELETE_COMPLETE"
        stack._add_stack_event("DELETE_COMPLETE")


def _dependencies(resources: dict[str, Any]) -> dict[str, set[str]]:
    """Each resource -> the resources it refers to (Ref, GetAtt, Sub, DependsOn), as cfn-lint's template graph reads
    them; deleting in the reverse of a topological order deletes every resource before those it uses."""
    from cfnlint.template import Template

    graph = Template("", {"Resources": resources}, ["us-east-1"]).graph.graph
    return {name: set(graph.successors(name)) & set(resources) if name in graph else set() for name in resources}


def _used_through(logical_id: str, uses: dict[str, set[str]]) -> set[str]:
    """Every resource `logical_id` uses, directly or through others."""
    found: set[str] = set()
    pending = [logical_id]
    while pending:
        for used in uses[pending.pop()] - found:
            found.add(used)
            pending.append(used)
    return found


def _delete_one(stack: Any, model: Any) -> str:
    """Delete one resource of `stack`; the reason it could not be deleted, or empty."""
    from moto.cloudformation.models import Stack, cloudformation_backends

    try:
        if isinstance(model, Stack):
            cloudformation_backends[model.account_id][model.region_name].delete_stack(model.stack_id)
            if model.status != "DELETE_COMPLETE":
                failure = model.events[-1].resource_status_reason or ""
                return f"Embedded stack {model.stack_id} was not successfully deleted: {failure}"
        else:
            resources = stack.resource_map
            resources._delete_resource(model, resources._resource_json_map[model.logical_resource_id])
    except Exception as exc:  # the service refused: the resource stays, as on AWS
        return f"{type(exc).__name__}: {exc}"[:500]
    return ""


def _report(stack: Any, model: Any, status: str, reason: str) -> None:
    """Record the resource's status on the stack and add its event."""
    resource_statuses(stack)[model.logical_resource_id] = status
    announce(stack.account_id, stack.region_name, stack.stack_id, model, status, reason or None)


def _with_statuses(list_stack_resources: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def list_with_statuses(response: Any) -> Any:
        result = list_stack_resources(response)
        stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
        statuses = resource_statuses(stack)
        for summary in result.result["StackResourceSummaries"]:  # moto writes CREATE_COMPLETE for every one
            summary["ResourceStatus"] = statuses.get(summary["LogicalResourceId"], summary["ResourceStatus"])
        return result

    return list_with_statuses

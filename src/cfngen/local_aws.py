"""The embedded AWS emulator: moto in server mode on a loopback port, plus small, tested extensions.

moto 5 models CloudFormation well enough to show cfngen's whole deploy flow, except in
five places this module patches (only in the process that runs the emulator):

1. ``GetAtt <NestedStack>.Outputs.<Name>``, which the root template uses to pass one child's
   outputs into the next child, crashes moto (its Stack model has no ``get_cfn_attribute``).
   :func:`_nested_stack_output` resolves it from the child stack's outputs, as CloudFormation does;
   :func:`_yaml_tag_constructor` splits the YAML short form ``!GetAtt A.B.C`` at the first dot only
   (``[A, B.C]``, CloudFormation's reading; moto splits at every dot and loses ``.Name``).
2. A resource type moto does not model (Aurora, capacity providers, CodeDeploy deployment
   groups, CodePipeline, ...) is skipped with a log line, and every ``Ref``/``GetAtt`` to it then
   breaks the template. :class:`NotEmulated` stands in for it instead: its physical id and
   attributes are visibly fake (``not-emulated:...``), and each one adds a stack event whose reason
   says that the emulator did not create it, so the deploy output shows it rather than hiding it.
   The same placeholder stands in where a model moto has fails on a resource (an exception other
   than a template error), and a failed update leaves the old resource in place, with an event.
3. Executing a change set creates or updates the resources but leaves the stack's template, parameters,
   tags and outputs as they were (empty after a CREATE change set): no outputs, and a re-plan that sees
   changes where there are none. :func:`_record_change_set` records them on the stack, as
   CloudFormation does.
4. On update, moto deletes a nested stack and creates it again, which collides with the retained,
   explicitly named resources of the old copy (an ECR repository "already exists").
   :func:`_update_nested_stack` updates the child in place, as CloudFormation does.
5. ``UpdateTerminationProtection`` is not implemented by moto (HTTP 500); :func:`_update_termination_protection`
   records the flag, which DescribeStacks then reports (moto does not enforce it on delete).

Everything else is moto as released. The extensions change nothing outside this process; they rely on
moto's internals, hence the upper bound on moto in setup.cfg (tests/test_local_aws.py covers each one).
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

NOT_EMULATED = "not-emulated"
NOT_EMULATED_REASON = "not created: the local AWS emulator (moto) does not model {type}; a placeholder stands in for it"
FAILED_REASON = "not created: the local AWS emulator (moto) failed on this {type} ({error}); a placeholder stands in"
NOT_UPDATED_REASON = "not updated: the local AWS emulator (moto) failed on this {type} ({error}); the old one stays"
STAND_IN_MARKS = ("not created: the local AWS emulator", "not updated: the local AWS emulator")
LOOPBACK = "127.0.0.1"
# moto resolves S3 template URLs by host name: "localhost" is path-style, "127..." would be read as a bucket.
URL_HOST = "localhost"
POLL_SECONDS = "0.2"  # the emulator settles at once; no need to wait AWS's 5 s between polls
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "cfngen-local", "AWS_SECRET_ACCESS_KEY": "cfngen-local"}


def install() -> None:
    """Apply the extensions to moto in this process (idempotent)."""
    _install()


@functools.lru_cache(maxsize=None)
def _install() -> None:
    from moto.cloudformation import models, parsing, responses

    setattr(models.Stack, "get_cfn_attribute", _nested_stack_output)
    # Both modules look the constructor up by name each time they parse a template.
    for module in (models, responses):
        setattr(module, "yaml_tag_constructor", _yaml_tag_constructor)
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return original(resource_type) or (None if resource_type in parsing.NULL_MODELS else NotEmulated)

    parsing.resource_class_from_type = resource_class_from_type
    parsing.parse_and_create_resource = _tolerant(parsing.parse_and_create_resource, _stand_in_for)
    parsing.parse_and_update_resource = _tolerant(parsing.parse_and_update_resource, _keep_old)
    setattr(responses.CloudFormationResponse, "update_termination_protection", _update_termination_protection)
    original_apply = models.ChangeSet.apply

    def apply(change_set: Any) -> None:
        original_apply(change_set)
        _record_change_set(change_set)

    setattr(models.ChangeSet, "apply", apply)
    setattr(models.Stack, "update_from_cloudformation_json", classmethod(_update_nested_stack))


def _yaml_tag_constructor(loader: Any, tag: str, node: Any) -> Any:
    """moto's constructor for the YAML short forms (`!Ref`, `!GetAtt`, `!Sub` ...), with `!GetAtt` split once."""
    from moto.cloudformation.utils import yaml_tag_constructor

    if tag == "!GetAtt" and isinstance(node.value, str):
        return {"Fn::GetAtt": node.value.split(".", 1)}
    return yaml_tag_constructor(loader, tag, node)


def _nested_stack_output(stack: Any, attribute: str) -> Any:
    """`GetAtt Child.Outputs.Name` on a nested stack: the child's output value."""
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

    prefix, _, key = attribute.partition(".")
    if prefix == "Outputs":
        for output in stack.output_map.values():
            if output is not None and output.key == key:
                return output.value
    raise UnformattedGetAttTemplateException()


def _tolerant(step: Callable[..., Any], on_failure: Callable[..., Any]) -> Callable[..., Any]:
    """moto's `step` (create or update one resource); where its model fails, `on_failure` decides what stays."""
    def tolerant_step(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                      account_id: str, region_name: str) -> Any:
        try:
            return step(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as exc:
            if not _tolerable(resource_json, exc):
                raise
            return on_failure(logical_id, resource_json["Type"], resources_map, account_id, region_name,
                              f"{type(exc).__name__}: {exc}"[:200])

    return tolerant_step


def _stand_in_for(logical_id: str, resource_type: str, resources_map: Any, account_id: str, region_name: str,
                  error: str) -> NotEmulated:
    """A resource moto failed to create: a placeholder, and an event that says why."""
    return NotEmulated.stand_in(logical_id, resource_type, resources_map.stack_id, account_id, region_name,
                                FAILED_REASON.format(type=resource_type, error=error))


def _keep_old(logical_id: str, resource_type: str, resources_map: Any, account_id: str, region_name: str,
              error: str) -> Any:
    """A resource moto failed to update: the old one stays, and an event says so."""
    resource = resources_map[logical_id]
    _announce(account_id, region_name, resources_map.stack_id, resource, "UPDATE_COMPLETE",
              NOT_UPDATED_REASON.format(type=resource_type, error=error))
    return resource


def _tolerable(resource_json: dict[str, Any], exc: Exception) -> bool:
    """A model's failure is tolerated; a template error (as AWS would report it) or a nested stack's is not."""
    from moto.cloudformation.exceptions import ValidationError

    return not isinstance(exc, ValidationError) and resource_json.get("Type") != "AWS::CloudFormation::Stack"


def _announce(account_id: str, region_name: str, stack_id: str, resource: Any, status: str, reason: str) -> None:
    """Add an event about `resource` to its stack, so the deploy output shows what the emulator did not do."""
    from moto.cloudformation.models import Event, cloudformation_backends

    stack = cloudformation_backends[account_id][region_name].stacks.get(stack_id)
    if stack is not None:
        stack.events.append(Event(
            stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=resource.logical_resource_id,
            physical_resource_id=getattr(resource, "physical_resource_id", ""), resource_type=resource.cf_resource_type,
            resource_status=status, resource_status_reason=reason, resource_properties=None))


def _record_change_set(change_set: Any) -> None:
    """After a change set ran: the stack's template, parameters, tags, description and outputs are the new ones."""
    stack = change_set.stack
    stack.template = change_set.template
    stack._parse_template()
    stack.parameters = dict(change_set.parameters)
    stack.tags = dict(change_set.tags or {})
    stack.description = stack.template_dict.get("Description")
    stack.output_map = stack._create_output_map()


def _update_nested_stack(stack_class: Any, original_resource: Any, new_resource_name: str,
                         cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> Any:
    """A nested stack whose TemplateURL or Parameters changed: update the child stack in place."""
    from moto.cloudformation.utils import get_stack_from_s3_url
    from moto.utilities.utils import get_partition

    properties = cloudformation_json["Properties"]
    template = get_stack_from_s3_url(properties["TemplateURL"], account_id=account_id,
                                     partition=get_partition(region_name))
    original_resource.update(template, parameters=properties.get("Parameters", {}))
    return original_resource


def _update_termination_protection(response: Any) -> Any:
    """The UpdateTerminationProtection action: store the flag on the stack."""
    from moto.core.responses import ActionResult

    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    stack.enable_termination_protection = response._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def stand_ins(region: str) -> dict[str, list[str]]:
    """Resource type -> `stack: logical id` of every resource the emulator (in this process) only stands in for."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    found: dict[str, set[str]] = {}
    for stack in cloudformation_backends[DEFAULT_ACCOUNT_ID][region].stacks.values():
        for event in stack.events:
            if (event.resource_status_reason or "").startswith(STAND_IN_MARKS):
                found.setdefault(event.resource_type, set()).add(f"{stack.name}: {event.logical_resource_id}")
    return {resource_type: sorted(where) for resource_type, where in sorted(found.items())}


class NotEmulated:
    """Placeholder for a resource the emulator cannot create; it only records that it exists."""

    def __init__(self, logical_id: str, resource_type: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.physical_resource_id = f"{NOT_EMULATED}:{logical_id}"

    @classmethod
    def stand_in(cls, logical_id: str, resource_type: str, stack_id: str, account_id: str, region_name: str,
                 reason: str) -> NotEmulated:
        """A placeholder, announced by a CREATE_COMPLETE event of its stack that gives `reason`."""
        resource = cls(logical_id, resource_type)
        _announce(account_id, region_name, stack_id, resource, "CREATE_COMPLETE", reason)
        return resource

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> NotEmulated:
        """Called by moto's template parser, for a type it does not model, instead of a real model."""
        resource_type = kwargs["ResourceType"]
        return cls.stand_in(kwargs["LogicalId"], resource_type, kwargs["StackId"], account_id, region_name,
                            NOT_EMULATED_REASON.format(type=resource_type))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: NotEmulated, new_resource_name: str,
                                        cloudformation_json: dict[str, Any], account_id: str,
                                        region_name: str) -> NotEmulated:
        """Nothing to update: the placeholder has no state."""
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str) -> None:
        """Nothing to delete."""

    def is_created(self) -> bool:
        """Ready at once."""
        return True

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        """Every attribute exists, with a visibly fake value."""
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        """`not-emulated:<LogicalId>.<Attribute>`."""
        return f"{self.physical_resource_id}.{attribute}"


def require_moto() -> None:
    """UsageError when moto (the `local` extra) is not installed."""
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        from cfngen.errors import UsageError

        raise UsageError("the local AWS emulator needs moto: pip install 'cfngen[local]'")


class LocalAws:
    """moto in server mode on a loopback port, with the extensions installed; a context manager."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        install()
        # Request lines and moto's "no support for <type>" warnings would drown the deploy output;
        # what the emulator only stands in for is reported by stand_ins() and by the placeholders' events.
        for logger in ("werkzeug", "moto"):
            logging.getLogger(logger).setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        self._started = False

    def start(self) -> str:
        """Start serving; returns the endpoint URL (`http://localhost:<port>`)."""
        self._server.start()
        self._started = True
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        """What AWS_ENDPOINT_URL must be for boto3 (and the aws CLI) to reach this emulator."""
        _, port = self._server.get_host_and_port()
        return f"http://{URL_HOST}:{port}"

    def reset(self) -> None:
        """Forget every resource (moto's reset endpoint)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        """Stop serving."""
        if self._started:
            self._server.stop()
            self._started = False

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def environment(endpoint_url: str, region: str) -> Iterator[dict[str, str]]:
    """Point boto3 at `endpoint_url` with fake credentials while the block runs; restores the environment."""
    values = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region,
              "CFNGEN_POLL_SECONDS": POLL_SECONDS}
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def summary(missing: Mapping[str, Iterable[str]]) -> str:
    """The lines that tell a user what the emulator did not really create."""
    if not missing:
        return "the local emulator created every resource"
    lines = ["not emulated (placeholders or old versions only; on AWS they are real):"]
    lines += [f"  {resource_type}: {', '.join(where)}" for resource_type, where in missing.items()]
    return "\n".join(lines)


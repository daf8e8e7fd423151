"""The embedded AWS emulator: moto in server mode on a loopback port, plus small, tested extensions.

moto 5 models CloudFormation well enough to show cfngen's whole deploy flow, except in
the twelve places this module patches (only in the process that runs the emulator):

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
   changes where there are none (in the parameters left at their defaults too). :func:`_record_change_set`
   records them on the stack, as CloudFormation does.
4. On update, moto deletes a nested stack and creates it again, which collides with the retained,
   explicitly named resources of the old copy (an ECR repository "already exists").
   :func:`_update_nested_stack` updates the child in place, as CloudFormation does.
5. ``UpdateTerminationProtection`` is not implemented by moto (HTTP 500); :func:`_update_termination_protection`
   records the flag, which DescribeStacks then reports (moto does not enforce it on delete).
6. moto reads a parameter of type ``AWS::SSM::Parameter::Name`` as if it were ``AWS::SSM::Parameter::Value<...>``
   (the root's AMI parameter name became the AMI id, which the cluster stack then looked up as a name), and a
   name that the parameter store lacks crashes it (HTTP 500). :func:`_ssm_parameter` keeps a ``Name`` as the
   name, as CloudFormation does, and refuses a missing parameter with CloudFormation's ValidationError. The
   public parameters the templates read (the ECS-optimised AMI ids) come with moto's snapshot of them.
7. A placeholder's value (``not-emulated:...``) passed into a ``Number`` parameter of another stack crashes
   moto's number parsing (HTTP 500). :func:`_placeholders_pass` lets it through unparsed, so the
   placeholder stays visible downstream (a resource that needs the real number gets a stand-in of its own).
8. ``GetAtt`` of an attribute a model moto has does not give (``TargetGroupName`` of a target group ...)
   crashes it (HTTP 500). :func:`_attributes_stand_in` gives a visibly fake value (``not-emulated:<Id>.<Attribute>``)
   and an event that says so, as for a whole resource in 2.
9. moto creates a resource when something first refers to it, before the resources its ``DependsOn`` names
   (an ECS service that names its task definition's family was created before that task definition, and
   failed). :func:`_dependencies_first` creates those first, as CloudFormation does.
10. moto ignores a load balancer's ``Type`` in a template, so a Network Load Balancer became an application
    one that refuses TCP listeners. :func:`_typed_load_balancer` keeps the template's type.
11. Where moto itself fails on a request (a bug, an action it lacks), it answers HTTP 500 with an HTML page that
    no AWS client can read, and botocore retries it. :func:`_failures_answered` answers an AWS-shaped,
    not retried error instead, code ``EmulatorFailure``, whose message is moto's exception.

12. moto has no drift detection (DetectStackDrift and the calls that read its result answer "not implemented").
    :mod:`cfngen.local._drift_detection` models them for the properties it can read live.

Everything else is moto as released. The extensions change nothing outside this process; they rely on
moto's internals, hence the upper bound on moto in setup.cfg (tests/test_local_aws.py covers each one).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cfngen.facts.resource_types import NESTED_STACK
from cfngen.local import _drift_detection

NOT_EMULATED = "not-emulated"
NOT_EMULATED_REASON = "not created: the local AWS emulator (moto) does not model {type}; a placeholder stands in for it"
FAILED_REASON = "not created: the local AWS emulator (moto) failed on this {type} ({error}); a placeholder stands in"
NOT_UPDATED_REASON = "not updated: the local AWS emulator (moto) failed on this {type} ({error}); the old one stays"
ATTRIBUTE_PREFIX = "attribute "
ATTRIBUTE_REASON = (ATTRIBUTE_PREFIX + "{attribute} not emulated: the local AWS emulator (moto) does not give it for "
                    "{type}; a placeholder value stands in")
STAND_IN_MARK = "the local AWS emulator (moto)"  # in every reason above
LOOPBACK = "127.0.0.1"
# moto resolves S3 template URLs by host name: "localhost" is path-style, "127..." would be read as a bucket.
URL_HOST = "localhost"
POLL_SECONDS = "0.2"  # the emulator settles at once; no need to wait AWS's 5 s between polls
EMULATOR_FAILURE = "EmulatorFailure"
EMULATOR_FAILURE_MESSAGE = "the local AWS emulator (moto) failed on this request: {error}"
SSM_PARAMETER_NAME = "AWS::SSM::Parameter::Name"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "cfngen-local", "AWS_SECRET_ACCESS_KEY": "cfngen-local"}


def install() -> None:
    """Apply the extensions to moto in this process (idempotent)."""
    _install()


@functools.lru_cache(maxsize=None)
def _install() -> None:
    from moto.cloudformation import models, parsing, responses
    from moto.core.responses import BaseResponse
    from moto.elbv2.models import FakeLoadBalancer

    setattr(models.Stack, "get_cfn_attribute", _nested_stack_output)
    # Both modules look the constructor up by name each time they parse a template.
    for module in (models, responses):
        setattr(module, "yaml_tag_constructor", _yaml_tag_constructor)
    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return original(resource_type) or (None if resource_type in parsing.NULL_MODELS else NotEmulated)

    parsing.resource_class_from_type = resource_class_from_type
    parsing.parse_and_create_resource = _dependencies_first(_tolerant(parsing.parse_and_create_resource, _stand_in_for))
    parsing.parse_and_update_resource = _tolerant(parsing.parse_and_update_resource, _keep_old)
    setattr(responses.CloudFormationResponse, "update_termination_protection", _update_termination_protection)
    original_apply = models.ChangeSet.apply

    def apply(change_set: Any) -> None:
        original_apply(change_set)
        _record_change_set(change_set)

    setattr(models.ChangeSet, "apply", apply)
    setattr(models.Stack, "update_from_cloudformation_json", classmethod(_update_nested_stack))
    setattr(FakeLoadBalancer, "create_from_cloudformation_json",
            classmethod(_typed_load_balancer(FakeLoadBalancer.create_from_cloudformation_json)))
    setattr(parsing.ResourceMap, "parse_ssm_parameter", _ssm_parameter(parsing.ResourceMap.parse_ssm_parameter))
    setattr(parsing.ResourceMap, "load_parameters", _placeholders_pass(parsing.ResourceMap.load_parameters))
    # clean_json resolves the intrinsic functions and calls itself by its module-level name.
    setattr(parsing, "clean_json", _attributes_stand_in(parsing.clean_json))
    setattr(BaseResponse, "call_action", _failures_answered(BaseResponse.call_action))
    _drift_detection.install()


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
    # Only this output: moto resolves an output (and announces its placeholders) each time it is read.
    declared = prefix == "Outputs" and key in (stack.template_dict.get("Outputs") or {})
    output = stack.output_map[key] if declared else None
    if output is not None:
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


def _dependencies_first(create: Callable[..., Any]) -> Callable[..., Any]:
    """moto's create step for one resource, run after the resources its DependsOn names exist."""
    def create_after_dependencies(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        depends_on = resource_json.get("DependsOn", [])
        for dependency in [depends_on] if isinstance(depends_on, str) else depends_on:
            resources_map[dependency]  # ResourceMap creates a resource on first access
        return create(logical_id, resource_json, resources_map, account_id, region_name)

    return create_after_dependencies


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

    return not isinstance(exc, ValidationError) and resource_json.get("Type") != NESTED_STACK


def _announce(account_id: str, region_name: str, stack_id: str, resource: Any, status: str, reason: str,
              once: bool = False) -> None:
    """Add an event about `resource` to its stack, so the deploy output shows what the emulator did not do.

    With `once`, not when the stack has that event already (moto resolves a GetAtt each time a value is read).
    """
    from moto.cloudformation.models import Event, cloudformation_backends

    stack = cloudformation_backends[account_id][region_name].stacks.get(stack_id)
    if stack is None:
        return
    if once and any(event.logical_resource_id == resource.logical_resource_id
                    and event.resource_status_reason == reason for event in stack.events):
        return
    stack.events.append(Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=resource.logical_resource_id,
        physical_resource_id=getattr(resource, "physical_resource_id", ""), resource_type=resource.cf_resource_type,
        resource_status=status, resource_status_reason=reason, resource_properties=None))


def _record_change_set(change_set: Any) -> None:
    """After a change set ran: the stack's template, parameters, tags, description and outputs are the new ones."""
    stack = change_set.stack
    stack.template = change_set.template
    stack._parse_template()
    # Every parameter, defaults included, as moto reads them back for UsePreviousValue (what a re-plan sends).
    stack.parameters = dict(stack.stack_parameters)
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


def _ssm_parameter(resolve: Callable[[Any, str, str], Any]) -> Callable[[Any, str, str], Any]:
    """moto's resolution of an SSM parameter type, with CloudFormation's reading of ``AWS::SSM::Parameter::Name``."""
    def ssm_parameter(resource_map: Any, value: str, value_type: str) -> Any:
        from moto.cloudformation.exceptions import ValidationError
        from moto.ssm.models import ssm_backends

        backend = ssm_backends[resource_map._account_id][resource_map._region_name]
        if backend.get_parameter(value) is None:
            raise ValidationError(
                message=f"Unable to fetch parameters [{value}] from parameter store for this account.")
        return value if value_type == SSM_PARAMETER_NAME else resolve(resource_map, value, value_type)

    return ssm_parameter


def _placeholders_pass(load_parameters: Callable[[Any], None]) -> Callable[[Any], None]:
    """moto's parameter loading, reading a Number parameter that receives a placeholder as a String."""
    def load(resource_map: Any) -> None:
        template = resource_map._template
        slots = template.get("Parameters", {})
        numeric = {key for key, value in resource_map.input_parameters.items()
                   if str(value).startswith(NOT_EMULATED) and "Number" in slots.get(key, {}).get("Type", "")}
        if not numeric:
            return load_parameters(resource_map)
        resource_map._template = {**template, "Parameters": {
            key: {**slot, "Type": "String"} if key in numeric else slot for key, slot in slots.items()}}
        try:
            load_parameters(resource_map)
        finally:
            resource_map._template = template

    return load


def _attributes_stand_in(clean_json: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """moto's resolution of intrinsic functions, with a placeholder for an attribute its model does not give."""
    def clean(resource_json: Any, resources_map: Any) -> Any:
        get_att = resource_json.get("Fn::GetAtt") if isinstance(resource_json, dict) else None
        if isinstance(get_att, list) and len(get_att) == 2 and all(isinstance(part, str) for part in get_att):
            logical_id, attribute = get_att
            resource = resources_map.get(logical_id)
            if hasattr(resource, "cf_resource_type") and not _gives(resource, attribute):
                reason = ATTRIBUTE_REASON.format(type=resource.cf_resource_type, attribute=attribute)
                _announce(resources_map._account_id, resources_map._region_name, resources_map.stack_id, resource,
                          "CREATE_COMPLETE", reason, once=True)
                return f"{NOT_EMULATED}:{logical_id}.{attribute}"
        return clean_json(resource_json, resources_map)

    return clean


def _gives(resource: Any, attribute: str) -> bool:
    """False when moto's model of `resource` has no value for `attribute` (other errors are moto's to report)."""
    try:
        resource.get_cfn_attribute(attribute)
    except (AttributeError, NotImplementedError):
        return False
    except Exception:
        return True
    return True


def _typed_load_balancer(create: Callable[..., Any]) -> Callable[..., Any]:
    """moto's load balancer from a template, of the template's Type (network, gateway) instead of always application."""
    def create_typed(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
                     region_name: str, **kwargs: Any) -> Any:
        balancer = create(resource_name, cloudformation_json, account_id, region_name, **kwargs)
        balancer.type = cloudformation_json["Properties"].get("Type", balancer.type)
        return balancer

    return create_typed


def _failures_answered(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's handling of one request, answering its own failure as an AWS error (moto answers its errors itself)."""
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class EmulatorFailure(ServiceException):
        """Defined outside moto's packages, so that moto serializes it in the protocol of the failed request."""

        code = EMULATOR_FAILURE

    def answered(response: Any) -> Any:
        try:
            return call_action(response)
        except Exception as exc:
            failure = EmulatorFailure(EMULATOR_FAILURE_MESSAGE.format(error=f"{type(exc).__name__}: {exc}"[:500]))
            with warnings.catch_warnings():  # that no AWS service model knows this error code: none does, on purpose
                warnings.simplefilter("ignore")
                return response.serialized(ActionResult(failure))

    return answered


def _update_termination_protection(response: Any) -> Any:
    """The UpdateTerminationProtection action: store the flag on the stack."""
    from moto.core.responses import ActionResult

    stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
    stack.enable_termination_protection = response._get_bool_param("EnableTerminationProtection", False)
    return ActionResult({"StackId": stack.stack_id})


def stand_ins(region: str) -> dict[str, list[str]]:
    """Resource type -> `stack: logical id` of every resource the emulator (in this process) only stands in for,
    or `stack: logical id.attribute` where only that attribute's value is a placeholder."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    found: dict[str, set[str]] = {}
    for stack in cloudformation_backends[DEFAULT_ACCOUNT_ID][region].stacks.values():
        for event in stack.events:
            reason = event.resource_status_reason or ""
            if STAND_IN_MARK in reason:
                attribute = reason.split()[1] if reason.startswith(ATTRIBUTE_PREFIX) else ""
                found.setdefault(event.resource_type, set()).add(
                    f"{stack.name}: {event.logical_resource_id}" + (f".{attribute}" if attribute else ""))
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
        self._port = port
        self._server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
        self._started = False

    def start(self) -> str:
        """Start serving; returns the endpoint URL (`http://localhost:<port>`). UsageError when the port is taken."""
        _check_free(self._port)
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


def _check_free(port: int) -> None:
    """UsageError when `port` is taken on the loopback address (moto's server thread would die, and start() hang)."""
    from cfngen.errors import UsageError

    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            raise UsageError(f"cannot serve the local AWS emulator on {LOOPBACK}:{port}: {exc.strerror}; "
                             "pick another --port (or 0 for any free one)") from None


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
    lines = ["not emulated (placeholders, placeholder attribute values or old versions; on AWS they are real):"]
    lines += [f"  {resource_type}: {', '.join(where)}" for resource_type, where in missing.items()]
    return "\n".join(lines)


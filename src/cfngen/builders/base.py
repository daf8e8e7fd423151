"""Small helpers every builder uses: a new template, typed parameters and outputs, explicit tags."""

from __future__ import annotations

from typing import Any, TypeVar

from troposphere import AWSObject, Output, Parameter, Ref, Tags, Template
from troposphere.logs import LogGroup

from cfngen.blueprint import Blueprint
from cfngen.synth._stack import GENERATED_MARK

Resource = TypeVar("Resource", bound=AWSObject)
# Names cfngen chooses for a blueprint's resources are "<blueprint>--<rest>". Blueprint and service names never
# contain "--" (NAME_PATTERN), so blueprint "shop" with service "prod-api" ("shop--prod-api") and blueprint
# "shop-prod" with service "api" ("shop-prod--api") cannot derive the same name, and the pattern "shop--*"
# matches no name of blueprint "shop-prod" (with one "-", "shop-*" matched both).
OWNER_SEPARATOR = "--"
# DeletionPolicy of a fixed-name resource that holds nothing a failed first create could have put in it: kept like
# Retain when its stack is deleted, deleted when the operation that created it rolls back, so a failed create leaves
# no name behind to block the next one. UpdateReplacePolicy has no such value (Delete, Retain, Snapshot): it stays
# Retain. https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"


def new_template(blueprint: Blueprint, purpose: str) -> Template:
    """An empty template whose description names the blueprint, what the stack holds and that cfngen made it."""
    return Template(Description=f"{blueprint.name}: {purpose} {GENERATED_MARK}")


def add_parameter(template: Template, name: str, type_: str, description: str, **properties: Any) -> Parameter:
    """Declare an input of the stack; the root wires it from the sibling stack that outputs `name`."""
    return template.add_parameter(Parameter(name, Type=type_, Description=description, **properties))


def add_output(template: Template, name: str, value: Any, description: str) -> Output:
    """Expose `value` to sibling stacks (and to the root) under `name`."""
    return template.add_output(Output(name, Value=value, Description=description))


def owned_name(blueprint: Blueprint, *parts: str) -> str:
    """A physical name owned by `blueprint`: "<blueprint>--<part>-<part>..." (see OWNER_SEPARATOR)."""
    return blueprint.name + OWNER_SEPARATOR + "-".join(parts)


def role_path(blueprint: Blueprint) -> str:
    """The IAM path of every role of `blueprint`: "/<blueprint>/".

    CloudFormation names a role after its (nested) stack, "<stack>-<child>-<random>-<role>-<random>", cut to 64
    characters, so no name pattern can tell blueprint "shop"'s roles from "shop-prod"'s: `role/shop-*` matches
    both. The path can: `role/shop/*` matches no role under `/shop-prod/`. A policy that must name the roles of a
    blueprint (the CI role's iam:PassRole) names them by path.
    """
    return f"/{blueprint.name}/"


def tagged(resource: Resource, blueprint: Blueprint) -> Resource:
    """`resource` carrying the blueprint's tags in its own Tags property.

    The root gives every nested stack the blueprint's tags and CloudFormation
    propagates them to the stack's taggable resources; this is for what that
    propagation misses (tests/test_tags_and_logs.py says which and why).
    """
    if blueprint.tags:
        resource.Tags = Tags(**blueprint.tags)
    return resource


def named_log_group(logical_id: str, name: str, blueprint: Blueprint, kms_key_parameter: str) -> LogGroup:
    """The log group `name` of one writer (a build project, a function), in the blueprint's retention and encrypted
    with the logs key. Its name is fixed, so a failed create must not leave it behind to block the next create, and
    it holds nothing yet then: RetainExceptOnCreate; kept (Retain) on a deletion or a replacement."""
    return LogGroup(
        logical_id,
        LogGroupName=name,
        RetentionInDays=blueprint.logs.retention_days,
        KmsKeyId=Ref(kms_key_parameter),
        DeletionPolicy=RETAIN_EXCEPT_ON_CREATE,
        UpdateReplacePolicy="Retain",
    )

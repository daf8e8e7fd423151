"""cfngen: blueprint files in, nested CloudFormation templates out; linted, reviewed and deployed by change sets.

The public API is what ``__all__`` lists; everything else is private.

    bp = cfngen.load_blueprint("blueprints/demo.yaml")
    stacks = cfngen.synthesize(bp)
    stacks.write("out/demo", fmt="yaml")
    findings = cfngen.lint(stacks)
    deployer = cfngen.Deployer(region="us-west-2")       # the bucket `cfngen bootstrap` made, or bucket=...
    plan = deployer.plan(deployer.package(stacks))
    deployer.apply(plan)

Each public name is imported on first use, not with the package: a command
then loads only what it needs (``cfngen lint DIR`` neither troposphere nor
pydantic nor boto3), which is a good part of a short command's run time.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from cfngen._version import __version__

if _typing.TYPE_CHECKING:
    from cfngen.blueprint import Blueprint, Service, load_blueprint
    from cfngen.blueprint._schema import json_schema
    from cfngen.deploy import Deadline, Deployer, DriftReport, Outcome, Package, Plan, ResourceChange, Teardown
    from cfngen.errors import (
        BlueprintError,
        CfngenError,
        DeployError,
        Problem,
        SafetyError,
        SynthError,
        TimedOut,
        UsageError,
    )
    from cfngen.extras._ci_policy import CiPolicy, ci_policy
    from cfngen.extras._scaffold import Answers, scaffold
    from cfngen.extras._service_files import StackValues, load_stack_values, render_service_files
    from cfngen.linting import Finding, lint
    from cfngen.report import Report, review
    from cfngen.report._template_diff import PropertyChange, ResourceDiff, StackDiff, TemplateDiff, diff
    from cfngen.synth import NestedStack, StackSet, synthesize

# Where each public name is defined (the imports above are for type checkers only).
_SOURCES = {
    name: module
    for module, names in {
        "cfngen.blueprint": ("Blueprint", "Service", "load_blueprint"),
        "cfngen.extras._ci_policy": ("CiPolicy", "ci_policy"),
        "cfngen.deploy": (
            "Deadline",
            "Deployer",
            "DriftReport",
            "Outcome",
            "Package",
            "Plan",
            "ResourceChange",
            "Teardown",
        ),
        "cfngen.report._template_diff": ("PropertyChange", "ResourceDiff", "StackDiff", "TemplateDiff", "diff"),
        "cfngen.errors": (
            "BlueprintError",
            "CfngenError",
            "DeployError",
            "Problem",
            "SafetyError",
            "SynthError",
            "TimedOut",
            "UsageError",
        ),
        "cfngen.linting": ("Finding", "lint"),
        "cfngen.report": ("Report", "review"),
        "cfngen.blueprint._schema": ("json_schema",),
        "cfngen.extras._scaffold": ("Answers", "scaffold"),
        "cfngen.extras._service_files": ("StackValues", "load_stack_values", "render_service_files"),
        "cfngen.synth": ("NestedStack", "StackSet", "synthesize"),
    }.items()
    for name in names
}

__all__ = [
    "Answers",
    "Blueprint",
    "BlueprintError",
    "CfngenError",
    "CiPolicy",
    "Deadline",
    "DeployError",
    "Deployer",
    "DriftReport",
    "Finding",
    "NestedStack",
    "Outcome",
    "Package",
    "Plan",
    "Problem",
    "PropertyChange",
    "Report",
    "ResourceChange",
    "ResourceDiff",
    "SafetyError",
    "Service",
    "StackDiff",
    "StackSet",
    "StackValues",
    "SynthError",
    "Teardown",
    "TemplateDiff",
    "TimedOut",
    "UsageError",
    "__version__",
    "ci_policy",
    "diff",
    "json_schema",
    "lint",
    "load_blueprint",
    "load_stack_values",
    "render_service_files",
    "review",
    "scaffold",
    "synthesize",
]


def __getattr__(name: str) -> _typing.Any:
    """Import a public name from its module on first access (PEP 562), then keep it on the package."""
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})

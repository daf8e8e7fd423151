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
    from cfngen._files import refuse_links, write_text
    from cfngen._generated import recorded_region
    from cfngen._text import visible
    from cfngen.blueprint import (
        Blueprint,
        HealthCheck,
        PreflightWarning,
        Service,
        load_blueprint,
        load_blueprint_with_source,
        preflight_warnings,
    )
    from cfngen.blueprint._overrides import Override
    from cfngen.blueprint._schema import json_schema, json_schema_text
    from cfngen.deploy import (
        ConsoleProgress,
        Deadline,
        Deployer,
        DriftReport,
        Outcome,
        Package,
        Plan,
        ResourceChange,
        Teardown,
    )
    from cfngen.deploy._bootstrap import BUCKET_OUTPUT as BOOTSTRAP_BUCKET_OUTPUT
    from cfngen.deploy._bootstrap import STACK_NAME as BOOTSTRAP_STACK_NAME
    from cfngen.deploy._safety import check as check_plan
    from cfngen.deploy._safety import violations
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
    from cfngen.extras._ci_policy import (
        ACCOUNT_PLACEHOLDER,
        CI_ROLE_STACK_PREFIX,
        MANAGED_POLICIES_PER_ROLE,
        MANAGED_POLICIES_PER_ROLE_RAISED,
        PARTITION_PLACEHOLDER,
        CiPolicy,
        ci_policy,
        ci_role_package,
        role_template,
    )
    from cfngen.extras._ci_policy import ROLE_OUTPUT as CI_ROLE_OUTPUT
    from cfngen.extras._scaffold import Answers, scaffold
    from cfngen.extras._service_files import StackValues, load_stack_values, render_service_files
    from cfngen.linting import Finding, lint, lint_paths, lint_texts
    from cfngen.linting import to_json as findings_to_json
    from cfngen.linting import to_sarif as findings_to_sarif
    from cfngen.linting import to_text as findings_to_text
    from cfngen.linting._blueprint_lines import in_blueprint as findings_in_blueprint
    from cfngen.linting._speedups import status as lint_speedups_status
    from cfngen.report import Report, review
    from cfngen.report._document import MAX_COMMENT_CHARS
    from cfngen.report._template_diff import ABSENT, PropertyChange, ResourceDiff, StackDiff, TemplateDiff, diff
    from cfngen.synth import FORMATS as TEMPLATE_FORMATS
    from cfngen.synth import NestedStack, StackSet, synthesize
    from cfngen.synth._yamldump import to_yaml

# Where each public name is defined (the imports above are for type checkers only). A name written
# "PUBLIC=attribute" is published under another name than its module's, where the module's name says too little
# at the top of the package (`to_json` of what?).
_DEFINED_IN = {
    "cfngen._files": ("refuse_links", "write_text"),
    "cfngen._generated": ("recorded_region",),
    "cfngen._text": ("visible",),
    "cfngen.blueprint": (
        "Blueprint",
        "HealthCheck",
        "PreflightWarning",
        "Service",
        "load_blueprint",
        "load_blueprint_with_source",
        "preflight_warnings",
    ),
    "cfngen.blueprint._overrides": ("Override",),
    "cfngen.blueprint._schema": ("json_schema", "json_schema_text"),
    "cfngen.deploy": (
        "ConsoleProgress",
        "Deadline",
        "Deployer",
        "DriftReport",
        "Outcome",
        "Package",
        "Plan",
        "ResourceChange",
        "Teardown",
    ),
    "cfngen.deploy._bootstrap": ("BOOTSTRAP_BUCKET_OUTPUT=BUCKET_OUTPUT", "BOOTSTRAP_STACK_NAME=STACK_NAME"),
    "cfngen.deploy._safety": ("check_plan=check", "violations"),
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
    "cfngen.extras._ci_policy": (
        "ACCOUNT_PLACEHOLDER",
        "CI_ROLE_OUTPUT=ROLE_OUTPUT",
        "CI_ROLE_STACK_PREFIX",
        "MANAGED_POLICIES_PER_ROLE",
        "MANAGED_POLICIES_PER_ROLE_RAISED",
        "PARTITION_PLACEHOLDER",
        "CiPolicy",
        "ci_policy",
        "ci_role_package",
        "role_template",
    ),
    "cfngen.extras._scaffold": ("Answers", "scaffold"),
    "cfngen.extras._service_files": ("StackValues", "load_stack_values", "render_service_files"),
    "cfngen.linting": (
        "Finding",
        "findings_to_json=to_json",
        "findings_to_sarif=to_sarif",
        "findings_to_text=to_text",
        "lint",
        "lint_paths",
        "lint_texts",
    ),
    "cfngen.linting._blueprint_lines": ("findings_in_blueprint=in_blueprint",),
    "cfngen.linting._speedups": ("lint_speedups_status=status",),
    "cfngen.report": ("Report", "review"),
    "cfngen.report._document": ("MAX_COMMENT_CHARS",),
    "cfngen.report._template_diff": ("ABSENT", "PropertyChange", "ResourceDiff", "StackDiff", "TemplateDiff", "diff"),
    "cfngen.synth": ("NestedStack", "StackSet", "TEMPLATE_FORMATS=FORMATS", "synthesize"),
    "cfngen.synth._yamldump": ("to_yaml",),
}
_SOURCES = {name.partition("=")[0]: module for module, names in _DEFINED_IN.items() for name in names}
_ATTRIBUTES = {
    public: attribute or public
    for public, _, attribute in (name.partition("=") for names in _DEFINED_IN.values() for name in names)
}

__all__ = [
    "ABSENT",
    "ACCOUNT_PLACEHOLDER",
    "Answers",
    "BOOTSTRAP_BUCKET_OUTPUT",
    "BOOTSTRAP_STACK_NAME",
    "Blueprint",
    "BlueprintError",
    "CI_ROLE_OUTPUT",
    "CI_ROLE_STACK_PREFIX",
    "CfngenError",
    "CiPolicy",
    "ConsoleProgress",
    "Deadline",
    "DeployError",
    "Deployer",
    "DriftReport",
    "Finding",
    "HealthCheck",
    "MANAGED_POLICIES_PER_ROLE",
    "MANAGED_POLICIES_PER_ROLE_RAISED",
    "MAX_COMMENT_CHARS",
    "NestedStack",
    "Outcome",
    "Override",
    "PARTITION_PLACEHOLDER",
    "Package",
    "Plan",
    "PreflightWarning",
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
    "TEMPLATE_FORMATS",
    "Teardown",
    "TemplateDiff",
    "TimedOut",
    "UsageError",
    "__version__",
    "check_plan",
    "ci_policy",
    "ci_role_package",
    "diff",
    "findings_in_blueprint",
    "findings_to_json",
    "findings_to_sarif",
    "findings_to_text",
    "json_schema",
    "json_schema_text",
    "lint",
    "lint_paths",
    "lint_speedups_status",
    "lint_texts",
    "load_blueprint",
    "load_blueprint_with_source",
    "load_stack_values",
    "preflight_warnings",
    "recorded_region",
    "refuse_links",
    "render_service_files",
    "review",
    "role_template",
    "scaffold",
    "synthesize",
    "to_yaml",
    "violations",
    "visible",
    "write_text",
]


def __getattr__(name: str) -> _typing.Any:
    """Import a public name from its module on first access (PEP 562), then keep it on the package."""
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_SOURCES[name]), _ATTRIBUTES[name])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SOURCES})

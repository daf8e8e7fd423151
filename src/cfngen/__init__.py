"""cfngen: blueprint files in, nested CloudFormation templates out; linted, reviewed and deployed by change sets.

The public API is what ``__all__`` lists; everything else is private.

    bp = cfngen.load_blueprint("blueprints/demo.yaml")
    stacks = cfngen.synthesize(bp)
    stacks.write("out/demo", fmt="yaml")
    findings = cfngen.lint(stacks)
    deployer = cfngen.Deployer(region="us-west-2")       # the bucket `cfngen bootstrap` made, or bucket=...
    plan = deployer.plan(deployer.package(stacks))
    deployer.apply(plan)
"""

from __future__ import annotations

__version__ = "0.1.0"

from cfngen.blueprint import Blueprint, Service, load_blueprint
from cfngen.ci_policy import CiPolicy, ci_policy
from cfngen.deploy import Deployer, Outcome, Package, Plan, ResourceChange
from cfngen.diff import PropertyChange, ResourceDiff, StackDiff, TemplateDiff, diff
from cfngen.errors import BlueprintError, CfngenError, DeployError, Problem, SafetyError, SynthError, UsageError
from cfngen.lint import Finding, lint
from cfngen.report import Report, review
from cfngen.schema import json_schema
from cfngen.scaffold import Answers, scaffold
from cfngen.service_files import StackValues, load_stack_values, render_service_files
from cfngen.synth import NestedStack, StackSet, synthesize

__all__ = [
    "Answers",
    "Blueprint",
    "BlueprintError",
    "CfngenError",
    "CiPolicy",
    "DeployError",
    "Deployer",
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
    "TemplateDiff",
    "UsageError",
    "__version__",
    "ci_policy",
    "diff",
    "json_schema",
    "lint",
    "load_blueprint",
    "review",
    "scaffold",
    "load_stack_values",
    "render_service_files",
    "synthesize",
]

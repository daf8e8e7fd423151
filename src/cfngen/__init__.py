"""cfngen: blueprint files in, nested CloudFormation templates out; linted, reviewed and deployed by change sets.

The public API is what ``__all__`` lists; everything else is private.

    bp = cfngen.load_blueprint("blueprints/demo.yaml")
    stacks = cfngen.synthesize(bp)
    stacks.write("out/demo", fmt="yaml")
    findings = cfngen.lint(stacks)
"""

from __future__ import annotations

__version__ = "0.1.0"

from cfngen.blueprint import Blueprint, Service, load_blueprint
from cfngen.errors import BlueprintError, CfngenError, Problem, SynthError, UsageError
from cfngen.lint import Finding, lint
from cfngen.report import Report, review
from cfngen.schema import json_schema
from cfngen.synth import NestedStack, StackSet, synthesize

__all__ = [
    "Blueprint",
    "BlueprintError",
    "CfngenError",
    "Finding",
    "NestedStack",
    "Problem",
    "Report",
    "Service",
    "StackSet",
    "SynthError",
    "UsageError",
    "__version__",
    "json_schema",
    "lint",
    "load_blueprint",
    "review",
    "synthesize",
]

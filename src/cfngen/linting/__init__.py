"""Linting, the third stage: cfn-lint over every template, in process, with cfngen's own rules.

``_linter`` loads cfn-lint's rules once, lints templates in forked workers and
caches clean results; ``rules/`` holds cfngen's own rules (one per file);
``_speedups`` makes cfn-lint faster where its code is the verified release; ``_blueprint_lines`` moves findings
to the blueprint lines that set the values (not imported here: linting a directory of templates loads neither the
builders nor the blueprint models).
"""

from cfngen.linting._linter import (
    INCLUDE_CHECKS,
    SEVERITIES,
    Finding,
    LintCache,
    lint,
    lint_paths,
    lint_texts,
    to_json,
    to_sarif,
    to_text,
)

__all__ = [
    "INCLUDE_CHECKS",
    "SEVERITIES",
    "Finding",
    "LintCache",
    "lint",
    "lint_paths",
    "lint_texts",
    "to_json",
    "to_sarif",
    "to_text",
]

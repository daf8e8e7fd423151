"""cfngen's own AWS CloudFormation Guard rules (``guard/cfngen.guard``: every bucket TLS-only, every log group
encrypted and retained, no wildcard actions, every database cluster's data safe), run in process with cfn-guard's
Python binding (``cfn-guard-rs``).

The rules ship with the package so that users can run them with the cfn-guard command line too
(:data:`RULES` is their path). The AWS Guard Rules Registry's rules ship in no Python package, so only these run
(docs/guard-registry.md: what the registry's rules make of the templates).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

RULES = Path(str(resources.files("cfngen.linting").joinpath("guard/cfngen.guard")))


@dataclass(frozen=True, order=True)
class GuardFinding:
    """One rule a template does not meet, with the rule's messages."""

    file: str
    rule: str
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.file}: {self.rule}: {'; '.join(self.messages)}"


def guard(templates: Mapping[str, Mapping[str, Any]], rules: str | None = None) -> list[GuardFinding]:
    """The rules (default: cfngen's) each template (file name -> template data) does not meet; sorted."""
    from cfn_guard_rs.cfn_guard_rs import run_checks_rs

    text = RULES.read_text(encoding="utf-8") if rules is None else rules
    found = []
    for name, template in templates.items():
        report = json.loads(run_checks_rs(json.dumps(template), text, False))
        for item in report.get("not_compliant") or []:
            rule = item.get("Rule") or {}
            found.append(GuardFinding(name, str(rule.get("name")), tuple(sorted(set(_messages(rule))))))
    return sorted(found)


def _messages(node: Any) -> list[str]:
    """Every custom message (the rule's <<text>>) under a report node."""
    if isinstance(node, dict):
        own = [str(node["custom_message"])] if node.get("custom_message") else []
        return own + [message for value in node.values() for message in _messages(value)]
    if isinstance(node, list):
        return [message for value in node for message in _messages(value)]
    return []

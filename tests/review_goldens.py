"""Golden review reports: the example blueprints' and the hand-written platform fixture's, as Markdown.

Regenerate with `make goldens` (tests/goldens.py), review the diff, commit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfngen import load_blueprint, review, synthesize
from cfngen.report import TemplateSet, assemble
from cfngen.report._model import Stack

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden" / "review"
FIXTURE = ROOT / "tests" / "fixtures" / "review" / "platform"


def fixture_templates() -> TemplateSet:
    """The hand-written platform fixture (every stack the design names, one service)."""
    return TemplateSet.from_directory("fixture-platform", FIXTURE)


def edited(templates: TemplateSet, stack: str, edit: Callable[[dict[str, Any]], object]) -> TemplateSet:
    """A copy of `templates` whose stack `stack` has been changed by `edit(template_dict)`."""
    children = []
    for child in templates.children:
        template = copy.deepcopy(dict(child.template))
        if child.name == stack:
            edit(template)
        children.append(Stack(child.name, template))
    return TemplateSet(templates.name, templates.root, tuple(children), templates.wiring)


def _blueprint_report(path: Path) -> Callable[[], str]:
    return lambda: review(synthesize(load_blueprint(path))).markdown()


def goldens() -> dict[str, Callable[[], str]]:
    """Golden file name -> function that renders it now."""
    renderers = {f"{path.stem}.md": _blueprint_report(path) for path in sorted((ROOT / "blueprints").glob("*.yaml"))}
    renderers["fixture-platform.md"] = lambda: assemble(fixture_templates(), region="us-east-1").markdown()
    return renderers

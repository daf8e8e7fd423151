"""Every golden file of the repository, what renders it, and the one command that regenerates them all.

    make goldens        (runs `python -m tests.goldens`)

writes every golden file afresh, deletes the ones nothing renders any more, and shows the
change (`git diff --stat`, then the diff, then new files): review it and commit. Tests never
write goldens; they compare with them (and tests/test_goldens.py fails on a golden file no
test reads).

The golden directories:
- templates/<blueprint name>/: what `cfngen synth` writes for each example blueprint under blueprints/;
- tests/golden/render/<case>/<service>/: what `cfngen render` writes for each case of RENDER_CASES;
- tests/golden/review/: the review reports of tests/review_goldens.py.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from cfngen import load_blueprint, load_stack_values, render_service_files, synthesize
from tests import test_contracts, test_readme_keys
from tests.review_goldens import GOLDEN_DIR as REVIEW_DIR
from tests.review_goldens import goldens as review_goldens

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))
TEMPLATES_DIR = ROOT / "templates"
RENDER_DIR = ROOT / "tests" / "golden" / "render"
RENDER_FIXTURES = ROOT / "tests" / "fixtures" / "render"
# case -> (blueprint, describe-stacks JSON of its deployed stacks)
RENDER_CASES = {
    "demo": (ROOT / "blueprints" / "demo.yaml", RENDER_FIXTURES / "demo.json"),
    "dev": (ROOT / "blueprints" / "dev.yaml", RENDER_FIXTURES / "dev.json"),
    "shop": (RENDER_FIXTURES / "shop.yaml", RENDER_FIXTURES / "shop.json"),
}
GOLDEN_DIRS = (TEMPLATES_DIR, RENDER_DIR, REVIEW_DIR)


def template_goldens() -> dict[Path, str]:
    """templates/<name>/<file> -> its text, for every example blueprint."""
    files = {}
    for path in EXAMPLES:
        stacks = synthesize(load_blueprint(path))
        files.update({TEMPLATES_DIR / stacks.blueprint.name / name: text for name, text in stacks.render().items()})
    return files


def render_goldens() -> dict[Path, str]:
    """tests/golden/render/<case>/<service>/<file> -> its text, as `cfngen render -o <case>` writes it."""
    files = {}
    for case, (blueprint_path, values_path) in RENDER_CASES.items():
        blueprint, values = load_blueprint(blueprint_path), load_stack_values([values_path])
        for service in blueprint.services:
            rendered = render_service_files(blueprint, service.name, stack_values=values)
            files.update({RENDER_DIR / case / service.name / name: text for name, text in rendered.items()})
    return files


def all_goldens() -> dict[Path, Callable[[], str]]:
    """Every golden file -> a function that renders its text now."""
    renderers: dict[Path, Callable[[], str]] = {}
    for produce in (template_goldens, render_goldens):
        renderers.update({path: (lambda text=text: text) for path, text in produce().items()})
    renderers.update({REVIEW_DIR / name: render for name, render in review_goldens().items()})
    # Generated tables inside hand-written documents: the wiring contract and the blueprint's keys.
    for document in (test_contracts, test_readme_keys):
        renderers[document.DOCUMENT] = lambda document=document: document.with_table(
            document.DOCUMENT.read_text(encoding="utf-8")
        )
    return renderers


def files_on_disk() -> set[Path]:
    """Every file under the golden directories."""
    return {path for directory in GOLDEN_DIRS for path in directory.rglob("*") if path.is_file()}


def main() -> None:
    goldens = all_goldens()
    for path, render in goldens.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(), encoding="utf-8")
    for orphan in sorted(files_on_disk() - set(goldens)):
        orphan.unlink()
        print(f"deleted {orphan.relative_to(ROOT)} (nothing renders it)")
    for directory in GOLDEN_DIRS:  # directories emptied by the deletions
        for sub in sorted((path for path in directory.rglob("*") if path.is_dir()), reverse=True):
            if not any(sub.iterdir()):
                sub.rmdir()
    paths = [str(directory.relative_to(ROOT)) for directory in GOLDEN_DIRS] + ["README.md", "docs/wiring.md"]
    print(f"wrote {len(goldens)} golden files; the change (review it, then commit):")
    for command in (
        ["git", "diff", "--stat", "--", *paths],
        ["git", "diff", "--", *paths],
        ["git", "status", "--short", "--untracked-files=all", "--", *paths],
    ):
        subprocess.run(command, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()

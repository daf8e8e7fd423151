"""Rendering and writing: templates -> deterministic YAML or JSON text -> files.

Rendering is most of the time ``synth`` takes for a large blueprint, so many
templates are rendered by forked workers. Writing removes the files cfngen
generated earlier that the blueprint no longer gives, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from troposphere import Template

from cfngen import _parallel as parallel
from cfngen.synth._stack import FORMATS, GENERATED_MARK, HEADER, Format
from cfngen.synth._yamldump import to_yaml

# Blueprints of this many files or more are rendered by a worker per core (at most one per this many files).
PARALLEL_RENDER_FILES = 64


def stale_files(directory: Path, rendered: Mapping[str, str]) -> Iterator[Path]:
    """Files in `directory` that cfngen generated earlier, in any format, but would not generate now (`rendered`)."""
    if not directory.is_dir():
        return
    for path in sorted(path for extension in FORMATS for path in directory.glob(f"*.{extension}")):
        if path.name not in rendered and is_generated(path):
            yield path


def is_generated(path: Path) -> bool:
    """True for files cfngen wrote: a YAML header line, or a JSON Description that says so.

    A link is never a file cfngen wrote, and reading one may read anything (/dev/zero).
    """
    if path.is_symlink() or not path.is_file():
        return False
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".yaml":
        return text.startswith(HEADER.split("{", 1)[0])
    try:
        description = json.loads(text).get("Description", "")
    except (ValueError, AttributeError):
        return False
    return isinstance(description, str) and description.endswith(GENERATED_MARK)


def render_all(templates: Mapping[str, Template], fmt: Format, blueprint_name: str) -> dict[str, str]:
    """File name -> text of every template; many of them are rendered by forked workers, one per core.

    Rendering is most of the time `synth` takes for a large blueprint (YAML representation runs in
    Python), and a forked worker inherits the templates rather than receiving them.
    """
    global _RENDERING
    workers = _render_workers(len(templates))
    if not workers:
        return {name: _render(template, fmt, blueprint_name) for name, template in templates.items()}
    from concurrent.futures import ProcessPoolExecutor  # only here: small blueprints never pay for the import

    _RENDERING = (templates, fmt, blueprint_name)
    try:
        with parallel.frozen_heap(), ProcessPoolExecutor(workers, mp_context=parallel.pool_context()) as pool:
            texts = pool.map(_render_named, templates, chunksize=PARALLEL_RENDER_FILES // 4)
            return dict(zip(templates, texts))
    finally:
        _RENDERING = None


def _render_workers(count: int) -> int:
    """How many forked workers render `count` templates: 0 when this process renders them itself."""
    workers = min(parallel.available_cores(), count // PARALLEL_RENDER_FILES)
    if workers < 2 or not parallel.fork_is_safe():
        return 0
    import multiprocessing

    return 0 if multiprocessing.parent_process() is not None else workers  # a worker renders alone


# What the forked rendering workers render: set by render_all around the pool, inherited by the fork.
_RENDERING: tuple[Mapping[str, Template], Format, str] | None = None


def _render_named(name: str) -> str:
    assert _RENDERING is not None, "only forked rendering workers render by name"
    templates, fmt, blueprint_name = _RENDERING
    return _render(templates[name], fmt, blueprint_name)


def _render(template: Template, fmt: Format, blueprint_name: str) -> str:
    if fmt == "json":
        return json.dumps(template.to_dict(), indent=2, sort_keys=True) + "\n"
    return HEADER.format(name=blueprint_name) + to_yaml(template)

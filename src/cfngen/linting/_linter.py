"""cfn-lint, in process and in parallel, with a cache of templates already linted clean.

Five things make linting fast, in the order they matter:

- a cache: a template whose text (with the cfn-lint version and cfngen's lint
  settings) was linted clean before is not linted again. Only clean results are
  kept, so a finding is always reported fresh. Entries live in the user's cache
  directory (``CFNGEN_CACHE_DIR`` overrides it), one small file per template.
- rules loaded once per process: building cfn-lint's configuration and rule set
  costs about as much as linting a small template, so it happens once per region.
- a process pool across cores for what the cache does not cover. The parent
  loads the rules first and the workers are forked from it, so a worker starts
  in milliseconds with the rules already in memory instead of paying cfn-lint's
  start-up again (where fork is unavailable, each worker loads them once).
- cfn-lint itself made faster (:mod:`cfngen.linting._speedups`): it repeats work
  whose answer never changes, a third of its time; the speedups change no finding.
- the garbage collector kept off what lives as long as the process: loading
  the rules creates a few hundred thousand objects and no garbage, so the
  collector is paused meanwhile (its full passes were a quarter of the loading
  time), then moves them straight to its oldest generation, and they are frozen
  before forking, so a worker's collections neither walk them nor copy the pages
  that hold them.

Warnings and informational findings count: cfngen's own output must have none.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cfngen import _parallel as parallel
from cfngen._version import __version__
from cfngen.errors import UsageError
from cfngen.linting import _speedups as cfnlint_speedups
from cfngen.linting.rules import RULES_DIRECTORY

if TYPE_CHECKING:
    from cfngen.synth import StackSet

SEVERITIES = ("error", "warning", "informational")


@dataclass(frozen=True, order=True)
class Finding:
    """One cfn-lint match, located in a generated file (or in the blueprint file that set the value).

    `path` is where the match lies in the template (``Resources``, logical id, ``Properties``, ...), empty when
    cfn-lint names none; it stays the template's path when `file` is moved to a blueprint.
    """

    file: str
    line: int
    column: int
    rule: str
    severity: str
    message: str
    path: tuple[str | int, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column} {self.rule} {self.message}"


# cfngen's choices for cfn-lint; they are part of every cache key, so changing one re-lints everything.
INCLUDE_CHECKS = ("I",)
CACHE_DIR_VARIABLE = "CFNGEN_CACHE_DIR"


def lint(stacks: StackSet, *, fmt: str = "yaml", cache: bool = True, jobs: int | None = None) -> list[Finding]:
    """Lint every template of `stacks` as it would be written; findings sorted by file and line.

    `cache=False` lints every template even if an identical one was linted clean
    before; `jobs` caps the worker processes (default: one per available core).
    """
    region = stacks.blueprint.region
    return lint_texts(stacks.render(fmt), region=region, cache=cache, jobs=jobs)  # type: ignore[arg-type]


def lint_paths(
    paths: Iterable[Path], *, region: str = "us-east-1", cache: bool = True, jobs: int | None = None
) -> list[Finding]:
    """Lint template files (for `cfngen lint OUTDIR`); findings name the files as given."""
    texts = {}
    for path in paths:
        try:
            texts[str(path)] = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    return lint_texts(texts, region=region, cache=cache, jobs=jobs)


def lint_texts(
    texts: Mapping[str, str], *, region: str = "us-east-1", cache: bool = True, jobs: int | None = None
) -> list[Finding]:
    """Lint named template texts with cfn-lint's full rule set plus cfngen's rules; findings sorted."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"jobs must be at least 1, found {jobs}")
    store = LintCache.default() if cache else None
    keys = {name: store.key(text, region) for name, text in texts.items()} if store else {}
    pending = {name: text for name, text in texts.items() if not (store and store.is_clean(keys[name]))}
    results = _lint_all(pending, region, jobs)
    if store:
        for name, findings in results.items():
            if not findings:
                store.mark_clean(keys[name])
    return sorted(finding for findings in results.values() for finding in findings)


class LintCache:
    """Which template texts were linted clean before: one small file per clean text under `directory`.

    A missing, unreadable or corrupted entry is a miss, and a cache that cannot
    be written is skipped: the cache can make linting faster, never wrong or failing.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def default(cls) -> LintCache:
        """The cache under $CFNGEN_CACHE_DIR, else the user's cache directory (~/.cache/cfngen on Linux)."""
        override = os.environ.get(CACHE_DIR_VARIABLE)
        if override:
            return cls(Path(override) / "lint")
        import platformdirs

        return cls(Path(platformdirs.user_cache_dir("cfngen", appauthor=False)) / "lint")

    def key(self, text: str, region: str) -> str:
        """sha256 of the text together with everything else that decides the findings."""
        return hashlib.sha256(_settings_digest(region).encode() + b"\0" + text.encode()).hexdigest()

    def is_clean(self, key: str) -> bool:
        """True when a template with this key was linted clean before."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(entry, dict) and entry.get("key") == key and entry.get("findings") == 0

    def mark_clean(self, key: str) -> None:
        """Remember that the template with this key has no findings."""
        path = self._path(key)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            staging.write_text(json.dumps({"key": key, "findings": 0}), encoding="utf-8")
            # Atomic, so a concurrent reader sees the old entry or the new one, never half a file.
            os.replace(staging, path)
        except OSError:
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / key


@functools.cache
def _settings_digest(region: str) -> str:
    """Digest of what besides the text decides the findings: cfn-lint's version, cfngen's lint settings and rules.

    Reads the cfn-lint version from package metadata, so a fully cached run never imports cfn-lint.
    """
    settings = {
        "cfn-lint": package_version("cfn-lint"),
        "cfngen": __version__,
        "include_checks": INCLUDE_CHECKS,
        "region": region,
        "rules": _rules_digest(),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _rules_digest() -> str:
    """sha256 over the sources of cfngen's own rules: editing one re-lints everything, even within one version."""
    hasher = hashlib.sha256()
    for path in _rule_sources():
        hasher.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return hasher.hexdigest()


def _rule_sources() -> list[Path]:
    """The files cfngen's rules are made of: the rule files, and the module with the policy walker and the
    list of actions allowed on Resource "*" that E9101 reads."""
    return [*sorted(RULES_DIRECTORY.glob("*.py")), Path(__file__).parents[1] / "facts" / "iam.py"]


def _lint_all(texts: Mapping[str, str], region: str, jobs: int | None) -> dict[str, list[Finding]]:
    """Name -> findings of each text, linted across a pool of processes when that pays off."""
    workers = min(jobs or parallel.available_cores(), len(texts))
    if workers <= 1:
        return {name: _lint_one(name, text, region) for name, text in texts.items()}
    from concurrent.futures import ProcessPoolExecutor

    context = parallel.pool_context()
    forking = context.get_start_method() == "fork"
    if forking:
        _runner(region)  # loaded before forking, so every worker inherits the rules instead of loading them
    # Largest templates first: the pool then finishes evenly instead of waiting on one big late template.
    order = sorted(texts, key=lambda name: (-len(texts[name]), name))
    with (
        parallel.frozen_heap() if forking else contextlib.nullcontext(),
        ProcessPoolExecutor(workers, mp_context=context, initializer=_runner, initargs=(region,)) as pool,
    ):
        results = pool.map(_lint_one, order, [texts[name] for name in order], [region] * len(order))
        return dict(zip(order, results))


def _lint_one(name: str, text: str, region: str) -> list[Finding]:
    """cfn-lint on one template text; a module-level function so worker processes can run it."""
    config, rules = _runner(region)  # first: it imports cfn-lint with the collector paused
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner.template.runner import run_template_by_data

    template, errors = decode_str(text)
    matches = errors if errors or template is None else run_template_by_data(template, config, rules)
    return [_finding(name, match) for match in matches]


@functools.cache
def _runner(region: str) -> tuple[Any, Any]:
    """cfn-lint's configuration and rules (cfngen's own included), built once per region and process.

    Importing cfn-lint and loading its rules is the slow part, and it creates only
    objects that live as long as the process: no collection can free anything meanwhile.
    """
    with parallel.collector_paused():
        from cfnlint.config import ConfigMixIn
        from cfnlint.runner.cli import Runner

        cfnlint_speedups.apply()
        config = ConfigMixIn(regions=[region], include_checks=list(INCLUDE_CHECKS), append_rules=[str(RULES_DIRECTORY)])
        runner = Runner(config)
        return runner.config, runner.rules


def _finding(name: str, match: Any) -> Finding:
    return Finding(
        file=name,
        line=int(match.linenumber or 0),
        column=int(match.columnnumber or 0),
        rule=str(match.rule.id),
        severity=str(match.rule.severity),
        message=str(match.message),
        # cfn-lint's keys are str subclasses carrying marks, which do not pickle across worker processes
        path=tuple(step if isinstance(step, int) else str(step) for step in getattr(match, "path", None) or ()),
    )


def to_text(findings: Iterable[Finding]) -> str:
    """One `file:line:column rule message` line per finding."""
    return "".join(f"{finding}\n" for finding in findings)


def to_json(findings: Iterable[Finding]) -> str:
    """A JSON list of findings, one object each."""
    return json.dumps([asdict(finding) for finding in findings], indent=2) + "\n"


def to_sarif(findings: Iterable[Finding]) -> str:
    """SARIF 2.1.0, the format code-scanning services of CI hosts read."""
    from cfnlint.version import __version__ as cfn_lint_version

    findings = list(findings)
    levels = {"error": "error", "warning": "warning", "informational": "note"}
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "cfngen lint (cfn-lint)",
                        "version": cfn_lint_version,
                        "informationUri": "https://github.com/aws-cloudformation/cfn-lint",
                        "rules": [{"id": rule} for rule in sorted({finding.rule for finding in findings})],
                    }
                },
                "results": [
                    {
                        "ruleId": finding.rule,
                        "level": levels.get(finding.severity, "warning"),
                        "message": {"text": finding.message},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": finding.file},
                                    "region": {
                                        "startLine": max(finding.line, 1),
                                        "startColumn": max(finding.column, 1),
                                    },
                                }
                            }
                        ],
                    }
                    for finding in findings
                ],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"

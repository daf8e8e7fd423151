"""Linting: the cache of clean templates, the process pool, and the CLI switches."""

from __future__ import annotations

import gc
import json
import multiprocessing
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cfngen import StackSet, lint
from cfngen import _parallel as parallel
from cfngen.cli import main
from cfngen.linting import LintCache, lint_texts

lint_module = sys.modules["cfngen.linting._linter"]
DEFECTS = Path(__file__).parent / "fixtures" / "lint"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked on Linux only")

CLEAN = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: one topic
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      KmsMasterKeyId: alias/aws/sns
"""
# W2001: a parameter that nothing uses.
WITH_FINDING = (
    CLEAN
    + """\
Parameters:
  Unused:
    Type: String
"""
)


@pytest.fixture
def cfn_lint_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """A fresh cache directory, and the names of the templates cfn-lint really ran on (in this process)."""
    monkeypatch.setenv("CFNGEN_CACHE_DIR", str(tmp_path / "cache"))
    runs: list[str] = []
    real = lint_module._lint_one

    def counting(name: str, text: str, region: str) -> object:
        runs.append(name)
        return real(name, text, region)

    monkeypatch.setattr(lint_module, "_lint_one", counting)
    return runs


def test_clean_templates_are_linted_once(cfn_lint_runs: list[str], demo_stacks: StackSet) -> None:
    assert lint(demo_stacks, jobs=1) == []
    assert sorted(cfn_lint_runs) == sorted(demo_stacks.render())
    cfn_lint_runs.clear()
    assert lint(demo_stacks, jobs=1) == []
    assert cfn_lint_runs == []


def test_a_changed_template_is_linted_again(cfn_lint_runs: list[str]) -> None:
    lint_texts({"a.yaml": CLEAN, "b.yaml": CLEAN.replace("one topic", "the same topic")}, jobs=1)
    cfn_lint_runs.clear()
    lint_texts({"a.yaml": CLEAN.replace("one topic", "another topic"), "b.yaml": CLEAN}, jobs=1)
    # a.yaml's text is new; b.yaml now has a.yaml's old text, which is cached whatever its file name.
    assert cfn_lint_runs == ["a.yaml"]


def test_the_cache_key_covers_the_region(cfn_lint_runs: list[str]) -> None:
    lint_texts({"a.yaml": CLEAN}, region="us-east-1", jobs=1)
    lint_texts({"a.yaml": CLEAN}, region="eu-west-1", jobs=1)
    assert cfn_lint_runs == ["a.yaml", "a.yaml"]


def test_findings_are_never_cached(cfn_lint_runs: list[str]) -> None:
    first = lint_texts({"bad.yaml": WITH_FINDING}, jobs=1)
    second = lint_texts({"bad.yaml": WITH_FINDING}, jobs=1)
    assert [finding.rule for finding in first] == ["W2001"]
    assert second == first
    assert cfn_lint_runs == ["bad.yaml", "bad.yaml"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other key", "directory"])
def test_corrupted_cache_entries_are_ignored_and_rewritten(cfn_lint_runs: list[str], damage: str) -> None:
    lint_texts({"a.yaml": CLEAN}, jobs=1)
    (entry,) = [path for path in Path(lint_module.os.environ["CFNGEN_CACHE_DIR"]).rglob("*") if path.is_file()]
    if damage == "garbage":
        entry.write_bytes(b"\xff\xfe not json")
    elif damage == "truncated":
        entry.write_text(entry.read_text()[:10])
    elif damage == "other key":
        entry.write_text(entry.read_text().replace(entry.name, "0" * 64))
    else:
        entry.unlink()
        entry.mkdir()
    assert lint_texts({"a.yaml": CLEAN}, jobs=1) == []
    assert lint_texts({"a.yaml": CLEAN}, jobs=1) == []
    assert cfn_lint_runs == ["a.yaml", "a.yaml"] + (["a.yaml"] if damage == "directory" else [])


def test_an_unwritable_cache_does_not_fail_linting(
    cfn_lint_runs: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("CFNGEN_CACHE_DIR", str(blocker))
    assert lint_texts({"a.yaml": CLEAN}, jobs=1) == []
    assert lint_texts({"a.yaml": CLEAN}, jobs=1) == []
    assert cfn_lint_runs == ["a.yaml", "a.yaml"]


def test_cache_off_lints_everything_and_stores_nothing(cfn_lint_runs: list[str], tmp_path: Path) -> None:
    lint_texts({"a.yaml": CLEAN}, cache=False, jobs=1)
    lint_texts({"a.yaml": CLEAN}, cache=False, jobs=1)
    assert cfn_lint_runs == ["a.yaml", "a.yaml"]
    assert not (tmp_path / "cache").exists()


def test_default_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CFNGEN_CACHE_DIR", str(tmp_path))
    assert LintCache.default().directory == tmp_path / "lint"
    monkeypatch.delenv("CFNGEN_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert LintCache.default().directory == tmp_path / "xdg" / "cfngen" / "lint"


def test_the_pool_finds_what_one_process_finds(monkeypatch: pytest.MonkeyPatch, demo_stacks: StackSet) -> None:
    texts = {**demo_stacks.render(), "bad.yaml": WITH_FINDING, "broken.yaml": "Resources: [unclosed"}
    serial = lint_texts(texts, cache=False, jobs=1)
    parallel = lint_texts(texts, cache=False, jobs=3)
    assert {finding.file for finding in serial} == {"bad.yaml", "broken.yaml"}
    assert parallel == serial


def test_jobs_must_be_positive() -> None:
    with pytest.raises(lint_module.UsageError, match="jobs"):
        lint_texts({"a.yaml": CLEAN}, jobs=0)


def test_cli_no_cache_lints_again(cfn_lint_runs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "a.yaml").write_text(CLEAN)
    assert main(["lint", str(outdir), "--jobs", "1"]) == 0
    assert main(["lint", str(outdir), "--jobs", "1"]) == 0
    assert main(["lint", str(outdir), "--jobs", "1", "--no-cache"]) == 0
    assert cfn_lint_runs == [str(outdir / "a.yaml")] * 2
    with pytest.raises(SystemExit) as exit_:
        main(["lint", str(outdir), "--jobs", "0"])
    assert exit_.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def _findings_in_a_fresh_process(code: str) -> list[dict[str, object]]:
    """Run `code` (which prints a JSON list of findings) in a new interpreter: one thread, so the pool forks."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(json.loads(result.stdout))


@linux_only
def test_forked_workers_find_what_the_cfn_lint_command_finds() -> None:
    # Workers forked from a parent that loaded the rules with the collector paused, then froze its heap.
    paths = sorted(str(path) for path in DEFECTS.glob("*.yaml"))
    ours = _findings_in_a_fresh_process(
        "import json, dataclasses\n"
        "from cfngen.linting import lint_paths\n"
        "from cfngen._parallel import pool_context\n"
        "assert pool_context().get_start_method() == 'fork'\n"
        f"findings = lint_paths(map(__import__('pathlib').Path, {paths!r}), cache=False, jobs=2)\n"
        "print(json.dumps([dataclasses.asdict(finding) for finding in findings]))"
    )
    command = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "json",
            "--regions",
            "us-east-1",
            "--include-checks",
            *lint_module.INCLUDE_CHECKS,
            "--append-rules",
            str(lint_module.RULES_DIRECTORY),
            "--",
            *paths,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    theirs = [
        {
            "file": match["Filename"],
            "line": match["Location"]["Start"]["LineNumber"],
            "column": match["Location"]["Start"]["ColumnNumber"],
            "rule": match["Rule"]["Id"],
            "severity": match["Level"].lower(),
            "message": match["Message"],
            "path": match["Location"]["Path"],
        }
        for match in json.loads(command.stdout)
    ]
    assert {"W2001", "E9101", "E3002", "E3012", "E1020"} <= {str(finding["rule"]) for finding in ours}
    assert sorted(ours, key=str) == sorted(theirs, key=str)


@linux_only
def test_linting_leaves_the_collector_as_it_found_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "pool_context", lambda: multiprocessing.get_context("fork"))
    texts = {"a.yaml": CLEAN, "b.yaml": WITH_FINDING}
    for enabled, frozen in ((True, False), (False, False), (True, True)):
        lint_module._runner.cache_clear()
        (gc.enable if enabled else gc.disable)()
        if frozen:
            gc.freeze()  # as a program that forks its own workers may have done: it stays frozen
        try:
            assert len(lint_texts(texts, cache=False, jobs=2)) == 1
            assert gc.isenabled() is enabled
            assert (gc.get_freeze_count() > 0) is frozen
        finally:
            gc.enable()
            gc.unfreeze()


def test_what_is_made_with_the_collector_paused_goes_straight_to_the_oldest_generation() -> None:
    with parallel.collector_paused():
        made = [[index] for index in range(1000)]
    oldest = {id(thing) for thing in gc.get_objects(generation=2)}
    assert all(id(thing) in oldest for thing in made)
    assert gc.isenabled()


def test_the_cache_key_covers_every_cfngen_module_the_rules_read() -> None:
    sources = lint_module._rule_sources()
    package = Path(lint_module.__file__).parent
    for rule in lint_module.RULES_DIRECTORY.glob("*.py"):
        for module in re.findall(r"^from cfngen\.(\w+) import", rule.read_text(), flags=re.MULTILINE):
            assert package / f"{module}.py" in sources, (rule.name, module)


def test_linting_a_directory_loads_neither_the_builders_nor_the_blueprint_schema(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(CLEAN)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from cfngen.cli import main\n"
            f"assert main(['lint', {str(tmp_path)!r}, '--no-cache']) == 0\n"
            "print(sorted(name for name in ('cfngen.builders', 'cfngen.blueprint', 'troposphere', 'pydantic', 'boto3') "
            "if name in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    assert loaded == "[]"


def test_the_command_prints_everything_and_exits_with_its_code(tmp_path: Path) -> None:
    # The console entry point freezes the heap before the interpreter shuts down: output and exit code stay whole.
    (tmp_path / "bad.yaml").write_text(WITH_FINDING)
    result = subprocess.run(
        [sys.executable, "-m", "cfngen", "lint", str(tmp_path), "--no-cache"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{tmp_path / 'bad.yaml'}:9:3 W2001 Parameter Unused not used.", "1 finding"]

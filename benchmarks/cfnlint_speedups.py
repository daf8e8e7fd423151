"""What cfngen.linting._speedups saves, and proof that it changes no finding.

    .venv/bin/python benchmarks/cfnlint_speedups.py [--templates DIR ...] [--repeat R] [--unverified]

Lints a corpus of templates twice, each time in a fresh process with the lint cache
off: once with the speedups off (CFNGEN_CFNLINT_SPEEDUPS=0), once on. It prints the
CPU time of each (best of --repeat; the lint workers' included) and compares every
finding (file, line, column, rule, severity, message); any difference is printed and
makes it exit 1.

The default corpus is cfn-lint's own test templates (good and bad, some hundreds,
with thousands of findings between them), taken from the source distribution of the
installed cfn-lint release (downloaded with pip), plus cfngen's committed templates.
When a cfn-lint release changes the code under the speedups, they are off, as it
prints; --unverified applies them anyway and, if every finding is the same, prints
the digests of the new code for cfngen.linting._speedups.VERIFIED_SOURCES.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cfngen.linting._speedups import VERIFIED_SOURCES

REPOSITORY = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
# A fresh interpreter: lints the files named on stdin, prints CPU seconds, whether the speedups were on, and findings.
# With the argument "unverified" the speedups apply to whatever code the installed cfn-lint has, to check them on it.
PROBE = """
import dataclasses, importlib, json, resource, sys
from pathlib import Path
from cfngen.linting import _speedups as cfnlint_speedups
digests = cfnlint_speedups.source_digests()  # of cfn-lint's own code: taken before the speedups replace it
if sys.argv[1:] == ["unverified"]:
    cfnlint_speedups.VERIFIED_SOURCES.update(digests)
lint = importlib.import_module("cfngen.linting._linter")
paths = [Path(line) for line in sys.stdin.read().splitlines()]
lint._runner("us-east-1")
def cpu():  # this process and its workers, once they have ended
    return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
begin = cpu()
findings = lint.lint_paths(paths, cache=False)
print(json.dumps({"cpu": cpu() - begin, "digests": digests, "applied": cfnlint_speedups.apply(),
                  "findings": [dataclasses.astuple(finding) for finding in findings]}))
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--templates",
        type=Path,
        nargs="*",
        help="directories of templates (default: cfn-lint's test templates and cfngen's templates/)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode; the best CPU time counts")
    parser.add_argument(
        "--unverified",
        action="store_true",
        help="apply the speedups where cfn-lint's code is not the code they were verified against",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        directories = args.templates or [cfnlint_fixtures(Path(scratch)), REPOSITORY / "templates"]
        paths = sorted(
            path
            for directory in directories
            for path in directory.rglob("*")
            if path.suffix in TEMPLATE_SUFFIXES and path.is_file()
        )
        off = [lint_in_fresh_process(paths, speedups=False) for _ in range(args.repeat)]
        on = [lint_in_fresh_process(paths, speedups=True, unverified=args.unverified) for _ in range(args.repeat)]
    cpu_off, cpu_on = min(run["cpu"] for run in off), min(run["cpu"] for run in on)
    print(f"cfn-lint {version('cfn-lint')}: {len(paths)} templates, best of {args.repeat}, cache off")
    if not on[0]["applied"]:
        print("  the speedups are off: this cfn-lint's code under them is not the verified code (see --unverified)")
    print(f"  speedups off  {cpu_off:7.2f} s CPU")
    print(f"  speedups on   {cpu_on:7.2f} s CPU  ({1 - cpu_on / cpu_off:.0%} less)")
    differences = compare(
        [tuple(finding) for finding in off[0]["findings"]], [tuple(finding) for finding in on[0]["findings"]]
    )
    if args.unverified and not differences and on[0]["digests"] != VERIFIED_SOURCES:
        print("  cfn-lint's code under the speedups is new to them; with identical findings, record its digests:")
        print("".join(f"    {name!r}: {digest!r},\n" for name, digest in on[0]["digests"].items()), end="")
    return differences


def cfnlint_fixtures(scratch: Path) -> Path:
    """cfn-lint's test templates, from the source distribution of the installed release."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"cfn-lint=={version('cfn-lint')}",
            "--dest",
            str(scratch),
        ],
        check=True,
    )
    archive = next(scratch.glob("cfn_lint-*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(scratch, filter="data")
    return next(scratch.glob("cfn_lint-*/test/fixtures/templates"))


def lint_in_fresh_process(paths: Sequence[Path], *, speedups: bool, unverified: bool = False) -> dict[str, Any]:
    # A fixed hash seed: some cfn-lint messages print a set, whose order varies with it from one process to the next.
    env = {**os.environ, "CFNGEN_CFNLINT_SPEEDUPS": "1" if speedups else "0", "PYTHONHASHSEED": "0"}
    command = [sys.executable, "-c", PROBE, *(["unverified"] if unverified else [])]
    done = subprocess.run(
        command, input="\n".join(map(str, paths)), env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def compare(off: list[tuple[object, ...]], on: list[tuple[object, ...]]) -> int:
    rules = Counter(str(finding[3]) for finding in off)
    files = {finding[0] for finding in off}
    if off == on:
        print(f"  findings identical: {len(off)} findings in {len(files)} templates, {len(rules)} distinct rules")
        print(f"  rules: {' '.join(sorted(rules))}")
        return 0
    print("  findings differ:")
    for finding in sorted(set(off) - set(on)):
        print(f"    only without the speedups: {finding}")
    for finding in sorted(set(on) - set(off)):
        print(f"    only with the speedups:    {finding}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

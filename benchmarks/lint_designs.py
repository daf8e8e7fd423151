"""Which way of linting many templates is fastest here: one process, or a pool of forked or spawned workers.

    .venv/bin/python benchmarks/lint_designs.py [--sizes 2,50] [--repeat 3]

Each design runs in a fresh interpreter (cold, as `cfngen lint` runs) on the
templates of a generated blueprint (see run.py), cache off:

- serial: one process, rules loaded once;
- fork: cfngen's design: the parent loads the rules, then forks one worker per core;
- spawn: fresh worker interpreters that each import cfn-lint and load the rules once.

Prints wall and CPU seconds per design and size (best of --repeat).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from run import generate_blueprint

DESIGNS = ("serial", "fork", "spawn")
# Runs in the fresh interpreter: synthesize, then lint with the design's start method.
PROBE = """
import multiprocessing, sys, time
import cfngen
lint_module = sys.modules["cfngen.linting._linter"]
design, blueprint = sys.argv[1], sys.argv[2]
if design == "spawn":
    sys.modules["cfngen._parallel"].pool_context = lambda: multiprocessing.get_context("spawn")
stacks = cfngen.synthesize(cfngen.load_blueprint(blueprint))
texts = stacks.render()
start = time.perf_counter()
findings = lint_module.lint_texts(texts, region=stacks.blueprint.region, cache=False,
                                  jobs=1 if design == "serial" else None)
print(time.perf_counter() - start, len(texts), len(findings))
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line per size and design."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="2,50", help="service counts (default: 2,50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per design and size; the best counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cfngen-lint-designs-") as workdir:
        for size in (int(text) for text in args.sizes.split(",")):
            blueprint = generate_blueprint(Path(workdir) / f"n{size}", size)
            for design in DESIGNS:
                best = min((_measure(design, blueprint) for _ in range(args.repeat)), key=lambda run: run[0])
                wall, cpu, templates = best
                print(
                    json.dumps(
                        {
                            "services": size,
                            "templates": templates,
                            "design": design,
                            "lint_wall_s": round(wall, 3),
                            "process_cpu_s": round(cpu, 3),
                        }
                    ),
                    flush=True,
                )
    return 0


def _measure(design: str, blueprint: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, design, str(blueprint)], capture_output=True, text=True, check=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, templates, findings = result.stdout.split()
    if int(findings):
        raise SystemExit(f"{design}: {findings} findings on {blueprint}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return float(wall), cpu, int(templates)


if __name__ == "__main__":
    sys.exit(main())

"""Where the cold CLI round trip spends its time, and the floor that puts under it on this machine.

    .venv/bin/python benchmarks/coldstart.py [--blueprint blueprints/demo.yaml] [--repeat 5]

The round trip is `cfngen synth BLUEPRINT -o OUT` then `cfngen lint OUT`, cold: empty
output directory and lint cache (run.py measures it too, at every size). This
prints, best of --repeat, each in a fresh interpreter:

- both commands' wall and CPU time;
- the phases of `cfngen synth`: interpreter start, imports, load+validate,
  synthesize, render and write the YAML;
- the phases of `cfngen lint`: interpreter start and cfngen's imports, cfn-lint's
  import, loading its rules, and the per-template work (CPU, serial: its sum and
  its largest template);
- the floor: the phases that run on one core (synth, and lint up to its rules)
  plus the per-template work spread over the cores, never less than the largest
  template.

It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from run import EXAMPLE, cfngen_command, compile_sources

# Both run in a fresh interpreter and print their phases as JSON: seconds since the interpreter started.
SYNTH_PROBE = """
import json, sys, time
start = time.perf_counter()
import cfngen.cli, cfngen.cli.output, cfngen.cli.synth, cfngen.builders  # what `cfngen synth` imports
phases = {"imports": time.perf_counter() - start}
def timed(key, step):
    begin = time.perf_counter(); value = step(); phases[key] = time.perf_counter() - begin; return value
blueprint = timed("load", lambda: cfngen.load_blueprint(sys.argv[1]))
stacks = timed("synthesize", lambda: cfngen.synthesize(blueprint))
timed("write", lambda: stacks.write(sys.argv[2]))
print(json.dumps(phases))
"""
LINT_PROBE = """
import json, pathlib, sys, time
start = time.perf_counter()
import cfngen.cli, cfngen.cli.lint  # what `cfngen lint` imports
lint = sys.modules["cfngen.linting._linter"]
phases = {"imports": time.perf_counter() - start}
begin = time.perf_counter()
with cfngen._parallel.collector_paused():  # as linting._linter imports it
    import cfnlint.config, cfnlint.runner.cli, cfnlint.decode.decode, cfnlint.runner.template.runner
phases["cfn-lint import"] = time.perf_counter() - begin
begin = time.perf_counter()
lint._runner("us-east-1")
phases["rules"] = time.perf_counter() - begin
work = {}
with sys.modules["cfngen._parallel"].frozen_heap():  # as the forked workers run
    for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
        begin = time.process_time()
        lint._lint_one(path.name, path.read_text(encoding="utf-8"), "us-east-1")
        work[path.name] = time.process_time() - begin
phases["templates"] = sum(work.values())
phases["largest"] = max(work.values())
phases["largest template"] = max(work, key=work.__getitem__)
print(json.dumps(phases))
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the breakdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--blueprint", type=Path, default=EXAMPLE, help="blueprint (default: blueprints/demo.yaml)")
    parser.add_argument("--repeat", type=int, default=5, metavar="R", help="runs of each measurement; the best counts")
    args = parser.parse_args(argv)
    compile_sources()
    with tempfile.TemporaryDirectory(prefix="cfngen-coldstart-") as workdir:
        runs = [_round_trip(args.blueprint, Path(workdir) / str(attempt)) for attempt in range(args.repeat)]
        outdir = Path(workdir) / "0" / "out"
        interpreter = _best([lambda: _wall([sys.executable, "-c", "pass"])] * args.repeat)
        synth = _best_phases(SYNTH_PROBE, [str(args.blueprint), str(Path(workdir) / "probe")], args.repeat)
        lint = _best_phases(LINT_PROBE, [str(outdir)], args.repeat)
    best = {key: min(run[key] for run in runs) for key in runs[0]}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(
        f"cold round trip of {args.blueprint}, best of {args.repeat}, {cores} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"  cfngen synth                   {best['synth']:.2f} s wall  {best['synth_cpu']:.2f} s CPU")
    print(f"    interpreter start            {interpreter:.2f}")
    for key, label in (
        ("imports", "imports"),
        ("load", "load+validate"),
        ("synthesize", "synthesize"),
        ("write", "render + write YAML"),
    ):
        print(f"    {label:<29}{synth[key]:.2f}")
    print(f"  cfngen lint OUTDIR             {best['lint']:.2f} s wall  {best['lint_cpu']:.2f} s CPU")
    print(f"    interpreter start + imports  {interpreter + lint['imports']:.2f}")
    print(f"    cfn-lint import              {lint['cfn-lint import']:.2f}")
    print(f"    rule loading                 {lint['rules']:.2f}")
    print(
        f"    per-template lint (CPU)      {lint['templates']:.2f} in all, {lint['largest']:.2f} the largest "
        f"({lint['largest template']})"
    )
    one_core = best["synth"] + interpreter + lint["imports"] + lint["cfn-lint import"] + lint["rules"]
    spread = max(lint["templates"] / cores, lint["largest"])
    print(
        f"  floor on {cores} cores: {one_core:.2f} s on one core + {spread:.2f} s of templates over the cores "
        f"= {one_core + spread:.2f} s (measured {best['synth'] + best['lint']:.2f} s)"
    )
    return 0


def _round_trip(blueprint: Path, workdir: Path) -> dict[str, float]:
    """Wall and CPU seconds of `cfngen synth` and `cfngen lint` into an empty directory with an empty cache."""
    env = {**os.environ, "CFNGEN_CACHE_DIR": str(workdir / "cache")}
    results: dict[str, float] = {}
    for key, command in (
        ("synth", ["synth", str(blueprint), "-o", str(workdir / "out")]),
        ("lint", ["lint", str(workdir / "out")]),
    ):
        cpu_before = _children_cpu()
        results[key] = _wall([*cfngen_command(), *command], env)
        results[f"{key}_cpu"] = _children_cpu() - cpu_before
    return results


def _best_phases(probe: str, arguments: list[str], repeat: int) -> dict[str, Any]:
    """The probe's phases from its fastest run (the least disturbed one)."""
    runs = [
        json.loads(
            subprocess.run([sys.executable, "-c", probe, *arguments], capture_output=True, text=True, check=True).stdout
        )
        for _ in range(repeat)
    ]
    return dict(min(runs, key=lambda run: sum(value for value in run.values() if isinstance(value, float))))


def _best(measurements: Sequence[Callable[[], float]]) -> float:
    return min(measure() for measure in measurements)


def _wall(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - start


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())

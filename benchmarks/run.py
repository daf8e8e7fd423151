"""Performance harness: how long cfngen takes, and how much memory, from 1 to hundreds of services.

    .venv/bin/python benchmarks/run.py [--sizes 1,10,50,200] [--example blueprints/demo.yaml] [--repeat R]

For the example blueprint and for generated blueprints of N services (each a copy
of services/service-a with its own name and ports, on the demo blueprint's
platform) it measures, each in a fresh process so nothing is warm that a user's
first run would not have warm:

- import: `import cfngen` in a fresh interpreter (it imports each public name on
  first use), the same with what synthesis runs on (the blueprint schema and the
  builders: troposphere, awacs, pydantic), and `cfngen --version` (CLI start-up);
- load+validate, synthesize, write, lint (cache off): in-process phases, timed
  without tracing, then run again under tracemalloc for their peak allocation;
  lint also reports the peak RSS of its process tree (it forks workers);
- the CLI round trip `cfngen synth BLUEPRINT -o OUT` + `cfngen lint OUT`, cold
  (empty output directory and lint cache) and warm (run again, nothing changed),
  with the CPU time and the peak RSS of the commands (`resource.getrusage(RUSAGE_CHILDREN)`);
  on a shared machine the CPU time is the steadier figure.

It prints a table, then how each figure grows per service between sizes
(flagging superlinear growth), then the issue's reference points and targets.
It prints figures and asserts nothing: timings belong here, not in the tests.
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLE = REPOSITORY / "blueprints" / "demo.yaml"
SERVICE_SHAPE = REPOSITORY / "services" / "service-a" / "service.yaml"
IMPORT_REPEATS = 5
MIB = 1024 * 1024
# ru_maxrss is in KiB on Linux and in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024
# A later interval whose per-service cost exceeds the earlier one's by this factor is superlinear growth.
SUPERLINEAR_FACTOR = 1.5
# An interval that adds less than this is noise, not growth.
NOISE_FLOOR = {"s": 0.2, "MiB": 20.0}

# The reference points (same architecture, same kind of 2-core machine) and targets.
REFERENCE = "AWS CDK `cdk synth` 7 s, peak 385 MB; the cfn-lint command on its 8 templates 5.5 s (1.3 s start-up)"
TARGET_COLD_S = 2.0
TARGET_WARM_S = 1.0
TARGET_LARGE_S = 60.0
TARGET_LARGE_MIB = 1024.0
TARGET_LARGE_SERVICES = 200


@dataclass(frozen=True)
class Figure:
    """One measured quantity: its row label, unit, and the key it has in a case's results."""

    key: str
    label: str
    unit: str


FIGURES = (
    Figure("templates", "templates", ""),
    Figure("resources", "resources", ""),
    Figure("load", "load+validate", "s"),
    Figure("synth", "synthesize", "s"),
    Figure("write", "write", "s"),
    Figure("lint", "lint (no cache)", "s"),
    Figure("cli_cold", "CLI synth+lint cold", "s"),
    Figure("cli_warm", "CLI synth+lint warm", "s"),
    Figure("cli_cold_cpu", "CLI cold, CPU time", "s"),
    Figure("cli_warm_cpu", "CLI warm, CPU time", "s"),
    Figure("load_peak", "peak load (tracemalloc)", "MiB"),
    Figure("synth_peak", "peak synth (tracemalloc)", "MiB"),
    Figure("write_peak", "peak write (tracemalloc)", "MiB"),
    Figure("lint_rss", "peak lint RSS", "MiB"),
    Figure("cli_rss", "peak CLI RSS", "MiB"),
)


@dataclass
class Case:
    """One blueprint measured: the example, or a generated one with `services` services."""

    label: str
    blueprint: Path
    services: int
    results: dict[str, float] = field(default_factory=dict)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the table, the growth and the comparison; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.phases:
        print(json.dumps(measure_phases(Path(args.phases[0]), Path(args.phases[1]))))
        return 0
    sizes = sorted(set(args.sizes))
    compile_sources()
    workdir = Path(tempfile.mkdtemp(prefix="cfngen-bench-"))
    try:
        cases = [Case("example", args.example, _service_count(args.example))] if args.example else []
        cases += [Case(f"N={size}", generate_blueprint(workdir / f"n{size}", size), size) for size in sizes]
        imports = measure_imports()
        print(
            f"import cfngen: {imports['import']:.3f} s   with the builders: {imports['builders']:.3f} s"
            f"   cfngen --version: {imports['cli_startup']:.3f} s"
            f"   (best of {IMPORT_REPEATS}, fresh interpreters)",
            flush=True,
        )
        for case in cases:
            print(f"measuring {case.label} ({case.services} services)...", file=sys.stderr, flush=True)
            for attempt in range(args.repeat):
                run = workdir / f"{case.label}-{attempt}"
                _keep_best(case.results, _phases_in_fresh_process(case.blueprint, run / "phases"))
                _keep_best(case.results, measure_cli(case.blueprint, run / "cli"))
        print(table(cases))
        generated = [case for case in cases if case.label != "example"]
        if len(generated) > 1:
            print(growth(generated))
        print(comparison(cases))
    finally:
        if args.keep:
            print(f"blueprints and outputs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def compile_sources() -> None:
    """Byte-compile cfngen's sources, as installing a package does, so no run measures compiling them.

    An editable install never has them compiled, and where PYTHONDONTWRITEBYTECODE is set (as on
    some CI machines) Python does not cache what it compiles: every command would compile cfngen anew.
    """
    compileall.compile_dir(REPOSITORY / "src", quiet=1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default=[1, 10, 50, 200],
        type=_sizes,
        help="comma-separated service counts of the generated blueprints (default: 1,10,50,200)",
    )
    parser.add_argument(
        "--example",
        type=lambda text: Path(text) if text else None,
        default=EXAMPLE,
        help="an existing blueprint measured too ('' for none; default: blueprints/demo.yaml)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="R",
        help="measure every case R times; report the fastest time and the largest memory (default: 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated blueprints and outputs")
    # Internal: each case's in-process phases run in a fresh interpreter through this.
    parser.add_argument("--phases", nargs=2, metavar=("BLUEPRINT", "OUTDIR"), help=argparse.SUPPRESS)
    return parser


def _keep_best(results: dict[str, float], attempt: Mapping[str, float]) -> None:
    """Fold one attempt into `results`: the lowest time (the least disturbed run), the highest memory."""
    units = {figure.key: figure.unit for figure in FIGURES}
    for key, value in attempt.items():
        if key in results:
            value = min(value, results[key]) if units[key] == "s" else max(value, results[key])
        results[key] = value


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(size) for size in text.split(",") if size.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected service counts such as 1,10,50, found {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"every size must be at least 1, found {text!r}")
    return sizes


def generate_blueprint(directory: Path, services: int) -> Path:
    """Write a blueprint with `services` services into `directory`; returns its path.

    The platform is the example blueprint's, its cluster grown so that the load's
    preflight can place the tasks (an m5.2xlarge with ENI trunking holds 32 of
    service-a's 256-CPU-unit tasks); every service is services/service-a under
    its own name, with its own container and listener ports.
    """
    base = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    shape = yaml.safe_load(SERVICE_SHAPE.read_text(encoding="utf-8"))
    entries = []
    for index in range(services):
        name = f"svc-{index:04d}"
        service = {
            **shape,
            "name": name,
            "port": 3000 + index,
            "listener_port": 10000 + index,
            "test_listener_port": 30000 + index,
        }
        path = directory / "services" / name / "service.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(service, sort_keys=False), encoding="utf-8")
        entries.append(f"services/{name}/service.yaml")
    tasks = (services + 1) * shape["desired_count"]  # every service's, and a blue/green deployment's second set
    cluster = {
        **base["cluster"],
        "instance_type": "m5.2xlarge",
        "awsvpc_trunking": True,
        "max_size": max(base["cluster"]["max_size"], -(-tasks // 32)),
    }
    blueprint = {**base, "name": f"bench-{services}", "cluster": cluster, "services": entries}
    path = directory / "blueprint.yaml"
    path.write_text(yaml.safe_dump(blueprint, sort_keys=False), encoding="utf-8")
    return path


def _service_count(blueprint: Path) -> int:
    services = yaml.safe_load(blueprint.read_text(encoding="utf-8")).get("services") or []
    return len(services)


def measure_imports() -> dict[str, float]:
    """Best-of-N seconds for `import cfngen` (alone, then with the builders) in a fresh interpreter and for
    `cfngen --version`."""
    results: dict[str, float] = {}
    for key, modules in (("import", "cfngen"), ("builders", "cfngen.builders")):
        probe = f"import time; start = time.perf_counter(); import {modules}; print(time.perf_counter() - start)"
        results[key] = min(float(_run([sys.executable, "-c", probe]).stdout) for _ in range(IMPORT_REPEATS))
    startups = []
    for _ in range(IMPORT_REPEATS):
        start = time.perf_counter()
        _run([*cfngen_command(), "--version"])
        startups.append(time.perf_counter() - start)
    return {**results, "cli_startup": min(startups)}


def _phases_in_fresh_process(blueprint: Path, outdir: Path) -> dict[str, float]:
    result = _run([sys.executable, str(Path(__file__).resolve()), "--phases", str(blueprint), str(outdir)])
    return dict(json.loads(result.stdout))


def measure_phases(blueprint: Path, outdir: Path) -> dict[str, float]:
    """The in-process phases: seconds untraced first, then the peak traced allocation of load, synth and write."""
    import cfngen
    import cfngen.builders  # imported up front: the phases time their own work, not imports (the import figure)

    results: dict[str, float] = {}

    def timed(key: str, step: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = step()
        results[key] = time.perf_counter() - start
        return value

    loaded = timed("load", lambda: cfngen.load_blueprint(blueprint))
    stacks = timed("synth", lambda: cfngen.synthesize(loaded))
    timed("write", lambda: stacks.write(outdir / "timed"))
    findings = timed("lint", lambda: cfngen.lint(stacks, cache=False))
    if findings:
        raise SystemExit(f"{blueprint}: lint found {len(findings)} problems, first: {findings[0]}")
    results["lint_rss"] = (
        max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        * RSS_UNIT
        / MIB
    )
    templates = stacks.templates()
    results["templates"] = len(templates)
    results["resources"] = sum(len(template.resources) for template in templates.values())

    def traced(key: str, step: Callable[[], Any]) -> Any:
        tracemalloc.start()
        value = step()
        results[key] = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
        return value

    loaded = traced("load_peak", lambda: cfngen.load_blueprint(blueprint))
    stacks = traced("synth_peak", lambda: cfngen.synthesize(loaded))
    traced("write_peak", lambda: stacks.write(outdir / "traced"))
    return results


def measure_cli(blueprint: Path, workdir: Path) -> dict[str, float]:
    """`cfngen synth` + `cfngen lint` into an empty directory with an empty lint cache, then again unchanged."""
    outdir = workdir / "out"
    env = {**os.environ, "CFNGEN_CACHE_DIR": str(workdir / "cache")}
    round_trip = [
        [*cfngen_command(), "synth", str(blueprint), "-o", str(outdir)],
        [*cfngen_command(), "lint", str(outdir)],
    ]
    results: dict[str, float] = {}
    for key in ("cli_cold", "cli_warm"):
        cpu_before = _children_cpu()
        start = time.perf_counter()
        for command in round_trip:
            _run(command, env=env)
        results[key] = time.perf_counter() - start
        # CPU seconds of the commands and their workers: what a busy machine inflates least.
        results[f"{key}_cpu"] = _children_cpu() - cpu_before
    # Every command above was a waited-for child: RUSAGE_CHILDREN holds the largest of them (and their workers).
    results["cli_rss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * RSS_UNIT / MIB
    return results


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cfngen_command() -> list[str]:
    """The installed `cfngen` console script beside this interpreter, else the same entry point through it."""
    script = Path(sys.executable).with_name("cfngen")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from cfngen.cli import run; run()"]


def _run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def table(cases: Sequence[Case]) -> str:
    """One row per figure, one column per case."""
    width = max(len(f"{figure.label} ({figure.unit})") for figure in FIGURES)
    lines = [f"{'figure':<{width}}" + "".join(f"{case.label:>11}" for case in cases)]
    for figure in FIGURES:
        label = f"{figure.label} ({figure.unit})" if figure.unit else figure.label
        lines.append(
            f"{label:<{width}}" + "".join(f"{_show(case.results.get(figure.key), figure.unit):>11}" for case in cases)
        )
    return "\n".join(lines)


def _show(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f}"
    if unit == "MiB":
        return f"{value:.1f}"
    return f"{value:.0f}"


def growth(cases: Sequence[Case]) -> str:
    """Per figure: cost per added service between consecutive sizes, the growth exponent, and a superlinear flag.

    The exponent k solves t2/t1 = (N2/N1)^k: 1 is linear, below 1 means fixed
    costs still dominate. A figure is flagged when an interval's per-service cost
    exceeds the previous interval's by SUPERLINEAR_FACTOR; intervals that grow
    less than the noise floor are not compared.
    """
    lines = ["growth per added service (interval: cost per service, exponent k):"]
    for figure in FIGURES:
        if figure.unit not in NOISE_FLOOR:
            continue
        parts = []
        previous: float | None = None  # per-service cost of the last interval that grew beyond noise
        superlinear = False
        for low, high in zip(cases, cases[1:]):
            first, second = low.results[figure.key], high.results[figure.key]
            per_service = (second - first) / (high.services - low.services)
            exponent = math.log(second / first) / math.log(high.services / low.services) if first > 0 < second else 0.0
            parts.append(f"{low.services}->{high.services}: {_per_service(per_service, figure.unit)}, k={exponent:.2f}")
            if second - first <= NOISE_FLOOR[figure.unit]:
                continue
            if previous is not None and per_service > SUPERLINEAR_FACTOR * previous:
                superlinear = True
            previous = per_service
        flag = "  << SUPERLINEAR" if superlinear else ""
        lines.append(f"  {figure.label:<26} " + "; ".join(parts) + flag)
    return "\n".join(lines)


def _per_service(value: float, unit: str) -> str:
    return f"{value * 1000:.1f} ms" if unit == "s" else f"{value:.2f} MiB"


def comparison(cases: Sequence[Case]) -> str:
    """The issue's reference points next to ours, and each target met or missed."""
    lines = [f"reference (issue): {REFERENCE}"]
    example = next((case for case in cases if case.label == "example"), None)
    if example:
        results = example.results
        lines.append(
            f"cfngen, example blueprint ({example.services} services, {results['templates']:.0f} templates): "
            f"synth {results['synth']:.2f} s + lint {results['lint']:.2f} s in process; CLI round trip "
            f"cold {results['cli_cold']:.2f} s, warm {results['cli_warm']:.2f} s, "
            f"peak {results['cli_rss']:.0f} MiB"
        )
        lines.append(_target(f"example cold round trip < {TARGET_COLD_S:.0f} s", results["cli_cold"] < TARGET_COLD_S))
        lines.append(_target(f"example warm round trip < {TARGET_WARM_S:.0f} s", results["cli_warm"] < TARGET_WARM_S))
    large = next((case for case in cases if case.services >= TARGET_LARGE_SERVICES and case.label != "example"), None)
    if large:
        results = large.results
        peak = max(results["cli_rss"], results["lint_rss"])
        lines.append(
            _target(
                f"{large.services} services cold round trip < {TARGET_LARGE_S:.0f} s "
                f"({results['cli_cold']:.1f} s) and < {TARGET_LARGE_MIB:.0f} MiB ({peak:.0f} MiB)",
                results["cli_cold"] < TARGET_LARGE_S and peak < TARGET_LARGE_MIB,
            )
        )
    return "\n".join(lines)


def _target(text: str, met: bool) -> str:
    return f"target {'met   ' if met else 'MISSED'}: {text}"


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark harness runs (a smoke version: 1 and 10 services), so it never rots. No timing is asserted."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_harness_prints_every_figure_and_its_growth() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--sizes", "1,10"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("figure"))
    assert header.split()[1:] == ["example", "N=1", "N=10"]
    for label in (
        "load+validate (s)",
        "synthesize (s)",
        "write (s)",
        "lint (no cache) (s)",
        "CLI synth+lint cold (s)",
        "CLI synth+lint warm (s)",
        "peak lint RSS (MiB)",
        "peak CLI RSS (MiB)",
    ):
        row = next(line for line in lines if line.startswith(label))
        values = row[len(label) :].split()
        assert len(values) == 3 and all(float(value) >= 0 for value in values), row
    assert any(line.strip().startswith("lint (no cache)") and "1->10:" in line for line in lines)
    assert any(line.startswith("import cfngen:") for line in lines)
    assert any(line.startswith("reference (issue):") for line in lines)


def test_cold_start_breakdown_prints_every_phase_and_the_floor() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "coldstart.py"), "--repeat", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for label in (
        "cfngen synth",
        "imports",
        "render + write YAML",
        "cfngen lint OUTDIR",
        "cfn-lint import",
        "rule loading",
        "per-template lint (CPU)",
        "floor on",
    ):
        assert any(line.strip().startswith(label) for line in result.stdout.splitlines()), label

"""The two diagrams of the review: the architecture (clients -> load balancer and listeners -> services -> database,
a pipeline per service) and the stack wiring, both readable on a page 1,400 px wide at 25 services, as headless
Chromium draws them (its screenshot is kept in the test's directory)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cfngen import load_blueprint, review, synthesize
from cfngen.report import assemble
from cfngen.report._diagram import MAX_WIRING_NODES
from tests.conftest import ROOT
from tests.review_goldens import fixture_templates

sys.path.insert(0, str(ROOT / "benchmarks"))
from run import generate_blueprint  # noqa: E402 -- the benchmarks' generated blueprints of N services

WIDTH = 1400
# Smallest node text, in CSS pixels as drawn, that still reads: GitHub's own smallest UI text is 12 px.
MIN_FONT_PX = 12
# Run in the page after Mermaid drew it: the smallest font size of each diagram's node labels, as drawn (the
# label's font size times the scale the SVG is drawn at).
MEASURE = """
<script>
(function measure() {
  if (document.body.dataset.diagram === "pending") { setTimeout(measure, 50); return; }
  const sizes = [...document.querySelectorAll("pre.mermaid svg")].map((svg) => {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    const labels = [...svg.querySelectorAll(".node .nodeLabel, .node text")];
    return {nodes: labels.length, scale: scale,
            min: Math.min(...labels.map((label) => parseFloat(getComputedStyle(label).fontSize) * scale))};
  });
  document.body.dataset.fonts = JSON.stringify(sizes);
})();
</script>
"""


def test_the_architecture_shows_clients_listeners_services_database_and_pipelines() -> None:
    text = review(synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml")), findings=[]).diagram.architecture
    assert text.startswith("flowchart LR\n")
    assert "clients --> lb_load_balancer_LoadBalancer" in text
    assert "lb_load_balancer_LoadBalancer --> svc_service_service_a_ServiceAService" in text
    assert 'ServiceAService["<b>service-a</b><br/>ECS service, port 3000<br/>listener 80, test 8080"]' in text
    assert (
        'svc_service_service_a_ServiceAService -.- pipe_pipeline_service_a_ServiceAPipeline[/"pipeline service-a"/]'
        in text
    )
    assert 'svc_service_service_b_ServiceBService -->|"tcp 3306"| db_database_DatabaseCluster' in text
    assert '[("aurora-mysql DatabaseCluster<br/>port 3306")]' in text


def test_the_wiring_of_many_stacks_is_drawn_by_kind(tmp_path: Path) -> None:
    report = review(synthesize(load_blueprint(generate_blueprint(tmp_path, 25))), findings=[])
    assert len(report.diagram.nodes) > MAX_WIRING_NODES
    nodes = re.findall(r"^  (stack_\w+)\[", report.diagram.mermaid, flags=re.MULTILINE)
    assert len(nodes) <= MAX_WIRING_NODES and "stack_service_svc__" in nodes and "stack_load_balancer_" in nodes
    assert "25 stacks: service-svc-0000 … service-svc-0024" in report.diagram.mermaid
    assert report.diagram.architecture.count("ECS service, port") == 25


def _drawn(chromium: str, page: Path, profile: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--hide-scrollbars",
            f"--window-size={WIDTH},1600",
            "--virtual-time-budget=60000",
            *options,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("services", [1, 25])
def test_both_diagrams_are_readable_at_1400_px(services: int, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed: `make browser` installs it")
    if services == 1:
        report = assemble(fixture_templates(), region="us-east-1")
    else:
        report = review(synthesize(load_blueprint(generate_blueprint(tmp_path / "blueprint", services))), findings=[])
    html = report.html()
    # The measuring script is the test's, not the page's: drop a content security policy that would block it.
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    head, _, tail = html.rpartition("</body>")  # the last one: the inlined Mermaid script holds the string too
    html = head + MEASURE + "</body>" + tail
    page = tmp_path / "review.html"
    page.write_text(html, encoding="utf-8")
    dumped = _drawn(chromium, page, tmp_path / "profile", "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'data-diagram="rendered"' in dumped.stdout
    found = re.search(r'data-fonts="([^"]*)"', dumped.stdout)
    assert found is not None, dumped.stdout[:500]
    sizes = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(sizes) == 2 and all(size["nodes"] > 0 for size in sizes), sizes
    for size in sizes:
        assert size["min"] >= MIN_FONT_PX, sizes
    screenshot = tmp_path / "review.png"
    shot = _drawn(chromium, page, tmp_path / "profile", f"--screenshot={screenshot}")
    assert shot.returncode == 0 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(screenshot.read_bytes()[16:20], "big") == WIDTH

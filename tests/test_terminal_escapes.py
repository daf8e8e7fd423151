"""Issue 21: no value from a blueprint, a parameter, a stack or AWS reaches the terminal with its control characters.

ESC starts escape sequences that rewrite what a person reads (clear the screen, recolour, hide a line, make a link);
CR returns to the line's start and overwrites it; U+2028 breaks a line where a log viewer shows none. Each path
that prints such a value is driven through the command that prints it, with the value in the place AWS (or the
blueprint) puts it, and must show every such character as an escape. The deployer's answers are given here as
AWS could give them (what AWS returns is not what this checks; the deployer's tests run against the emulator).
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cfngen.cli import bootstrap, destroy, drift, main
from cfngen.cli import deploy as deploy_command
from cfngen.cli import plan as plan_command
from cfngen.deploy import Outcome
from cfngen.deploy._bootstrap import BUCKET_OUTPUT
from cfngen.deploy._destroy import Kept, Teardown
from cfngen.deploy._drift import DriftReport, PropertyDrift, ResourceDrift
from cfngen.deploy._events import ConsoleProgress, StackEvent
from cfngen.deploy._plan import Plan, ResourceChange
from tests.conftest import ROOT

DEMO = str(ROOT / "blueprints" / "demo.yaml")
# ESC clearing the screen, a CR that would overwrite the line, U+2028, and an OSC 8 hyperlink ended by BEL (no
# slash: the same text names a folder in the tests of printed paths).
HOSTILE = "ok\x1b[2J\rforged\u2028line\x1b]8;;attacker.example\x07link"
SHOWN = "ok\\x1b[2J\\rforged\\u2028line\\x1b]8;;attacker.example\\x07link"
RAW = ("\x1b", "\r", "\u2028", "\x07")


def _shown_escaped(text: str) -> None:
    assert SHOWN in text
    assert not any(char in text for char in RAW)


@pytest.fixture
def printed(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Everything the command printed, stdout and stderr together."""

    def read() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    yield read


def _plan(**fields: Any) -> Plan:
    return Plan(stack_name="microservices-demo", region="us-west-2", change_set_type="UPDATE", **fields)


def test_the_plan_table_shows_a_live_value_escaped_and_on_its_own_row(
    monkeypatch: pytest.MonkeyPatch, printed: Any
) -> None:
    """A drift-aware plan shows each property's live value, which anyone with access to the resource can set."""
    change = ResourceChange(
        "network",
        "Vpc",
        "AWS::EC2::VPC",
        "modify",
        properties=(("Tags[0].Value", "web", HOSTILE + "\nfake row", "revert"),),
    )
    plan = _plan(change_set_id="arn:change-set", changes=(change,))
    monkeypatch.setattr(plan_command, "make_plan", lambda args, blueprint: (None, SimpleNamespace(root={}), plan))
    assert main(["plan", DEMO]) == 0
    text = printed()
    _shown_escaped(text)
    (row,) = [line for line in text.splitlines() if "Tags[0].Value" in line]
    assert row.rstrip().endswith("revert") and "\\nfake row" in row


def test_deploy_prints_stack_outputs_escaped_one_line_each(monkeypatch: pytest.MonkeyPatch, printed: Any) -> None:
    outcome = Outcome("microservices-demo", "applied", "UPDATE_COMPLETE", outputs={"Url": HOSTILE + "\nforged = 1"})
    target = SimpleNamespace(apply=lambda plan, **options: outcome)
    monkeypatch.setattr(deploy_command, "make_plan", lambda args, blueprint: (target, None, _plan()))
    assert main(["deploy", DEMO, "--yes"]) == 0
    text = printed()
    _shown_escaped(text)
    assert "  Url = " + SHOWN + "\\nforged = 1" in text.splitlines()


def test_destroy_lists_kept_resources_escaped(monkeypatch: pytest.MonkeyPatch, printed: Any) -> None:
    kept = Kept("database", "Cluster", "AWS::RDS::DBCluster", HOSTILE, "Snapshot")
    teardown = Teardown("microservices-demo", "arn:stack", "us-west-2", "UPDATE_COMPLETE", False, kept=(kept,))
    gone = Outcome("microservices-demo", "deleted", "DELETE_COMPLETE")
    target = SimpleNamespace(region="us-west-2", teardown=lambda name: teardown, destroy=lambda found: gone)
    monkeypatch.setattr(destroy, "deployer", lambda args, region: target)
    assert main(["destroy", DEMO, "--yes"]) == 0
    _shown_escaped(printed())


def test_drift_shows_live_values_escaped_on_one_line(monkeypatch: pytest.MonkeyPatch, printed: Any) -> None:
    drifted = ResourceDrift(
        "service-web",
        "TaskRole",
        "AWS::IAM::Role",
        "role",
        "MODIFIED",
        properties=(PropertyDrift("Description", "the task role", HOSTILE + "\n    Forged: line", "NOT_EQUAL"),),
    )
    report = DriftReport("microservices-demo", "us-west-2", (("root", "DRIFTED"),), (drifted,))
    monkeypatch.setattr(drift, "deployer", lambda args, region: SimpleNamespace(drift=lambda name: report))
    assert main(["drift", DEMO]) == 1
    text = printed()
    _shown_escaped(text)
    assert not any(line.strip().startswith("Forged") for line in text.splitlines())


def test_bootstrap_prints_the_bucket_name_escaped(monkeypatch: pytest.MonkeyPatch, printed: Any) -> None:
    outcome = Outcome("cfngen-bootstrap", "applied", outputs={BUCKET_OUTPUT: HOSTILE})
    target = SimpleNamespace(region="us-west-2", bootstrap=lambda: outcome)
    monkeypatch.setattr(bootstrap, "deployer", lambda args, region: target)
    assert main(["bootstrap", "--region", "us-west-2"]) == 0
    _shown_escaped(printed())


def test_stack_events_show_aws_reasons_escaped() -> None:
    """The reason is AWS's text, which quotes template values ("Value 'x' at 'tags' failed to satisfy ...")."""
    stream = io.StringIO()
    event = StackEvent(
        "id", "microservices-demo", "Vpc", "AWS::EC2::VPC", "CREATE_FAILED", HOSTILE, datetime.now(timezone.utc)
    )
    ConsoleProgress(stream).event(event)
    _shown_escaped(stream.getvalue())


def test_render_prints_the_paths_it_wrote_escaped(tmp_path: Path, printed: Any) -> None:
    fixture = str(ROOT / "tests" / "fixtures" / "render" / "demo.json")
    assert main(["render", DEMO, "--stack-values", fixture, "-o", str(tmp_path / HOSTILE)]) == 0
    _shown_escaped(printed())


def test_schema_says_where_it_wrote_escaped(tmp_path: Path, printed: Any) -> None:
    (tmp_path / HOSTILE).mkdir()
    assert main(["schema", "-o", str(tmp_path / HOSTILE / "blueprint.schema.json")]) == 0
    _shown_escaped(printed())


def test_the_cli_prints_only_through_the_escaping_helpers() -> None:
    """A new bare print() or sys.stdout.write() in a command would bypass the escaping: cli/output.py is the one
    place that writes (cli/__init__.py's error line escapes itself, its --version line holds no outside value)."""
    offenders = []
    for path in sorted((ROOT / "src" / "cfngen" / "cli").glob("*.py")):
        if path.name in ("output.py", "__init__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name == "print" or name.endswith(("stdout.write", "stderr.write")):
                offenders.append(f"{path.name}:{node.lineno}: {name}")
    assert offenders == []

"""The names that cross a stack boundary are the ones cfngen.builders.contracts declares, and docs/wiring.md says so.

A stack's output that another stack (or the root) consumes must match one entry of ``OUTPUTS``, given by the
stack that entry names; every entry must be given by some blueprint; and the table in docs/wiring.md is the one
``wiring_table()`` renders from ``OUTPUTS`` (``python -m tests.test_contracts`` rewrites it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest

from cfngen import StackSet, load_blueprint, synthesize
from cfngen.builders.contracts import OUTPUTS, Output
from tests.conftest import EXAMPLES, ROOT
from tests.stack_helpers import make_blueprint

DOCUMENT = ROOT / "docs" / "wiring.md"
TABLE_START = "<!-- generated from cfngen.builders.contracts.OUTPUTS: python -m tests.test_contracts -->\n"
TABLE_END = "<!-- end of generated table -->\n"
CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/abcd-1234"


def _variants() -> Iterator[StackSet]:
    for example in EXAMPLES:
        yield synthesize(load_blueprint(example))
    services = [
        {
            "name": f"svc-{index}",
            "port": 8080,
            "listener_port": 80 + index,
            "test_listener_port": 9000 + index,
            "health_check": {"path": "/"},
        }
        for index in range(3)
    ]
    yield synthesize(make_blueprint(services=services, load_balancer={"services_per_load_balancer": 2}))
    yield synthesize(
        make_blueprint(pipeline={"source": {"connection_arn": CONNECTION, "repository": "example-org/example-repo"}})
    )


def _pattern(output: Output) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The output's name and its stack's file stem as regular expressions."""
    name = re.escape(output.name).replace(re.escape("{Svc}"), "[A-Z][A-Za-z0-9]*")
    name = name.replace(re.escape("LoadBalancer<n>"), "LoadBalancer(?:[2-9]|[1-9][0-9]+)?")
    stack = re.escape(output.stack).replace(re.escape("<svc>"), "[a-z0-9-]+")
    stack = stack.replace(re.escape("[-<n>]"), "(?:-[0-9]+)?")
    return re.compile(name + "$"), re.compile(stack + "$")


PATTERNS = [(output, *_pattern(output)) for output in OUTPUTS]


def _crossing_outputs(stacks: StackSet) -> Iterator[tuple[str, str]]:
    """(producing stack, output name) for every output a sibling consumes or the root passes on."""
    consumed = {
        (parameter, producer) for inputs in stacks.wiring.values() for parameter, producer in inputs.items() if producer
    }
    for parameter, producer in consumed:
        yield producer, parameter
    for child in stacks.children:
        for name in child.root_outputs:
            yield child.name, name


def test_every_output_that_crosses_a_boundary_is_a_declared_contract_of_its_stack() -> None:
    matched: set[str] = set()
    for stacks in _variants():
        for stack, name in _crossing_outputs(stacks):
            hits = [output for output, name_re, stack_re in PATTERNS if name_re.match(name) and stack_re.match(stack)]
            assert hits, f"{stack} outputs {name}, which cfngen.builders.contracts does not declare for that stack"
            matched.update(output.name for output in hits)
        for child in stacks.children:
            for name in child.template.outputs:
                hits = [
                    output
                    for output, name_re, stack_re in PATTERNS
                    if name_re.match(name) and stack_re.match(child.name)
                ]
                assert hits, f"{child.name} outputs {name}, which cfngen.builders.contracts does not declare"
                matched.update(output.name for output in hits)
    unused = {output.name for output in OUTPUTS} - matched
    assert not unused, f"declared but given by no stack: {sorted(unused)}"


def test_a_stack_takes_only_contracts_or_root_parameters() -> None:
    for stacks in _variants():
        for child, inputs in stacks.wiring.items():
            for parameter, producer in inputs.items():
                if producer:
                    assert any(name_re.match(parameter) for _, name_re, _ in PATTERNS), (child, parameter)


def wiring_table() -> str:
    """The Markdown table of docs/wiring.md: one row per producing stack, in wiring order."""
    rows: dict[str, list[str]] = {}
    for output in OUTPUTS:
        rows.setdefault(output.stack, []).append(f"`{output.name}` ({output.meaning})")
    lines = ["| stack (file) | outputs |", "|---|---|"]
    lines += [f"| `{stack}` | {'; '.join(outputs)} |" for stack, outputs in rows.items()]
    return TABLE_START + "\n".join(lines) + "\n" + TABLE_END


def with_table(text: str) -> str:
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    return text[:start] + wiring_table() + text[end:]


def test_docs_wiring_table_is_generated_from_the_contracts() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    if TABLE_START not in text:
        pytest.fail(f"{DOCUMENT} lacks the generated table; run python -m tests.test_contracts")
    assert text == with_table(text), f"{DOCUMENT} is stale; run python -m tests.test_contracts"


if __name__ == "__main__":
    DOCUMENT.write_text(with_table(DOCUMENT.read_text(encoding="utf-8")), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT}\n")

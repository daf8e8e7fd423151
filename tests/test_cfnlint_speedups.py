"""The cfn-lint speedups change no finding, and stay off where cfn-lint's code is not the code they were checked against.

Findings are compared over cfngen's example templates and mutants of them: each
resource of a mutant is broken in one of a dozen ways (unknown, missing and mistyped
properties, references to nothing, bad attributes and substitutions, conditions), and
the templates carry the sections cfngen never writes (conditions, mappings, rules), so
the comparison covers findings of many rules, not a clean run.
(benchmarks/cfnlint_speedups.py compares them over cfn-lint's own test templates too.)
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from cfngen import StackSet
from cfngen._version import __version__
from cfngen.cli import main
from cfngen.linting import _speedups as cfnlint_speedups
from tests.conftest import ROOT

Resource = dict[str, Any]


def _rewrite(value: Any, change: Callable[[Any], Any]) -> Any:
    """`value` with `change` applied to every node, innermost first."""
    if isinstance(value, dict):
        value = {key: _rewrite(item, change) for key, item in value.items()}
    elif isinstance(value, list):
        value = [_rewrite(item, change) for item in value]
    return change(value)


def _refs_to_nothing(node: Any) -> Any:
    return {"Ref": f"Missing{node['Ref']}"} if isinstance(node, dict) and list(node) == ["Ref"] else node


def _unknown_attributes(node: Any) -> Any:
    if isinstance(node, dict) and isinstance(node.get("Fn::GetAtt"), list):
        return {"Fn::GetAtt": [node["Fn::GetAtt"][0], "Nope"]}
    return node


def _unknown_variables(node: Any) -> Any:
    if isinstance(node, dict) and isinstance(node.get("Fn::Sub"), str):
        return {"Fn::Sub": node["Fn::Sub"] + "-${Undefined}"}
    return node


def _numbers_as_words(node: Any) -> Any:
    return "many" if isinstance(node, int) and not isinstance(node, bool) else node


def _strings_with_spaces(node: Any) -> Any:
    return f"{node} !" if isinstance(node, str) and node.isalnum() else node


def _properties(resource: Resource, change: Callable[[dict[str, Any]], Any]) -> None:
    resource["Properties"] = change(resource.get("Properties", {}))


MUTATIONS: tuple[Callable[[Resource], None], ...] = (
    lambda resource: _properties(resource, lambda properties: {**properties, "Bogus": 1}),
    lambda resource: _properties(resource, lambda properties: {}),
    lambda resource: _properties(resource, lambda properties: {key: {"Wrong": ["shape"]} for key in properties}),
    lambda resource: _properties(resource, lambda properties: _rewrite(properties, _refs_to_nothing)),
    lambda resource: _properties(resource, lambda properties: _rewrite(properties, _unknown_attributes)),
    lambda resource: _properties(resource, lambda properties: _rewrite(properties, _unknown_variables)),
    lambda resource: _properties(resource, lambda properties: _rewrite(properties, _numbers_as_words)),
    lambda resource: _properties(resource, lambda properties: _rewrite(properties, _strings_with_spaces)),
    lambda resource: _properties(
        resource,
        lambda properties: {
            key: {"Fn::If": ["InPrimaryRegion", value, {"Ref": "AWS::NoValue"}]} for key, value in properties.items()
        },
    ),
    lambda resource: resource.update(DependsOn="Nowhere", Condition="NoSuchCondition"),
    lambda resource: resource.update(Type=resource["Type"] + "s"),
    lambda resource: resource.update(DeletionPolicy="Keep", UpdateReplacePolicy={"Ref": "Missing"}),
)
# Sections cfngen never writes, each with a finding or two of its own, for rules that only look at them.
SECTIONS = {
    "Conditions": {
        "InPrimaryRegion": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        "Broken": {"Fn::Equals": ["only-one"]},
    },
    "Mappings": {"Sizes": {"us-east-1": {"Small": 1}}},
    "Rules": {
        "RegionRule": {
            "Assertions": [{"Assert": {"Fn::Equals": [{"Ref": "AWS::Region"}, 3]}, "AssertDescription": "in a region"}]
        }
    },
}


# For a rule that matches resources of the types it names (E3039, DynamoDB keys without attribute definitions).
MISMATCHED_TABLE = {
    "Type": "AWS::DynamoDB::Table",
    "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "Key", "KeyType": "HASH"}],
    },
}


def mutants(template: dict[str, Any], count: int) -> Iterator[dict[str, Any]]:
    """`count` broken copies of `template`: resource i of copy k gets mutation (i + k) of MUTATIONS."""
    for k in range(count):
        mutant = copy.deepcopy(template)
        for i, resource in enumerate(mutant.get("Resources", {}).values()):
            MUTATIONS[(i + k) % len(MUTATIONS)](resource)
        mutant.update(copy.deepcopy(SECTIONS))
        mutant.setdefault("Outputs", {})["Lookup"] = {
            "Value": {"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Large"]}
        }
        mutant["Resources"]["MismatchedTable"] = copy.deepcopy(MISMATCHED_TABLE)
        yield mutant


@pytest.fixture(scope="module")
def corpus(demo_stacks: StackSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory: each example template, and three mutants of it."""
    directory = tmp_path_factory.mktemp("speedups-corpus")
    for name, template in demo_stacks.templates("json").items():
        original = template.to_dict()
        for number, variant in enumerate([original, *mutants(original, 3)]):
            (directory / f"{Path(name).stem}-{number}.json").write_text(json.dumps(variant, indent=1), encoding="utf-8")
    return directory


def test_the_speedups_change_no_finding(corpus: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "cfnlint_speedups.py"), "--templates", str(corpus)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    # CI installs exactly the verified release (constraints.txt): speedups that are off there are a failure,
    # never a skip, or a new cfn-lint would turn this test green without checking anything.
    assert "the speedups are off" not in result.stdout, cfnlint_speedups.off_reason()
    assert re.search(r"speedups off +[0-9.]+ s CPU", result.stdout)
    identical = re.search(r"findings identical: (\d+) findings in (\d+) templates, (\d+) distinct rules", result.stdout)
    assert identical, result.stdout
    # A corpus that draws findings of many rules from every mutant, so identical cannot mean empty.
    findings, templates, rules = map(int, identical.groups())
    assert findings > 500 and rules >= 20
    assert re.search(r"\bE3039\b", result.stdout), "a rule that matches resources by type found nothing"
    assert templates == len(list(corpus.iterdir())) * 3 // 4


def test_the_speedups_stay_off_for_code_they_were_not_checked_against(tmp_path: Path) -> None:
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Bogus": 1}}}}))
    probe = (
        "import logging; logging.basicConfig(level=logging.DEBUG, format='%(name)s: %(message)s')\n"
        "from cfngen.linting import _speedups as s\n"
        "s.VERIFIED_SOURCES['cfnlint.jsonschema.validators'] = '0' * 64\n"
        "from cfnlint.jsonschema import validators\n"
        "original = validators.create\n"
        "assert not s.apply() and validators.create is original\n"
        "l = __import__('importlib').import_module('cfngen.linting')\n"
        f"print(len(l.lint_paths([__import__('pathlib').Path({str(template)!r})], cache=False)))\n"
        "assert not s.apply()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"
    # Said once (at debug level), however often the linter asks.
    said = [line for line in done.stderr.splitlines() if line.startswith("cfngen.linting._speedups:")]
    assert said == [
        "cfngen.linting._speedups: cfn-lint speedups off: cfn-lint "
        f"{metadata.version('cfn-lint')} is not the verified release "
        f"{cfnlint_speedups.VERIFIED_RELEASE} (cfnlint.jsonschema.validators differ)"
    ]


def test_the_installed_cfn_lint_is_the_verified_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """What CI installs (constraints.txt) is what setup.cfg allows and what the speedups were verified on."""
    monkeypatch.delenv(cfnlint_speedups.SWITCH_VARIABLE, raising=False)
    assert cfnlint_speedups.off_reason() is None
    release = cfnlint_speedups.VERIFIED_RELEASE
    assert metadata.version("cfn-lint") == release
    assert f"cfn-lint=={release}" in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert f"cfn-lint=={release}" in [
        requirement.strip() for requirement in (ROOT / "setup.cfg").read_text(encoding="utf-8").splitlines()
    ]


@pytest.mark.parametrize(
    ("switch", "digest", "expected"),
    [
        ("1", None, "(speedups on)"),
        ("0", None, "(speedups off: CFNGEN_CFNLINT_SPEEDUPS=0)"),
        (
            "1",
            "0" * 64,
            f"(speedups off: cfn-lint {metadata.version('cfn-lint')} is not the verified release "
            f"{cfnlint_speedups.VERIFIED_RELEASE} (cfnlint.rules._rules differ))",
        ),
    ],
)
def test_version_says_whether_the_speedups_are_on_and_why_not(
    switch: str, digest: str | None, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cfnlint_speedups.SWITCH_VARIABLE, switch)
    if digest:
        monkeypatch.setitem(cfnlint_speedups.VERIFIED_SOURCES, "cfnlint.rules._rules", digest)
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"cfngen {__version__}\ncfn-lint {metadata.version('cfn-lint')} {expected}\n"


def test_equal_arguments_give_one_validator_class_and_different_ones_another() -> None:
    assert cfnlint_speedups.apply(), cfnlint_speedups.off_reason()
    from cfnlint.jsonschema import validators
    from cfnlint.jsonschema._filter import FunctionFilter

    def enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[Any]:
        yield from ()

    first = validators.create({"enum": enum}, FunctionFilter(add_cfn_lint_keyword=False))
    assert validators.create({"enum": enum}, FunctionFilter(add_cfn_lint_keyword=False)) is first
    assert validators.create({"enum": enum}, FunctionFilter(add_cfn_lint_keyword=True)) is not first
    assert validators.create({"enum": lambda *args: iter(())}, FunctionFilter(add_cfn_lint_keyword=False)) is not first
    # Unhashable arguments are not cached, and still give a working class.
    unhashable = validators.create({"enum": enum}, None, {"Fn::Sub": [enum]})
    assert validators.create({"enum": enum}, None, {"Fn::Sub": [enum]}) is not unhashable
    validator = first(schema={"enum": ["a"]})
    assert validator.evolve(schema={"enum": ["b"]}).schema == {"enum": ["b"]}
    assert validator.evolve(schema=True).function_filter is validator.function_filter


def test_an_evolved_context_is_the_context_cfn_lint_would_build() -> None:
    assert cfnlint_speedups.apply(), cfnlint_speedups.off_reason()
    from cfnlint.context.context import Context
    from cfnlint.context.context import Path as ContextPath

    context = Context(regions=["us-east-1"], ref_values={"A": 1})
    assert context.module_names == ()  # computed and cached on this context, and not carried over to the copy
    evolved = context.evolve(path=ContextPath(path=deque(["Resources"])), ref_values={"B": 2})
    fields = {field.name: getattr(context, field.name) for field in dataclasses.fields(Context)}
    assert evolved == Context(
        **{**fields, "path": ContextPath(path=deque(["Resources"])), "ref_values": {"A": 1, "B": 2}}
    )
    assert context.ref_values == {"A": 1}
    assert "module_names" not in vars(evolved)
    with pytest.raises(TypeError):
        context.evolve(no_such_field=1)

"""Shared fixtures: the example blueprints, their synthesized stacks, the security scanner and the AWS emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings

from cfngen import StackSet, load_blueprint, synthesize
from cfngen.local import LocalAws
from cfngen.report._checks import checkov_reports

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "blueprints").glob("*.yaml"))

# Property tests: CI runs the same examples every time (derandomize: the seed comes from each test's name), so
# a red run is reproducible and a green one means the same thing on every machine; `CFNGEN_HYPOTHESIS=long`
# explores ten times as many, with fresh random seeds and the example database, before a release or after a
# change to the blueprint schema or the builders. Tests scale their example counts with `scaled()`.
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
settings.load_profile(os.environ.get("CFNGEN_HYPOTHESIS", "ci"))


@pytest.fixture(scope="session", autouse=True)
def private_lint_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lint cache of the test session lives in a temporary directory, never in the user's."""
    directory = tmp_path_factory.mktemp("lint-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CFNGEN_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture(scope="session")
def demo_stacks() -> StackSet:
    """The guide's architecture, synthesized once per test session."""
    return synthesize(load_blueprint(ROOT / "blueprints" / "demo.yaml"))


def example_ids() -> list[str]:
    return [path.stem for path in EXAMPLES]


def checkov_failures(directory: Path) -> list[dict[str, object]]:
    """Run checkov (from its own virtualenv) over a directory of templates; return the failed checks."""
    executable = os.environ.get("CFNGEN_CHECKOV", str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    failed: list[dict[str, object]] = []
    for report in checkov_reports(directory, executable):
        failed += report["results"].get("failed_checks", [])
    return failed


@pytest.fixture(scope="session")
def emulator() -> Iterator[LocalAws]:
    """moto in server mode (ThreadedMotoServer, with cfngen's extensions) on a free loopback port, once per session."""
    with LocalAws() as aws:
        yield aws


@pytest.fixture()
def aws(emulator: LocalAws, monkeypatch: pytest.MonkeyPatch) -> LocalAws:
    """A freshly reset emulator, reached through AWS_ENDPOINT_URL with fake credentials from the environment."""
    emulator.reset()
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "CI"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    return emulator


# tests/blueprints/minimal.yaml, as the lifecycle tests deploy it.
MINIMAL = str(ROOT / "tests" / "blueprints" / "minimal.yaml")
MINIMAL_STACK = "microservices-minimal"
MINIMAL_REGION = "us-east-1"


@pytest.fixture()
def minimal_deployed(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> LocalAws:
    """The minimal blueprint bootstrapped and deployed through the CLI on a fresh emulator, its output swallowed."""
    from cfngen.cli import main

    assert main(["bootstrap", "--region", MINIMAL_REGION]) == 0
    assert main(["deploy", MINIMAL, "--yes"]) == 0
    capsys.readouterr()
    return aws


def cloudformation(region: str = "us-west-2") -> Any:
    """A plain boto3 CloudFormation client on the emulator (for looking at what the deployer did)."""
    return boto3.client("cloudformation", region_name=region)


def moto_stack(name: str, region: str = "us-west-2") -> Any:
    """The emulator's own model of a stack, to put it into states only a real failure produces."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][region]
    return next(stack for stack in backend.stacks.values() if stack.name == name)

"""The CI recipes in docs/: valid files, and every cfngen command they run parses with today's CLI."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from cfngen.cli import parser
from tests.conftest import ROOT

RECIPES = ROOT / "docs" / "ci"
# Commands the recipes use that other issues deliver; their lines are checked as soon as they exist.
ARRIVING = {"plan": "issue 6 (deployer)", "deploy": "issue 6 (deployer)", "review": "issue 8 (review report)"}
SHELL_OPERATORS = {"&&", "||", ";", ";;", "|", ">", ">>", "<", ")", "(", "then", "fi", "do", "done"}


def shell_lines(path: Path) -> Iterator[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "jobs" in document:  # GitHub Actions
        for job in document["jobs"].values():
            yield from (step["run"] for step in job["steps"] if "run" in step)
    else:  # CodeBuild
        for phase in document["phases"].values():
            yield from phase.get("commands", [])


def cfngen_commands(line: str) -> Iterator[list[str]]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    for start, token in enumerate(tokens):
        if token == "cfngen":
            command = []
            for word in tokens[start + 1 :]:
                if word in SHELL_OPERATORS:
                    break
                command.append(word)
            yield command


COMMANDS = [
    (path.name, command)
    for path in sorted(RECIPES.glob("*.yml"))
    for line in shell_lines(path)
    for command in cfngen_commands(line)
]


def test_the_recipes_run_the_whole_flow() -> None:
    used = {(name, command[0]) for name, command in COMMANDS}
    for recipe in ("github-actions.yml", "buildspec.yml"):
        assert {(recipe, step) for step in ("synth", "lint", "review", "plan", "deploy")} <= used
    assert ("github-actions.yml", "diff") in used
    deploys = [command for _, command in COMMANDS if command[0] == "deploy"]
    assert deploys and all("--plan" in command for command in deploys)


@pytest.mark.parametrize(("recipe", "command"), COMMANDS, ids=[f"{n}:{' '.join(c[:2])}" for n, c in COMMANDS])
def test_every_cfngen_command_parses(recipe: str, command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cli = parser()
    known = cli._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    if command[0] not in known and command[0] in ARRIVING:
        pytest.skip(f"`cfngen {command[0]}` arrives with {ARRIVING[command[0]]}")
    try:
        cli.parse_args(command)
    except SystemExit:
        pytest.fail(f"{recipe}: `cfngen {' '.join(command)}` does not parse: {capsys.readouterr().err}")


def test_the_github_workflow_uses_oidc_and_a_reviewed_plan() -> None:
    workflow: dict[str, Any] = yaml.safe_load((RECIPES / "github-actions.yml").read_text(encoding="utf-8"))
    jobs = workflow["jobs"]
    assert jobs["check"]["permissions"]["pull-requests"] == "write"
    for name in ("plan", "deploy"):
        assert jobs[name]["permissions"]["id-token"] == "write"
        credentials = [
            step
            for step in jobs[name]["steps"]
            if step.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        assert credentials and "role-to-assume" in credentials[0]["with"]
    assert jobs["deploy"]["needs"] == "plan" and jobs["deploy"]["environment"] == "production"
    assert not any("aws-access-key-id" in json.dumps(job) for job in jobs.values())


@mock_aws
def test_the_oidc_trust_policy_is_accepted_by_iam() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    trust = (RECIPES / "github-oidc-trust.json").read_text(encoding="utf-8")
    role = iam.create_role(RoleName="cfngen-deploy", AssumeRolePolicyDocument=trust)["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"

"""API budget of a deploy: how many AWS calls `plan` + `apply` make, counted against the emulator, at N services.

    .venv/bin/python benchmarks/deploy_api_calls.py [--sizes 30,200]

For each size it deploys a generated blueprint of N services (benchmarks/run.py's generator) to the
embedded emulator, then changes one service and deploys again, and prints:
- the calls of each phase (plan, apply), retries included, counted by the deployer (Deployer.api_calls);
- the calls of one event poll while every nested stack is settled (the floor of a wait), measured;
- the calls per minute of a wait on AWS, derived: polls back off from 5 s to 20 s (events.BACKOFF,
  MAX_BACKOFF), each poll reads the root's events and resources, DescribeStacks, and two calls per
  nested stack in progress. The emulator settles at once, so its own wall-clock rate is printed too
  but says nothing about AWS. AWS does not publish CloudFormation's API request rates (its quotas page,
  https://docs.aws.amazon.com/general/latest/gr/cfn.html, lists counts, not rates); before the
  back-off, a one-service update on 30 services made about 900 calls in 10 s (issue 19).
Figures and their reading: docs/performance.md ("The deploy's API budget").
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import generate_blueprint  # noqa: E402  (the harness's blueprint generator)

from cfngen import Deployer, load_blueprint, synthesize  # noqa: E402
from cfngen.deploy import _aws as aws_calls  # noqa: E402
from cfngen.deploy._events import BACKOFF, MAX_BACKOFF, EventWatcher  # noqa: E402
from cfngen.local import LocalAws, environment  # noqa: E402

AWS_POLL_S = 5.0


def polls_in_first_minute(interval_s: float = AWS_POLL_S) -> int:
    """How many polls a wait makes in its first minute, backing off from `interval_s`."""
    elapsed, wait, polls = 0.0, interval_s, 1
    while elapsed + wait <= 60:
        elapsed += wait
        polls += 1
        wait = min(wait * BACKOFF, interval_s * MAX_BACKOFF)
    return polls


# A security group takes 60 inbound rules by default (the emulator enforces it, and the review report's quota
# table flags it): the database's group has one per service that uses it, so only this many do here.
DATABASE_USERS = 50


def measure(services: int, directory: Path) -> dict[str, float]:
    path = generate_blueprint(directory, services)
    for service_file in sorted((directory / "services").glob("*/service.yaml"))[DATABASE_USERS:]:
        service = yaml.safe_load(service_file.read_text(encoding="utf-8"))
        service_file.write_text(yaml.safe_dump({**service, "database": False}, sort_keys=False), encoding="utf-8")
    blueprint = load_blueprint(path)
    first = synthesize(blueprint)
    changed = synthesize(
        blueprint.model_copy(
            update={
                "services": (
                    blueprint.services[0].model_copy(update={"desired_count": blueprint.services[0].desired_count + 1}),
                    *blueprint.services[1:],
                )
            }
        )
    )
    figures: dict[str, float] = {}
    # The emulator executes a change set inside its ExecuteChangeSet request (AWS answers at once and works on
    # afterwards): at 200 services that request takes minutes, and a read timeout would retry it into "is in
    # CREATE_IN_PROGRESS state". Calls here may wait as long as the deploy; the count is what is measured.
    client_timeout, aws_calls.MAX_CALL_TIMEOUT_S = aws_calls.MAX_CALL_TIMEOUT_S, 3600.0
    with LocalAws() as aws, environment(aws.endpoint_url, blueprint.region):
        deployer = Deployer(region=blueprint.region, poll_s=0.05, timeout_s=3600)
        aws_calls.MAX_CALL_TIMEOUT_S = client_timeout
        deployer.bootstrap()
        for label, stacks in (("create", first), ("one-service update", changed)):
            started, calls = time.monotonic(), deployer.api_calls
            pkg = deployer.package(stacks)
            plan = deployer.plan(pkg)
            figures[f"{label}: plan calls"] = deployer.api_calls - calls
            calls = deployer.api_calls
            deployer.apply(plan, pkg=pkg)
            figures[f"{label}: apply calls"] = deployer.api_calls - calls
            figures[f"{label}: emulator wall time (s)"] = time.monotonic() - started
        client = deployer._cloudformation  # the deployer's own client, so its counter sees the calls
        watcher = EventWatcher(client, plan.stack_id)
        watcher.mark_seen()
        figures["nested stacks"] = len(list(watcher.stacks())) - 1
        calls = deployer.api_calls
        watcher.poll()
        client.describe_stacks(StackName=plan.stack_id)
        figures["calls per poll, nothing in progress"] = deployer.api_calls - calls
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,200")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    polls = polls_in_first_minute()
    for services in sizes:
        with tempfile.TemporaryDirectory() as directory:
            figures = measure(services, Path(directory))
        print(f"N={services} services")
        for label, value in figures.items():
            print(f"  {label:45} {value:10.1f}")
        floor = figures["calls per poll, nothing in progress"]
        print(f"  {'AWS wait, calls/min (first minute, 1 busy)':45} {polls * (floor + 2):10.1f}")
        print(f"  {'AWS wait, calls/min (steady, 1 busy)':45} {60 / (AWS_POLL_S * MAX_BACKOFF) * (floor + 2):10.1f}")
        print(
            f"  {'AWS wait, calls/min (steady, all busy)':45} "
            f"{60 / (AWS_POLL_S * MAX_BACKOFF) * (floor + 2 * figures['nested stacks']):10.1f}"
        )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-west-2")
    sys.exit(main())

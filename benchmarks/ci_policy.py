"""How the CI role's policy grows with the blueprint: characters, managed policies, time.

    .venv/bin/python benchmarks/ci_policy.py [--sizes 1,12,50,100,143,200]

For generated blueprints of N services (benchmarks/run.py's: services/service-a
copied under N names on the demo platform) it prints the whole policy's size
(whitespace removed), the size of each managed-policy part, how many parts the
role needs against IAM's 10, and the seconds `ci_policy` took. Below the size
where service stacks move into group stacks the stack ARNs grow with every
service; above it, one ARN per group covers the stacks nested in it.
It prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import generate_blueprint  # noqa: E402 -- the harness's generated blueprints

from cfngen import ci_policy, load_blueprint, synthesize  # noqa: E402
from cfngen.extras._ci_policy import MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_LIMIT, size  # noqa: E402


def main(argv: Sequence[str] | None = None) -> int:
    """Print one row per size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,12,50,100,143,200", help="comma-separated service counts")
    sizes = [int(text) for text in parser.parse_args(argv).sizes.split(",")]
    print(
        f"{'services':>8} {'groups':>6} {'whole':>7} {'parts':>5}  part sizes (limit {MANAGED_POLICY_LIMIT:,}; "
        f"at most {MANAGED_POLICIES_PER_ROLE} per role)  seconds"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for count in sizes:
            directory = Path(scratch) / str(count)
            directory.mkdir()
            stacks = synthesize(load_blueprint(generate_blueprint(directory, count)))
            start = time.perf_counter()
            policy = ci_policy(stacks, account_id="123456789012")
            elapsed = time.perf_counter() - start
            parts = ", ".join(f"{size(part):,}" for part in policy.parts)
            print(
                f"{count:>8} {len(stacks.groups):>6} {policy.size:>7,} {len(policy.parts):>5}  {parts}  {elapsed:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

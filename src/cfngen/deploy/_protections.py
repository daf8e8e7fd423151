"""Protections as state to converge: termination protection on the root, cfngen's stack policy on every stack.

They are checked on every plan and every deploy, changes or not, so that a first create that was
interrupted after execution started (Ctrl-C, a cancelled CI job, a timeout) ends protected on the next run.
Termination protection is read and set on the root only: nested stacks inherit the root's
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html).
Turning protection off is never done here: only `cfngen destroy` does that.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Gap:
    """One protection that differs from what the package asks for."""

    stack: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"stack {stack_name(self.stack)}: {self.what} {self.detail}"


def stack_name(stack: str) -> str:
    """The name in a stack ARN (arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>); a name stays."""
    return stack.split("/")[1] if stack.startswith("arn:") and stack.count("/") >= 2 else stack


def gaps(
    cloudformation: Any, root: dict[str, Any], stacks: Iterable[str], *, policy: str, termination_protection: bool
) -> list[Gap]:
    """What differs: termination protection of `root` (when wanted), the stack policy of every stack in `stacks`."""
    found = []
    if termination_protection and not root.get("EnableTerminationProtection"):
        found.append(Gap(root["StackId"], "termination protection", "is off (wanted on)"))
    wanted = json.loads(policy) if policy else None
    for stack in stacks:
        body = cloudformation.get_stack_policy(StackName=stack).get("StackPolicyBody")
        if wanted is not None and (not body or json.loads(body) != wanted):
            found.append(Gap(stack, "stack policy", "is missing" if not body else "differs from cfngen's"))
    return found


def converge(cloudformation: Any, found: Iterable[Gap], *, policy: str) -> list[Gap]:
    """Restore every gap in `found`; returns them."""
    restored = []
    for gap in found:
        if gap.what == "termination protection":
            cloudformation.update_termination_protection(StackName=gap.stack, EnableTerminationProtection=True)
        else:
            cloudformation.set_stack_policy(StackName=gap.stack, StackPolicyBody=policy)
        restored.append(gap)
    return restored

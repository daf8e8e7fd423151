"""CreateChangeSet options beyond the template: adopting retained resources, and drift-aware change sets.

Adopting (ImportExistingResources). Fixed-name resources whose DeletionPolicy is Retain (ECR and
source repositories, build log groups, the database's log groups) outlive a deleted stack, a failed
create's rollback and a removed service. A later create of the same names fails with "already exists".
With ``ImportExistingResources`` CloudFormation imports such a resource instead of creating it: the
change set shows it with the action ``Import``, and the plan lists it as adopted. It imports only
resources with a static custom name and a Retain or RetainExceptOnCreate policy that belong to no
other stack; for nested stacks the option goes on the root change set
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/import-resources-automatically.html).
A resource created by a failed operation itself needs no adopting when the change set is executed with
``RetainExceptOnCreate`` (ExecuteChangeSet), which deletes what the rolled-back operation created.

Drift-aware change sets (``DeploymentMode: REVERT_DRIFT``) compare the new template with the live
state of the resources, not only with the previous template, and bring drifted properties back to the
template (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/drift-aware-change-sets.html).
Only a stack that exists has drift; the mode is asked for on the root change set with
``IncludeNestedStacks``. AWS's documentation does not say whether the mode reaches the nested change
sets, so :func:`not_drift_aware` reads it back from each change set of the tree (DescribeChangeSet
returns ``DeploymentMode`` for a drift-aware one) and the plan names every stack whose change set is
not drift-aware: its drift stays, visibly, rather than silently. There is no fallback of a change set on
the nested stack itself: AWS asks that nested stacks be updated only through the root
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html), and an
update made on a child leaves the root's record of it stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cfngen.errors import UsageError

REVERT_DRIFT = "REVERT_DRIFT"


def change_set_options(change_set_type: str, *, revert_drift: bool = False) -> dict[str, Any]:
    """Extra CreateChangeSet arguments for a change set of `change_set_type` ("CREATE" or "UPDATE").

    Every change set adopts retained resources of the same names; `revert_drift` makes it drift-aware
    (UsageError for a stack that does not exist yet: it has no drift to revert).
    """
    if not revert_drift:
        return {"ImportExistingResources": True}
    if change_set_type != "UPDATE":
        raise UsageError("--revert-drift needs a deployed stack; this one does not exist yet (deploy it first)")
    # Adoption creates resources; a drift-aware change set brings existing ones back to the template.
    # They are kept apart so that each plan does one of the two things.
    return {"DeploymentMode": REVERT_DRIFT}


def not_drift_aware(cloudformation: Any, change_set_ids: Iterable[str]) -> tuple[str, ...]:
    """The stack names of those change sets that CloudFormation did not make drift-aware."""
    described = (cloudformation.describe_change_set(ChangeSetName=change_set_id) for change_set_id in change_set_ids)
    return tuple(
        str(change_set["StackName"]) for change_set in described if change_set.get("DeploymentMode") != REVERT_DRIFT
    )

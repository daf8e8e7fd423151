"""The deployer: package templates to S3, plan one change set over the nested tree, apply it safely.

    d = Deployer(region="us-west-2", bucket="my-templates")   # or session=boto3.Session(...)
    pkg = d.package(stacks)            # content-hash uploads; pkg.url is the root template URL
    plan = d.plan(pkg, stack_name="microservices-demo", parameters={...})
    print(plan.render())               # every change, nested stacks included
    d.apply(plan)                      # execute, stream events, wait; raises on failure
    print(d.drift("microservices-demo").render())   # drift of every stack of the tree
    d.destroy(d.teardown("microservices-demo"))     # what goes and what stays (render() it first), then delete

Every AWS call goes through clients with botocore's adaptive retry mode (throttling and
transient errors are retried with back-off); every wait is our own loop with a timeout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from cfngen.deploy import aws
from cfngen.deploy import bootstrap as bootstrap_stack
from cfngen.deploy import _destroy, _drift, safety
from cfngen.deploy._change_set_options import REVERT_DRIFT, change_set_options, not_drift_aware
from cfngen.deploy._destroy import Teardown
from cfngen.deploy._drift import DriftReport
from cfngen.deploy.events import ConsoleProgress, EventWatcher, Progress, SilentProgress, StackEvent, poll, root_cause
from cfngen.deploy.package import Package, inline, package
from cfngen.deploy.plan import ROOT_PATH, Plan, ResourceChange, describe_tree
from cfngen.deploy.states import Next, next_step
from cfngen.errors import DeployError, SafetyError, UsageError
from cfngen.facts.resource_types import NESTED_STACK
from cfngen.synth import StackSet

SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")


@dataclass(frozen=True)
class Outcome:
    """What apply() did: "applied" or "no changes", the final stack status and the root stack's outputs."""

    stack_name: str
    result: str
    stack_status: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    events: tuple[StackEvent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (events as text lines)."""
        return {"stack_name": self.stack_name, "result": self.result, "stack_status": self.stack_status,
                "outputs": dict(self.outputs), "events": [str(event) for event in self.events]}


class Deployer:
    """Package, plan and apply nested stacks in one account and region."""

    def __init__(self, *, region: str | None = None, bucket: str | None = None, session: Any = None,
                 timeout_s: float = 3600.0, poll_s: float = 5.0, progress: Progress | None = None) -> None:
        import boto3
        from botocore.config import Config

        self._calls = aws.Calls()
        with self._calls.translated():  # a profile that does not exist, an endpoint URL that is no URL ...
            self._session = session or boto3.Session(region_name=region)
            self.region: str = region or self._session.region_name or ""
            if not self.region:
                raise UsageError("no AWS region: pass --region (or region=...), or set AWS_REGION")
            config = Config(region_name=self.region, retries=aws.retries())
            self._cloudformation = self._calls.client(self._session, "cloudformation", config)
            self._s3 = self._calls.client(self._session, "s3", config)
        self._bucket = bucket
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.progress: Progress = progress or SilentProgress()

    @property
    def bucket(self) -> str:
        """The templates bucket: the one given, or the one `cfngen bootstrap` made for this account and region."""
        if self._bucket is None:
            with self._calls.translated():
                stack = self._describe(bootstrap_stack.STACK_NAME)
            outputs = _outputs(stack) if stack else {}
            if bootstrap_stack.BUCKET_OUTPUT not in outputs:
                raise UsageError(f"no templates bucket for this account in {self.region}: run "
                                 f"`cfngen bootstrap --region {self.region}` once, or pass --bucket NAME")
            self._bucket = outputs[bootstrap_stack.BUCKET_OUTPUT]
        return self._bucket

    def bootstrap(self) -> Outcome:
        """Create or update the templates bucket stack; returns its outcome (the bucket name among its outputs)."""
        pkg = inline(bootstrap_stack.STACK_NAME, bootstrap_stack.build().to_dict(), region=self.region)
        outcome = self.apply(self.plan(pkg, stack_name=bootstrap_stack.STACK_NAME))
        with self._calls.translated():
            stack = self._describe(bootstrap_stack.STACK_NAME)
        outputs = _outputs(stack) if stack else {}
        self._bucket = outputs.get(bootstrap_stack.BUCKET_OUTPUT, self._bucket)
        return Outcome(outcome.stack_name, outcome.result, outcome.stack_status, outputs, outcome.events)

    def package(self, stacks: StackSet) -> Package:
        """Upload the children and the root under content-hash keys (existing objects are skipped).

        Returns the Package (its `url` is the root template's URL); raises SynthError when a
        template breaks a CloudFormation quota, before anything is uploaded.
        """
        if stacks.blueprint.region != self.region:
            raise UsageError(f"blueprint {stacks.blueprint.name!r} is for {stacks.blueprint.region}, "
                             f"this deployer for {self.region}")
        bucket = self.bucket
        with self._calls.translated():
            return package(stacks, s3=self._s3, bucket=bucket, region=self.region)

    def plan(self, pkg: Package, *, stack_name: str | None = None, parameters: Mapping[str, str] | None = None,
             replace_failed: bool = False, termination_protection: bool = True, revert_drift: bool = False) -> Plan:
        """Create one change set on the root (nested stacks included), wait for it and describe the whole tree.

        A change set with nothing to do is deleted and the plan says "no changes". A stack in
        ROLLBACK_COMPLETE is deleted first only with `replace_failed`. Retained resources of the same names are
        adopted (rows with the action "import"); `revert_drift` makes a drift-aware change set instead, whose
        rows show each drifted property's template and live value. Raises DeployError when the
        stack's state needs a person, UsageError for unknown parameters.
        """
        name = stack_name or pkg.name
        given = dict(parameters or {})
        with self._calls.translated():
            stack = self._settled(name)
            step = next_step(name, _status(stack), region=self.region, replace_failed=replace_failed)
            if step is Next.RECREATE:
                self._delete_failed(name, stack)
                stack, step = None, Next.CREATE
            change_set_type = "CREATE" if step is Next.CREATE else "UPDATE"
            arguments, previous = _parameters(pkg, stack if step is Next.UPDATE else None, given)
            created = self._cloudformation.create_change_set(
                StackName=name, ChangeSetName=_change_set_name(pkg), ChangeSetType=change_set_type,
                IncludeNestedStacks=True, Capabilities=list(pkg.capabilities), Parameters=arguments,
                Tags=[{"Key": key, "Value": value} for key, value in sorted(pkg.tags.items())],
                Description=f"cfngen plan of {pkg.name}", **pkg.template_source(),
                **change_set_options(change_set_type, revert_drift=revert_drift))
            change_set = self._created(created["Id"])
            after = self._describe(created["StackId"])
            plan = Plan(
                stack_name=name, region=self.region, change_set_type=change_set_type, stack_id=created["StackId"],
                template_url=pkg.url, template_hashes=dict(pkg.template_hashes), parameters=given,
                previous_parameters=previous, capabilities=pkg.capabilities, tags=dict(pkg.tags),
                stack_status=_status(after) or "", stack_updated=_updated(after),
                termination_protection=termination_protection, stack_policy=safety.stack_policy(pkg))
            if change_set["Status"] == "FAILED":
                reason = change_set.get("StatusReason", "")
                self._cloudformation.delete_change_set(ChangeSetName=created["Id"])
                if any(marker in reason for marker in NO_CHANGES):
                    ignored = (name,) if revert_drift and change_set.get("DeploymentMode") != REVERT_DRIFT else ()
                    return replace(plan, status_reason=reason, not_drift_aware=ignored)
                raise DeployError(f"CloudFormation could not create the change set for {name}: {reason}")
            tree = describe_tree(self._cloudformation, created["Id"],
                                 lambda path, raw: safety.pipeline_owned(_template_at(pkg, path), raw))
            unreverted = not_drift_aware(self._cloudformation, (created["Id"], *tree.nested_change_sets)) \
                if revert_drift else ()
        return replace(plan, change_set_id=created["Id"], changes=tree.changes,
                       nested_change_sets=tree.nested_change_sets, not_drift_aware=unreverted)

    def apply(self, plan: Plan, *, allow_replace: Collection[str] = (), pkg: Package | None = None) -> Outcome:
        """Execute exactly the plan's change set, stream events until the stack settles, protect a new stack.

        Raises SafetyError (nothing executed) when a safety rule refuses a change or when the stack,
        the change set or (given `pkg`) the templates changed since the plan; DeployError when the
        stack rolls back, naming the first resource that failed and why.
        """
        if not plan.has_changes:
            return Outcome(plan.stack_name, "no changes", plan.stack_status)
        safety.check(plan, allow_replace)
        with self._calls.translated():
            self._check_current(plan, pkg)
            watcher = EventWatcher(self._cloudformation, plan.stack_id)
            watcher.mark_seen()
            self._cloudformation.execute_change_set(ChangeSetName=plan.change_set_id)
            status = self._wait_settled(plan.stack_id, plan.stack_name, watcher)
            events = tuple(watcher.events)
            if status not in SUCCEEDED:
                raise DeployError(_failure(plan.stack_name, status, events))
            if plan.change_set_type == "CREATE" and plan.termination_protection:
                self._cloudformation.update_termination_protection(StackName=plan.stack_id,
                                                                   EnableTerminationProtection=True)
            self._protect(plan)
            stack = self._describe(plan.stack_id)
        return Outcome(plan.stack_name, "applied", status, _outputs(stack) if stack else {}, events)

    def teardown(self, stack_name: str) -> Teardown | None:
        """What destroy() would delete and keep of the stack tree `stack_name`; None when there is no such stack."""
        with self._calls.translated():
            stack = self._settled(stack_name)
            return None if stack is None else _destroy.inventory(self._cloudformation, stack, self.region)

    def destroy(self, teardown: Teardown) -> Outcome:
        """Delete the tree `teardown` lists: termination protection off, Auto Scaling groups' scale-in protection
        off, DeleteStack on the root, events streamed until it is gone.

        Raises SafetyError (nothing deleted) when the stack is another one than the one listed (re-created
        meanwhile), DeployError when the deletion fails (naming the first resource that failed and why).
        """
        from botocore.config import Config

        with self._calls.translated():
            stack = self._settled(teardown.stack_name)
            if stack is None:
                return Outcome(teardown.stack_name, "already gone", "DELETE_COMPLETE")
            if stack["StackId"] != teardown.stack_id:
                raise SafetyError(f"stack {teardown.stack_name} is not the one listed ({teardown.stack_id}); "
                                  "it was re-created meanwhile: run destroy again to see what it holds now")
            autoscaling = self._calls.client(self._session, "autoscaling",
                                             Config(region_name=self.region, retries=aws.retries()))
            _destroy.release_scale_in_protection(autoscaling, teardown.protected_groups)
            if stack.get("EnableTerminationProtection"):
                self._cloudformation.update_termination_protection(StackName=stack["StackId"],
                                                                   EnableTerminationProtection=False)
            watcher = EventWatcher(self._cloudformation, stack["StackId"])
            watcher.mark_seen()
            self._cloudformation.delete_stack(StackName=stack["StackId"])
            status = self._wait_settled(stack["StackId"], teardown.stack_name, watcher)
        events = tuple(watcher.events)
        if status != "DELETE_COMPLETE":
            raise DeployError(_failure(teardown.stack_name, status, events))
        return Outcome(teardown.stack_name, "destroyed", status, {}, events)

    def drift(self, stack_name: str) -> DriftReport:
        """Detect drift on every stack of the tree `stack_name` and wait for each; UsageError when there is
        no such stack, DeployError when a detection does not finish within the timeout."""
        with self._calls.translated():
            stack = self._settled(stack_name)
            if stack is None:
                raise UsageError(f"stack {stack_name} does not exist in {self.region}: nothing to compare")

            def wait(check: Any, what: str) -> dict[str, Any]:
                return poll(check, what=what, timeout_s=self.timeout_s, interval_s=self.poll_s,
                            progress=self.progress, on_timeout=lambda: DeployError(
                                f"{what}: not finished after {self.timeout_s:.0f} s"))

            return _drift.detect(self._cloudformation, stack, self.region, wait)

    def _describe(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            stacks = self._cloudformation.describe_stacks(StackName=name)["Stacks"]
        except ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise
        return stacks[0] if stacks else None

    def _settled(self, name: str) -> dict[str, Any] | None:
        """The stack, once no operation is in progress on it (waiting up to the timeout)."""
        stack = self._describe(name)
        if not (_status(stack) or "").endswith("_IN_PROGRESS") or _status(stack) == "REVIEW_IN_PROGRESS":
            return stack

        def check(elapsed: float) -> dict[str, Any] | None:
            current = self._describe(name)
            return None if (_status(current) or "").endswith("_IN_PROGRESS") else current or {}

        return poll(check, what=f"{name} is {_status(stack)}; waiting for it to finish", timeout_s=self.timeout_s,
                    interval_s=self.poll_s, progress=self.progress, on_timeout=lambda: DeployError(
                        f"stack {name} is still busy ({_status(self._describe(name))}) after {self.timeout_s:.0f} s; "
                        "wait for the operation to finish (or cancel it), then run again")) or None

    def _delete_failed(self, name: str, stack: dict[str, Any] | None) -> None:
        assert stack is not None
        self.progress.event(StackEvent("cfngen", name, name, NESTED_STACK, "DELETE_REQUESTED",
                                       "replacing a stack whose first create failed (--replace-failed)",
                                       datetime.now(timezone.utc)))
        self._cloudformation.delete_stack(StackName=stack["StackId"])
        status = self._wait_settled(stack["StackId"], name, EventWatcher(self._cloudformation, stack["StackId"]))
        if status != "DELETE_COMPLETE":
            raise DeployError(f"could not delete the failed stack {name}: it is {status}")

    def _created(self, change_set_id: str) -> dict[str, Any]:
        def check(elapsed: float) -> dict[str, Any] | None:
            described: dict[str, Any] = self._cloudformation.describe_change_set(ChangeSetName=change_set_id)
            return described if described["Status"] in ("CREATE_COMPLETE", "FAILED") else None

        return poll(check, what="creating the change set", timeout_s=self.timeout_s, interval_s=self.poll_s,
                    progress=self.progress, on_timeout=lambda: DeployError(
                        f"change set {change_set_id} was not ready after {self.timeout_s:.0f} s"))

    def _wait_settled(self, stack_id: str, name: str, watcher: EventWatcher) -> str:
        def check(elapsed: float) -> str | None:
            for event in watcher.poll():
                self.progress.event(event)
            status = _status(self._describe(stack_id)) or "DELETE_COMPLETE"
            if status.endswith("_IN_PROGRESS"):
                return None
            for event in watcher.poll():
                self.progress.event(event)
            return status

        return poll(check, what=f"{name}: waiting for CloudFormation", timeout_s=self.timeout_s,
                    interval_s=self.poll_s, progress=self.progress, on_timeout=lambda: DeployError(
                        f"{name} did not settle within {self.timeout_s:.0f} s; the operation goes on in AWS "
                        f"(aws cloudformation describe-stack-events --stack-name {name} --region {self.region})"))

    def _check_current(self, plan: Plan, pkg: Package | None) -> None:
        from botocore.exceptions import ClientError

        try:
            change_set = self._cloudformation.describe_change_set(ChangeSetName=plan.change_set_id)
        except ClientError as exc:
            raise SafetyError(f"the planned change set is gone ({exc}); make a new plan") from None
        if change_set.get("ExecutionStatus") != "AVAILABLE":
            raise SafetyError(f"the planned change set is {change_set.get('ExecutionStatus')} "
                              f"({change_set.get('StatusReason', 'no reason given')}); make a new plan")
        stack = self._describe(plan.stack_id)
        now = (_status(stack) or "", _updated(stack))
        if now != (plan.stack_status, plan.stack_updated):
            raise SafetyError(f"stack {plan.stack_name} changed since the plan was made "
                              f"({plan.stack_status} {plan.stack_updated} -> {now[0]} {now[1]}); make a new plan")
        if pkg is not None and dict(pkg.template_hashes) != dict(plan.template_hashes):
            changed = sorted(name for name in {*pkg.template_hashes, *plan.template_hashes}
                             if pkg.template_hashes.get(name) != plan.template_hashes.get(name))
            raise SafetyError(f"templates changed since the plan was made ({', '.join(changed)}); make a new plan")

    def _protect(self, plan: Plan) -> None:
        """Set the plan's stack policy on every stack of the tree that has none (a person's policy stays)."""
        for stack in EventWatcher(self._cloudformation, plan.stack_id).stacks():
            if not self._cloudformation.get_stack_policy(StackName=stack).get("StackPolicyBody"):
                self._cloudformation.set_stack_policy(StackName=stack, StackPolicyBody=plan.stack_policy)


def _parameters(pkg: Package, stack: Mapping[str, Any] | None,
                given: Mapping[str, str]) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Change set parameters: the given values, and for an update the previous value of every other one."""
    declared = pkg.root.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UsageError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                         f"the root template takes: {', '.join(sorted(declared)) or 'none'}")
    existing = {parameter["ParameterKey"] for parameter in (stack or {}).get("Parameters", [])}
    previous = tuple(sorted(key for key in declared if key not in given and key in existing))
    arguments: list[dict[str, Any]] = [{"ParameterKey": key, "ParameterValue": value}
                                       for key, value in sorted(given.items())]
    arguments += [{"ParameterKey": key, "UsePreviousValue": True} for key in previous]
    return arguments, previous


def _template_at(pkg: Package, path: str) -> Mapping[str, Any] | None:
    """The template of the stack at `path` ("root/Network/..."), found through the TemplateURLs."""
    template: Mapping[str, Any] | None = pkg.root
    for logical_id in path.split("/")[1:] if path.startswith(ROOT_PATH) else []:
        resource = (template or {}).get("Resources", {}).get(logical_id, {})
        template = pkg.template_of(resource.get("Properties", {}).get("TemplateURL", ""))
    return template


def _change_set_name(pkg: Package) -> str:
    digest = hashlib.sha256(json.dumps(dict(pkg.template_hashes), sort_keys=True).encode()).hexdigest()[:8]
    return f"cfngen-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{digest}"


def _status(stack: Mapping[str, Any] | None) -> str | None:
    return None if stack is None else str(stack["StackStatus"])


def _updated(stack: Mapping[str, Any] | None) -> str:
    if stack is None:
        return ""
    moment = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    return moment.isoformat() if isinstance(moment, datetime) else str(moment or "")


def _outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def _failure(name: str, status: str, events: tuple[StackEvent, ...]) -> str:
    cause = root_cause(list(events))
    if cause is None:
        return f"{name} ended {status} without a failed resource event; see its events in the console"
    return (f"{name} ended {status}: the first failure was {cause.logical_id} ({cause.resource_type}) "
            f"in stack {cause.stack_name}: {cause.reason or cause.status}")


__all__ = ["ConsoleProgress", "Deployer", "DriftReport", "Outcome", "Package", "Plan", "ResourceChange", "Teardown"]

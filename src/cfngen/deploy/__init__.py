"""The deployer: bundle and upload templates to S3, plan one change set over the nested tree, apply it safely.

    d = Deployer(region="us-west-2", bucket="my-templates")   # or session=boto3.Session(...)
    pkg = d.upload(d.bundle(stacks))   # bundle: bodies, hashes, URLs (no I/O); upload: content-hash keys
    plan = d.plan(pkg, stack_name="microservices-demo", parameters={...})
    print(plan.render())               # every change, nested stacks included, protections that differ
    d.apply(plan, pkg=pkg)             # re-check with AWS, execute, stream events, wait, converge protections
    print(d.drift("microservices-demo").render())   # drift of every stack of the tree
    d.destroy(d.teardown("microservices-demo"))     # what goes and what stays (render() it first), then delete

Every AWS call goes through clients with botocore's adaptive retry mode (throttling and
transient errors are retried with back-off) and connect/read timeouts derived from the
deployer's timeout, so that a frozen endpoint fails within it; every wait is our own loop
that backs off and gives up after the timeout. Given a Deadline (the command line makes one
per command from --timeout), every wait, poll and call takes what remains of it instead, and
running out raises TimedOut (exit 124).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, TypeVar

from cfngen.deploy import _aws as aws
from cfngen.deploy import _bootstrap as bootstrap_stack
from cfngen.deploy import _destroy, _drift, _protections, _replacements, _tree, _validation
from cfngen.deploy import _safety as safety
from cfngen.deploy._aws import Deadline
from cfngen.deploy._change_set_options import REVERT_DRIFT, change_set_options, not_drift_aware
from cfngen.deploy._destroy import Teardown
from cfngen.deploy._drift import DriftReport
from cfngen.deploy._events import ConsoleProgress, EventWatcher, Progress, SilentProgress, StackEvent, poll, root_cause
from cfngen.deploy._package import Package, bundle, inline, upload
from cfngen.deploy._plan import ROOT_PATH, ChangeTree, Plan, ResourceChange, describe_tree
from cfngen.deploy._states import UPDATABLE, Next, next_step
from cfngen.errors import DeployError, SafetyError, TimedOut, UsageError
from cfngen.facts.resource_types import NESTED_STACK
from cfngen.synth import StackSet

SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# A change set's ExecutionStatus once its execution started (DescribeChangeSet).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html
EXECUTION_STARTED = frozenset({"EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED"})
# What a first create does when it fails (CreateChangeSet OnStackFailure), by --on-failure.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
ON_FAILURE = {"rollback": "ROLLBACK", "delete": "DELETE", "keep": "DO_NOTHING"}
T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What apply() did: "applied" or "no changes", the final stack status and the root stack's outputs."""

    stack_name: str
    result: str
    stack_status: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    events: tuple[StackEvent, ...] = ()
    restored: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (events as text lines)."""
        return {
            "stack_name": self.stack_name,
            "result": self.result,
            "stack_status": self.stack_status,
            "outputs": dict(self.outputs),
            "events": [str(event) for event in self.events],
            "restored": list(self.restored),
        }


class Interrupted(DeployError):
    """SIGINT or SIGTERM after execution started: CloudFormation carries on; exit 128 + the signal number."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_code = 128 + signal_number


class Deployer:
    """Bundle, upload, plan and apply nested stacks in one account and region."""

    def __init__(
        self,
        *,
        region: str | None = None,
        bucket: str | None = None,
        session: Any = None,
        timeout_s: float = 3600.0,
        poll_s: float = 5.0,
        progress: Progress | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        """`timeout_s` bounds each wait and each call; a `deadline` bounds everything this deployer does together
        (every wait, poll and call takes what remains of it; TimedOut once it is used up)."""
        import boto3

        self._deadline = deadline
        self.timeout_s = timeout_s
        self._calls = aws.Calls(deadline)
        with self._calls.translated():  # a profile that does not exist, an endpoint URL that is no URL ...
            self._session = session or boto3.Session(region_name=region)
            self.region: str = region or self._session.region_name or ""
            if not self.region:
                raise UsageError("no AWS region: pass --region (or region=...), or set AWS_REGION")
            self._cloudformation = self._client("cloudformation")
            self._s3 = self._client("s3")
        self._bucket = bucket
        self.poll_s = poll_s
        self.progress: Progress = progress or SilentProgress()

    def _client(self, service: str) -> Any:
        """A watched client whose attempts together span the whole budget: sized on what is left when the client is
        made, a call would give up (exit 1) with time left; the deadline itself stops the last attempt (Calls)."""
        from botocore.config import Config

        return self._calls.client(
            self._session, service, Config(region_name=self.region, **aws.client_limits(self._budget_s()))
        )

    def _budget_s(self) -> float:
        """The whole time this deployer may take: timeout_s, or the deadline's budget when that is shorter."""
        return self.timeout_s if self._deadline is None else min(self.timeout_s, self._deadline.budget_s)

    def _wait_s(self) -> float:
        """How long the next wait may last: timeout_s, or less when the deadline leaves less."""
        return self.timeout_s if self._deadline is None else min(self.timeout_s, self._deadline.remaining_s())

    def _poll(self, check: Callable[[float], T | None], *, what: str, timed_out: Callable[[], str]) -> T:
        """poll() `check` within _wait_s(); TimedOut with the message `timed_out()` gives after that."""
        budget = self._budget_s()
        return poll(
            check,
            what=what,
            timeout_s=self._wait_s(),
            interval_s=self.poll_s,
            progress=self.progress,
            on_timeout=lambda: TimedOut(f"{timed_out()} (--timeout {budget:g} s)"),
        )

    @property
    def api_calls(self) -> int:
        """How many AWS requests this deployer has made (retries included), for the API budget benchmark."""
        return self._calls.count

    @property
    def bucket(self) -> str:
        """The templates bucket: the one given, or the one `cfngen bootstrap` made for this account and region."""
        if self._bucket is None:
            with self._calls.translated():
                stack = self._describe(bootstrap_stack.STACK_NAME)
            outputs = _outputs(stack) if stack else {}
            if bootstrap_stack.BUCKET_OUTPUT not in outputs:
                raise UsageError(
                    f"no templates bucket for this account in {self.region}: run "
                    f"`cfngen bootstrap --region {self.region}` once, or pass --bucket NAME"
                )
            self._bucket = outputs[bootstrap_stack.BUCKET_OUTPUT]
        return self._bucket

    def bootstrap(self) -> Outcome:
        """Create or update the templates bucket stack; returns its outcome (the bucket name among its outputs)."""
        pkg = inline(bootstrap_stack.STACK_NAME, bootstrap_stack.build().to_dict(), region=self.region)
        outcome = self.apply(self.plan(pkg, stack_name=bootstrap_stack.STACK_NAME), pkg=pkg)
        with self._calls.translated():
            stack = self._describe(bootstrap_stack.STACK_NAME)
        outputs = _outputs(stack) if stack else {}
        self._bucket = outputs.get(bootstrap_stack.BUCKET_OUTPUT, self._bucket)
        return Outcome(
            outcome.stack_name, outcome.result, outcome.stack_status, outputs, outcome.events, outcome.restored
        )

    def bundle(self, stacks: StackSet) -> Package:
        """The Package of `stacks`: final bodies, content hashes and TemplateURLs in the templates bucket. No upload.

        Raises SynthError when a template breaks a CloudFormation quota; UsageError for another region.
        """
        if stacks.blueprint.region != self.region:
            raise UsageError(
                f"blueprint {stacks.blueprint.name!r} is for {stacks.blueprint.region}, this deployer for {self.region}"
            )
        return bundle(stacks, s3=self._s3, bucket=self.bucket, region=self.region)

    def upload(self, pkg: Package) -> Package:
        """Put the bodies of `pkg` in the templates bucket under content-hash keys (existing objects are skipped)."""
        with self._calls.translated():
            return upload(pkg, s3=self._s3, bucket=self.bucket)

    def package(self, stacks: StackSet) -> Package:
        """bundle() then upload(): the Package, its `url` the root template's URL."""
        return self.upload(self.bundle(stacks))

    def plan(
        self,
        pkg: Package,
        *,
        stack_name: str | None = None,
        parameters: Mapping[str, str] | None = None,
        replace_failed: bool = False,
        termination_protection: bool = True,
        on_failure: str = "rollback",
        revert_drift: bool = False,
    ) -> Plan:
        """Create one change set on the root (nested stacks included), wait for it and describe the whole tree.

        The rows are the change set's and those of cfngen's own template analysis of an update (a
        replacement the preview does not show). A change set with nothing to do is deleted and the plan
        says "no changes". The live protections of an existing stack are compared with the package's.
        A stack in ROLLBACK_COMPLETE is never deleted here: with `replace_failed` the plan says so and
        apply() deletes it. `on_failure` (rollback, delete, keep) applies to a first create. Retained
        resources of the same names are adopted (rows with the action "import"); `revert_drift` makes a
        drift-aware change set instead, whose rows show each drifted property's template and live value.
        Raises DeployError when the stack's state needs a person, UsageError for unknown parameters.
        """
        name = stack_name or pkg.name
        given = dict(parameters or {})
        if on_failure not in ON_FAILURE:
            raise UsageError(f"on_failure must be one of {', '.join(ON_FAILURE)}, not {on_failure!r}")
        with self._calls.translated():
            stack = self._settled(name)
            step = next_step(name, _status(stack), region=self.region, replace_failed=replace_failed)
            base = Plan(
                stack_name=name,
                region=self.region,
                change_set_type="CREATE" if step is not Next.UPDATE else "UPDATE",
                template_url=pkg.url,
                template_hashes=dict(pkg.template_hashes),
                parameters=given,
                capabilities=pkg.capabilities,
                tags=dict(pkg.tags),
                termination_protection=termination_protection,
                stack_policy=safety.stack_policy(pkg),
                on_failure=ON_FAILURE[on_failure] if step is not Next.UPDATE else "",
            )
            if step is Next.RECREATE:
                assert stack is not None
                _parameters(pkg, None, given)
                adds = tuple(
                    ResourceChange(ROOT_PATH, logical_id, str(resource.get("Type", "")), "add")
                    for logical_id, resource in pkg.root.get("Resources", {}).items()
                )
                return replace(
                    base,
                    stack_id=stack["StackId"],
                    replaces_stack=stack["StackId"],
                    changes=adds,
                    stack_status=_status(stack) or "",
                    stack_updated=_updated(stack),
                )
            return self._change_set(pkg, base, stack if step is Next.UPDATE else None, revert_drift=revert_drift)

    def verify(self, recorded: Plan, pkg: Package, *, termination_protection: bool = True) -> Plan:
        """The plan to apply for a plan file: what AWS says about its change set, and the protections of `pkg`.

        The file only names the change set. Raises SafetyError (exit 3) listing every field in which the
        file differs from what AWS and the package say (changes, nested change sets, templates, stack
        policy, termination protection), or when the plan is stale.
        """
        expected_policy = safety.stack_policy(pkg)
        with self._calls.translated():
            if recorded.replaces_stack:
                stack = self._describe(recorded.stack_name)
                if (
                    stack is None
                    or stack["StackId"] != recorded.replaces_stack
                    or _status(stack) != "ROLLBACK_COMPLETE"
                ):
                    raise SafetyError(
                        f"stack {recorded.stack_name} changed since the plan was made (it was the "
                        f"failed stack {recorded.replaces_stack}); make a new plan"
                    )
                fresh = self.plan(
                    pkg,
                    stack_name=recorded.stack_name,
                    parameters=recorded.parameters,
                    replace_failed=True,
                    termination_protection=termination_protection,
                    on_failure=_on_failure_option(recorded.on_failure),
                )
            elif not recorded.has_changes:
                fresh = replace(recorded, changes=(), nested_change_sets=())
            else:
                change_set = self._planned_change_set(recorded)
                if change_set.get("ExecutionStatus") == "EXECUTE_COMPLETE":
                    return replace(
                        recorded, stack_policy=expected_policy, termination_protection=termination_protection
                    )
                tree = self._tree(recorded.change_set_id, recorded.change_set_type, change_set["StackId"], pkg)
                fresh = replace(
                    recorded,
                    stack_id=change_set["StackId"],
                    changes=tree.changes,
                    nested_change_sets=tree.nested_change_sets,
                )
        fresh = replace(
            fresh,
            template_hashes=dict(pkg.template_hashes),
            stack_policy=expected_policy,
            termination_protection=termination_protection,
        )
        differences = _differences(recorded, fresh)
        if differences:
            raise SafetyError(
                "the plan file differs from what AWS and the blueprint say; refusing it:\n"
                + "\n".join(f"  {difference}" for difference in differences)
            )
        return fresh

    def apply(self, plan: Plan, *, allow_replace: Collection[str] = (), pkg: Package | None = None) -> Outcome:
        """Execute exactly the plan's change set, stream events until the stack settles, converge protections.

        Before executing, the change set and its nested change sets are read again from AWS and the
        safety rules run on what AWS says (and, given `pkg`, on cfngen's template analysis). A plan
        whose change set was executed already gives "already applied". With nothing to execute the
        protections are still converged. Raises SafetyError (nothing executed) when a safety rule
        refuses a change or when the stack, the change set or (given `pkg`) the templates changed
        since the plan; DeployError when the stack rolls back, naming the first resource that failed
        and why; Interrupted on SIGINT/SIGTERM after execution started.
        """
        policy = safety.stack_policy(pkg) if pkg is not None else plan.stack_policy
        with self._calls.translated():
            if plan.replaces_stack:
                plan = self._recreate(plan, pkg)
            if not plan.has_changes:
                stack = self._describe(plan.stack_id or plan.stack_name)
                restored = self._converge(stack, policy, plan.termination_protection)
                return Outcome(plan.stack_name, "no changes", _status(stack) or plan.stack_status, restored=restored)
            if plan.validation_failed:
                raise DeployError(
                    f"CloudFormation's early validation refused the change set of {plan.stack_name}:\n"
                    + "\n".join(f"  {finding}" for finding in plan.validation if finding.mode == "FAIL")
                )
            current = self._current(plan, pkg)
            if current is None:
                stack = self._describe(plan.stack_id)
                restored = self._converge(stack, policy, plan.termination_protection)
                return Outcome(
                    plan.stack_name,
                    "already applied",
                    _status(stack) or "",
                    _outputs(stack) if stack else {},
                    restored=restored,
                )
            safety.check(current, allow_replace)
            watcher = EventWatcher(self._cloudformation, plan.stack_id)
            watcher.mark_seen()
            try:
                with self._calls.translated():  # here, so that an endpoint that stops answering gets the hint too
                    self._execute(plan.change_set_id)
                    return self._follow(plan.stack_id, plan.stack_name, watcher, policy, plan.termination_protection)
            except TimedOut as exc:
                raise TimedOut(f"{exc}; {self._resume_hint(plan.stack_name)}") from None

    def resume(self, stack_name: str, *, pkg: Package | None = None, termination_protection: bool = True) -> Outcome:
        """Re-attach to the operation running on `stack_name`: stream its events, wait, converge protections.

        Returns at once ("nothing running") when no operation is in progress. Raises DeployError when
        the stack does not exist or the operation fails, as apply() does.
        """
        with self._calls.translated():
            stack = self._describe(stack_name)
            if stack is None:
                raise DeployError(f"stack {stack_name} does not exist in {self.region}; nothing to resume")
            policy = safety.stack_policy(pkg) if pkg is not None else ""
            if not (_status(stack) or "").endswith("_IN_PROGRESS") or _status(stack) == "REVIEW_IN_PROGRESS":
                restored = self._converge(stack, policy, termination_protection) if _status(stack) in UPDATABLE else ()
                return Outcome(stack_name, "nothing running", _status(stack) or "", _outputs(stack), restored=restored)
            watcher = EventWatcher(self._cloudformation, stack["StackId"])
            watcher.mark_seen()
            try:
                with self._calls.translated():
                    return self._follow(stack["StackId"], stack_name, watcher, policy, termination_protection)
            except TimedOut as exc:
                raise TimedOut(f"{exc}; {self._resume_hint(stack_name)}") from None

    def _execute(self, change_set_id: str) -> None:
        """ExecuteChangeSet. botocore retries a request whose answer did not come in time; when AWS had accepted the
        first one, the retry is refused ("... can not be updated", "cannot be executed in its current status")
        while the change set runs, or the last answer is lost too: the change set's ExecutionStatus then says
        whether it runs, and an execution that started is ours to follow."""
        from botocore.exceptions import ClientError, ConnectionError

        try:
            # RetainExceptOnCreate: a rollback deletes what this run created, Retain or not, so a failed
            # create leaves no named resource behind to block the next one; existing resources stay.
            self._cloudformation.execute_change_set(ChangeSetName=change_set_id, RetainExceptOnCreate=True)
        except (ClientError, ConnectionError):
            described = self._cloudformation.describe_change_set(ChangeSetName=change_set_id)
            if described.get("ExecutionStatus") not in EXECUTION_STARTED:
                raise

    def _resume_hint(self, name: str) -> str:
        return (
            f"CloudFormation goes on with {name}; re-attach (and restore the protections) with: "
            f"cfngen deploy BLUEPRINT --resume --region {self.region} --stack-name {name}"
        )

    def protection_gaps(self, stack_name: str, pkg: Package, *, termination_protection: bool = True) -> list[str]:
        """How the live protections of the stack tree differ from the package's (empty: as they should be)."""
        with self._calls.translated():
            stack = self._describe(stack_name)
            return [str(gap) for gap in self._gaps(stack, safety.stack_policy(pkg), termination_protection)]

    def _change_set(
        self, pkg: Package, base: Plan, stack: dict[str, Any] | None, *, revert_drift: bool = False
    ) -> Plan:
        """Create the change set of `base` on `stack` (None: a create), wait for it and describe the tree."""
        arguments, previous = _parameters(pkg, stack, base.parameters)
        options = {"OnStackFailure": base.on_failure} if base.change_set_type == "CREATE" else {}
        options.update(change_set_options(base.change_set_type, revert_drift=revert_drift))
        created = self._cloudformation.create_change_set(
            StackName=base.stack_name,
            ChangeSetName=_change_set_name(pkg),
            ChangeSetType=base.change_set_type,
            IncludeNestedStacks=True,
            Capabilities=list(pkg.capabilities),
            Parameters=arguments,
            Tags=[{"Key": key, "Value": value} for key, value in sorted(pkg.tags.items())],
            Description=f"cfngen plan of {pkg.name}",
            **options,
            **pkg.template_source(),
        )
        change_set = self._created(created["Id"])
        after = self._describe(created["StackId"])
        gaps = self._gaps(after, base.stack_policy, base.termination_protection) if stack is not None else []
        plan = replace(
            base,
            stack_id=created["StackId"],
            previous_parameters=previous,
            stack_status=_status(after) or "",
            stack_updated=_updated(after),
            last_operation=_last_operation(after),
            protection_gaps=tuple(str(gap) for gap in gaps),
        )
        findings = _validation.findings(self._cloudformation, created["Id"])
        if change_set["Status"] == "FAILED":
            reason = change_set.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGES):
                self._cloudformation.delete_change_set(ChangeSetName=created["Id"])
                ignored = (
                    (base.stack_name,) if revert_drift and change_set.get("DeploymentMode") != REVERT_DRIFT else ()
                )
                return replace(plan, status_reason=reason, on_failure="", not_drift_aware=ignored)
            if not any(finding.mode == "FAIL" for finding in findings):
                self._cloudformation.delete_change_set(ChangeSetName=created["Id"])
                raise DeployError(f"CloudFormation could not create the change set for {base.stack_name}: {reason}")
            # Early validation failed: the change set stays (FAILED) for the console; apply() refuses it.
            return replace(plan, change_set_id=created["Id"], status_reason=reason, validation=findings)
        tree = self._tree(created["Id"], base.change_set_type, created["StackId"], pkg)
        unreverted = (
            not_drift_aware(self._cloudformation, (created["Id"], *tree.nested_change_sets)) if revert_drift else ()
        )
        return replace(
            plan,
            change_set_id=created["Id"],
            changes=tree.changes,
            nested_change_sets=tree.nested_change_sets,
            validation=findings,
            not_drift_aware=unreverted,
        )

    def _tree(self, change_set_id: str, change_set_type: str, stack_id: str, pkg: Package | None) -> ChangeTree:
        """The change set's rows (nested ones included), merged with cfngen's template analysis of an update."""
        tree = describe_tree(
            self._cloudformation,
            change_set_id,
            lambda path, raw: safety.pipeline_owned(_template_at(pkg, path) if pkg else None, raw),
        )
        if change_set_type != "UPDATE" or pkg is None:
            return tree
        return replace(tree, changes=_replacements.merged(tree.changes, self._template_changes(stack_id, pkg)))

    def _template_changes(self, stack_id: str, pkg: Package) -> list[ResourceChange]:
        """Replacements and removals found by comparing each deployed template whose URL changed with the package's."""
        found: list[ResourceChange] = []

        def walk(stack: str, path: str, new: Mapping[str, Any]) -> None:
            deployed = _template_body(self._cloudformation.get_template(StackName=stack, TemplateStage="Original"))
            found.extend(_replacements.template_changes(path, deployed, new, region=self.region))
            children = {
                resource["LogicalResourceId"]: resource.get("PhysicalResourceId", "")
                for page in self._cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
                for resource in page.get("StackResourceSummaries", [])
                if resource.get("ResourceType") == NESTED_STACK
            }
            for logical_id, resource in new.get("Resources", {}).items():
                url = resource.get("Properties", {}).get("TemplateURL", "")
                before = deployed.get("Resources", {}).get(logical_id, {}).get("Properties", {}).get("TemplateURL")
                child = pkg.template_of(url) if resource.get("Type") == NESTED_STACK else None
                if child is not None and children.get(logical_id) and before != url:
                    walk(children[logical_id], f"{path}/{logical_id}", child)

        walk(stack_id, ROOT_PATH, pkg.root)
        return found

    def _recreate(self, plan: Plan, pkg: Package | None) -> Plan:
        """Delete the failed stack the plan names (only if it is still that stack), then plan its create anew."""
        if pkg is None:
            raise UsageError("replacing a failed stack needs its package: apply(plan, pkg=...)")
        stack = self._describe(plan.stack_name)
        if stack is None or stack["StackId"] != plan.replaces_stack or _status(stack) != "ROLLBACK_COMPLETE":
            raise SafetyError(
                f"stack {plan.stack_name} changed since the plan was made (it was the failed stack "
                f"{plan.replaces_stack}); make a new plan"
            )
        self._delete_failed(plan.stack_name, stack)
        return self._change_set(pkg, replace(plan, replaces_stack="", stack_id="", changes=()), None)

    def _follow(
        self, stack_id: str, name: str, watcher: EventWatcher, policy: str, termination_protection: bool
    ) -> Outcome:
        """Wait for the running operation, then converge protections; Interrupted on SIGINT/SIGTERM."""
        try:
            status = self._wait_settled(stack_id, name, watcher)
        except KeyboardInterrupt as exc:
            number = int(getattr(exc, "signal_number", 2))
            raise Interrupted(
                f"interrupted; CloudFormation carries on with {name} (the operation cannot be taken back from "
                f"here). Watch it with:\n  cfngen deploy BLUEPRINT --resume --region {self.region}"
                f" --stack-name {name}\n(it re-attaches, streams the events and restores the protections)",
                number,
            ) from None
        events = tuple(watcher.events)
        stack = self._describe(stack_id)
        restored = self._converge(stack, policy, termination_protection) if status in UPDATABLE else ()
        if status not in SUCCEEDED:
            raise DeployError(_failure(name, status, events))
        return Outcome(name, "applied", status, _outputs(stack) if stack else {}, events, restored)

    def _gaps(self, stack: dict[str, Any] | None, policy: str, termination_protection: bool) -> list[_protections.Gap]:
        if stack is None or _status(stack) not in UPDATABLE:
            return []
        return _protections.gaps(
            self._cloudformation,
            stack,
            EventWatcher(self._cloudformation, stack["StackId"]).stacks(),
            policy=policy,
            termination_protection=termination_protection,
        )

    def _converge(self, stack: dict[str, Any] | None, policy: str, termination_protection: bool) -> tuple[str, ...]:
        gaps = self._gaps(stack, policy, termination_protection)
        return tuple(str(gap) for gap in _protections.converge(self._cloudformation, gaps, policy=policy))

    def describe_stack_tree(self, stack_name: str) -> dict[str, Any]:
        """The `describe-stacks` JSON ({"Stacks": [...]}) of the root stack `stack_name` and every stack nested in
        it, parents first: what `cfngen render --stack-name` reads the deployed values from."""
        with self._calls.translated():  # a missing stack is AWS's own ValidationError, as for every call
            (root,) = self._cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
            return {
                "Stacks": [
                    root,
                    *(
                        self._cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
                        for _, stack_id in list(_tree.stacks(self._cloudformation, root["StackId"], stack_name))[1:]
                    ),
                ]
            }

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
        with self._calls.translated():
            stack = self._settled(teardown.stack_name)
            if stack is None:
                return Outcome(teardown.stack_name, "already gone", "DELETE_COMPLETE")
            if stack["StackId"] != teardown.stack_id:
                raise SafetyError(
                    f"stack {teardown.stack_name} is not the one listed ({teardown.stack_id}); "
                    "it was re-created meanwhile: run destroy again to see what it holds now"
                )
            autoscaling = self._client("autoscaling")
            _destroy.release_scale_in_protection(autoscaling, teardown.protected_groups)
            if stack.get("EnableTerminationProtection"):
                self._cloudformation.update_termination_protection(
                    StackName=stack["StackId"], EnableTerminationProtection=False
                )
            watcher = EventWatcher(self._cloudformation, stack["StackId"])
            watcher.mark_seen()
            self._cloudformation.delete_stack(StackName=stack["StackId"])
            try:
                with self._calls.translated():
                    status = self._wait_settled(stack["StackId"], teardown.stack_name, watcher)
            except TimedOut as exc:
                raise TimedOut(f"{exc}; run destroy again to wait for the deletion to finish") from None
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
                result: dict[str, Any] = self._poll(check, what=what, timed_out=lambda: f"{what}: not finished")
                return result

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
        seen = [_status(stack)]

        def check(elapsed: float) -> dict[str, Any] | None:
            current = self._describe(name)
            seen.append(_status(current))
            return None if (_status(current) or "").endswith("_IN_PROGRESS") else current or {}

        return (
            self._poll(
                check,
                what=f"{name} is {_status(stack)}; waiting for it to finish",
                timed_out=lambda: (
                    f"stack {name} is still busy ({seen[-1]}); wait for the operation to finish "
                    "(or cancel it), then run again"
                ),
            )
            or None
        )

    def _delete_failed(self, name: str, stack: dict[str, Any]) -> None:
        self.progress.event(
            StackEvent(
                "cfngen",
                name,
                name,
                NESTED_STACK,
                "DELETE_REQUESTED",
                "replacing a stack whose first create failed (--replace-failed)",
                datetime.now(timezone.utc),
            )
        )
        self._cloudformation.delete_stack(StackName=stack["StackId"])
        status = self._wait_settled(stack["StackId"], name, EventWatcher(self._cloudformation, stack["StackId"]))
        if status != "DELETE_COMPLETE":
            raise DeployError(f"could not delete the failed stack {name}: it is {status}")

    def _created(self, change_set_id: str) -> dict[str, Any]:
        def check(elapsed: float) -> dict[str, Any] | None:
            described: dict[str, Any] = self._cloudformation.describe_change_set(ChangeSetName=change_set_id)
            return described if described["Status"] in ("CREATE_COMPLETE", "FAILED") else None

        return self._poll(
            check, what="creating the change set", timed_out=lambda: f"change set {change_set_id} was not ready"
        )

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

        return self._poll(
            check, what=f"{name}: waiting for CloudFormation", timed_out=lambda: f"{name} did not settle in time"
        )

    def _planned_change_set(self, plan: Plan) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            change_set: dict[str, Any] = self._cloudformation.describe_change_set(ChangeSetName=plan.change_set_id)
        except ClientError as exc:
            raise SafetyError(f"the planned change set is gone ({exc}); make a new plan") from None
        if change_set.get("StackId") != plan.stack_id and plan.stack_id:
            raise SafetyError(
                f"the planned change set belongs to {change_set.get('StackId')}, "
                f"not to {plan.stack_id}; make a new plan"
            )
        return change_set

    def _current(self, plan: Plan, pkg: Package | None) -> Plan | None:
        """The plan as AWS says it is now, or None when its change set was executed already.

        Staleness is read from AWS's own markers: the change set's Status and ExecutionStatus, and the
        stack's status, last-updated time and last operation.
        """
        change_set = self._planned_change_set(plan)
        if change_set.get("ExecutionStatus") == "EXECUTE_COMPLETE":
            return None
        if change_set.get("Status") != "CREATE_COMPLETE" or change_set.get("ExecutionStatus") != "AVAILABLE":
            raise SafetyError(
                f"the planned change set is {change_set.get('Status')}/"
                f"{change_set.get('ExecutionStatus')} ({change_set.get('StatusReason') or 'no reason'});"
                " make a new plan"
            )
        stack = self._describe(plan.stack_id)
        now = (_status(stack) or "", _updated(stack), _last_operation(stack))
        if now != (plan.stack_status, plan.stack_updated, plan.last_operation):
            raise SafetyError(
                f"stack {plan.stack_name} changed since the plan was made "
                f"({plan.stack_status} {plan.stack_updated} {plan.last_operation} -> "
                f"{' '.join(now)}); make a new plan"
            )
        if pkg is not None and dict(pkg.template_hashes) != dict(plan.template_hashes):
            changed = sorted(
                name
                for name in {*pkg.template_hashes, *plan.template_hashes}
                if pkg.template_hashes.get(name) != plan.template_hashes.get(name)
            )
            raise SafetyError(f"templates changed since the plan was made ({', '.join(changed)}); make a new plan")
        tree = self._tree(plan.change_set_id, plan.change_set_type, plan.stack_id, pkg)
        changes = tree.changes
        if pkg is None:  # without the templates, which services the pipeline owns (or switch) is what the plan found
            planned = {(change.stack, change.logical_id): change for change in plan.changes}
            changes = tuple(
                replace(
                    change,
                    pipeline_owned=planned[key].pipeline_owned if key in planned else (),
                    controller_switch=planned[key].controller_switch if key in planned else (),
                )
                for change in changes
                for key in [(change.stack, change.logical_id)]
            )
            # Switches the plan's template analysis found where the preview shows no row (a nested change set
            # may not list the service): the change set runs the templates that analysis read.
            shown = {(change.stack, change.logical_id) for change in changes}
            changes += tuple(
                change
                for change in plan.changes
                if change.controller_switch and (change.stack, change.logical_id) not in shown
            )
        return replace(plan, changes=changes, nested_change_sets=tree.nested_change_sets)


def _parameters(
    pkg: Package, stack: Mapping[str, Any] | None, given: Mapping[str, str]
) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """Change set parameters: the given values, and for an update the previous value of every other one."""
    declared = pkg.root.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise UsageError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the root template takes: {', '.join(sorted(declared)) or 'none'}"
        )
    existing = {parameter["ParameterKey"] for parameter in (stack or {}).get("Parameters", [])}
    previous = tuple(sorted(key for key in declared if key not in given and key in existing))
    arguments: list[dict[str, Any]] = [
        {"ParameterKey": key, "ParameterValue": value} for key, value in sorted(given.items())
    ]
    arguments += [{"ParameterKey": key, "UsePreviousValue": True} for key in previous]
    return arguments, previous


def _template_at(pkg: Package, path: str) -> Mapping[str, Any] | None:
    """The template of the stack at `path` ("root/Network/..."), found through the TemplateURLs."""
    template: Mapping[str, Any] | None = pkg.root
    for logical_id in path.split("/")[1:] if path.startswith(ROOT_PATH) else []:
        resource = (template or {}).get("Resources", {}).get(logical_id, {})
        template = pkg.template_of(resource.get("Properties", {}).get("TemplateURL", ""))
    return template


def _template_body(response: Mapping[str, Any]) -> dict[str, Any]:
    """GetTemplate's body: boto3 gives a JSON template as a dict already, YAML (or the emulator's) as text."""
    from cfngen.report._template_diff import decode_template

    body = response["TemplateBody"]
    return dict(body) if isinstance(body, Mapping) else decode_template("deployed template", str(body))


def _differences(recorded: Plan, fresh: Plan) -> list[str]:
    """What a plan file says that AWS and the package do not (empty: the file is what it should be)."""
    found = []
    said, seen = set(recorded.changes), set(fresh.changes)
    for change in sorted(seen - said, key=str):
        found.append(f"changes: AWS plans {change.action} {change.stack}/{change.logical_id}, the file does not say so")
    for change in sorted(said - seen, key=str):
        found.append(f"changes: the file lists {change.action} {change.stack}/{change.logical_id}, AWS does not")
    for name in (
        "nested_change_sets",
        "template_hashes",
        "stack_policy",
        "termination_protection",
        "stack_id",
        "replaces_stack",
        "on_failure",
    ):
        if getattr(recorded, name) != getattr(fresh, name):
            found.append(
                f"{name}: the file says {getattr(recorded, name)!r}, AWS and the blueprint {getattr(fresh, name)!r}"
            )
    return found


def _on_failure_option(on_failure: str) -> str:
    return {value: option for option, value in ON_FAILURE.items()}.get(on_failure, "rollback")


def _last_operation(stack: Mapping[str, Any] | None) -> str:
    """The id of the stack's last operation (DescribeStacks LastOperations), where AWS gives it."""
    operations = (stack or {}).get("LastOperations") or []
    return str(operations[0].get("OperationId", "")) if operations else ""


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
    return (
        f"{name} ended {status}: the first failure was {cause.logical_id} ({cause.resource_type}) "
        f"in stack {cause.stack_name}: {cause.reason or cause.status}"
    )


__all__ = [
    "ConsoleProgress",
    "Deadline",
    "Deployer",
    "DriftReport",
    "Interrupted",
    "Outcome",
    "Package",
    "Plan",
    "ResourceChange",
    "Teardown",
]

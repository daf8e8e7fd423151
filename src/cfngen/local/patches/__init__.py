"""cfngen's corrections to moto, kept like a small library: one patch per module, applied only by the emulator.

Each module's docstring names the emulator behaviour it corrects, the AWS behaviour it copies (with the AWS
documentation page) and the test that fails without it; its ``TARGETS`` name every moto function it replaces or
wraps, with a digest of that function's source as released. :func:`apply` runs only when the emulator starts
(``LocalAws``): importing cfngen, or using it as a library, changes nothing in moto. Before changing anything it
checks moto's version and every target, and refuses to start, naming the function, when one is missing or its
source changed: a renamed or rewritten function would otherwise leave a patch silently doing nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

from cfngen.errors import UsageError

# The moto releases whose sources the TARGETS digests were taken from: exactly what setup.cfg's `local` and `test`
# extras allow (a test checks it). A release joins once every digest is checked on it.
VERIFIED_MOTO = ("5.2.6",)


@dataclass(frozen=True)
class Target:
    """A moto function a patch replaces or wraps: `module:Qualified.name`, and the sha256 (first 16 hex digits) of
    its source; an empty digest means the name must be absent (the patch adds it)."""

    path: str
    digest: str


def digest(obj: object) -> str:
    """The first 16 hex digits of the sha256 of `obj`'s source."""
    function = obj.fget if isinstance(obj, property) else obj
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]  # type: ignore[arg-type]


def _patches() -> tuple[ModuleType, ...]:
    from cfngen.local.patches import (
        attribute_stand_in,
        bucket_not_empty,
        change_set_on_review_stack,
        codebuild_pipeline_source,
        codepipeline_trust,
        custom_resources,
        dependencies_first,
        drift_detection,
        elbv2_attributes,
        failures_answered,
        import_existing,
        kms_default_key_policy,
        last_updated_time,
        lower_case_names,
        model_deletes,
        model_failures,
        nat_gateway_deletion,
        nested_parameters,
        nested_stack_outputs,
        nested_update_in_place,
        not_emulated,
        obsolete_change_sets,
        one_operation_at_a_time,
        placeholders_pass,
        policy_conditions,
        record_change_set,
        removed_resources,
        resource_handlers,
        retain_except_on_create,
        rollback,
        ssm_parameter_name,
        stack_deletion,
        template_url,
        termination_protection,
        typed_load_balancer,
        update_order,
        yaml_get_att,
    )

    # Order matters where two patches wrap the same function: the later one runs outside the earlier one.
    return (
        yaml_get_att,
        lower_case_names,
        kms_default_key_policy,
        template_url,
        nested_stack_outputs,
        not_emulated,
        resource_handlers,
        custom_resources,
        policy_conditions,
        codebuild_pipeline_source,
        codepipeline_trust,
        import_existing,
        model_failures,
        dependencies_first,
        record_change_set,
        removed_resources,
        update_order,
        nested_update_in_place,
        termination_protection,
        nat_gateway_deletion,
        model_deletes,
        bucket_not_empty,
        stack_deletion,
        ssm_parameter_name,
        placeholders_pass,
        attribute_stand_in,
        typed_load_balancer,
        elbv2_attributes,
        failures_answered,
        rollback,
        change_set_on_review_stack,
        last_updated_time,
        obsolete_change_sets,
        one_operation_at_a_time,
        nested_parameters,
        drift_detection,
        retain_except_on_create,
    )


def problems() -> list[str]:
    """What in the installed moto does not match what the patches were written against (empty when all match)."""
    version = metadata.version("moto")
    found = [] if version in VERIFIED_MOTO else [f"moto {version} is not a verified release"]
    for patch in _patches():
        for target in patch.TARGETS:
            problem = _target_problem(target)
            if problem:
                found.append(f"{target.path} (patched by {patch.__name__}) {problem}")
    return found


def _target_problem(target: Target) -> str:
    module_name, _, qualified = target.path.partition(":")
    try:
        owner: object = importlib.import_module(module_name)
    except ImportError:
        return "is missing: its module does not import"
    *parents, name = qualified.split(".")
    for part in parents:
        owner = getattr(owner, part, None)
        if owner is None:
            return f"is missing: no {part}"
    if not target.digest:
        return "exists already" if name in vars(owner) else ""
    if not hasattr(owner, name):
        return "is missing"
    found = digest(getattr(owner, name))
    return "" if found == target.digest else f"changed (source digest {found}, expected {target.digest})"


def check() -> None:
    """UsageError naming every mismatch, when the installed moto is not the one the patches were written against."""
    found = problems()
    if found:
        verified = " or ".join(VERIFIED_MOTO)
        raise UsageError(
            f"the local AWS emulator cannot start: cfngen's corrections to moto were verified on moto {verified}, "
            f"and with moto {metadata.version('moto')}: "
            + "; ".join(found)
            + f"; install a verified release (pip install 'moto[server]=={VERIFIED_MOTO[-1]}')"
        )


@functools.cache
def apply() -> None:
    """Check moto, then apply every patch, once per process (the emulator's)."""
    check()
    for patch in _patches():
        patch.apply()


def applied() -> bool:
    """Whether this process has applied the patches."""
    return apply.cache_info().currsize > 0

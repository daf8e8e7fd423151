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

# The releases the digests below were taken from (and setup.cfg's `local` extra allows).
SUPPORTED_MOTO = ((5, 1), (5, 3))  # >= first, < second
VERIFIED_MOTO = "5.2.6"


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
        change_set_on_review_stack,
        codebuild_pipeline_source,
        codepipeline_trust,
        dependencies_first,
        drift_detection,
        elbv2_attributes,
        failures_answered,
        import_existing,
        last_updated_time,
        model_failures,
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
        template_url,
        termination_protection,
        typed_load_balancer,
        update_order,
        yaml_get_att,
    )

    # Order matters where two patches wrap the same function: the later one runs outside the earlier one.
    return (
        yaml_get_att,
        template_url,
        nested_stack_outputs,
        not_emulated,
        resource_handlers,
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
    release = tuple(int(part) for part in version.split(".")[:2])
    low, high = SUPPORTED_MOTO
    found = (
        []
        if low <= release < high
        else [f"moto {version} is outside the supported range >={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"]
    )
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
        raise UsageError(
            f"the local AWS emulator cannot start: cfngen's corrections to moto were written against "
            f"moto {VERIFIED_MOTO}, and in moto {metadata.version('moto')} "
            + "; ".join(found)
            + f"; install moto=={VERIFIED_MOTO} (pip install 'moto=={VERIFIED_MOTO}')"
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

"""Work cfn-lint repeats for every template and value although the answer is always the same, done once instead.

Profiling cfn-lint on cfngen's templates showed more than a third of its time outside validation proper:

1. Every time a rule extends the validator (forty times per template and more), cfn-lint's
   ``jsonschema.validators.create`` builds a new validator class, a dataclass whose methods
   ``dataclasses`` compiles with ``exec``. The class depends on nothing but the arguments, the
   same dozen combinations each time: :func:`_memoised` hands back the class built for equal
   arguments. Rules are compared as bound methods (same rule object, same function) and the
   function filter by value (a dataclass of flags, which rules evolve into new, equal objects).
2. ``evolve`` on a validator and on a ``Context``, called for every value validated, looks the
   dataclass fields up with ``dataclasses.fields()`` on each call. The speedups look them up once
   per class; a ``Context`` (frozen, every field set by ``__init__``, no ``__post_init__``) is
   copied with its fields alone instead of through ``__init__``.
3. ``Rules.run`` wires each rule's child rules by scanning all rule ids for each child (a quadratic
   ``any()``), and offers every resource to every rule (some 330 generator chains per resource),
   when only the few rules that name resource types can match one. :func:`_run_rules` looks the
   children up in the rules' dict and offers a resource only to the rules that can match it.

They patch cfn-lint in this process and change no finding. They apply only where the modules they
patch or rely on are byte for byte those recorded in :data:`VERIFIED_SOURCES` (of :data:`VERIFIED_RELEASE`,
the release setup.cfg pins and constraints.txt installs), which they were checked against
(``benchmarks/cfnlint_speedups.py`` compares every finding over cfn-lint's own test templates,
tests/test_cfnlint_speedups.py over cfngen's templates and mutations of them, and fails when the installed
cfn-lint is not the verified code). Another cfn-lint release is left as it is, correct and slower, until the
speedups are checked against it again; ``CFNGEN_CFNLINT_SPEEDUPS=0`` leaves cfn-lint as it is too. Either
way they say so once, in a debug log line, and ``cfngen --version`` says whether they are on and why not.

To move to a new cfn-lint release: ``make lock``, then ``benchmarks/cfnlint_speedups.py --unverified``;
when every finding is identical, record the new digests (it prints them) and the release here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Callable, Hashable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SWITCH_VARIABLE = "CFNGEN_CFNLINT_SPEEDUPS"
VERIFIED_RELEASE = "1.58.0"
# sha256 of each module the speedups patch or rely on, as cfn-lint VERIFIED_RELEASE has it.
VERIFIED_SOURCES = {
    "cfnlint.jsonschema.validators": "6494508f68508e392b0caff55d51ce061d2621dd2edaf9ed2621456ebdad3605",
    "cfnlint.context.context": "785e6ca7d57cde01cc8aed6d398a192debdfa611831f2a801e7f27de2be31aff",
    "cfnlint.rules._rules": "11f11c4d5a2fac69f5872e3666c230666450cffc1f13fcc4b41124c7eb2305a5",
    "cfnlint.rules._rule": "985d08c50eb9280390ef748af816c3c620c4e8cb83fc82c9f1a90769c60fca18",
}
# Far above the few dozen combinations cfn-lint's rules make: a cap, so no pattern of use can grow it without bound.
CLASS_CACHE_LIMIT = 1024

_applied: bool | None = None


def apply() -> bool:
    """Patch cfn-lint in this process where its code is the verified code; True when the speedups are on.

    Idempotent; call it before linting (cfngen's linter does, before it loads the rules).
    """
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def source_digests() -> dict[str, str]:
    """sha256 of each module the speedups patch or rely on, as the installed cfn-lint has it.

    Read from the installed files, without importing cfn-lint (a second's work that `cfngen --version` skips).
    """
    distribution = metadata.distribution("cfn-lint")
    return {
        name: hashlib.sha256(
            Path(str(distribution.locate_file(name.replace(".", "/") + ".py"))).read_bytes()
        ).hexdigest()
        for name in VERIFIED_SOURCES
    }


def off_reason() -> str | None:
    """Why the speedups are off in this process (or would be, before :func:`apply`); None when they apply."""
    if os.environ.get(SWITCH_VARIABLE, "1") == "0":
        return f"{SWITCH_VARIABLE}=0"
    changed = sorted(name for name, digest in source_digests().items() if VERIFIED_SOURCES[name] != digest)
    if changed:
        return (
            f"cfn-lint {metadata.version('cfn-lint')} is not the verified release {VERIFIED_RELEASE} "
            f"({', '.join(changed)} differ)"
        )
    return None


def status() -> str:
    """The installed cfn-lint and whether the speedups are on, for `cfngen --version`."""
    reason = off_reason()
    return f"cfn-lint {metadata.version('cfn-lint')} (speedups {'on' if reason is None else 'off: ' + reason})"


def _apply() -> bool:
    reason = off_reason()
    if reason is not None:
        logger.debug("cfn-lint speedups off: %s", reason)
        return False
    from cfnlint.context import context
    from cfnlint.jsonschema import validators
    from cfnlint.rules._rules import Rules

    validators.create = _memoised(validators.create)
    for existing in (validators.CfnTemplateValidator, validators.StandardValidator):
        _with_field_names(existing)
    context.Context.evolve = _context_evolve(context.Context)
    Rules.run = _run_rules
    return True


def _memoised(create: Callable[..., type]) -> Callable[..., type]:
    """``create`` returning one class per equal arguments.

    Upstream (cfn-lint 1.58.0, cfnlint/jsonschema/validators.py): ``create(validators, function_filter,
    fn_resolvers)`` defines a new ``@dataclass class Validator`` on every call, and ``Validator.extend``
    calls it for every rule that extends a validator. The class keeps the arguments and nothing else.
    """
    classes: dict[Hashable, type] = {}

    def memoised_create(validators: Any = None, function_filter: Any = None, fn_resolvers: Any = None) -> type:
        try:
            key = (tuple((validators or {}).items()), _value_key(function_filter), tuple((fn_resolvers or {}).items()))
            hash(key)
        except TypeError:
            return _with_field_names(create(validators, function_filter, fn_resolvers))
        cached = classes.get(key)
        if cached is None:
            if len(classes) >= CLASS_CACHE_LIMIT:
                classes.clear()
            cached = classes[key] = _with_field_names(create(validators, function_filter, fn_resolvers))
        return cached

    return memoised_create


def _value_key(function_filter: Any) -> Hashable:
    """A function filter as a hashable value: its type and its fields, lists as tuples."""
    if function_filter is None:
        return None
    values = (getattr(function_filter, field.name) for field in dataclasses.fields(function_filter))
    return (type(function_filter), *(tuple(value) if isinstance(value, list) else value for value in values))


def _with_field_names(cls: type) -> type:
    """`cls` (a validator class) with an ``evolve`` that looks its ``__init__`` fields up once, not per call.

    Upstream (cfn-lint 1.58.0, cfnlint/jsonschema/validators.py, ``Validator.evolve``): for each field of
    ``fields(Validator)`` with ``init``, ``kwargs.setdefault(name, getattr(self, name))``, then ``cls(**kwargs)``.
    """
    names = tuple(field.name for field in dataclasses.fields(cls) if field.init)

    def evolve(self: Any, **changes: Any) -> Any:
        for name in names:
            if name not in changes:
                changes[name] = getattr(self, name)
        return self.__class__(**changes)

    cls.evolve = evolve  # type: ignore[attr-defined]
    return cls


def _context_evolve(cls: type) -> Callable[..., Any]:
    """``Context.evolve``: the fields copied, with the changes and ``ref_values`` merged, without ``__init__``.

    Upstream (cfn-lint 1.58.0, cfnlint/context/context.py, ``Context.evolve``): ``ref_values`` merged into a
    copy of the current ones, every ``init`` field of ``fields(Context)`` defaulted from ``self``, then
    ``cls(**kwargs)``. Context is ``@dataclass(frozen=True)`` with no ``__post_init__``, so ``__init__`` only
    sets the fields: setting them on a bare object is the same object.
    """
    names = frozenset(field.name for field in dataclasses.fields(cls))
    original = cls.evolve  # type: ignore[attr-defined]

    def evolve(self: Any, **changes: Any) -> Any:
        if not names.issuperset(changes):
            return original(self, **changes)  # an unknown field: the original raises cfn-lint's own error
        state = self.__dict__
        if "ref_values" in changes:
            changes["ref_values"] = {**state["ref_values"], **changes["ref_values"]}
        copy = object.__new__(self.__class__)
        # Fields only: a cached property computed on this context must be computed afresh on the copy.
        copy.__dict__.update({name: changes[name] if name in changes else state[name] for name in names})
        return copy

    return evolve


def _run_rules(self: Any, filename: str | None, cfn: Any, config: Any) -> Iterator[Any]:
    """cfn-lint 1.58.0's ``Rules.run``, but for the two places marked, which do the same in less time.

    Upstream: cfnlint/rules/_rules.py, ``Rules.run``, copied line for line but for the
    ``any(key == r for r in self.data.keys())`` child lookup and the loop offering each resource to every rule.
    """
    enabled_rule_ids = set()
    for rule_id, rule in self.data.items():
        rule.configure(config.configure_rules.get(rule_id, None), config.include_experimental)
        rule.initialize(cfn)
        if self.is_rule_enabled(rule_id, config):
            enabled_rule_ids.add(rule_id)

    for rule_id, rule in self.data.items():
        for key in rule.child_rules.keys():  # noqa: SIM118  (upstream's line, kept for the diff)
            if key not in self.data:  # Speedup: a dict lookup, where cfn-lint compares with every rule id.
                continue
            rule.child_rules[key] = self.data.get(key)
        for parent_rule in rule.parent_rules:
            if parent_rule in self.data:
                self.data[parent_rule].child_rules[rule_id] = rule

    for rule_id, rule in self.data.items():
        yield from self._filter_matches(
            enabled_rule_ids,
            self.run_check(rule.matchall, filename, rule_id, config, enabled_rule_ids, filename, cfn),
        )

    # Speedup: a resource goes only to the rules that can match it. A rule with the base class's
    # ``matchall_resource_properties`` returns at once for a type outside its ``resource_property_types``;
    # what ``run_check`` records of a rule (that it was used) the loop above has recorded already.
    from cfnlint.rules._rule import CloudFormationLintRule

    base = CloudFormationLintRule.matchall_resource_properties
    resource_rules = [
        (rule_id, rule)
        for rule_id, rule in self.data.items()
        if rule.resource_property_types or type(rule).matchall_resource_properties is not base
    ]
    for resource_name, resource_attributes in cfn.get_resources().items():
        resource_type = resource_attributes.get("Type")
        resource_properties = resource_attributes.get("Properties")
        if isinstance(resource_type, str) and isinstance(resource_properties, dict):
            path = ["Resources", resource_name, "Properties"]
            for rule_id, rule in resource_rules:
                yield from self._filter_matches(
                    enabled_rule_ids,
                    self.run_check(
                        rule.matchall_resource_properties,
                        filename,
                        rule_id,
                        config,
                        enabled_rule_ids,
                        filename,
                        cfn,
                        resource_properties,
                        resource_type,
                        path,
                    ),
                )

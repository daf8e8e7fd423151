"""Two things cfn-lint does again and again that give the same answer each time, done once instead.

Profiling cfn-lint on cfngen's templates showed a third of its time outside validation proper:

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

They patch cfn-lint in this process and change no finding: each replaces a function whose source
hashes to the value recorded in :data:`VERIFIED_SOURCES`, the code they were checked against
(``benchmarks/cfnlint_speedups.py`` compares every finding over cfn-lint's own test templates,
tests/test_cfnlint_speedups.py over cfngen's templates and mutations of them). A cfn-lint whose code
differs is left as it is, correct and slower, until the speedups are checked against it again.
``CFNGEN_CFNLINT_SPEEDUPS=0`` leaves cfn-lint as it is too.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import os
from collections.abc import Callable, Hashable
from typing import Any

SWITCH_VARIABLE = "CFNGEN_CFNLINT_SPEEDUPS"
# sha256 of the source of each function replaced ("module:attribute"), as cfn-lint 1.58.0 has it.
VERIFIED_SOURCES = {
    "cfnlint.jsonschema.validators:create": "2d1dd51fbc7a640b01868d3224cefa20d9815bcf85ef8e0b16fbc79fd839eabe",
    "cfnlint.context.context:Context.evolve": "05aa695393629cc4baba47d15ef539cecbceeaf2e36b7ebb2fa7e13496084085",
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
    """sha256 of the source of each function the speedups replace, as the installed cfn-lint has it."""
    return {name: hashlib.sha256(inspect.getsource(_target(name)).encode()).hexdigest() for name in VERIFIED_SOURCES}


def _apply() -> bool:
    if os.environ.get(SWITCH_VARIABLE, "1") == "0":
        return False
    from cfnlint.context import context
    from cfnlint.jsonschema import validators

    if source_digests() != VERIFIED_SOURCES or not _copyable(context.Context):
        return False
    validators.create = _memoised(validators.create)
    for existing in (validators.CfnTemplateValidator, validators.StandardValidator):
        _with_field_names(existing)
    context.Context.evolve = _context_evolve(context.Context)
    return True


def _target(name: str) -> Any:
    module_name, _, attribute_path = name.partition(":")
    return functools.reduce(getattr, attribute_path.split("."), importlib.import_module(module_name))


def _copyable(cls: type) -> bool:
    """A frozen dataclass that ``__init__`` does nothing for but set its fields."""
    params = getattr(cls, "__dataclass_params__", None)
    return (params is not None and params.frozen and not hasattr(cls, "__slots__") and not hasattr(cls, "__post_init__")
            and all(field.init for field in dataclasses.fields(cls)))


def _memoised(create: Callable[..., type]) -> Callable[..., type]:
    classes: dict[Hashable, tuple[type, Any]] = {}

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
            # The filter is kept with the class: the class hands it out as its default.
            cached = classes[key] = (_with_field_names(create(validators, function_filter, fn_resolvers)),
                                     function_filter)
        return cached[0]

    return memoised_create


def _value_key(function_filter: Any) -> Hashable:
    """A function filter as a hashable value: its type and its fields, lists as tuples."""
    if function_filter is None:
        return None
    values = (getattr(function_filter, field.name) for field in dataclasses.fields(function_filter))
    return (type(function_filter), *(tuple(value) if isinstance(value, list) else value for value in values))


def _with_field_names(cls: type) -> type:
    """`cls` (a validator class) with an ``evolve`` that looks its ``__init__`` fields up once, not per call."""
    names = tuple(field.name for field in dataclasses.fields(cls) if field.init)

    def evolve(self: Any, **changes: Any) -> Any:
        for name in names:
            if name not in changes:
                changes[name] = getattr(self, name)
        return self.__class__(**changes)

    cls.evolve = evolve  # type: ignore[attr-defined]
    return cls


def _context_evolve(cls: type) -> Callable[..., Any]:
    """``Context.evolve``: the fields copied, with the changes and ``ref_values`` merged, without ``__init__``."""
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

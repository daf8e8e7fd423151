"""The registry of stack builders, in wiring order: a stack may consume only the outputs of stacks above it.

Adding a stack is one module with a ``stacks(blueprint)`` function and one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from cfngen.blueprint import Blueprint
from cfngen.builders import (
    cluster,
    database,
    database_users,
    image_cache,
    keys,
    load_balancer,
    monitoring,
    network,
    pipeline,
    registry,
    service,
)
from cfngen.synth._stack import NestedStack

StackBuilder = Callable[[Blueprint], Iterable[NestedStack]]

STACK_BUILDERS: tuple[StackBuilder, ...] = (
    keys.stacks,
    network.stacks,
    registry.stacks,
    image_cache.stacks,
    database.stacks,
    cluster.stacks,
    database_users.stacks,
    load_balancer.stacks,
    service.stacks,
    pipeline.stacks,
    monitoring.stacks,
)

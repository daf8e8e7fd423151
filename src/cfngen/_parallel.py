"""Work spread over the machine's cores by worker processes (forked where that is safe, else spawned), and the
garbage collector kept off the objects that work makes to keep.

Forked workers inherit what the parent has loaded (cfn-lint's rules, the
templates to render) instead of loading or receiving it again; the parent's
heap is frozen while they fork, so their collectors do not walk (and copy) it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def fork_is_safe() -> bool:
    """Linux, and no other thread a fork could catch holding a lock."""
    import threading

    return sys.platform.startswith("linux") and threading.active_count() == 1


def pool_context() -> BaseContext:
    """Fork where it is safe, else spawn."""
    import multiprocessing

    return multiprocessing.get_context("fork" if fork_is_safe() else "spawn")


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Every object alive now out of the collector's reach while the block runs (for the workers forked in it).

    A program that froze its own heap keeps it as it is: unfreezing afterwards would thaw its objects too.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off while the block runs, then as it was, with what the block made in its oldest generation.

    For blocks that make many objects that outlive them and little garbage (cfn-lint's rules, a blueprint's
    templates): collections meanwhile would walk them again and again, the more often the more there are
    (synthesis grew faster than the services), and so would the young collections after the block (a tenth
    of a second for cfn-lint's). Freezing and unfreezing moves everything alive to the oldest generation at
    once, walking nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():  # unfreezing would thaw what the program froze itself
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()

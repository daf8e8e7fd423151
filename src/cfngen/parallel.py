"""Work spread over the machine's cores by worker processes: forked where that is safe, else spawned.

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

"""Waiting on CloudFormation: stream new stack events (nested stacks too), show progress, find the root cause.

The waiting loop is ours rather than a boto3 waiter so that it can print each event as it
arrives, give up after a configurable time with a clear message, and, on a rollback, name
the first resource that failed in the deepest stack instead of the wrapper messages
("Embedded stack ... was not successfully created") that the parents repeat.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol, TypeVar

from cfngen._text import visible
from cfngen.facts.resource_types import NESTED_STACK

T = TypeVar("T")
# Reasons a parent (or a sibling) gives when a failure started elsewhere.
CASCADE_REASONS = (
    "Embedded stack",
    "Resource creation cancelled",
    "Resource update cancelled",
    "The following resource(s) failed",
    "Resource deletion cancelled",
)
PLAIN_HEARTBEAT_S = 30.0
SPINNER_AFTER_S = 1.0
# Waiting backs off: each poll waits BACKOFF times longer than the last, up to MAX_BACKOFF times the first
# interval (5 s -> 20 s on AWS), which keeps a long deploy well under CloudFormation's API rate limits.
BACKOFF = 1.5
MAX_BACKOFF = 4.0


@dataclass(frozen=True)
class StackEvent:
    """One stack event, from the root stack or a nested one."""

    event_id: str
    stack_name: str
    logical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> StackEvent:
        """A DescribeStackEvents entry."""
        return cls(
            event_id=raw["EventId"],
            stack_name=raw.get("StackName", ""),
            logical_id=raw.get("LogicalResourceId", ""),
            resource_type=raw.get("ResourceType", ""),
            status=raw.get("ResourceStatus", ""),
            reason=raw.get("ResourceStatusReason", "") or "",
            timestamp=raw["Timestamp"],
        )

    @property
    def failed(self) -> bool:
        """True for a *_FAILED event."""
        return self.status.endswith("_FAILED")

    def __str__(self) -> str:
        reason = f"  {self.reason}" if self.reason else ""
        return (
            f"{self.timestamp:%H:%M:%S} {self.stack_name} {self.logical_id} {self.resource_type} {self.status}{reason}"
        )


def root_cause(events: list[StackEvent]) -> StackEvent | None:
    """The first failure that is not a parent or a sibling reporting somebody else's failure."""
    failed = [event for event in events if event.failed]
    own = [
        event
        for event in failed
        if event.resource_type != NESTED_STACK and not any(marker in event.reason for marker in CASCADE_REASONS)
    ]
    candidates = own or failed
    return min(candidates, key=lambda event: event.timestamp) if candidates else None


class Progress(Protocol):
    """Where the waiting loop reports: new events and how long it has waited for what."""

    def event(self, event: StackEvent) -> None:
        """A new stack event arrived."""

    def waiting(self, what: str, elapsed_s: float) -> None:
        """Still waiting for `what`."""

    def done(self) -> None:
        """The wait is over."""


class ConsoleProgress:
    """Events as lines on a stream; while waiting longer than a second, a live status line on a terminal
    (rich), or a plain heartbeat line every 30 s elsewhere (CI logs)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._status: Any = None
        self._console: Any = None
        self._last_heartbeat = 0.0
        if self._stream.isatty():
            from rich.console import Console

            self._console = Console(file=self._stream, highlight=False)

    def event(self, event: StackEvent) -> None:
        """Print the event on its own line (above the live status, if any). Its reason is AWS's text, which often
        quotes a value from the template: control characters and line breaks show as escapes."""
        line = visible(str(event))
        if self._console is not None:
            self._console.print(line, markup=False)
        else:
            print(line, file=self._stream, flush=True)

    def waiting(self, what: str, elapsed_s: float) -> None:
        """Show or refresh the status after the first second."""
        if elapsed_s < SPINNER_AFTER_S:
            return
        text = visible(f"{what} ({elapsed_s:.0f} s)")
        if self._console is not None:
            if self._status is None:
                self._status = self._console.status(text)
                self._status.start()
            else:
                self._status.update(text)
        elif elapsed_s - self._last_heartbeat >= PLAIN_HEARTBEAT_S:
            self._last_heartbeat = elapsed_s
            print(f"waiting: {text}", file=self._stream, flush=True)

    def done(self) -> None:
        """Remove the live status."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        self._last_heartbeat = 0.0


class SilentProgress:
    """Reports nothing (library use without a console)."""

    def event(self, event: StackEvent) -> None:
        """Ignore."""

    def waiting(self, what: str, elapsed_s: float) -> None:
        """Ignore."""

    def done(self) -> None:
        """Ignore."""


def poll(
    check: Callable[[float], T | None],
    *,
    what: str,
    timeout_s: float,
    interval_s: float,
    progress: Progress,
    on_timeout: Callable[[], Exception],
) -> T:
    """Call `check(elapsed)` until it returns a value, first after `interval_s`, then backing off up to
    MAX_BACKOFF times that; raise on_timeout() after `timeout_s`."""
    started = time.monotonic()
    wait = interval_s
    elapsed = 0.0
    try:
        while True:
            result = check(elapsed)
            if result is not None:
                return result
            elapsed = time.monotonic() - started
            if elapsed < timeout_s:
                progress.waiting(what, elapsed)
                time.sleep(min(wait, timeout_s - elapsed))
                wait = min(wait * BACKOFF, interval_s * MAX_BACKOFF)
                elapsed = time.monotonic() - started
            # No check once the time is up: with a command's deadline, its call would be refused unsent, and the
            # user would read about that call instead of what was being waited for.
            if elapsed >= timeout_s:
                raise on_timeout()
    finally:
        progress.done()


class EventWatcher:
    """New events of a stack and of every stack nested in it, oldest first.

    Each poll reads the root's events and its nested stacks' statuses (from the parent's resource
    list), then only the nested stacks that are in progress or changed status since the last poll:
    a one-service change on 30 services reads a handful of stacks, not all of them.
    """

    def __init__(self, cloudformation: Any, stack_id: str) -> None:
        self._cloudformation = cloudformation
        self._stack_id = stack_id
        self._seen: set[str] = set()
        self._statuses: dict[str, str] = {}
        self._cutoff: datetime | None = None
        self.events: list[StackEvent] = []

    def mark_seen(self) -> None:
        """Report nothing that exists now: every event up to the root's newest one is old.

        The root's last event (its *_COMPLETE) comes after every event of the stacks nested in it, so
        one call marks the whole tree instead of two calls per nested stack.
        """
        newest = next(self._newest_first(self._stack_id), None)
        if newest is not None:
            self._seen.add(newest.event_id)
            self._cutoff = newest.timestamp

    def poll(self) -> list[StackEvent]:
        """Events that arrived since the last call (or since mark_seen)."""
        new: list[StackEvent] = []
        pending = [self._stack_id]
        while pending:
            stack = pending.pop(0)
            for event in self._newest_first(stack):
                if event.event_id in self._seen or (self._cutoff is not None and event.timestamp <= self._cutoff):
                    break
                self._seen.add(event.event_id)
                new.append(event)
            for child, status in self._children(stack):
                if status.endswith("_IN_PROGRESS") or self._statuses.get(child) != status:
                    pending.append(child)
                self._statuses[child] = status
        new.sort(key=lambda event: event.timestamp)
        self.events.extend(new)
        return new

    def stacks(self) -> Iterator[str]:
        """The stack and every stack nested in it (ids or names), parents first."""
        pending = [self._stack_id]
        while pending:
            stack = pending.pop(0)
            yield stack
            for child, status in self._children(stack):
                self._statuses[child] = status
                pending.append(child)

    def _children(self, stack: str) -> list[tuple[str, str]]:
        """(id, status) of every stack nested directly in `stack`."""
        from botocore.exceptions import ClientError

        paginator = self._cloudformation.get_paginator("list_stack_resources")
        try:
            return [
                (resource["PhysicalResourceId"], str(resource.get("ResourceStatus", "")))
                for page in paginator.paginate(StackName=stack)
                for resource in page.get("StackResourceSummaries", [])
                if resource.get("ResourceType") == NESTED_STACK and resource.get("PhysicalResourceId")
            ]
        except ClientError:
            return []  # a nested stack deleted while we looked: its events went with it

    def _newest_first(self, stack: str) -> Iterator[StackEvent]:
        from botocore.exceptions import ClientError

        paginator = self._cloudformation.get_paginator("describe_stack_events")
        try:
            for page in paginator.paginate(StackName=stack):
                for raw in page.get("StackEvents", []):
                    yield StackEvent.from_api(raw)
        except ClientError:
            return

"""The boundary between cfngen and botocore: clients with retries, and every AWS error as a cfngen error.

botocore raises from several families (ClientError, BotoCoreError and its many children, and
ResponseParserError, which derives from neither), and most of them do not say which call
failed. :class:`Calls` watches the clients' requests, so that :meth:`Calls.translated` can name
the operation, the endpoint and the HTTP status in one message with an exit code, never a traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cfngen.errors import CfngenError, DeployError, TimedOut, UsageError

# botocore's adaptive mode retries throttling and transient errors with back-off; AWS_MAX_ATTEMPTS (attempts in all,
# as the AWS SDKs count them) overrides.
MAX_ATTEMPTS = 10
# botocore's default connect and read timeouts (60 s each): the most one attempt waits, unless the deployer's
# timeout shared over the attempts is less; never less than MIN_CALL_TIMEOUT_S, which a busy endpoint (or a loaded
# emulator) may need to answer. https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
MAX_CALL_TIMEOUT_S = 60.0
MIN_CALL_TIMEOUT_S = 5.0
EMULATOR_HINT = "or use --local / AWS_ENDPOINT_URL for an emulator"


def retries() -> dict[str, Any]:
    """botocore's retry configuration: adaptive mode, AWS_MAX_ATTEMPTS attempts when set, else MAX_ATTEMPTS."""
    configured = os.environ.get("AWS_MAX_ATTEMPTS", "")
    return {"mode": "adaptive", "max_attempts": int(configured) if configured.isdigit() else MAX_ATTEMPTS}


def client_limits(timeout_s: float) -> dict[str, Any]:
    """botocore Config arguments: retries, and connect/read timeouts so that every attempt of a call on a frozen
    endpoint together end within `timeout_s`, or MIN_CALL_TIMEOUT_S if that is longer (10 attempts x 60 s would
    be ten minutes)."""
    retry = retries()
    attempts = min(int(retry["max_attempts"]), max(1, int(timeout_s // MIN_CALL_TIMEOUT_S)))
    per_call = min(MAX_CALL_TIMEOUT_S, max(MIN_CALL_TIMEOUT_S, timeout_s / attempts))
    # botocore's "max_attempts" counts retries after the first attempt; "total_max_attempts" counts them all.
    return {
        "retries": {"mode": retry["mode"], "total_max_attempts": attempts},
        "connect_timeout": per_call,
        "read_timeout": per_call,
    }


class Deadline:
    """The end of a command's time budget (--timeout): every wait, poll and AWS call of the command takes what
    remains, so the command as a whole ends within the budget (plus at most one call's MIN_CALL_TIMEOUT_S)."""

    def __init__(self, budget_s: float, *, started: float | None = None) -> None:
        """`started`: when the command began, a time.monotonic() value (default: now)."""
        self.budget_s = budget_s
        self._ends = (time.monotonic() if started is None else started) + budget_s

    def remaining_s(self) -> float:
        """Seconds left; zero or less once the budget is used up."""
        return self._ends - time.monotonic()

    def used_up(self, doing: str) -> TimedOut:
        """The error for `doing` once the budget is used up."""
        return TimedOut(f"--timeout of {self.budget_s:g} s used up {doing}")


@dataclass
class Call:
    """One AWS request: which operation, on which endpoint, and the HTTP status of its answer (0: none yet)."""

    service: str = ""
    operation: str = ""
    endpoint: str = ""
    status: int = 0

    def __str__(self) -> str:
        return f"{self.service} {self.operation}".strip() or "an AWS call"


class Calls:
    """The last request the watched clients made; translated() turns an error raised meanwhile into a CfngenError.

    Given a deadline, no request starts after it, none is retried after it, and each waits for its answer only as
    long as the deadline leaves (botocore's per-request read timeout; never less than MIN_CALL_TIMEOUT_S).
    """

    def __init__(self, deadline: Deadline | None = None) -> None:
        self.last = Call()
        self.count = 0
        self.deadline = deadline

    def client(self, session: Any, service: str, config: Any) -> Any:
        """A boto3 client of `session` whose requests are watched; UsageError for an endpoint URL that is no URL."""
        try:
            client = session.client(service, config=config)
        except ValueError as exc:  # botocore's "Invalid endpoint: <url>" (AWS_ENDPOINT_URL or the config file)
            raise UsageError(f"cannot make an AWS {service} client: {exc}") from None
        endpoint = str(client.meta.endpoint_url)

        def started(model: Any, **_: Any) -> None:
            self.last = Call(model.service_model.service_id, model.name, endpoint)

        def sent(request: Any, **_: Any) -> None:
            if self.deadline is not None:
                remaining = self.deadline.remaining_s()
                if remaining <= 0:
                    attempt = int(request.context.get("retries", {}).get("attempt", 1))
                    earlier = f"attempt {attempt} of {self.last} (the earlier ones got no answer)"
                    raise self.deadline.used_up(f"before {earlier if attempt > 1 else self.last}")
                # botocore (1.44 and later) takes a read timeout for one request from the request's context.
                limit = min(client.meta.config.read_timeout, max(remaining, MIN_CALL_TIMEOUT_S))
                request.context["read_timeout"] = limit
            self.count += 1  # every HTTP request, retries included (before-call fires once per call)

        def retry_allowed(**_: Any) -> bool | None:
            # False stops botocore's retries (the first answer that is not None decides); None lets them decide.
            return False if self.deadline is not None and self.deadline.remaining_s() <= 0 else None

        def answered(response_dict: Any, **_: Any) -> None:
            self.last.status = int(response_dict.get("status_code", 0))

        client.meta.events.register("before-call", started)
        client.meta.events.register("before-parse", answered)
        client.meta.events.register("before-send", sent)
        client.meta.events.register_first("needs-retry", retry_allowed)
        return client

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Run the block; any botocore error leaves it as a DeployError (or UsageError) that names the call."""
        try:
            yield
        except CfngenError:
            raise
        except Exception as exc:
            error = translate(exc, self.last)
            if error is None:
                raise
            if self.deadline is not None and self.deadline.remaining_s() <= 0 and _unanswered(exc):
                raise self.deadline.used_up(f"waiting for {self.last} at {self.last.endpoint}: {exc}") from None
            raise error from None


def _unanswered(exc: Exception) -> bool:
    """True for botocore's errors of a call that got no answer (connection failed, timed out)."""
    from botocore.exceptions import ConnectionError, HTTPClientError

    return isinstance(exc, (ConnectionError, HTTPClientError))


def translate(exc: Exception, call: Call) -> CfngenError | None:
    """The cfngen error for a botocore exception raised by `call`; None for anything else."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
        WaiterError,
    )
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return DeployError(
            f"AWS refused {call.service} {exc.operation_name}: "
            f"{error.get('Code', '?')}: {error.get('Message', 'no message')}"
        )
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return UsageError(
            f"{exc} for {call}: configure AWS credentials (a profile, AWS_ACCESS_KEY_ID ...), {EMULATOR_HINT}"
        )
    if isinstance(exc, NoRegionError):
        return UsageError(f"{exc}: pass --region or set AWS_REGION")
    if isinstance(exc, ProfileNotFound):
        return UsageError(f"{exc}: set AWS_PROFILE to a profile of your AWS configuration")
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return DeployError(f"cannot reach AWS for {call} at {call.endpoint or 'its endpoint'}: {exc}")
    if isinstance(exc, ResponseParserError):
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return DeployError(
            f"{call} failed: {call.endpoint} answered HTTP {call.status or '?'} with something that "
            f"is not an AWS response ({first_line}); an AWS emulator answers so when it fails on a "
            "request (its own log shows why)"
        )
    if isinstance(exc, WaiterError):
        return DeployError(f"waiting for {call} failed: {exc}")
    if isinstance(exc, BotoCoreError):
        return DeployError(f"{call} failed: {exc}")
    return None

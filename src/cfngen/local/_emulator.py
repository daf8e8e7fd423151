"""The embedded AWS emulator: moto in server mode on a loopback port, with cfngen's corrections to moto
(:mod:`cfngen.local.patches`, applied when the emulator starts, never on import) and a guard against web pages
(:mod:`cfngen.local._guard`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from cfngen.local import patches
from cfngen.local._guard import Guard
from cfngen.local.patches import resource_handlers
from cfngen.local.patches._support import (
    ATTRIBUTE_PREFIX,
    ATTRIBUTE_REASON,
    EMULATOR_FAILURE,
    EMULATOR_FAILURE_MESSAGE,
    STAND_IN_MARK,
)

__all__ = [
    "ATTRIBUTE_REASON",
    "EMULATOR_FAILURE",
    "EMULATOR_FAILURE_MESSAGE",
    "FAKE_CREDENTIALS",
    "LOOPBACK",
    "LocalAws",
    "environment",
    "require_moto",
    "stand_ins",
    "summary",
]

LOOPBACK = "127.0.0.1"
# moto resolves S3 template URLs by host name: "localhost" is path-style, "127..." would be read as a bucket.
URL_HOST = "localhost"
POLL_S = 0.2  # the emulator settles at once; no need to wait AWS's 5 s between polls
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "cfngen-local", "AWS_SECRET_ACCESS_KEY": "cfngen-local"}


def stand_ins(region: str) -> dict[str, list[str]]:
    """Resource type -> `stack: logical id` of every resource the emulator (in this process) only stands in for,
    or `stack: logical id.attribute` where only that attribute's value is a placeholder."""
    from moto.cloudformation.models import cloudformation_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    found: dict[str, set[str]] = {}
    for stack in cloudformation_backends[DEFAULT_ACCOUNT_ID][region].stacks.values():
        for event in stack.events:
            reason = event.resource_status_reason or ""
            if STAND_IN_MARK in reason:
                attribute = reason.split()[1] if reason.startswith(ATTRIBUTE_PREFIX) else ""
                found.setdefault(event.resource_type, set()).add(
                    f"{stack.name}: {event.logical_resource_id}" + (f".{attribute}" if attribute else "")
                )
    return {resource_type: sorted(where) for resource_type, where in sorted(found.items())}


def require_moto() -> None:
    """UsageError when moto (the `local` extra) is not installed."""
    import importlib.util

    if importlib.util.find_spec("moto") is None:
        from cfngen.errors import UsageError

        raise UsageError("the local AWS emulator needs moto: pip install 'cfngen[local]'")


class LocalAws:
    """moto in server mode on a loopback port, with cfngen's corrections and the guard; a context manager.

    `management` serves moto's /moto-api endpoints (state dump, reset, recorder); `lambda_docker` lets moto run
    Lambda functions (and Batch jobs) in Docker. Both are off unless asked for: any web page can reach a port on
    127.0.0.1.
    """

    def __init__(self, port: int = 0, *, management: bool = False, lambda_docker: bool = False) -> None:
        from moto.core.config import default_user_config

        patches.apply()
        # Request lines and moto's "no support for <type>" warnings would drown the deploy output;
        # what the emulator only stands in for is reported by stand_ins() and by the placeholders' events.
        for logger in ("werkzeug", "moto"):
            logging.getLogger(logger).setLevel(logging.ERROR)
        for service in ("lambda", "batch"):  # moto's documented switch to its Docker-free models
            default_user_config.setdefault(service, {})["use_docker"] = lambda_docker  # type: ignore[misc]
        self._port = port
        self._management = management
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving; returns the endpoint URL (`http://localhost:<port>`). UsageError when the port is taken."""
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        _check_free(self._port)
        application = Guard(DomainDispatcherApplication(create_backend_app), management=self._management)
        self._server = make_server(LOOPBACK, self._port, application, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="cfngen-local-aws", daemon=True)
        self._thread.start()
        resource_handlers.serve_from(self.endpoint_url)
        return self.endpoint_url

    @property
    def endpoint_url(self) -> str:
        """What AWS_ENDPOINT_URL must be for boto3 (and the aws CLI) to reach this emulator."""
        return f"http://{URL_HOST}:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Forget every resource (in this process: the management endpoint that does it is off)."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()

    def stop(self) -> None:
        """Stop serving."""
        if self._thread is not None:
            resource_handlers.stop_serving(self.endpoint_url)
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._thread = None

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _check_free(port: int) -> None:
    """UsageError when `port` is taken on the loopback address (moto's server thread would die, and start() hang)."""
    from cfngen.errors import UsageError

    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no obstacle
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            raise UsageError(
                f"cannot serve the local AWS emulator on {LOOPBACK}:{port}: {exc.strerror}; "
                "pick another --port (or 0 for any free one)"
            ) from None


@contextmanager
def environment(endpoint_url: str, region: str) -> Iterator[dict[str, str]]:
    """Point boto3 at `endpoint_url` with fake credentials while the block runs; restores the environment."""
    values = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region}
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def summary(missing: Mapping[str, Iterable[str]]) -> str:
    """The lines that tell a user what the emulator did not really create."""
    if not missing:
        return "the local emulator created every resource"
    lines = ["not emulated (placeholders or placeholder attribute values; on AWS they are real):"]
    lines += [f"  {resource_type}: {', '.join(where)}" for resource_type, where in missing.items()]
    return "\n".join(lines)

"""What stands between a web page and the emulator: the emulator listens on the developer's machine, and any page
the developer opens can send it requests (issue 21).

- Host header: only ``localhost`` (and ``<bucket>.localhost``), ``127.0.0.1`` and ``[::1]``, with any port. A page of
  ``attacker.example`` whose name the attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name, and is
  refused, so it cannot read the answers.
- No CORS headers: moto adds ``Access-Control-Allow-Origin: *`` to every answer, which lets any page read them; the
  guard removes every ``Access-Control-*`` header and refuses CORS preflights.
- moto's management endpoints (``/moto-api/``: the state dump holding parameter values and secrets, reset, the
  request recorder, configuration) answer 404 unless the emulator is started with them (``management=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
MANAGEMENT_PREFIX = "/moto-api"
HOST_REFUSED = "the local AWS emulator answers only requests addressed to localhost or 127.0.0.1"
MANAGEMENT_REFUSED = "moto's management endpoints are off (cfngen local-aws --management turns them on)"
PREFLIGHT_REFUSED = "the local AWS emulator does not answer cross-origin requests"


def allowed_host(host: str) -> bool:
    """Whether a Host header names the loopback interface (any port)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower()
    return name in ALLOWED_HOSTS or name.endswith(".localhost")


class Guard:
    """WSGI middleware around moto's application."""

    def __init__(self, app: Callable[..., Iterable[bytes]], management: bool) -> None:
        self._app = app
        self._management = management

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not allowed_host(environ.get("HTTP_HOST", "")):
            return _refuse(start_response, "403 Forbidden", HOST_REFUSED)
        if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ORIGIN" in environ:
            return _refuse(start_response, "403 Forbidden", PREFLIGHT_REFUSED)
        if not self._management and str(environ.get("PATH_INFO", "")).startswith(MANAGEMENT_PREFIX):
            return _refuse(start_response, "404 Not Found", MANAGEMENT_REFUSED)

        def without_cors(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            kept = [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]
            return start_response(status, kept, *exc_info)

        return self._app(environ, without_cors)


def _refuse(start_response: Callable[..., Any], status: str, message: str) -> Iterable[bytes]:
    body = (message + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]

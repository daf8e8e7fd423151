"""Every botocore error leaves the deployer as a cfngen error: a message naming the call, an exit code, no traceback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
    WaiterError,
)
from botocore.parsers import ResponseParserError

from cfngen import DeployError
from cfngen.cli import main
from cfngen.deploy._aws import Call, retries, translate
from cfngen.errors import CfngenError, UsageError
from cfngen.local import LocalAws
from tests.conftest import ROOT

MINIMAL = str(ROOT / "tests" / "blueprints" / "minimal.yaml")
DESCRIBE = Call("CloudFormation", "DescribeStacks", "http://localhost:9", 500)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _InternalError(BaseHTTPRequestHandler):
    """What a web server (or a crashed emulator) answers: an HTML page with status 500."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<!doctype html>\n<title>500 Internal Server Error</title>\n"
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def not_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An endpoint that answers every request with HTTP 500 and an HTML page."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _InternalError)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://localhost:{server.server_address[1]}"
    _point_at(monkeypatch, endpoint)
    yield endpoint
    server.shutdown()
    server.server_close()


def _point_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # nothing to gain from retrying here; AWS gets ten
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip()


def test_an_endpoint_nothing_listens_on(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"http://localhost:{_free_port()}"
    _point_at(monkeypatch, endpoint)
    code, err = _error_of(["bootstrap", "--region", "us-west-2"], capsys)
    assert code == 1
    assert err.startswith(
        f"cfngen: error: cannot reach AWS for CloudFormation DescribeStacks at {endpoint}: "
        "Could not connect to the endpoint URL"
    )


def test_an_answer_that_is_not_aws_names_the_call_and_the_status(
    not_aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _error_of(["bootstrap", "--region", "us-west-2"], capsys)
    assert code == 1
    assert err.startswith(
        f"cfngen: error: CloudFormation DescribeStacks failed: {not_aws} answered HTTP 500 with "
        "something that is not an AWS response (Unable to parse response"
    )


def test_an_aws_error_names_the_operation_and_the_code(aws: LocalAws, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _error_of(["plan", MINIMAL, "--bucket", "no-such-bucket"], capsys)
    assert code == 1
    assert err.startswith("cfngen: error: AWS refused S3 PutObject: NoSuchBucket: The specified bucket does not exist")


def test_no_credentials_is_bad_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _point_at(monkeypatch, f"http://localhost:{_free_port()}")
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(key, raising=False)
    for key in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(key, "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, err = _error_of(["bootstrap", "--region", "us-west-2"], capsys)
    assert code == 2
    assert err.startswith(
        "cfngen: error: Unable to locate credentials for CloudFormation DescribeStacks: configure AWS credentials"
    )


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("AWS_PROFILE", "no-such-profile", "The config profile (no-such-profile) could not be found"),
        ("AWS_ENDPOINT_URL", "not a url", "cannot make an AWS cloudformation client: Invalid endpoint: not a url"),
    ],
)
def test_a_bad_aws_configuration_is_bad_input(
    variable: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _point_at(monkeypatch, f"http://localhost:{_free_port()}")
    monkeypatch.setenv(variable, value)
    code, err = _error_of(["bootstrap", "--region", "us-west-2"], capsys)
    assert (code, err.startswith(f"cfngen: error: {message}")) == (2, True), err


@pytest.mark.parametrize(
    "raised, kind, message",
    [
        (
            ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"),
            DeployError,
            "AWS refused CloudFormation DescribeStacks: Throttling: Rate exceeded",
        ),
        (
            EndpointConnectionError(endpoint_url="http://localhost:9/"),
            DeployError,
            "cannot reach AWS for CloudFormation DescribeStacks at http://localhost:9",
        ),
        (
            ReadTimeoutError(endpoint_url="http://localhost:9/"),
            DeployError,
            "cannot reach AWS for CloudFormation DescribeStacks at http://localhost:9: Read timeout",
        ),
        (
            ResponseParserError("Unable to parse response (syntax error), invalid XML received.\nb'<html>'"),
            DeployError,
            "CloudFormation DescribeStacks failed: http://localhost:9 answered HTTP 500 with something that is not an AWS "
            "response (Unable to parse response (syntax error), invalid XML received.)",
        ),
        (
            WaiterError(name="StackCreateComplete", reason="Max attempts exceeded", last_response={}),
            DeployError,
            "waiting for CloudFormation DescribeStacks failed: Waiter StackCreateComplete failed: Max attempts exceeded",
        ),
        (NoCredentialsError(), UsageError, "Unable to locate credentials for CloudFormation DescribeStacks"),
        (NoRegionError(), UsageError, "You must specify a region.: pass --region or set AWS_REGION"),
        (ProfileNotFound(profile="ci"), UsageError, "The config profile (ci) could not be found"),
    ],
)
def test_each_botocore_error_family_becomes_a_cfngen_error(
    raised: Exception, kind: type[CfngenError], message: str
) -> None:
    error = translate(raised, DESCRIBE)
    assert type(error) is kind
    assert str(error).startswith(message)


def test_anything_else_is_not_an_aws_error() -> None:
    assert translate(KeyError("x"), DESCRIBE) is None


def test_retries_are_adaptive_and_aws_max_attempts_bounds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    assert retries() == {"mode": "adaptive", "max_attempts": 10}
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    assert retries() == {"mode": "adaptive", "max_attempts": 3}

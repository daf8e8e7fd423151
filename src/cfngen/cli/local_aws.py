"""`cfngen local-aws`: run the embedded AWS emulator (moto plus cfngen's extensions) on a loopback port."""

from __future__ import annotations

import argparse
import contextlib
import threading
from typing import Any

from cfngen import local as local_aws
from cfngen.cli import output


def register(commands: Any) -> None:
    """Add the local-aws command."""
    parser = commands.add_parser(
        "local-aws",
        help="run the embedded AWS emulator until interrupted",
        description="Serve moto (with cfngen's corrections) on 127.0.0.1 and print the environment that points boto3, "
        "the aws CLI and every cfngen command at it. State lives in memory. It answers only requests "
        "addressed to localhost or 127.0.0.1, sends no CORS headers, and keeps moto's management "
        "endpoints and Lambda execution off unless asked for.",
    )
    parser.add_argument("--port", type=_port, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--region", default="us-east-1", help="AWS_DEFAULT_REGION to print (default: us-east-1)")
    parser.add_argument(
        "--management",
        action="store_true",
        help="also serve moto's /moto-api endpoints (state dump with parameter values, reset, request "
        "recorder); any web page you open can reach them",
    )
    parser.add_argument(
        "--lambda-docker",
        action="store_true",
        help="let moto run Lambda functions (and Batch jobs) in Docker containers where Docker exists",
    )
    parser.set_defaults(run=run)


def _port(text: str) -> int:
    """A TCP port number, 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 (any free port) to 65535, found {text!r}")
    return int(text)


def run(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or until `stop` is set, for tests)."""
    local_aws.require_moto()
    with local_aws.LocalAws(port=args.port, management=args.management, lambda_docker=args.lambda_docker) as aws:
        output.say(
            f"local AWS emulator listening; point your shell at it with:\n"
            f"  export AWS_ENDPOINT_URL={aws.endpoint_url}\n"
            + "".join(f"  export {key}={value}\n" for key, value in sorted(local_aws.FAKE_CREDENTIALS.items()))
            + f"  export AWS_DEFAULT_REGION={args.region}\n"
            f"then: cfngen bootstrap --region {args.region}   (Ctrl-C stops the emulator and forgets everything)"
        )
        with contextlib.suppress(KeyboardInterrupt):
            (stop or threading.Event()).wait()
    return 0

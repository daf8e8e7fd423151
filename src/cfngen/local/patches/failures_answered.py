"""Where moto itself fails on a request, the answer is an AWS-shaped, not retried error naming the failure.

Emulator: moto answers HTTP 500 with an HTML page that no AWS client can read, and botocore retries it.
AWS: errors are answered in the service's protocol with a code and a message
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html); the emulator answers code
``EmulatorFailure`` (a sender error, not retried), whose message is moto's exception.
Test: tests/test_local_aws.py::test_a_request_moto_fails_on_gets_an_aws_error_naming_the_failure
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target
from cfngen.local.patches._support import EMULATOR_FAILURE, EMULATOR_FAILURE_MESSAGE

TARGETS = (Target("moto.core.responses:BaseResponse.call_action", "33ccca5a96e6eda6"),)


def apply() -> None:
    """Wrap moto's handling of one request."""
    from moto.core.responses import BaseResponse

    setattr(BaseResponse, "call_action", _failures_answered(BaseResponse.call_action))


def _failures_answered(call_action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class EmulatorFailure(ServiceException):
        """Defined outside moto's packages, so that moto serializes it in the protocol of the failed request."""

        code = EMULATOR_FAILURE

    def answered(response: Any) -> Any:
        try:
            return call_action(response)
        except Exception as exc:
            failure = EmulatorFailure(EMULATOR_FAILURE_MESSAGE.format(error=f"{type(exc).__name__}: {exc}"[:500]))
            with warnings.catch_warnings():  # that no AWS service model knows this error code: none does, on purpose
                warnings.simplefilter("ignore")
                return response.serialized(ActionResult(failure))

    return answered

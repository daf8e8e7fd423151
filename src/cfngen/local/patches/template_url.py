"""A TemplateURL that names no object is refused: a request with it is a ValidationError, a nested stack with it
fails, naming the URL.

Emulator: moto reads the missing object as ``None`` and fails with "AttributeError: 'NoneType' object has no
attribute 'value'" (HTTP 500, or a nested stack failure that names neither the template nor the reason).
AWS: "TemplateURL must reference a valid S3 object to which you have access."
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html#API_CreateChangeSet_RequestParameters).
Test: tests/test_local_aws.py::test_a_nested_stack_whose_template_is_missing_fails_naming_it
"""

from __future__ import annotations

from collections.abc import Callable

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.cloudformation.utils:get_stack_from_s3_url", "cbefd272145adb46"),
    Target("moto.cloudformation.models:get_stack_from_s3_url", "cbefd272145adb46"),
    Target("moto.cloudformation.responses:get_stack_from_s3_url", "cbefd272145adb46"),
)
MESSAGE = "TemplateURL {url} must reference a valid S3 object to which you have access."


class TemplateNotFound(Exception):
    """A nested stack's template is not there (the nested stack fails with this reason)."""


def apply() -> None:
    """Requests (responses) refuse; nested stacks (models, and utils where the in-place update reads it) fail."""
    from moto.cloudformation import models, responses, utils
    from moto.cloudformation.exceptions import ValidationError

    read = utils.get_stack_from_s3_url
    setattr(
        responses, "get_stack_from_s3_url", _checked(read, lambda url: ValidationError(message=MESSAGE.format(url=url)))
    )
    for module in (models, utils):
        setattr(module, "get_stack_from_s3_url", _checked(read, lambda url: TemplateNotFound(MESSAGE.format(url=url))))


def _checked(read: Callable[..., str], error: Callable[[str], Exception]) -> Callable[..., str]:
    def read_or_refuse(template_url: str, account_id: str, partition: str) -> str:
        try:
            return read(template_url, account_id=account_id, partition=partition)
        except Exception as exc:
            # moto has no such bucket or key (None.value, an S3 error, a URL it cannot split)
            raise error(template_url) from exc

    return read_or_refuse

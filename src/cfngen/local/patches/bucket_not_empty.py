"""A stack's bucket that still holds objects fails to delete, as on AWS.

Emulator: moto's CloudFormation delete of a bucket with objects silently keeps it, and the stack reported it deleted.
AWS: CloudFormation deletes only empty buckets; a bucket with objects is DELETE_FAILED ("The bucket you tried to
delete is not empty") and so is its stack
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucket.html).
Test: tests/test_local_aws.py::test_a_resource_that_fails_to_delete_leaves_the_stack_delete_failed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.s3.models:FakeBucket.delete_from_cloudformation_json", "2ed1592b30243a0f"),)


def apply() -> None:
    """Wrap the bucket's CloudFormation delete."""
    from moto.s3 import models

    setattr(
        models.FakeBucket,
        "delete_from_cloudformation_json",
        classmethod(_refused_when_not_empty(vars(models.FakeBucket)["delete_from_cloudformation_json"].__func__)),
    )


def _refused_when_not_empty(delete: Callable[..., None]) -> Callable[..., None]:
    def delete_if_empty(
        bucket_class: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.s3.exceptions import BucketNotEmpty
        from moto.s3.models import s3_backends
        from moto.utilities.utils import get_partition

        backend = s3_backends[account_id][get_partition(region_name)]
        if resource_name in backend.buckets and backend.buckets[resource_name].keys:
            raise BucketNotEmpty(resource_name)
        delete(bucket_class, resource_name, cloudformation_json, account_id, region_name)

    return delete_if_empty

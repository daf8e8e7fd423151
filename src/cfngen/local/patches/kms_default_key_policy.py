"""A KMS key declared without ``KeyPolicy`` gets KMS's default key policy.

Emulator: moto's CloudFormation model of AWS::KMS::Key reads ``KeyPolicy`` as required, so such a key failed
(KeyError) and its stack rolled back.
AWS: ``KeyPolicy`` is optional; without it the key gets the default key policy, which gives the account (its root
principal) ``kms:*`` on the key, leaving access to IAM policies
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html#cfn-kms-key-keypolicy,
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html); moto's own CreateKey writes that
policy when none is given, so the key is created as CreateKey would create it.
Test: tests/test_local_aws.py::test_a_kms_key_without_a_key_policy_gets_the_default_one
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (Target("moto.kms.models:Key.create_from_cloudformation_json", "e3409ffb6d920c81"),)


def apply() -> None:
    """Wrap the key's CloudFormation create."""
    from moto.kms import models

    create = vars(models.Key)["create_from_cloudformation_json"].__func__
    setattr(models.Key, "create_from_cloudformation_json", classmethod(_default_policy(create)))


def _default_policy(create: Callable[..., Any]) -> Callable[..., Any]:
    def create_with_default_policy(
        key_class: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if "KeyPolicy" not in properties:  # an empty policy makes moto's CreateKey write the default one
            cloudformation_json = {**cloudformation_json, "Properties": {**properties, "KeyPolicy": ""}}
        return create(key_class, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    return create_with_default_policy

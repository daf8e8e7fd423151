"""The keys stack: the customer-managed KMS key that encrypts every log group of the platform.

It comes first so every other stack can take ``LogsKmsKeyArn``. The key policy
names its administrators' actions one by one (no ``kms:*``) and lets CloudWatch
Logs use the key only for log groups of this account and region.
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import kms
from awacs.aws import Action, Allow, ArnLike, Condition, Principal, Statement
from troposphere import GetAtt, Sub, Template
from troposphere.kms import Key

from cfngen.blueprint import Blueprint
from cfngen.builders import contracts, iam
from cfngen.builders.base import add_output, new_template
from cfngen.synth._stack import NestedStack

# What the account's administrators may do with the key: manage it, never use it to decrypt.
KEY_ADMIN_ACTIONS = (
    "CancelKeyDeletion",
    "CreateAlias",
    "DeleteAlias",
    "DescribeKey",
    "DisableKey",
    "DisableKeyRotation",
    "EnableKey",
    "EnableKeyRotation",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "ListAliases",
    "ListResourceTags",
    "PutKeyPolicy",
    "ScheduleKeyDeletion",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateKeyDescription",
)


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The one keys stack."""
    yield NestedStack("keys", build(blueprint))


def build(blueprint: Blueprint) -> Template:
    """A rotating KMS key for CloudWatch Logs, exported as LogsKmsKeyArn."""
    template = new_template(blueprint, "KMS key for the platform's log groups")
    key = template.add_resource(
        Key(
            "LogsKey",
            Description=f"{blueprint.name}: encrypts the platform's CloudWatch log groups",
            EnableKeyRotation=True,
            KeyPolicy=iam.policy_document(key_administrators(), _cloudwatch_logs()),
        )
    )
    # Keys are stateful: logs encrypted with a deleted key are lost for good. Not RetainExceptOnCreate: the
    # services' and the flow logs' log groups keep Retain (their logs say why a create failed), and those logs
    # would be unreadable once a failed create had deleted their key; a key has no name to block a later create.
    key.DeletionPolicy = "Retain"
    key.UpdateReplacePolicy = "Retain"
    add_output(template, contracts.LOGS_KMS_KEY_ARN, GetAtt("LogsKey", "Arn"), "KMS key ARN for log group encryption")
    return template


def key_administrators() -> Statement:
    """Key policy statement: the account's administrators manage the key (KEY_ADMIN_ACTIONS), never use it."""
    return Statement(
        Sid="AccountAdministersTheKey",
        Effect=Allow,
        Principal=Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")]),
        Action=[Action("kms", name) for name in KEY_ADMIN_ACTIONS],
        Resource=["*"],  # in a key policy "*" means this key
    )


def _cloudwatch_logs() -> Statement:
    return Statement(
        Sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
        Effect=Allow,
        Principal=Principal("Service", [Sub("logs.${AWS::Region}.amazonaws.com")]),
        Action=[
            kms.Encrypt,
            kms.Decrypt,
            kms.ReEncryptFrom,
            kms.ReEncryptTo,
            kms.GenerateDataKey,
            kms.GenerateDataKeyWithoutPlaintext,
            kms.DescribeKey,
        ],
        Resource=["*"],  # in a key policy "*" means this key
        Condition=Condition(
            ArnLike(
                {
                    "kms:EncryptionContext:aws:logs:arn": Sub(
                        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                    ),
                }
            )
        ),
    )

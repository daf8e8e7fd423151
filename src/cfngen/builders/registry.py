"""The registry stacks: per service an ECR repository and, with the default source, a CodeCommit repository.

One stack per service, not one for the platform: five outputs per service would
pass CloudFormation's 200 outputs per stack at 40 services, and per-service
stacks can be grouped when the root outgrows its quotas (see synth.py). A
service's repositories also stay in the same stack whatever is added or removed
around them, which matters because they cannot move between stacks: they are
retained and named, so a copy in another stack would collide with the original.

Repositories hold what no template can recreate (images, history), so both
are retained when removed from the stack and refuse silent replacement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from troposphere import GetAtt, Ref, Template
from troposphere.codecommit import Repository as CodeCommitRepository
from troposphere.ecr import EncryptionConfiguration, ImageScanningConfiguration, LifecyclePolicy, Repository

from cfngen.blueprint import Blueprint, Service
from cfngen.builders import contracts
from cfngen.builders.base import RETAIN_EXCEPT_ON_CREATE, add_output, new_template, owned_name
from cfngen.synth._stack import NestedStack
from cfngen.synth.suppress import skip_check


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """One registry stack per service, `registry-<service>`."""
    for service in blueprint.services:
        yield NestedStack(f"registry-{service.name}", build(blueprint, service), service=service.name)


def build(blueprint: Blueprint, service: Service) -> Template:
    """The ECR (and CodeCommit, unless the pipeline uses a connection) repository of `service`."""
    template = new_template(blueprint, f"container image and source repositories of {service.name}")
    _add_image_repository(template, blueprint, service)
    if uses_codecommit(blueprint):
        _add_source_repository(template, blueprint, service)
    return template


def uses_codecommit(blueprint: Blueprint) -> bool:
    """True when the pipeline's source is CodeCommit (no CodeStar connection configured)."""
    return blueprint.pipeline.source.connection_arn is None


def repository_name(blueprint: Blueprint, service: Service) -> str:
    """The ECR repository name of a service: "<blueprint>/<service>"."""
    return f"{blueprint.name}/{service.name}"


def lifecycle_policy(keep_images: int) -> str:
    """ECR lifecycle policy text that keeps the newest `keep_images` images and expires the rest."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the newest {keep_images} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                    "action": {"type": "expire"},
                }
            ]
        },
        sort_keys=True,
    )


def _add_image_repository(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    repository = template.add_resource(
        Repository(
            f"{prefix}ImageRepository",
            RepositoryName=repository_name(blueprint, service),
            ImageScanningConfiguration=ImageScanningConfiguration(ScanOnPush=True),
            # Images are tagged with the commit id; immutable tags make a tag mean one image forever.
            ImageTagMutability="IMMUTABLE",
            EncryptionConfiguration=EncryptionConfiguration(EncryptionType="AES256"),
            LifecyclePolicy=LifecyclePolicy(LifecyclePolicyText=lifecycle_policy(blueprint.pipeline.keep_images)),
            # Images come from the pipeline's builds, which start once the stacks exist (a build during a create
            # that fails pushes what the source rebuilds).
            DeletionPolicy=RETAIN_EXCEPT_ON_CREATE,
            UpdateReplacePolicy="Retain",
        )
    )
    skip_check(
        repository,
        "CKV_AWS_136",
        "images are encrypted at rest with ECR's AES-256 service key; "
        "a customer-managed key would add cost and key policy coupling to every puller",
    )
    add_output(
        template, contracts.of_service(service, "RepositoryName"), Ref(repository), f"ECR repository of {service.name}"
    )
    add_output(
        template,
        contracts.of_service(service, "RepositoryArn"),
        GetAtt(repository, "Arn"),
        f"ECR repository ARN of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "RepositoryUri"),
        GetAtt(repository, "RepositoryUri"),
        f"ECR repository URI of {service.name}",
    )


def _add_source_repository(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    repository = template.add_resource(
        CodeCommitRepository(
            f"{prefix}SourceRepository",
            RepositoryName=owned_name(blueprint, service.name),
            RepositoryDescription=f"Source of {service.name} ({blueprint.name}); a push to "
            f"{blueprint.pipeline.branch} deploys it",
            # Created empty: the team pushes to it once it exists.
            DeletionPolicy=RETAIN_EXCEPT_ON_CREATE,
            UpdateReplacePolicy="Retain",
        )
    )
    add_output(
        template,
        contracts.of_service(service, "SourceRepositoryName"),
        GetAtt(repository, "Name"),
        f"CodeCommit repository of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "SourceRepositoryArn"),
        GetAtt(repository, "Arn"),
        f"CodeCommit repository ARN of {service.name}",
    )

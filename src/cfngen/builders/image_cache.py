"""The image-cache stack: ECR pull-through cache rules that the build projects pull base images through.

A build that pulls its base image from Docker Hub anonymously shares Docker Hub's rate limit with every
other anonymous client behind the same NAT address, and fetches the same layers from the internet on
every run. A pull-through cache rule makes the account's own registry a mirror: the first pull of
``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/<upstream repository>:<tag>`` fetches the image
from the upstream registry into a repository ECR creates under the prefix, later pulls are served from
ECR (and, with interface endpoints, never leave the VPC).
https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html

- ECR Public (``build.base_image_cache``, on by default) needs no credentials; it also mirrors the
  Docker official images (``public.ecr.aws/docker/library/<name>``).
- Docker Hub needs a Secrets Manager secret named ``ecr-pullthroughcache/...``; the rule exists only
  when the blueprint names one (``build.docker_hub_secret_arn``).

The build projects get each cache's address as an environment variable (:data:`REGISTRY_VARIABLES`),
the permissions to fill the cache under the prefix only (:func:`pull_statements`), and a local Docker
layer cache (:data:`LAYER_CACHE`). Rules are account- and region-wide, so the prefixes carry the
blueprint's name (:func:`cfngen.builders.contracts.pull_through_cache_prefix`).
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import ecr
from awacs.aws import Statement
from troposphere import Sub, Template
from troposphere.codebuild import EnvironmentVariable, ProjectCache
from troposphere.ecr import PullThroughCacheRule

from cfngen.blueprint import Blueprint
from cfngen.builders import contracts, iam
from cfngen.builders.base import new_template
from cfngen.synth._stack import NestedStack

# Upstream registry URLs as CreatePullThroughCacheRule takes them:
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-rule.html
UPSTREAM_URLS: dict[contracts.CacheUpstream, str] = {
    "ecr-public": "public.ecr.aws",
    "docker-hub": "registry-1.docker.io",
}
RULE_IDS: dict[contracts.CacheUpstream, str] = {
    "ecr-public": "EcrPublicPullThroughCacheRule",
    "docker-hub": "DockerHubPullThroughCacheRule",
}
# The build's environment variable naming each cache: `FROM ${BASE_IMAGE_REGISTRY}/docker/library/python:3.12`.
REGISTRY_VARIABLES: dict[contracts.CacheUpstream, str] = {
    "ecr-public": "BASE_IMAGE_REGISTRY",
    "docker-hub": "DOCKER_HUB_REGISTRY",
}
# Docker layer cache on the build host, not S3: CodeBuild's S3 cache stores only files the buildspec lists
# under cache.paths, and Docker's layers live in the daemon, not in the source directory; LOCAL_DOCKER_LAYER_CACHE
# reuses them on the next build that lands on the same host (best effort, no storage cost, no bucket to
# grant), and needs privileged mode, which the build has for `docker build`.
# https://docs.aws.amazon.com/codebuild/latest/userguide/build-caching.html
LAYER_CACHE = ProjectCache(Type="LOCAL", Modes=["LOCAL_DOCKER_LAYER_CACHE"])
STACK_NAME = "image-cache"


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """The image-cache stack, when the blueprint has a cache."""
    if upstreams(blueprint):
        yield NestedStack(STACK_NAME, build(blueprint))


def upstreams(blueprint: Blueprint) -> tuple[contracts.CacheUpstream, ...]:
    """The registries the blueprint caches: ECR Public unless turned off, Docker Hub when it names a secret."""
    cached: list[contracts.CacheUpstream] = []
    if blueprint.build.base_image_cache:
        cached.append("ecr-public")
        if blueprint.build.docker_hub_secret_arn is not None:
            cached.append("docker-hub")
    return tuple(cached)


def build(blueprint: Blueprint) -> Template:
    """One pull-through cache rule per cached upstream registry."""
    template = new_template(blueprint, "ECR pull-through cache rules for the builds' base images")
    for upstream in upstreams(blueprint):
        rule = PullThroughCacheRule(
            RULE_IDS[upstream],
            EcrRepositoryPrefix=contracts.pull_through_cache_prefix(blueprint, upstream),
            UpstreamRegistry=upstream,
            UpstreamRegistryUrl=UPSTREAM_URLS[upstream],
        )
        if upstream == "docker-hub":
            rule.CredentialArn = blueprint.build.docker_hub_secret_arn
        template.add_resource(rule)
    return template


def registry(blueprint: Blueprint, upstream: contracts.CacheUpstream) -> Sub:
    """The address a Dockerfile puts before an upstream repository to pull it through the cache."""
    prefix = contracts.pull_through_cache_prefix(blueprint, upstream)
    return Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{prefix}")


def build_environment(blueprint: Blueprint) -> list[EnvironmentVariable]:
    """The build's environment variables naming each cache (none without a cache)."""
    return [
        EnvironmentVariable(Name=REGISTRY_VARIABLES[upstream], Type="PLAINTEXT", Value=registry(blueprint, upstream))
        for upstream in upstreams(blueprint)
    ]


def pull_statements(blueprint: Blueprint) -> list[Statement]:
    """Pull through the cache: read the cached repositories, and let ECR create and fill them, under the prefixes only.

    https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html: BatchImportUpstreamImage
    fetches an image from upstream into the cache, CreateRepository creates its repository on the first pull.
    """
    repositories = [
        iam.arn("ecr", f"repository/{contracts.pull_through_cache_prefix(blueprint, upstream)}/*")
        for upstream in upstreams(blueprint)
    ]
    if not repositories:
        return []
    return [
        iam.allow(
            [
                ecr.BatchCheckLayerAvailability,
                ecr.BatchGetImage,
                ecr.BatchImportUpstreamImage,
                ecr.CreateRepository,
                ecr.GetDownloadUrlForLayer,
            ],
            repositories,
        )
    ]

"""The image-cache stack and the build's use of it: ECR pull-through cache rules, the build role's rights on the
cached repositories, the registry addresses the build gets, and the Docker layer cache of the build project."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from cfngen import Blueprint, BlueprintError, load_blueprint, synthesize
from cfngen.blueprint._model import BLUEPRINT_NAME_MAX
from cfngen.builders.contracts import pull_through_cache_prefix
from cfngen.linting import lint
from cfngen.report import review
from tests.conftest import checkov_failures
from tests.stack_helpers import make_blueprint, resources, statements

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-Ab12Cd"


def _children(blueprint: Blueprint) -> dict[str, Any]:
    return {child.name: child.template for child in synthesize(blueprint).children}


def test_ecr_public_is_cached_by_default_without_credentials_under_the_blueprints_prefix() -> None:
    """https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-creating-rule.html"""
    rules = resources(_children(make_blueprint())["image-cache"], "AWS::ECR::PullThroughCacheRule")
    assert rules == {
        "EcrPublicPullThroughCacheRule": {
            "Type": "AWS::ECR::PullThroughCacheRule",
            "Properties": {
                "EcrRepositoryPrefix": "unit_pub",
                "UpstreamRegistry": "ecr-public",
                "UpstreamRegistryUrl": "public.ecr.aws",
            },
        }
    }


def test_docker_hub_is_cached_only_with_the_secret_the_blueprint_names() -> None:
    """Docker Hub needs credentials, in a secret whose name starts with ecr-pullthroughcache/."""
    rules = resources(
        _children(make_blueprint(build={"docker_hub_secret_arn": SECRET}))["image-cache"],
        "AWS::ECR::PullThroughCacheRule",
    )
    assert rules["DockerHubPullThroughCacheRule"]["Properties"] == {
        "CredentialArn": SECRET,
        "EcrRepositoryPrefix": "unit_hub",
        "UpstreamRegistry": "docker-hub",
        "UpstreamRegistryUrl": "registry-1.docker.io",
    }


def test_the_build_pulls_through_the_cache_and_fills_it_only_under_its_prefixes() -> None:
    """https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-iam.html: the first pull imports the
    image (BatchImportUpstreamImage) into a repository ECR creates (CreateRepository); both stay under the prefix.
    The buildspec's `docker login` to the account's registry covers the cache: it is the same registry."""
    template = _children(make_blueprint(build={"docker_hub_secret_arn": SECRET}))["pipeline-api"]
    role = template.to_dict()["Resources"]["ApiBuildRole"]
    filling = [s for s in statements(role) if "ecr:BatchImportUpstreamImage" in s["Action"]]
    assert filling == [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:BatchImportUpstreamImage",
                "ecr:CreateRepository",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Resource": [
                {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/unit_pub/*"},
                {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/unit_hub/*"},
            ],
        }
    ]
    assert not [s for s in statements(role) if "ecr:CreateRepository" in s["Action"] and s is not filling[0]]
    project = template.to_dict()["Resources"]["ApiBuildProject"]["Properties"]
    variables = {item["Name"]: item["Value"] for item in project["Environment"]["EnvironmentVariables"]}
    registry = "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}"
    assert variables["BASE_IMAGE_REGISTRY"] == {"Fn::Sub": f"{registry}/unit_pub"}
    assert variables["DOCKER_HUB_REGISTRY"] == {"Fn::Sub": f"{registry}/unit_hub"}


def test_the_build_project_keeps_dockers_layers_on_the_build_host() -> None:
    """LOCAL_DOCKER_LAYER_CACHE, which needs privileged mode: https://docs.aws.amazon.com/codebuild/latest/userguide/build-caching.html"""
    project = _children(make_blueprint())["pipeline-api"].to_dict()["Resources"]["ApiBuildProject"]["Properties"]
    assert project["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE"]}
    assert project["Environment"]["PrivilegedMode"] is True


def test_without_the_cache_there_is_no_rule_no_registry_and_no_right_to_fill_one() -> None:
    children = _children(make_blueprint(build={"base_image_cache": False}))
    assert "image-cache" not in children
    role = children["pipeline-api"].to_dict()["Resources"]["ApiBuildRole"]
    assert not [s for s in statements(role) if "ecr:CreateRepository" in s["Action"]]
    project = children["pipeline-api"].to_dict()["Resources"]["ApiBuildProject"]["Properties"]
    assert "BASE_IMAGE_REGISTRY" not in {item["Name"] for item in project["Environment"]["EnvironmentVariables"]}


def test_the_prefix_fits_ecrs_grammar_for_the_longest_blueprint_name_and_never_starts_a_service_repository() -> None:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::ECR::PullThroughCacheRule").schema
    rule = schema["definitions"]["EcrRepositoryPrefix"]
    blueprint = make_blueprint(name="a" * BLUEPRINT_NAME_MAX)
    for upstream in ("ecr-public", "docker-hub"):
        prefix = pull_through_cache_prefix(blueprint, upstream)  # type: ignore[arg-type]
        assert rule["minLength"] <= len(prefix) <= rule["maxLength"]
        assert re.fullmatch(rule["pattern"], prefix)
        # Service repositories are <blueprint>/<service>; "_" is in no blueprint or service name.
        assert not f"{blueprint.name}/api".startswith(prefix)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            {"docker_hub_secret_arn": SECRET.replace("ecr-pullthroughcache/", "dockerhub/")},
            "build.docker_hub_secret_arn: .* is not the ARN of a secret ECR can use",
        ),
        (
            {"docker_hub_secret_arn": SECRET.replace("us-east-1", "eu-west-1")},
            "build.docker_hub_secret_arn: is in eu-west-1, but the blueprint's region is us-east-1",
        ),
        (
            {"docker_hub_secret_arn": SECRET, "base_image_cache": False},
            "build.docker_hub_secret_arn: needs base_image_cache: true",
        ),
    ],
)
def test_a_bad_cache_secret_names_its_file_line_and_field(tmp_path: Path, build: dict[str, Any], message: str) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(yaml.safe_dump({"name": "c", "build": build, "services": [{"name": "web", "port": 80}]}))
    with pytest.raises(BlueprintError, match=rf"bp\.yaml:\d+:\d+: {message}"):
        load_blueprint(path)


def test_cache_templates_lint_clean_and_pass_checkov(tmp_path: Path) -> None:
    stack_set = synthesize(make_blueprint(build={"docker_hub_secret_arn": SECRET}))
    assert [str(finding) for finding in lint(stack_set, cache=False)] == []
    stack_set.write(tmp_path)
    assert checkov_failures(tmp_path) == []


def test_the_review_names_each_builds_base_image_caches_and_layer_cache() -> None:
    report = review(synthesize(make_blueprint(build={"docker_hub_secret_arn": SECRET})), findings=[])
    (build,) = report.builds
    assert (build.stack, build.project) == ("pipeline-api", "ApiBuildProject")
    assert build.base_images == (
        "ecr-public through the pull-through cache unit_pub ($BASE_IMAGE_REGISTRY); "
        "docker-hub through the pull-through cache unit_hub ($DOCKER_HUB_REGISTRY)"
    )
    assert build.cache == "LOCAL (LOCAL_DOCKER_LAYER_CACHE)"
    assert "| `pipeline-api/ApiBuildProject` |" in report.markdown()
    (uncached,) = review(synthesize(make_blueprint(build={"base_image_cache": False})), findings=[]).builds
    assert uncached.base_images == "straight from their registries (no pull-through cache)"

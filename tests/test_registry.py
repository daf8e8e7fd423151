"""The registry stacks: one per service with its image repository, and a CodeCommit repository unless the source is a connection."""

from __future__ import annotations

import json
from typing import Any

from cfngen import Blueprint
from cfngen.builders import registry

CONNECTION = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"


def _template(**pipeline_settings: Any) -> dict[str, Any]:
    blueprint = Blueprint.model_validate(
        {"name": "shop", "pipeline": pipeline_settings, "services": [{"name": "web", "port": 8080}]}
    )
    return registry.build(blueprint, blueprint.service("web")).to_dict()  # type: ignore[no-any-return]


def test_one_stack_per_service_that_belongs_to_its_service() -> None:
    blueprint = Blueprint.model_validate(
        {
            "name": "shop",
            "services": [
                {"name": "web", "port": 8080},
                {"name": "api", "port": 8081, "listener_port": 81, "test_listener_port": 8081},
            ],
        }
    )
    stacks = list(registry.stacks(blueprint))
    assert [(stack.name, stack.service) for stack in stacks] == [("registry-web", "web"), ("registry-api", "api")]
    assert sorted(stacks[1].template.outputs) == [
        "ApiRepositoryArn",
        "ApiRepositoryName",
        "ApiRepositoryUri",
        "ApiSourceRepositoryArn",
        "ApiSourceRepositoryName",
    ]


def test_image_repository_scans_keeps_tags_immutable_and_the_newest_images() -> None:
    repository = _template(keep_images=7)["Resources"]["WebImageRepository"]
    properties = repository["Properties"]
    assert properties["RepositoryName"] == "shop/web"
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert properties["ImageTagMutability"] == "IMMUTABLE"
    (rule,) = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 7}
    assert rule["action"] == {"type": "expire"}
    assert (repository["DeletionPolicy"], repository["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")


def test_codecommit_by_default_and_none_with_a_connection() -> None:
    default = _template()
    assert default["Resources"]["WebSourceRepository"]["Properties"]["RepositoryName"] == "shop--web"
    assert {"WebSourceRepositoryName", "WebSourceRepositoryArn"} <= set(default["Outputs"])
    connected = _template(source={"connection_arn": CONNECTION, "repository": "example/web"})
    assert "WebSourceRepository" not in connected["Resources"]
    assert sorted(connected["Outputs"]) == ["WebRepositoryArn", "WebRepositoryName", "WebRepositoryUri"]

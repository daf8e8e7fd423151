"""A CodeBuild project whose source and artifacts are CODEPIPELINE (or NO_SOURCE) needs no location.

Emulator: moto requires a location for every source and artifact type, so the pipeline's build project (source
CODEPIPELINE, no location) was refused ("Project source location is required").
AWS: "If the source type is CODEPIPELINE ... do not specify this property" and likewise for CODEPIPELINE artifacts
(https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectSource.html,
https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectArtifacts.html).
Test: tests/test_local_aws.py::test_a_pipeline_and_its_build_project_are_created_as_the_template_says
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cfngen.local.patches import Target

TARGETS = (
    Target("moto.codebuild.responses:_validate_required_params_source", "4681936da4bcdc73"),
    Target("moto.codebuild.responses:_validate_required_params_artifacts", "267aca9594229ca1"),
)
WITHOUT_LOCATION = ("CODEPIPELINE", "NO_SOURCE")


def apply() -> None:
    """Wrap moto's two checks (its responses module calls them by name)."""
    from moto.codebuild import responses

    for name in ("_validate_required_params_source", "_validate_required_params_artifacts"):
        setattr(responses, name, _location_optional(getattr(responses, name)))


def _location_optional(validate: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def validate_unless_pipeline(settings: dict[str, Any]) -> None:
        if settings.get("type") in WITHOUT_LOCATION and not settings.get("location"):
            return
        validate(settings)

    return validate_unless_pipeline

"""What generated templates carry, for the commands that read them back without synthesizing them.

`cfngen lint DIR` must not load the blueprint schema or the builders, so the names a generated directory
is read by live here, below every stage: ``cfngen.synth`` writes by them, this module reads by them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

Format = Literal["yaml", "json"]
FORMATS: tuple[Format, ...] = ("yaml", "json")
ROOT_NAME = "root"
# The root template's Metadata key under which synthesis records what the templates were generated for.
ROOT_METADATA_KEY = "cfngen"


class _TagTolerantLoader(yaml.SafeLoader):
    """Reads a CloudFormation YAML template's plain data; intrinsic-function tags (!Ref, !GetAtt) read as null."""


_TagTolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def recorded_region(directory: Path) -> str | None:
    """The region synthesis recorded in the root template of `directory`; None where there is none that says."""
    for extension in FORMATS:
        root = directory / f"{ROOT_NAME}.{extension}"
        if not root.is_file():
            continue
        try:
            text = root.read_text(encoding="utf-8")
            data: Any = json.loads(text) if extension == "json" else yaml.load(text, Loader=_TagTolerantLoader)
        except (OSError, ValueError, yaml.YAMLError):
            return None
        metadata = data.get("Metadata") if isinstance(data, dict) else None
        recorded = metadata.get(ROOT_METADATA_KEY) if isinstance(metadata, dict) else None
        region = recorded.get("region") if isinstance(recorded, dict) else None
        return region if isinstance(region, str) else None
    return None

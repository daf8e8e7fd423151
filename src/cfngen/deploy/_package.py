"""Packaging: bundle the templates (bodies, content hashes, URLs; pure), then upload them under their hashes.

Keys are ``cfngen/templates/<sha256>.json``: an object that exists already has exactly
this content, so it is not uploaded again, and any change to a child changes the URL its
parent holds (the root, or a group stack in a large blueprint), hence the parent's own
hash, up to the root. CloudFormation (and the emulator, which compares
only the root template and its parameters) therefore sees every change in the tree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from cfngen.errors import SynthError
from cfngen.facts.resource_types import NESTED_STACK
from cfngen.synth import MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, ROOT_NAME, StackSet

KEY_PREFIX = "cfngen/templates/"
ROOT_FILE = f"{ROOT_NAME}.json"
# CloudFormation's quota for a template read from S3 ("Template body size in an Amazon S3 object").
MAX_TEMPLATE_BYTES = 1_000_000
# CloudFormation's quota for a template passed in the request itself, as TemplateBody ("Template body size in a
# request": https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
MAX_INLINE_TEMPLATE_BYTES = 51_200
# Types whose explicit physical name needs CAPABILITY_NAMED_IAM instead of CAPABILITY_IAM.
IAM_NAME_PROPERTIES = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::User": "UserName",
    "AWS::IAM::Group": "GroupName",
    "AWS::IAM::InstanceProfile": "InstanceProfileName",
}
IAM_TYPES = {*IAM_NAME_PROPERTIES, "AWS::IAM::Policy", "AWS::IAM::AccessKey", "AWS::IAM::UserToGroupAddition"}


@dataclass(frozen=True)
class Package:
    """Templates ready for a change set: the root's URL (or its body, for a template that needs no bucket)."""

    name: str
    region: str
    templates: Mapping[str, Mapping[str, Any]]
    template_hashes: Mapping[str, str]
    capabilities: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    body: str = ""
    uploaded: tuple[str, ...] = ()
    # The exact text of every template as it is uploaded (what lint checks and CloudFormation reads).
    bodies: Mapping[str, str] = field(default_factory=dict)

    def template_source(self) -> dict[str, str]:
        """The TemplateURL or TemplateBody argument of a change set."""
        return {"TemplateURL": self.url} if self.url else {"TemplateBody": self.body}

    @property
    def root(self) -> Mapping[str, Any]:
        """The root template as a dictionary."""
        return self.templates[ROOT_FILE]

    def template_of(self, url: str) -> Mapping[str, Any] | None:
        """The child template uploaded at `url`, if it is part of this package."""
        for name, digest in self.template_hashes.items():
            if url.endswith(f"{KEY_PREFIX}{digest}.json"):
                return self.templates[name]
        return None


def bundle(stacks: StackSet, *, s3: Any, bucket: str, region: str) -> Package:
    """The templates of `stacks` as they will be uploaded to `bucket`: bodies, hashes and URLs. No I/O.

    `s3` gives only its endpoint URL. Raises SynthError when a template exceeds a CloudFormation quota.
    """
    templates = {name: json.loads(text) for name, text in stacks.render("json").items()}
    bodies: dict[str, str] = {}
    hashes: dict[str, str] = {}
    urls: dict[str, str] = {}
    # Children before their parent: a parent (the root, or a group stack at scale) holds its children's URLs.
    for name in _children_first(templates):
        _point_at(name, templates[name], urls)
        bodies[name] = _body(templates[name])
        hashes[name] = _sha256(bodies[name])
        urls[name] = object_url(s3, bucket, _key(hashes[name]))
    for name, template in templates.items():
        check_limits(name, template, len(bodies[name]))
    return Package(
        name=stacks.blueprint.name,
        region=region,
        templates=templates,
        template_hashes=hashes,
        capabilities=capabilities(templates.values()),
        tags=dict(stacks.blueprint.tags),
        url=object_url(s3, bucket, _key(hashes[ROOT_FILE])),
        bodies=bodies,
    )


def upload(pkg: Package, *, s3: Any, bucket: str) -> Package:
    """Put every body of `pkg` in `bucket` under its hash (objects that exist are skipped); `uploaded` names the new."""
    uploaded = tuple(
        name for name, body in pkg.bodies.items() if _upload(s3, bucket, _key(pkg.template_hashes[name]), body)
    )
    return replace(pkg, uploaded=uploaded)


def inline(name: str, template: Mapping[str, Any], *, region: str) -> Package:
    """A single small template passed as TemplateBody (the bootstrap stack: no bucket exists yet)."""
    body = _body(template)
    check_limits(ROOT_FILE, template, len(body))
    if len(body) > MAX_INLINE_TEMPLATE_BYTES:
        raise SynthError(
            f"{name} is {len(body):,} bytes; CloudFormation takes at most {MAX_INLINE_TEMPLATE_BYTES:,} "
            "in a request, and this template goes without a bucket"
        )
    return Package(
        name=name,
        region=region,
        templates={ROOT_FILE: template},
        template_hashes={ROOT_FILE: _sha256(body)},
        capabilities=capabilities([template]),
        body=body,
    )


def capabilities(templates: Any) -> tuple[str, ...]:
    """The capabilities the templates need: CAPABILITY_IAM or _NAMED_IAM, and _AUTO_EXPAND for nesting or macros."""
    needed: set[str] = set()
    for template in templates:
        if "Transform" in template:
            needed.add("CAPABILITY_AUTO_EXPAND")
        for resource in template.get("Resources", {}).values():
            kind = resource.get("Type", "")
            if kind == NESTED_STACK:
                needed.add("CAPABILITY_AUTO_EXPAND")
            elif kind in IAM_TYPES:
                named = IAM_NAME_PROPERTIES.get(kind, "") in resource.get("Properties", {})
                needed.add("CAPABILITY_NAMED_IAM" if named else "CAPABILITY_IAM")
    if "CAPABILITY_NAMED_IAM" in needed:
        needed.discard("CAPABILITY_IAM")
    return tuple(sorted(needed))


def check_limits(name: str, template: Mapping[str, Any], size: int) -> None:
    """Raise SynthError when `template` breaks a per-stack quota of CloudFormation."""
    if size > MAX_TEMPLATE_BYTES:
        raise SynthError(f"{name} is {size:,} bytes; CloudFormation reads at most {MAX_TEMPLATE_BYTES:,} from S3")
    for section, limit in (("Resources", MAX_RESOURCES), ("Parameters", MAX_PARAMETERS), ("Outputs", MAX_OUTPUTS)):
        count = len(template.get(section, {}))
        if count > limit:
            raise SynthError(f"{name} has {count} {section.lower()}; CloudFormation allows {limit} per stack")


def object_url(s3: Any, bucket: str, key: str) -> str:
    """The HTTPS URL CloudFormation reads `key` from: virtual-hosted on AWS, path-style on an emulator."""
    endpoint = urlsplit(s3.meta.endpoint_url)
    host = endpoint.hostname or ""
    if host.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        return f"https://{bucket}.{endpoint.netloc}/{key}"
    if host == "127.0.0.1":
        # The emulator parses "127" as a bucket name; "localhost" is read as path-style.
        return f"{endpoint.scheme}://localhost:{endpoint.port}/{bucket}/{key}"
    return f"{endpoint.scheme}://{endpoint.netloc}/{bucket}/{key}"


def _children_first(templates: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Template names ordered so that every nested stack's template comes before the one that holds it."""
    order: dict[str, None] = {}

    def visit(name: str) -> None:
        if name in order:
            return
        for resource in templates[name].get("Resources", {}).values():
            if resource.get("Type") == NESTED_STACK and resource["Properties"]["TemplateURL"] in templates:
                visit(resource["Properties"]["TemplateURL"])
        order[name] = None

    for name in templates:
        visit(name)
    return list(order)


def _point_at(name: str, template: dict[str, Any], urls: Mapping[str, str]) -> None:
    """Replace the local TemplateURL of every nested stack in `template` by its uploaded URL."""
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != NESTED_STACK:
            continue
        local = resource["Properties"]["TemplateURL"]
        if local not in urls:
            raise SynthError(
                f"{name}: nested stack {logical_id} points at {local!r}, which is not one of the templates"
            )
        resource["Properties"]["TemplateURL"] = urls[local]


def _body(template: Mapping[str, Any]) -> str:
    return json.dumps(template, indent=1, sort_keys=True) + "\n"


def _sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _key(digest: str) -> str:
    return f"{KEY_PREFIX}{digest}.json"


def _upload(s3: Any, bucket: str, key: str, body: str) -> bool:
    """Put `body` at `key` unless an object is there already (same key, same content); True when uploaded."""
    from botocore.exceptions import ClientError

    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"), ContentType="application/json")
    return True

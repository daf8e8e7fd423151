"""CloudFormation's per-stack quotas hold at any size: group stacks keep the root small, and the wiring still resolves.

The service and pipeline stacks here are test stand-ins registered next to the
real builders, shaped like the real ones: per service two stacks that take
platform-wide outputs, a registry output and a defaulted image parameter, one
consuming the other, and a platform-wide stack after them that consumes
per-service outputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from troposphere import Join, Ref, Template
from troposphere.logs import LogGroup
from troposphere.ssm import Parameter as SsmParameter

from cfngen import Blueprint, NestedStack, Service, synthesize
from cfngen.blueprint import validate
from cfngen.blueprint._yamlsource import SourceMap
from cfngen.builders import keys, network, registry
from cfngen.builders.base import add_output, add_parameter, new_template
from cfngen.linting import lint_texts
from cfngen.synth import MAX_GROUP_SERVICES, MAX_OUTPUTS, MAX_PARAMETERS, MAX_RESOURCES, StackSet
from cfngen.synth import _writing as synth
from tests.conftest import ROOT

STACK = "AWS::CloudFormation::Stack"
SHARED_DESCRIPTION = "a default every service stack and the summary share"


def blueprint_with(services: int) -> Blueprint:
    """A blueprint of `services` services; past the blueprint's own service limit (one load balancer's
    listeners, which this test's stand-in stacks do not have), so the services are added unvalidated."""
    each = [
        Service.model_validate(
            {
                "name": f"svc-{index:04d}",
                "port": 3000 + index,
                "listener_port": 10000 + index,
                "test_listener_port": 30000 + index,
            }
        )
        for index in range(services)
    ]
    base = validate(
        {"name": "scale", "services": [{"name": "placeholder", "port": 1}]}, SourceMap(), ROOT / "scale.yaml"
    )
    return base.model_copy(update={"services": each})


def _service_stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    for service in blueprint.services:
        prefix = service.logical_name
        template = new_template(blueprint, f"test service {service.name}")
        add_parameter(template, "PrivateSubnetIds", "List<AWS::EC2::Subnet::Id>", "subnets")
        add_parameter(template, "LogsKmsKeyArn", "String", "key")
        add_parameter(template, f"{prefix}RepositoryUri", "String", "image repository")
        add_parameter(template, f"{prefix}Image", "String", "first image", Default="public.ecr.aws/nginx/nginx:1.27")
        add_parameter(template, "TestShared", "String", SHARED_DESCRIPTION, Default="shared")
        template.add_resource(
            LogGroup(
                f"{prefix}LogGroup",
                KmsKeyId=Ref("LogsKmsKeyArn"),
                RetentionInDays=30,
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )
        )
        _record(
            template,
            f"{prefix}Inputs",
            [Ref("PrivateSubnetIds"), Ref(f"{prefix}RepositoryUri"), Ref(f"{prefix}Image"), Ref("TestShared")],
        )
        add_output(template, f"{prefix}ServiceName", Ref(f"{prefix}LogGroup"), "service name")
        add_output(template, f"{prefix}TaskSecurityGroupId", Ref(f"{prefix}LogGroup"), "task security group")
        root_outputs = (f"{prefix}ServiceName",) if service is blueprint.services[0] else ()
        yield NestedStack(f"service-{service.name}", template, root_outputs=root_outputs, service=service.name)


def _pipeline_stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    for service in blueprint.services:
        prefix = service.logical_name
        template = new_template(blueprint, f"test pipeline {service.name}")
        for name in (f"{prefix}ServiceName", f"{prefix}RepositoryName", f"{prefix}RepositoryArn", "VpcId"):
            add_parameter(template, name, "String", name)
        _record(template, f"{prefix}PipelineInputs", [Ref(name) for name in sorted(template.parameters)])
        add_output(template, f"{prefix}PipelineName", Ref(f"{prefix}PipelineInputs"), "pipeline name")
        yield NestedStack(f"pipeline-{service.name}", template, service=service.name)


def _summary_stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """A platform-wide stack after the services that takes outputs of the first and the last service."""
    template = new_template(blueprint, "test summary")
    inputs = [
        f"{service.logical_name}{output}"
        for service in (blueprint.services[0], blueprint.services[-1])
        for output in ("ServiceName", "PipelineName")
    ]
    for name in inputs:
        add_parameter(template, name, "String", name)
    add_parameter(template, "TestShared", "String", SHARED_DESCRIPTION, Default="shared")
    _record(template, "Summary", [Ref(name) for name in sorted(template.parameters)])
    yield NestedStack("summary", template, root_outputs=())


def _record(template: Template, title: str, values: list[Ref]) -> None:
    """A resource that uses every parameter (cfn-lint rejects unused ones)."""
    joined = [Join(",", value) if value.data["Ref"] == "PrivateSubnetIds" else value for value in values]
    template.add_resource(SsmParameter(title, Type="String", Value=Join(",", joined)))


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real keys, network and registry builders, then the test service, pipeline and summary stacks."""
    import cfngen.builders

    monkeypatch.setattr(
        cfngen.builders,
        "STACK_BUILDERS",
        (keys.stacks, network.stacks, registry.stacks, _service_stacks, _pipeline_stacks, _summary_stacks),
    )


def templates_as_data(stacks: Any) -> dict[str, dict[str, Any]]:
    return {name: template.to_dict() for name, template in stacks.templates().items()}


def resolve(files: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Follow every nested stack's parameters from the root down, as CloudFormation would.

    Returns leaf file -> {parameter: origin}, where an origin is "<leaf file>:<output>"
    for a value that comes from a leaf stack's output, "root:<parameter>" for a
    root parameter and "default" for a parameter nobody passes. Raises
    AssertionError on a reference to anything that does not exist.
    """
    origins: dict[str, dict[str, str]] = {}

    def output_origin(file: str, output: str) -> str:
        template = files[file]
        value = template["Outputs"][output]["Value"]
        if "Fn::GetAtt" not in value or template["Resources"].get(value["Fn::GetAtt"][0], {}).get("Type") != STACK:
            return f"{file}:{output}"
        child, attribute = value["Fn::GetAtt"]
        assert attribute.startswith("Outputs.")
        return output_origin(template["Resources"][child]["Properties"]["TemplateURL"], attribute[len("Outputs.") :])

    def walk(file: str, environment: Mapping[str, str]) -> None:
        template = files[file]
        children = {
            logical_id: resource
            for logical_id, resource in template.get("Resources", {}).items()
            if resource["Type"] == STACK
        }
        if not children:
            origins[file] = {name: environment.get(name, "default") for name in template.get("Parameters", {})}
            return
        for logical_id, resource in children.items():
            child_file = resource["Properties"]["TemplateURL"]
            child_parameters = files[child_file].get("Parameters", {})
            passed: dict[str, str] = {}
            for name, value in resource["Properties"].get("Parameters", {}).items():
                assert name in child_parameters, f"{file}: {logical_id} passes {name}, which {child_file} does not take"
                if "Ref" in value:
                    assert value["Ref"] in template["Parameters"], f"{file}: Ref to missing parameter {value['Ref']}"
                    passed[name] = environment[value["Ref"]]
                else:
                    sibling, attribute = value["Fn::GetAtt"]
                    sibling_file = children[sibling]["Properties"]["TemplateURL"]
                    assert attribute[len("Outputs.") :] in files[sibling_file]["Outputs"], f"{file}: {value}"
                    passed[name] = output_origin(sibling_file, attribute[len("Outputs.") :])
            for name, spec in child_parameters.items():
                assert name in passed or "Default" in spec, f"{child_file} gets no value for {name}"
            walk(child_file, passed)

    root_parameters = {name: f"root:{name}" for name in files["root.yaml"].get("Parameters", {})}
    walk("root.yaml", root_parameters)
    return origins


def expected_origins(stacks: Any, grouped: bool) -> dict[str, dict[str, str]]:
    """What resolve() must find: each parameter from the leaf that outputs it, per the flat wiring."""
    grouped_children = {name for group in stacks.groups for name in group.members}
    root_parameters = {
        name
        for child in stacks.children
        if not grouped or child.name not in grouped_children
        for name, producer in stacks.wiring[child.name].items()
        if not producer
    }
    expected = {}
    for child in stacks.children:
        expected[f"{child.name}.yaml"] = {
            name: f"{producer}.yaml:{name}" if producer else (f"root:{name}" if name in root_parameters else "default")
            for name, producer in stacks.wiring[child.name].items()
        }
    return expected


def within_quotas(template: Mapping[str, Any]) -> bool:
    return (
        len(template.get("Resources", {})) <= MAX_RESOURCES
        and len(template.get("Parameters", {})) <= MAX_PARAMETERS
        and len(template.get("Outputs", {})) <= MAX_OUTPUTS
    )


@pytest.mark.usefixtures("platform")
def test_small_blueprints_keep_the_flat_layout() -> None:
    stacks = synthesize(blueprint_with(3))
    assert stacks.groups == ()
    files = templates_as_data(stacks)
    assert resolve(files) == expected_origins(stacks, grouped=False)
    # The defaulted per-service parameters are root parameters, overridable at deploy time.
    assert "Svc0000Image" in files["root.yaml"]["Parameters"]


@pytest.mark.usefixtures("platform")
@pytest.mark.parametrize("services", [201, 450])
def test_every_template_stays_within_quotas_and_the_wiring_resolves(services: int) -> None:
    stacks = synthesize(blueprint_with(services))
    files = templates_as_data(stacks)
    assert all(within_quotas(template) for template in files.values())
    assert [service for group in stacks.groups for service in group.services] == [
        service.name for service in stacks.blueprint.services
    ]
    assert all(1 <= len(group.services) <= MAX_GROUP_SERVICES for group in stacks.groups)
    root = files["root.yaml"]
    assert sorted(root["Parameters"]) == ["TestShared"]
    # A grouped stack's root output stops at its group.
    assert "Outputs" not in root
    assert files[f"{stacks.groups[0].name}.yaml"]["Outputs"]["Svc0000ServiceName"]["Value"] == {
        "Fn::GetAtt": ["ServiceSvc0000", "Outputs.Svc0000ServiceName"]
    }
    origins = resolve(files)
    assert origins == expected_origins(stacks, grouped=True)
    assert origins["pipeline-svc-0200.yaml"]["Svc0200ServiceName"] == "service-svc-0200.yaml:Svc0200ServiceName"
    assert origins["service-svc-0200.yaml"]["Svc0200Image"] == "default"
    assert origins["service-svc-0200.yaml"]["TestShared"] == "root:TestShared"


@pytest.mark.usefixtures("platform")
def test_the_flat_root_is_kept_up_to_its_quota() -> None:
    # Three stacks per service plus keys, network and summary: 149 services fill 450 of 500 resources,
    # the share of the quota cfn-lint accepts without a note.
    assert synthesize(blueprint_with(149)).groups == ()
    assert synthesize(blueprint_with(150)).groups != ()


@pytest.mark.usefixtures("platform")
def test_adding_a_service_at_the_end_changes_only_the_last_group() -> None:
    before = synthesize(blueprint_with(205))
    after = synthesize(blueprint_with(206))
    old, new = before.render(), after.render()
    changed = sorted(name for name in new if old.get(name) != new[name])
    assert changed == sorted(
        [
            f"{after.groups[-1].name}.yaml",
            "pipeline-svc-0205.yaml",
            "registry-svc-0205.yaml",
            "root.yaml",
            "service-svc-0205.yaml",
            "summary.yaml",
        ]
    )


def group_of(stacks: StackSet) -> dict[str, str]:
    return {service: group.name for group in stacks.groups for service in group.services}


@pytest.mark.usefixtures("platform")
def test_removing_a_service_moves_at_most_one_group_of_others() -> None:
    full = blueprint_with(240)
    before = group_of(synthesize(full))
    moves = []
    for removed in range(100, 140, 3):
        fewer = full.model_copy(update={"services": [s for i, s in enumerate(full.services) if i != removed]})
        after = group_of(synthesize(fewer))
        moves.append(sum(before[service] != group for service, group in after.items()))
    assert max(moves) <= MAX_GROUP_SERVICES, moves
    # Most removals move nobody: only the removal of a group's first or last service can.
    assert moves.count(0) > len(moves) / 2, moves


@pytest.mark.usefixtures("platform")
def test_group_and_root_templates_lint_clean() -> None:
    stacks = synthesize(blueprint_with(201))
    rendered = stacks.render()
    parents = {
        name: rendered[name]
        for name in ("root.yaml", f"{stacks.groups[0].name}.yaml", f"{stacks.groups[-1].name}.yaml")
    }
    assert [str(finding) for finding in lint_texts(parents, cache=False)] == []


def test_the_real_platform_takes_200_services_within_every_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    services = [
        {
            "name": f"svc-{index:04d}",
            "port": 3000 + index,
            "listener_port": 10000 + index,
            "test_listener_port": 30000 + index,
        }
        for index in range(200)
    ]
    stacks = synthesize(Blueprint.model_validate({"name": "scale", "services": services, "database": {"readers": 1}}))
    files = templates_as_data(stacks)
    assert all(within_quotas(template) for template in files.values())
    assert sorted(name for name in files if name.startswith("load-balancer")) == [
        "load-balancer-2.yaml",
        "load-balancer-3.yaml",
        "load-balancer-4.yaml",
        "load-balancer-5.yaml",
        "load-balancer-6.yaml",
        "load-balancer-7.yaml",
        "load-balancer-8.yaml",
        "load-balancer-9.yaml",
        "load-balancer.yaml",
    ]
    assert stacks.groups
    # Through the group stacks, each service's tasks admit their own balancer and its monitoring stack
    # watches it.
    origins = resolve(files)
    assert origins["service-svc-0199.yaml"]["LoadBalancer9SecurityGroupId"] == (
        "load-balancer-9.yaml:LoadBalancer9SecurityGroupId"
    )
    assert origins["service-svc-0000.yaml"]["LoadBalancerSecurityGroupId"] == (
        "load-balancer.yaml:LoadBalancerSecurityGroupId"
    )
    assert origins["monitoring-9.yaml"]["Svc0199ServiceName"] == "service-svc-0199.yaml:Svc0199ServiceName"
    assert origins["monitoring-9.yaml"]["AlarmTopicArn"] == "monitoring.yaml:AlarmTopicArn"
    # Rendered by forked workers at this size; the same text as rendering one by one.
    rendered = stacks.render()
    monkeypatch.setattr(synth, "PARALLEL_RENDER_FILES", len(rendered) + 1)
    assert stacks.render() == rendered

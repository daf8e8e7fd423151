"""The two diagrams: the architecture (clients, load balancers, services, database, pipelines: see
:mod:`cfngen.report._architecture`) and the stack wiring (the nested stacks, their main resources, and the
parameter/output wiring between them).

The diagram is Mermaid text, which GitHub and GitLab render in Markdown and
which the HTML report renders with the Mermaid script shipped in the package.
One node per stack lists its main resources by kind (all resources are
counted); one edge per producer -> consumer pair carries the number of outputs
it passes (the report's wiring table names them), and the deploy-time
parameters are named on their edges. Past MAX_WIRING_NODES stacks, the stacks
of one kind (``service-*``, ``pipeline-*``...) are drawn as one node each, so that
the drawing stays readable; the wiring table still names every stack.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

from cfngen.report import _architecture
from cfngen.report._model import TemplateSet, counted

# Resource kinds worth a mention in a stack's node, in the order they are listed.
MAIN_RESOURCES: dict[str, str] = {
    "AWS::EC2::VPC": "VPC",
    "AWS::EC2::Subnet": "subnet",
    "AWS::EC2::InternetGateway": "internet gateway",
    "AWS::EC2::NatGateway": "NAT gateway",
    "AWS::EC2::VPCEndpoint": "VPC endpoint",
    "AWS::EC2::FlowLog": "flow log",
    "AWS::KMS::Key": "KMS key",
    "AWS::ECR::Repository": "ECR repository",
    "AWS::CodeCommit::Repository": "CodeCommit repository",
    "AWS::RDS::DBCluster": "Aurora cluster",
    "AWS::RDS::DBInstance": "DB instance",
    "AWS::ECS::Cluster": "ECS cluster",
    "AWS::AutoScaling::AutoScalingGroup": "Auto Scaling group",
    "AWS::ECS::CapacityProvider": "capacity provider",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "load balancer",
    "AWS::ElasticLoadBalancingV2::Listener": "listener",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "target group",
    "AWS::ECS::Service": "ECS service",
    "AWS::ECS::TaskDefinition": "task definition",
    "AWS::Lambda::Function": "Lambda function",
    "Custom::DatabaseUser": "database user",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::CodeBuild::Project": "CodeBuild project",
    "AWS::CodeDeploy::DeploymentGroup": "CodeDeploy deployment group",
    "AWS::CodePipeline::Pipeline": "pipeline",
    "AWS::SecretsManager::Secret": "secret",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::SNS::Topic": "SNS topic",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::Dashboard": "dashboard",
    "AWS::Events::Rule": "EventBridge rule",
    "AWS::Budgets::Budget": "budget",
    "AWS::EC2::SecurityGroup": "security group",
    "AWS::IAM::Role": "IAM role",
    "AWS::Logs::LogGroup": "log group",
}
PARAMETERS_NODE = "deploy_time_parameters"
EDGE_LABEL_NAMES = 2
KINDS_PER_LINE = 2
# Stacks drawn one node each; above, stacks that share the kind before their first "-" are drawn as one node.
MAX_WIRING_NODES = 16


@dataclass(frozen=True)
class StackNode:
    """One nested stack: its name, resource count and main resources ("2 NAT gateways")."""

    name: str
    resources: int
    main: tuple[str, ...]


@dataclass(frozen=True)
class Wire:
    """Outputs of `producer` passed into parameters of `consumer` ("" producer = root parameters)."""

    producer: str
    consumer: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Diagram:
    """Nodes, wires, and the Mermaid text that draws them."""

    nodes: tuple[StackNode, ...]
    wires: tuple[Wire, ...]
    mermaid: str
    architecture: str = ""


def build(templates: TemplateSet, *, highlighted: frozenset[str] = frozenset()) -> Diagram:
    """The diagram of `templates`; stacks in `highlighted` (those exposed to the outside) are drawn in orange."""
    nodes = tuple(_node(stack.name, stack.resources) for stack in templates.children)
    wires: list[Wire] = []
    for stack in templates.children:
        by_producer: dict[str, list[str]] = {}
        for parameter, source in sorted(templates.wiring.get(stack.name, {}).items()):
            by_producer.setdefault(source.producer, []).append(parameter)
        wires += [Wire(producer, stack.name, tuple(names)) for producer, names in sorted(by_producer.items())]
    drawn_nodes, drawn_wires = _collapsed(nodes, wires) if len(nodes) > MAX_WIRING_NODES else (nodes, wires)
    return Diagram(
        nodes=nodes,
        wires=tuple(wires),
        mermaid=_mermaid(drawn_nodes, drawn_wires, highlighted),
        architecture=_architecture.mermaid(templates),
    )


def _collapsed(nodes: tuple[StackNode, ...], wires: list[Wire]) -> tuple[tuple[StackNode, ...], list[Wire]]:
    """One node per kind of stack that several stacks share ("service-*"), with the wires between kinds summed."""
    kinds: dict[str, list[StackNode]] = {}
    for node in nodes:
        kinds.setdefault(node.name.split("-", 1)[0], []).append(node)
    labels = {kind: _common_name([node.name for node in members]) for kind, members in kinds.items()}
    drawn = {
        node.name: (labels[kind] if len(members) > 1 else node.name)
        for kind, members in kinds.items()
        for node in members
    }
    collapsed = tuple(
        members[0]
        if len(members) == 1
        else StackNode(
            labels[kind],
            sum(node.resources for node in members),
            (f"{len(members)} stacks: {members[0].name} … {members[-1].name}",),
        )
        for kind, members in kinds.items()
    )
    names: dict[tuple[str, str], list[str]] = {}
    for wire in wires:
        key = (drawn.get(wire.producer, wire.producer), drawn[wire.consumer])
        names.setdefault(key, []).extend(wire.names)
    return collapsed, [
        Wire(producer, consumer, tuple(sorted(set(listed))))
        for (producer, consumer), listed in names.items()
        if producer != consumer
    ]


def _common_name(names: list[str]) -> str:
    """What a kind of stacks is called: their common prefix up to a "-" (or a whole name), then "*"."""
    prefix = os.path.commonprefix(names)
    return (prefix if prefix in names else prefix[: prefix.rfind("-") + 1]) + "*"


def _node(name: str, resources: dict[str, dict[str, object]]) -> StackNode:
    kinds = Counter(str(resource.get("Type")) for resource in resources.values())
    main = tuple(counted(kinds[kind], label) for kind, label in MAIN_RESOURCES.items() if kinds[kind])
    return StackNode(name=name, resources=len(resources), main=main)


def node_id(stack: str) -> str:
    """A Mermaid-safe node id for a stack name (prefixed so that no id is a Mermaid keyword)."""
    return "stack_" + re.sub(r"[^A-Za-z0-9]", "_", stack)


def _text(value: str) -> str:
    """Text inside a quoted Mermaid label."""
    return value.replace('"', "#quot;")


def _mermaid(nodes: tuple[StackNode, ...], wires: list[Wire], highlighted: frozenset[str]) -> str:
    # Nodes closer together than Mermaid's default (50 px): the diagram stays readable on a page 1,400 px wide.
    lines = ['%%{init: {"flowchart": {"nodeSpacing": 25}}}%%', "flowchart TB"]
    for node in nodes:
        rows = [
            ", ".join(node.main[index : index + KINDS_PER_LINE]) for index in range(0, len(node.main), KINDS_PER_LINE)
        ]
        label = "<br/>".join([f"<b>{node.name}</b> ({counted(node.resources, 'resource')})", *rows])
        lines.append(f'  {node_id(node.name)}["{_text(label)}"]')
    if any(not wire.producer for wire in wires):
        lines.append(f'  {PARAMETERS_NODE}(["deploy-time parameters"])')
    for wire in wires:
        if wire.producer:
            # a count keeps the drawing readable with a dozen stacks; the wiring table names every output
            lines.append(f'  {node_id(wire.producer)} -->|"{len(wire.names)}"| {node_id(wire.consumer)}')
        else:
            shown = list(wire.names[:EDGE_LABEL_NAMES])
            if len(wire.names) > EDGE_LABEL_NAMES:
                shown.append(f"+{len(wire.names) - EDGE_LABEL_NAMES} more")
            lines.append(f'  {PARAMETERS_NODE} -.->|"{_text("<br/>".join(shown))}"| {node_id(wire.consumer)}')
    exposed = [
        node_id(node.name)
        for node in nodes
        if node.name in highlighted
        or (node.name.endswith("*") and any(name.startswith(node.name[:-1]) for name in highlighted))
    ]
    if exposed:
        lines.append("  classDef exposed fill:#fff4e6,stroke:#d9480f,stroke-width:2px")
        lines.append(f"  class {','.join(exposed)} exposed")
    return "\n".join(lines) + "\n"

"""The architecture a reviewer reasons about: clients -> load balancers and listeners -> services -> database, and the
pipeline that deploys each service, read from the templates (not from the blueprint), as a Mermaid flowchart.

Left to right, so that services stack in one column: the drawing grows in height with the number of services,
never in width, and its text stays readable on a page 1,400 px wide.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cfngen.report._exposure import _every_listener, _scheme, _services_by_target_group, _target_groups
from cfngen.report._model import Names, TemplateSet

Key = tuple[str, str]  # (stack, logical id)
DATABASE_TYPES = ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance")
PIPELINE = "AWS::CodePipeline::Pipeline"
DEPLOYMENT_GROUP = "AWS::CodeDeploy::DeploymentGroup"
INGRESS = "AWS::EC2::SecurityGroupIngress"


@dataclass
class _Service:
    label: str
    port: Any
    groups: set[Key] = field(default_factory=set)
    listeners: dict[Key, list[str]] = field(default_factory=dict)  # load balancer -> "80", "test 8080"
    pipelines: list[Key] = field(default_factory=list)


def mermaid(templates: TemplateSet) -> str:
    """The architecture diagram of `templates` as Mermaid text."""
    names = Names(templates)
    services = dict(_services(templates, names))
    balancers = {
        (stack.name, name): resource
        for stack in templates.children
        for name, resource in stack.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer")
    }
    _add_listeners(templates, names, services)
    _add_pipelines(templates, names, services)
    databases = list(_databases(templates, names))
    admitted = _admitted(templates, names)
    lines = ["flowchart LR"]
    if any(_scheme(resource) == "internet-facing" for resource in balancers.values()):
        lines.append('  clients(["clients on the internet"])')
    for key, resource in balancers.items():
        lines.append(f'  {_id("lb", key)}["{_text(f"load balancer {key[1]}<br/>{_scheme(resource)}")}"]')
        if _scheme(resource) == "internet-facing":
            lines.append(f"  clients --> {_id('lb', key)}")
    for key, service in services.items():
        # listener ports in the service's node: one label per edge would pile up beside the load balancer
        ports = [port for listed in service.listeners.values() for port in listed]
        listeners = f"<br/>listener {', '.join(ports)}" if ports else ""
        label = f"<b>{service.label}</b><br/>ECS service, port {service.port}{listeners}"
        lines.append(f'  {_id("svc", key)}["{_text(label)}"]')
        for balancer in service.listeners:
            lines.append(f"  {_id('lb', balancer)} --> {_id('svc', key)}")
        for pipeline in service.pipelines:
            # drawn after the service (a dotted line, no arrow), so pipelines never cross the traffic's edges
            lines.append(f'  {_id("svc", key)} -.- {_id("pipe", pipeline)}[/"{_text(f"pipeline {service.label}")}"/]')
    for key, label, groups, port in databases:
        lines.append(f'  {_id("db", key)}[("{_text(label)}")]')
        for service_key, service in services.items():
            if any((group, source) in admitted for group in groups for source in service.groups):
                lines.append(f'  {_id("svc", service_key)} -->|"{_text(f"tcp {port}")}"| {_id("db", key)}')
    return "\n".join(lines) + "\n"


def _services(templates: TemplateSet, names: Names) -> Iterator[tuple[Key, _Service]]:
    for stack in templates.children:
        for name, resource in stack.of_type("AWS::ECS::Service"):
            properties = resource.get("Properties") or {}
            balancers = properties.get("LoadBalancers") or []
            label = next(
                (str(item["ContainerName"]) for item in balancers if isinstance(item.get("ContainerName"), str)), name
            )
            port = next((names.literal(stack.name, item.get("ContainerPort")) for item in balancers), None)
            network = (properties.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
            groups = {
                located for group in network.get("SecurityGroups") or [] if (located := names.locate(stack.name, group))
            }
            yield (stack.name, name), _Service(label, port if port is not None else "?", groups)


def _add_listeners(templates: TemplateSet, names: Names, services: dict[Key, _Service]) -> None:
    """Each listener on the edge from its load balancer to the services behind its target groups."""
    registered = _services_by_target_group(templates, names)
    alternates = _alternate_target_groups(templates, names)
    routes = _deployment_routes(templates, names)
    for stack, name, properties, _, _ in _every_listener(templates, names):
        balancer = names.locate(stack, properties.get("LoadBalancerArn"))
        if balancer is None:
            continue
        port = str(names.literal(stack, properties.get("Port")))
        behind: dict[Key, str] = {}
        for group in _target_groups(properties):
            located = names.locate(stack, group)
            for label, _ in registered.get(located, []) if located else []:
                service_stack, service_name = label.split("/", 1)
                behind[(service_stack, service_name)] = port
            for alternate in alternates.get(located, []) if located else []:
                behind[alternate] = f"test {port}"
        for routed, role in routes.get((stack, name), []):
            behind[routed] = port if role == "production" else f"test {port}"
        for key, text in behind.items():
            if key in services:
                services[key].listeners.setdefault(balancer, []).append(text)


def _alternate_target_groups(templates: TemplateSet, names: Names) -> dict[Key, list[Key]]:
    """ECS blue/green: the alternate target group of a service's load balancer entry -> the service."""
    found: dict[Key, list[Key]] = {}
    for stack in templates.children:
        for name, resource in stack.of_type("AWS::ECS::Service"):
            for item in (resource.get("Properties") or {}).get("LoadBalancers") or []:
                alternate = (item.get("AdvancedConfiguration") or {}).get("AlternateTargetGroupArn")
                located = names.locate(stack.name, alternate) if alternate else None
                if located:
                    found.setdefault(located, []).append((stack.name, name))
    return found


def _deployment_groups(templates: TemplateSet, names: Names) -> Iterator[tuple[str, dict[str, Any], list[Key]]]:
    """(stack, properties, services) of each CodeDeploy deployment group."""
    for stack in templates.children:
        for _, resource in stack.of_type(DEPLOYMENT_GROUP):
            properties = resource.get("Properties") or {}
            services = [
                located
                for item in properties.get("ECSServices") or []
                if (located := names.locate(stack.name, item.get("ServiceName")))
            ]
            yield stack.name, properties, services


def _deployment_routes(templates: TemplateSet, names: Names) -> dict[Key, list[tuple[Key, str]]]:
    """CodeDeploy blue/green: listener -> (service, "production" or "test") from the deployment groups' routes."""
    routes: dict[Key, list[tuple[Key, str]]] = {}
    for stack, properties, services in _deployment_groups(templates, names):
        pairs = (properties.get("LoadBalancerInfo") or {}).get("TargetGroupPairInfoList") or []
        for pair in pairs:
            for role, route in (("production", "ProdTrafficRoute"), ("test", "TestTrafficRoute")):
                for listener in (pair.get(route) or {}).get("ListenerArns") or []:
                    located = names.locate(stack, listener)
                    if located:
                        routes.setdefault(located, []).extend((service, role) for service in services)
    return routes


def _add_pipelines(templates: TemplateSet, names: Names, services: dict[Key, _Service]) -> None:
    """Each pipeline, on the services its stack's deployment groups (or its ECS deploy actions) deploy to."""
    deploys: dict[str, list[Key]] = {}
    for holder, _, deployed in _deployment_groups(templates, names):
        deploys.setdefault(holder, []).extend(deployed)
    for stack in templates.children:
        for name, resource in stack.of_type(PIPELINE):
            targets = list(deploys.get(stack.name, []))
            for stage in (resource.get("Properties") or {}).get("Stages") or []:
                for action in stage.get("Actions") or []:
                    service = (action.get("Configuration") or {}).get("ServiceName")
                    located = names.locate(stack.name, service) if service is not None else None
                    if located:
                        targets.append(located)
            for target in dict.fromkeys(targets):
                if target in services:
                    services[target].pipelines.append((stack.name, name))


def _databases(templates: TemplateSet, names: Names) -> Iterator[tuple[Key, str, set[Key], Any]]:
    """(key, label, security groups, port) of each database: clusters, and instances outside a cluster."""
    for stack in templates.children:
        for name, resource in stack.of_type(*DATABASE_TYPES):
            properties = resource.get("Properties") or {}
            if resource["Type"] == "AWS::RDS::DBInstance" and "DBClusterIdentifier" in properties:
                continue
            engine = names.literal(stack.name, properties.get("Engine")) or "database"
            port = names.literal(stack.name, {"Fn::GetAtt": [name, "Endpoint.Port"]})
            groups = {
                located
                for group in properties.get("VpcSecurityGroupIds") or []
                if (located := names.locate(stack.name, group))
            }
            yield (stack.name, name), f"{engine} {name}<br/>port {port}", groups, port


def _admitted(templates: TemplateSet, names: Names) -> set[tuple[Key, Key]]:
    """(security group, source security group) of every ingress rule between two security groups."""
    pairs: set[tuple[Key, Key]] = set()
    for stack in templates.children:
        for name, resource in stack.of_type("AWS::EC2::SecurityGroup"):
            for rule in (resource.get("Properties") or {}).get("SecurityGroupIngress") or []:
                source = names.locate(stack.name, rule.get("SourceSecurityGroupId"))
                if source:
                    pairs.add(((stack.name, name), source))
        for _, resource in stack.of_type(INGRESS):
            properties = resource.get("Properties") or {}
            group = names.locate(stack.name, properties.get("GroupId"))
            source = names.locate(stack.name, properties.get("SourceSecurityGroupId"))
            if group and source:
                pairs.add((group, source))
    return pairs


def _id(kind: str, key: Key) -> str:
    return f"{kind}_" + "".join(character if character.isalnum() else "_" for character in "_".join(key))


def _text(value: str) -> str:
    return value.replace('"', "#quot;")

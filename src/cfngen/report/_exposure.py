"""Exposure: what can be reached from outside the VPC, on which port, from where; everything else is private.

Three kinds of path are looked for in every template: load balancer listeners
(internet-facing ones, with the sources their security groups admit), security
group ingress rules whose source lies outside every VPC of the set, and public
IP addresses (Elastic IPs, subnets and instances that assign public addresses,
publicly accessible databases). Security groups that admit only VPC-internal
sources are listed as private, with those sources, so a reviewer sees both sides.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cfngen.report._model import Names, Origin, TemplateSet

LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
INGRESS = "AWS::EC2::SecurityGroupIngress"
ANYWHERE = ("0.0.0.0/0", "::/0")
KINDS = ("listener", "security group rule", "public IP")
UNKNOWN_PORT = -2
MAX_LISTENERS = 50  # per load balancer, AWS's quota


@dataclass(frozen=True, order=True)
class Path:
    """One way in from outside the VPC. Comparable, so two reports can be diffed."""

    stack: str
    resource: str
    kind: str  # "listener", "security group rule", "public IP"
    port: str  # "tcp 80", "all traffic", "-" for addresses that are not a listener
    source: str  # who can reach it: "anyone (0.0.0.0/0)", "203.0.113.0/24", ...
    detail: str  # where it leads, or what the address is for

    @property
    def summary(self) -> str:
        """One line: `port from source to stack/resource (detail)`."""
        where = f"{self.stack}/{self.resource}"
        return f"{self.kind} {where}: {self.port} from {self.source}" + (f" → {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class PrivateGroup:
    """A security group with no ingress from outside the VPC, and the sources it does admit."""

    stack: str
    resource: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Balancer:
    """A load balancer: how many of its MAX_LISTENERS listeners are taken, and the services behind them."""

    stack: str
    resource: str
    scheme: str
    listeners: int
    services: tuple[str, ...]


@dataclass(frozen=True)
class Exposure:
    """Every path in from outside, the security groups that stay private, and which balancer serves what."""

    paths: tuple[Path, ...]
    private_groups: tuple[PrivateGroup, ...]
    private_load_balancers: tuple[str, ...]
    private_listeners: tuple[Path, ...] = ()
    load_balancers: tuple[Balancer, ...] = ()

    def of_kind(self, kind: str) -> tuple[Path, ...]:
        """The paths of one kind: "listener", "security group rule" or "public IP"."""
        return tuple(path for path in self.paths if path.kind == kind)


@dataclass(frozen=True)
class _Rule:
    stack: str
    group: str  # logical id (with stack prefix when the group lives elsewhere)
    port: str
    source: str
    external: bool
    ports: tuple[str, int, int]


def analyse(templates: TemplateSet) -> Exposure:
    """Find every path in from outside the VPC."""
    names = Names(templates)
    vpc_cidrs = _vpc_cidrs(templates)
    rules = list(_ingress_rules(templates, names, vpc_cidrs))
    listeners = list(_listeners(templates, names, rules))
    paths = [
        *(path for path in listeners if path.source),
        *_external_rules(rules, _group_users(templates, names)),
        *_public_addresses(templates, names),
    ]
    private = _private_groups(templates, rules)
    internal = tuple(
        f"{stack.name}/{name}"
        for stack in templates.children
        for name, resource in stack.of_type(LOAD_BALANCER)
        if _scheme(resource) == "internal"
    )
    ordered = sorted(set(paths), key=lambda path: (KINDS.index(path.kind), path))
    return Exposure(
        paths=tuple(ordered),
        private_groups=private,
        private_load_balancers=internal,
        private_listeners=tuple(path for path in listeners if not path.source),
        load_balancers=balancers(templates, names),
    )


def _vpc_cidrs(templates: TemplateSet) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    cidrs = []
    for stack in templates.children:
        for _, vpc in stack.of_type("AWS::EC2::VPC"):
            block = (vpc.get("Properties") or {}).get("CidrBlock")
            if isinstance(block, str):
                cidrs.append(ipaddress.ip_network(block, strict=False))
    return cidrs


def _ingress_rules(templates: TemplateSet, names: Names, vpc_cidrs: list[Any]) -> Iterator[_Rule]:
    for stack in templates.children:
        for name, security_group in stack.of_type(SECURITY_GROUP):
            for rule in (security_group.get("Properties") or {}).get("SecurityGroupIngress") or []:
                yield _rule(names, vpc_cidrs, stack.name, name, rule, context=stack.name)
        for _, ingress in stack.of_type(INGRESS):
            properties = ingress.get("Properties") or {}
            target = names.origin(stack.name, properties.get("GroupId") or {"Ref": properties.get("GroupName", "")})
            group = names.describe(target.stack, target.value)
            qualified = group if "/" in group else f"{target.stack}/{group}"
            yield _rule(names, vpc_cidrs, stack.name, qualified, properties, context=target.stack)


def _rule(names: Names, vpc_cidrs: list[Any], stack: str, group: str, rule: dict[str, Any], *, context: str) -> _Rule:
    """One ingress rule written in `stack` on `group`; sources are named as seen from the group's stack (`context`)."""
    protocol = str(rule.get("IpProtocol", "-1")).lower()
    low, high = _port(names.literal(stack, rule.get("FromPort"))), _port(names.literal(stack, rule.get("ToPort")))
    source, external = _source(names, vpc_cidrs, stack, rule, context)
    if "FromPort" in rule and low < 0 and protocol not in ("-1", "all"):
        # a port from another stack (the database's, say): name where it comes from; it matches no listener
        port = f"{protocol} {{{names.describe(stack, rule['FromPort'], context=context)}}}"
        return _Rule(stack, group, port, source, external, (protocol, UNKNOWN_PORT, UNKNOWN_PORT))
    return _Rule(stack, group, port_text(protocol, low, high), source, external, (protocol, low, high))


def _port(value: Any) -> int:
    """A port number, or -1 for "all ports" (absent, -1, or not a literal)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def port_text(protocol: str, low: int, high: int) -> str:
    """ "tcp 80", "tcp 3000-3001", "all traffic", "icmp"."""
    if protocol in ("-1", "all"):
        return "all traffic"
    protocol = {"6": "tcp", "17": "udp", "1": "icmp"}.get(protocol, protocol)
    if protocol == "icmp" or low < 0:
        return f"{protocol} all ports" if protocol != "icmp" else "icmp"
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _source(names: Names, vpc_cidrs: list[Any], stack: str, rule: dict[str, Any], context: str) -> tuple[str, bool]:
    """(readable source, whether it lies outside every VPC of the set)."""
    for key in ("CidrIp", "CidrIpv6"):
        if key in rule:
            return _cidr_source(names, vpc_cidrs, names.origin(stack, rule[key]), context)
    for key in ("SourceSecurityGroupId", "SourceSecurityGroupName"):
        if key in rule:
            return f"security group {names.describe(stack, rule[key], context=context)}", False
    if "SourcePrefixListId" in rule:
        return f"prefix list {names.describe(stack, rule['SourcePrefixListId'], context=context)}", True
    return "unknown source", True


def _cidr_source(names: Names, vpc_cidrs: list[Any], origin: Origin, context: str) -> tuple[str, bool]:
    located = origin.resource(names.templates)
    if located is not None and located[1].get("Type") == "AWS::EC2::VPC":
        block = names.literal(origin.stack, (located[1].get("Properties") or {}).get("CidrBlock"))
        return (
            f"the VPC{f' {block}' if isinstance(block, str) else ''} ({names.label(context, origin.stack, located[0])})",
            False,
        )
    cidr = origin.value if isinstance(origin.value, str) else names.default(origin)
    if not isinstance(cidr, str):
        return f"{names.describe(origin.stack, origin.value)} (unknown range)", True
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return f"{cidr} (not a CIDR)", True
    if cidr in ANYWHERE:
        return f"anyone ({cidr})", True
    inside = any(network.version == vpc.version and network.subnet_of(vpc) for vpc in vpc_cidrs)
    return (f"{cidr} (inside the VPC)", False) if inside else (cidr, True)


def _external_rules(rules: list[_Rule], users: dict[str, list[str]]) -> Iterator[Path]:
    for rule in rules:
        if rule.external:
            key = _qualified(rule)
            stack, _, group = key.rpartition("/")
            guarded = users.get(key)
            yield Path(
                stack,
                group,
                "security group rule",
                rule.port,
                rule.source,
                f"used by {', '.join(guarded)}" if guarded else "used by no resource of these templates",
            )


def _group_users(templates: TemplateSet, names: Names) -> dict[str, list[str]]:
    """ "stack/SecurityGroup" -> the resources that attach it (anything referring to it but rules about it)."""
    groups = {f"{stack.name}/{name}" for stack in templates.children for name, _ in stack.of_type(SECURITY_GROUP)}
    users: dict[str, list[str]] = {}
    for stack in templates.children:
        for name, resource in stack.resources.items():
            if resource.get("Type") in (SECURITY_GROUP, INGRESS, "AWS::EC2::SecurityGroupEgress"):
                continue
            for reference in _references(resource.get("Properties")):
                origin = names.origin(stack.name, reference)
                located = origin.resource(templates)
                key = f"{origin.stack}/{located[0]}" if located else ""
                user = f"{stack.name}/{name}"
                if key in groups and user not in users.setdefault(key, []):
                    users[key].append(user)
    return {key: sorted(found) for key, found in users.items()}


def _references(value: Any) -> Iterator[dict[str, Any]]:
    """Every Ref / Fn::GetAtt inside a value."""
    if isinstance(value, dict):
        if len(value) == 1 and ("Ref" in value or "Fn::GetAtt" in value):
            yield value
            return
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _scheme(load_balancer: dict[str, Any]) -> str:
    return str((load_balancer.get("Properties") or {}).get("Scheme", "internet-facing"))


def _every_listener(
    templates: TemplateSet, names: Names
) -> Iterator[tuple[str, str, dict[str, Any], Origin, dict[str, Any] | None]]:
    """(stack, listener logical id, listener properties, where its balancer is, the balancer or None) of every listener."""
    for stack in templates.children:
        balancers = dict(stack.of_type(LOAD_BALANCER))
        for name, listener in stack.of_type(LISTENER):
            properties = listener.get("Properties") or {}
            target = names.origin(stack.name, properties.get("LoadBalancerArn"))
            located = target.resource(templates)
            balancer = located[1] if located else balancers.get(str(properties.get("LoadBalancerArn")))
            yield stack.name, name, properties, target, balancer


def balancers(templates: TemplateSet, names: Names) -> tuple[Balancer, ...]:
    """Every load balancer with its listener count and the ECS services its listeners forward to."""
    listeners: dict[tuple[str, str], int] = {}
    services: dict[tuple[str, str], set[str]] = {}
    registered = _services_by_target_group(templates, names)
    for stack, _, properties, _, _ in _every_listener(templates, names):
        key = names.locate(stack, properties.get("LoadBalancerArn")) or (stack, str(properties.get("LoadBalancerArn")))
        listeners[key] = listeners.get(key, 0) + 1
        for group in _target_groups(properties):
            located = names.locate(stack, group)
            if located:
                services.setdefault(key, set()).update(service for service, _ in registered.get(located, []))
    return tuple(
        Balancer(
            stack.name,
            name,
            _scheme(resource),
            listeners.get((stack.name, name), 0),
            tuple(sorted(services.get((stack.name, name), set()))),
        )
        for stack in templates.children
        for name, resource in stack.of_type(LOAD_BALANCER)
    )


def _listeners(templates: TemplateSet, names: Names, rules: list[_Rule]) -> Iterator[Path]:
    """Listeners of internet-facing load balancers, with the outside sources their security groups admit (or none)."""
    registered = _services_by_target_group(templates, names)
    for stack_name, name, properties, target, balancer in _every_listener(templates, names):
        if balancer is None or _scheme(balancer) != "internet-facing":
            continue
        protocol = str(properties.get("Protocol", "tcp")).lower()
        port = _port(names.literal(stack_name, properties.get("Port")))
        groups = [
            names.describe(target.stack, group)
            for group in (balancer.get("Properties") or {}).get("SecurityGroups") or []
        ]
        leads_to = _forward_targets(names, stack_name, properties, registered)
        # TLS ends at the balancer: clients reach a TLS port, whatever carries it on to the tasks.
        port_label = f"tls {port}" if protocol == "tls" else port_text(_ip_protocol(protocol), port, port)
        # no outside source: the listener is reachable only from inside the VPC (source left empty)
        for source in _listener_sources(rules, target.stack, groups, protocol, port) or [""]:
            yield Path(stack_name, name, "listener", port_label, source, leads_to)


def _ip_protocol(listener_protocol: str) -> str:
    return "udp" if listener_protocol in ("udp",) else "tcp"


def _listener_sources(rules: list[_Rule], stack: str, groups: list[str], protocol: str, port: int) -> list[str]:
    """Who may reach a listener: anyone without security groups, else the outside sources of matching rules."""
    if not groups:
        return ["anyone (the load balancer has no security group)"]
    qualified = {group if "/" in group else f"{stack}/{group}" for group in groups}
    ip_protocol = _ip_protocol(protocol)
    sources = [
        rule.source
        for rule in rules
        if rule.external and _qualified(rule) in qualified and _covers(rule.ports, ip_protocol, port)
    ]
    return sorted(set(sources))


def _qualified(rule: _Rule) -> str:
    return rule.group if "/" in rule.group else f"{rule.stack}/{rule.group}"


def _covers(ports: tuple[str, int, int], protocol: str, port: int) -> bool:
    rule_protocol, low, high = ports
    if rule_protocol in ("-1", "all"):
        return True
    rule_protocol = {"6": "tcp", "17": "udp"}.get(rule_protocol, rule_protocol)
    return rule_protocol == protocol and (low == -1 or low <= port <= high)


def _services_by_target_group(templates: TemplateSet, names: Names) -> dict[tuple[str, str], list[tuple[str, Any]]]:
    """(stack, target group logical id) -> the ECS services registered in it ("stack/Service") and their ports."""
    found: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    for stack in templates.children:
        for name, service in stack.of_type("AWS::ECS::Service"):
            for balancer in (service.get("Properties") or {}).get("LoadBalancers") or []:
                located = names.locate(stack.name, balancer.get("TargetGroupArn"))
                if located:
                    port = names.literal(stack.name, balancer.get("ContainerPort"))
                    found.setdefault(located, []).append((f"{stack.name}/{name}", port))
    return found


def _target_groups(listener: dict[str, Any]) -> list[Any]:
    """The target groups a listener's default actions forward to."""
    groups = []
    for action in listener.get("DefaultActions") or []:
        groups.append(action.get("TargetGroupArn"))
        groups += [
            group.get("TargetGroupArn") for group in ((action.get("ForwardConfig") or {}).get("TargetGroups") or [])
        ]
    return list(filter(None, groups))


def _forward_targets(
    names: Names, stack: str, listener: dict[str, Any], services: dict[tuple[str, str], list[tuple[str, Any]]]
) -> str:
    """The target groups a listener forwards to, and the ECS services registered in them."""
    targets = []
    for group in _target_groups(listener):
        origin = names.origin(stack, group)
        located = origin.resource(names.templates)
        text = f"target group {names.describe(stack, group)}"
        behind = services.get((origin.stack, located[0])) if located else None
        described = [f"{service} port {port}" for service, port in behind or []]
        targets.append(text + (f" ({', '.join(described)})" if described else ""))
    return ", ".join(targets)


def _public_addresses(templates: TemplateSet, names: Names) -> Iterator[Path]:
    """Resources that hold or hand out a public IP address."""
    nat_by_eip: dict[tuple[str, str], str] = {}
    for stack in templates.children:
        for name, gateway in stack.of_type("AWS::EC2::NatGateway"):
            allocation = names.origin(stack.name, (gateway.get("Properties") or {}).get("AllocationId"))
            located = allocation.resource(templates)
            if located:
                nat_by_eip[(allocation.stack, located[0])] = name
    for stack in templates.children:
        for name, _ in stack.of_type("AWS::EC2::EIP"):
            nat = nat_by_eip.get((stack.name, name))
            detail = (
                f"address of NAT gateway {nat}: outbound connections only, nothing listens on it"
                if nat
                else "Elastic IP"
            )
            yield Path(stack.name, name, "public IP", "-", "-", detail)
        for name, subnet in stack.of_type("AWS::EC2::Subnet"):
            if _truthy(names, stack.name, (subnet.get("Properties") or {}).get("MapPublicIpOnLaunch")):
                yield Path(
                    stack.name, name, "public IP", "-", "-", "subnet assigns a public IP to everything launched in it"
                )
        for name, template in stack.of_type("AWS::EC2::LaunchTemplate"):
            data = (template.get("Properties") or {}).get("LaunchTemplateData") or {}
            if any(
                _truthy(names, stack.name, interface.get("AssociatePublicIpAddress"))
                for interface in data.get("NetworkInterfaces") or []
            ):
                yield Path(stack.name, name, "public IP", "-", "-", "instances get a public IP")
        for name, service in stack.of_type("AWS::ECS::Service"):
            network = ((service.get("Properties") or {}).get("NetworkConfiguration") or {}).get(
                "AwsvpcConfiguration"
            ) or {}
            if str(names.literal(stack.name, network.get("AssignPublicIp", "DISABLED"))).upper() == "ENABLED":
                yield Path(stack.name, name, "public IP", "-", "-", "tasks get a public IP")
        for name, instance in stack.of_type("AWS::RDS::DBInstance", "AWS::RDS::DBCluster"):
            if _truthy(names, stack.name, (instance.get("Properties") or {}).get("PubliclyAccessible")):
                yield Path(stack.name, name, "public IP", "-", "-", "database is publicly accessible")


def _truthy(names: Names, stack: str, value: Any) -> bool:
    literal = names.literal(stack, value)
    return literal is True or str(literal).lower() == "true"


def _private_groups(templates: TemplateSet, rules: list[_Rule]) -> tuple[PrivateGroup, ...]:
    """Every security group none of whose ingress rules comes from outside, with the sources it admits."""
    sources: dict[str, list[str]] = {}
    exposed: set[str] = set()
    for stack in templates.children:
        for name, _ in stack.of_type(SECURITY_GROUP):
            sources.setdefault(f"{stack.name}/{name}", [])
    for rule in rules:
        key = _qualified(rule)
        if rule.external:
            exposed.add(key)
        else:
            sources.setdefault(key, []).append(f"{rule.port} from {rule.source}")
    return tuple(
        PrivateGroup(key.rsplit("/", 1)[0], key.rsplit("/", 1)[1], tuple(sorted(set(found))))
        for key, found in sorted(sources.items())
        if key not in exposed
    )

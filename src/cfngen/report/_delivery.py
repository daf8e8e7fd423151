"""Delivery: per service, what rolls a new version out, what tests the new (green) tasks, and what rolls it back;
per image build, where its base images come from and what it caches.

Read from the templates alone: the ECS service's deployment controller and configuration, and for
services under CodeDeploy the deployment group and role in the service's pipeline stack; the build
projects' cache and environment, and the ECR pull-through cache rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cfngen.report._model import TemplateSet

CODE_DEPLOY = "CODE_DEPLOY"


@dataclass(frozen=True)
class Rollout:
    """How one ECS service gets new versions."""

    stack: str
    service: str
    rolled_out_by: str
    tests: str
    rolls_back_on: str


@dataclass(frozen=True)
class Build:
    """One image build (a privileged CodeBuild project): its base images' source and its cache."""

    stack: str
    project: str
    base_images: str
    cache: str


def builds(templates: TemplateSet) -> tuple[Build, ...]:
    """One Build per privileged CodeBuild project (the ones that run `docker build`), in stack order."""
    rules = {
        str(properties.get("EcrRepositoryPrefix")): str(properties.get("UpstreamRegistry", "upstream"))
        for stack in templates.stacks()
        for _, rule in stack.of_type("AWS::ECR::PullThroughCacheRule")
        for properties in [rule.get("Properties", {})]
    }
    found = []
    for stack in templates.stacks():
        for logical_id, project in stack.of_type("AWS::CodeBuild::Project"):
            properties = project.get("Properties", {})
            environment = properties.get("Environment", {})
            if not environment.get("PrivilegedMode"):
                continue
            caches = [
                f"{rules[prefix]} through the pull-through cache {prefix} (${variable['Name']})"
                for variable in environment.get("EnvironmentVariables", [])
                for prefix in rules
                if str(_text(variable.get("Value"))).endswith(f"/{prefix}")
            ]
            cache = properties.get("Cache", {})
            modes = ", ".join(str(mode) for mode in cache.get("Modes", []))
            found.append(
                Build(
                    stack.name,
                    logical_id,
                    "; ".join(caches) or "straight from their registries (no pull-through cache)",
                    f"{cache.get('Type', 'NO_CACHE')} ({modes})" if modes else str(cache.get("Type", "none")),
                )
            )
    return tuple(found)


def _text(value: Any) -> Any:
    """The text of a value written as a string or as an Fn::Sub."""
    return value.get("Fn::Sub", value) if isinstance(value, dict) else value


def analyse(templates: TemplateSet) -> tuple[Rollout, ...]:
    """One Rollout per ECS service, in stack order."""
    groups = _deployment_groups(templates)
    hooks = _hook_functions(templates)
    checks = _traffic_tests(templates)
    rollouts = []
    for stack in templates.stacks():
        for logical_id, resource in stack.of_type("AWS::ECS::Service"):
            properties = resource.get("Properties", {})
            name = str(properties.get("ServiceName", logical_id))
            controller = properties.get("DeploymentController", {}).get("Type", "ECS")
            if controller == CODE_DEPLOY:
                described = tuple(checks.get(function, function) for function in hooks.get(name, ()))
                rollouts.append(_code_deploy(stack.name, name, groups.get(name), described))
            else:
                functions = {
                    function_id: checks.get(str(function.get("Properties", {}).get("FunctionName")), function_id)
                    for function_id, function in stack.of_type("AWS::Lambda::Function")
                }
                rollouts.append(_ecs(stack.name, name, properties, functions))
    return tuple(rollouts)


def _traffic_tests(templates: TemplateSet) -> dict[str, str]:
    """Function name -> what it checks, for cfngen's test traffic functions (deployment.test)."""
    found = {}
    for stack in templates.stacks():
        for _, function in stack.of_type("AWS::Lambda::Function"):
            properties = function.get("Properties", {})
            variables = properties.get("Environment", {}).get("Variables", {})
            if {"TEST_PATH", "EXPECT_STATUS", "TEST_PORT"} <= set(variables):
                found[str(properties.get("FunctionName"))] = (
                    f"GET {variables['TEST_PATH']} on test port {variables['TEST_PORT']} must answer "
                    f"{variables['EXPECT_STATUS']} ({properties.get('FunctionName')})"
                )
    return found


def _code_deploy(stack: str, service: str, group: dict[str, Any] | None, hooks: tuple[str, ...]) -> Rollout:
    if group is None:
        return Rollout(stack, service, "CodeDeploy (no deployment group found)", "–", "–")
    config = group.get("DeploymentConfigName", "CodeDeployDefault.OneAtATime")
    termination = group.get("BlueGreenDeploymentConfiguration", {}).get("TerminateBlueInstancesOnDeploymentSuccess", {})
    wait = termination.get("TerminationWaitTimeInMinutes")
    by = f"CodeDeploy blue/green ({config}) from the pipeline" + (f"; blue tasks kept {wait} min" if wait else "")
    tests = "test listener" + (f"; hooks: {'; '.join(hooks)}" if hooks else "; no validation hook")
    events = group.get("AutoRollbackConfiguration", {}).get("Events", [])
    alarms = [alarm.get("Name") for alarm in group.get("AlarmConfiguration", {}).get("Alarms", [])]
    return Rollout(stack, service, by, tests, _rollback(events, alarms))


def _ecs(stack: str, service: str, properties: dict[str, Any], functions: dict[str, str]) -> Rollout:
    """`functions`: logical id -> description of the stack's Lambda functions, which lifecycle hooks name."""
    configuration = properties.get("DeploymentConfiguration", {})
    strategy = configuration.get("Strategy", "ROLLING")
    details = []
    if "LinearConfiguration" in configuration:
        linear = configuration["LinearConfiguration"]
        details.append(f"{linear.get('StepPercent')} % per step, {linear.get('StepBakeTimeInMinutes')} min apart")
    if "CanaryConfiguration" in configuration:
        canary = configuration["CanaryConfiguration"]
        details.append(f"canary {canary.get('CanaryPercent')} % for {canary.get('CanaryBakeTimeInMinutes')} min")
    if "BakeTimeInMinutes" in configuration:
        details.append(f"bake {configuration['BakeTimeInMinutes']} min")
    by = f"ECS {strategy} from CloudFormation" + (f" ({', '.join(details)})" if details else "")
    advanced = any("AdvancedConfiguration" in target for target in properties.get("LoadBalancers", []))
    tests = []
    if advanced:
        tests.append("test listener")
    for hook in configuration.get("LifecycleHooks", []):
        timeout = hook.get("TimeoutConfiguration", {})
        stages = "/".join(hook.get("LifecycleStages", []))
        if hook.get("TargetType") == "PAUSE":
            tests.append(
                f"pause at {stages} for {timeout.get('TimeoutInMinutes')} min, then "
                f"{str(timeout.get('Action', 'ROLLBACK')).lower()}"
            )
        else:
            target = hook.get("HookTargetArn", {})
            function_id = target.get("Fn::GetAtt", [""])[0] if isinstance(target, dict) else str(target)
            tests.append(f"at {stages}: {functions.get(function_id, function_id or 'a Lambda hook')}")
    events = []
    if any(hook.get("TargetType") != "PAUSE" for hook in configuration.get("LifecycleHooks", [])):
        events.append("failed hook")
    breaker = configuration.get("DeploymentCircuitBreaker", {})
    if breaker.get("Enable") and breaker.get("Rollback"):
        events.append("circuit breaker")
    alarms = configuration.get("Alarms", {})
    names = alarms.get("AlarmNames", []) if alarms.get("Enable") and alarms.get("Rollback") else []
    return Rollout(stack, service, by, "; ".join(tests) or "– (no test traffic)", _rollback(events, names))


def _rollback(events: list[str], alarms: list[Any]) -> str:
    parts = [str(event).lower().replace("_", " ") for event in events]
    if alarms:
        names = [str(alarm) for alarm in alarms]
        # "<blueprint>-<service>-" is common to a service's alarm names; say it once.
        prefix = os.path.commonprefix(names).rpartition("-")[0] + "-" if len(names) > 1 else ""
        listed = ", ".join(name.removeprefix(prefix) for name in names)
        parts.append(f"{len(names)} alarms {prefix}{{{listed}}}" if prefix else f"{len(names)} alarms ({listed})")
    return "; ".join(parts) or "nothing"


def _deployment_groups(templates: TemplateSet) -> dict[str, dict[str, Any]]:
    """ECS service name -> properties of the deployment group that deploys it (pipeline stacks name it by Ref)."""
    groups: dict[str, dict[str, Any]] = {}
    for stack in templates.stacks():
        service = _service_name(stack.name)
        for _, resource in stack.of_type("AWS::CodeDeploy::DeploymentGroup"):
            properties = resource.get("Properties", {})
            if service and properties.get("ECSServices"):
                groups[service] = properties
    return groups


def _hook_functions(templates: TemplateSet) -> dict[str, tuple[str, ...]]:
    """ECS service name -> the Lambda functions its CodeDeploy role may invoke: its lifecycle hooks."""
    found: dict[str, tuple[str, ...]] = {}
    for stack in templates.stacks():
        service = _service_name(stack.name)
        for _, role in stack.of_type("AWS::IAM::Role"):
            for policy in role.get("Properties", {}).get("Policies", []):
                for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                    if "lambda:InvokeFunction" in statement.get("Action", []) and service:
                        found[service] = tuple(_function_name(resource) for resource in statement.get("Resource", []))
    return found


def _function_name(arn: Any) -> str:
    """The function name at the end of a Lambda ARN, written as text or as an Fn::Sub."""
    return str(_text(arn)).rsplit(":", 1)[-1]


def _service_name(stack: str) -> str:
    """The service a pipeline stack ("pipeline-<service>") delivers; "" for other stacks."""
    return stack.removeprefix("pipeline-") if stack.startswith("pipeline-") else ""

"""Promises of the safety-critical modules that mutation checking (benchmarks/mutation.py) found unguarded.

Each test pins what a user relies on: the exact refusal a deploy prints and what it tells them to do, which
change of an ECS service the pipeline owns (and that malformed change descriptions are ignored, not fatal),
the stack policy set on first create, and which IAM statements the least-privilege rule flags.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from cfngen.deploy._package import KEY_PREFIX, ROOT_FILE, Package
from cfngen.deploy._plan import Plan, ResourceChange
from cfngen.deploy._safety import check, pipeline_owned, stack_policy, violations
from cfngen.errors import SafetyError
from cfngen.facts.iam import PolicyDocument, element_values, policy_documents, wildcard_findings
from cfngen.facts.resource_types import NESTED_STACK


def _plan(*changes: ResourceChange) -> Plan:
    return Plan(stack_name="shop", region="us-west-2", change_set_type="UPDATE", change_set_id="cs", changes=changes)


def test_the_refusal_says_what_each_change_destroys_and_how_to_allow_it() -> None:
    plan = _plan(
        ResourceChange("root", "Database", NESTED_STACK, "replace", "true"),
        ResourceChange("root/Database", "DatabaseSecret", "AWS::SecretsManager::Secret", "remove"),
        ResourceChange(
            "root/Service", "Service", "AWS::ECS::Service", "modify", pipeline_owned=("TaskDefinition", "LoadBalancers")
        ),
    )
    with pytest.raises(SafetyError) as caught:
        check(plan)
    assert str(caught.value) == (
        "refused to execute the change set:\n"
        "  root/Database (AWS::CloudFormation::Stack): the change set replaces a nested stack (and any data in it); "
        "if that is intended, run again with --allow-replace Database\n"
        "  root/Database/DatabaseSecret (AWS::SecretsManager::Secret): the change set removes a stateful resource; "
        "if that is intended, run again with --allow-replace DatabaseSecret\n"
        "  root/Service/Service (AWS::ECS::Service): changes TaskDefinition, LoadBalancers of an ECS service under "
        "the CODE_DEPLOY controller; the pipeline owns these (CloudFormation cannot update them): ship a new task "
        "definition through the service's pipeline (taskdef.json), and keep the service resource unchanged"
    )
    check(_plan(ResourceChange("root", "Topic", "AWS::SNS::Topic", "replace", "true")))  # nothing stateful: no error
    assert violations(plan, ["Database", "DatabaseSecret"])[0].change.logical_id == "Service"


@pytest.mark.parametrize(
    "action, replacement, verb",
    [
        ("replace", "true", "replaces"),
        ("replace", "conditional", "may replace"),
        ("dynamic", "", "may replace"),
        ("remove", "", "removes"),
    ],
)
def test_the_refusal_says_whether_the_change_set_surely_or_possibly_destroys(
    action: str, replacement: str, verb: str
) -> None:
    """A Dynamic action or a Conditional replacement is decided only at execution: the refusal says "may".
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html"""
    change = ResourceChange("root/Store", "Data", "AWS::S3::Bucket", action, replacement)
    assert [str(violation) for violation in violations([change])] == [
        f"root/Store/Data (AWS::S3::Bucket): the change set {verb} a stateful resource; if that is intended, run "
        "again with --allow-replace Data"
    ]


SERVICE = {"Type": "AWS::ECS::Service", "Properties": {"DeploymentController": {"Type": "CODE_DEPLOY"}}}


def _raw(details: Any = None, **fields: Any) -> dict[str, Any]:
    raw = {"ResourceType": "AWS::ECS::Service", "Action": "Modify", "LogicalResourceId": "Service", **fields}
    if details is not None:
        raw["Details"] = details
    return raw


def _detail(name: str, attribute: str = "Properties") -> dict[str, Any]:
    return {"Target": {"Attribute": attribute, "Name": name, "RequiresRecreation": "Never"}}


def test_pipeline_owned_properties_are_the_top_level_names_the_change_touches_in_the_owned_order() -> None:
    template = {"Resources": {"Service": SERVICE}}
    details = [_detail("LoadBalancers.0.ContainerPort"), _detail("TaskDefinition"), _detail("DesiredCount")]
    assert pipeline_owned(template, _raw(details)) == ("TaskDefinition", "LoadBalancers")


@pytest.mark.parametrize(
    "template, raw",
    [
        (None, _raw([_detail("TaskDefinition")])),  # nothing to look the controller up in
        ({"Resources": {"Service": SERVICE}}, _raw([_detail("TaskDefinition")], ResourceType="AWS::S3::Bucket")),
        ({"Resources": {"Service": SERVICE}}, _raw([_detail("TaskDefinition")], Action="Add")),
        ({"Resources": {"Service": SERVICE}}, _raw([_detail("TaskDefinition", attribute="Tags")])),
        (
            {"Resources": {"Service": SERVICE}},
            _raw([{"Evaluation": "Static"}, {"Target": {"Attribute": "Properties"}}]),
        ),
        ({"Resources": {"Service": SERVICE}}, _raw()),  # no Details at all
        ({"Resources": {"Other": SERVICE}}, _raw([_detail("TaskDefinition")])),  # a resource the template lacks
        ({"Resources": {"Service": {"Type": "AWS::ECS::Service"}}}, _raw([_detail("TaskDefinition")])),  # no properties
        ({}, _raw([_detail("TaskDefinition")])),  # no resources
    ],
)
def test_a_change_the_pipeline_does_not_own_or_cannot_be_read_owns_nothing(template: Any, raw: Any) -> None:
    assert pipeline_owned(template, raw) == ()


def test_a_non_service_change_is_not_pipeline_owned_even_where_the_template_says_code_deploy() -> None:
    # The type of the change decides, not what the template holds under that logical id.
    raw = _raw([_detail("TaskDefinition")], ResourceType="AWS::S3::Bucket")
    assert pipeline_owned({"Resources": {"Service": SERVICE}}, raw) == ()
    assert pipeline_owned({"Resources": {"Service": SERVICE}}, {**raw, "ResourceType": "AWS::ECS::Service"}) == (
        "TaskDefinition",
    )


def _package(children: dict[str, dict[str, Any]]) -> Package:
    root = {
        "Resources": {
            name: {
                "Type": NESTED_STACK,
                "Properties": {"TemplateURL": f"https://b.s3.amazonaws.com/{KEY_PREFIX}{name}.json"},
            }
            for name in children
        }
    }
    root["Resources"]["Topic"] = {"Type": "AWS::SNS::Topic"}
    return Package(
        name="shop",
        region="us-west-2",
        templates={ROOT_FILE: root, **children},
        template_hashes={name: name for name in children},
        capabilities=(),
    )


def test_the_stack_policy_denies_replacing_protected_types_and_the_nested_stacks_that_hold_them() -> None:
    package = _package(
        {
            "Network": {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC"}}},
            "Database": {
                "Resources": {"Cluster": {"Type": "AWS::RDS::DBCluster"}, "Secret": {"Type": "AWS::KMS::Key"}}
            },
            "Service": {"Resources": {"Service": {"Type": "AWS::ECS::Service"}}},
        }
    )
    assert json.loads(stack_policy(package)) == {
        "Statement": [
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"ResourceType": ["AWS::EC2::VPC", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance"]}
                },
            },
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": ["LogicalResourceId/Database", "LogicalResourceId/Network"],
            },
        ]
    }
    assert stack_policy(package) == json.dumps(json.loads(stack_policy(package)), indent=2, sort_keys=True)


def test_a_stack_policy_without_protected_resources_has_no_logical_id_statement() -> None:
    package = _package({"Service": {"Resources": {"Service": {"Type": "AWS::ECS::Service"}}}})
    # A nested stack whose template is not in the package (another URL) holds nothing cfngen knows of.
    package.templates[ROOT_FILE]["Resources"]["Elsewhere"] = {  # type: ignore[index]
        "Type": NESTED_STACK,
        "Properties": {"TemplateURL": "https://b.s3.amazonaws.com/other/x.json"},
    }
    assert [statement["Effect"] for statement in json.loads(stack_policy(package))["Statement"]] == ["Allow", "Deny"]


def _policy(statement: Any, resource_type: str = "AWS::IAM::Role", key: str = "Policies") -> PolicyDocument:
    template = {
        "Resources": {
            "R": {
                "Type": resource_type,
                "Properties": {key: [{"PolicyDocument": {"Version": "2012-10-17", "Statement": statement}}]},
            }
        }
    }
    (document,) = policy_documents(template)
    return document


@pytest.mark.parametrize(
    "statement, expected",
    [
        (
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            [
                (
                    ("Statement", "Resource"),
                    "Allow statement grants s3:GetObject on Resource '*'; name the resources "
                    "('*' is only for actions that support no resource-level permission)",
                )
            ],
        ),
        (
            {
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken", "S3:GetObject", "ecs:DiscoverPollEndpoint"],
                "Resource": ["*", "arn:aws:s3:::b/*"],
            },
            [
                (
                    ("Statement", "Resource", 0),
                    "Allow statement grants S3:GetObject on Resource '*'; name the resources "
                    "('*' is only for actions that support no resource-level permission)",
                )
            ],
        ),
        ({"Effect": "Allow", "Action": ["ECR:GetAuthorizationToken"], "Resource": "*"}, []),  # actions are case-blind
        (
            {"Effect": "Allow", "Action": ["s3:*", "*", "s3:Get*"], "Resource": "arn:aws:s3:::b"},
            [
                (("Statement", "Action", 0), "Allow statement grants every action ('s3:*'); name the actions"),
                (("Statement", "Action", 1), "Allow statement grants every action ('*'); name the actions"),
            ],
        ),
        ({"Effect": "Deny", "Action": "*", "Resource": "*"}, []),
        (
            [
                {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:1:q"},
                "not a statement",
                {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"},
            ],
            [
                (
                    ("Statement", 2, "Resource"),
                    "Allow statement grants sns:Publish on Resource '*'; name the resources "
                    "('*' is only for actions that support no resource-level permission)",
                )
            ],
        ),
    ],
)
def test_wildcard_findings_name_each_wildcard_grant_at_its_path(statement: Any, expected: Any) -> None:
    document = _policy(statement)
    prefix = ("Resources", "R", "Properties", "Policies", 0, "PolicyDocument")
    assert list(wildcard_findings(document)) == [((*prefix, *path), message) for path, message in expected]


@pytest.mark.parametrize(
    "resource_type, key, kind",
    [
        ("AWS::IAM::Role", "AssumeRolePolicyDocument", "trust"),
        ("AWS::KMS::Key", "KeyPolicy", "self"),
        ("AWS::SecretsManager::ResourcePolicy", "ResourcePolicy", "self"),
        ("AWS::S3::BucketPolicy", "PolicyDocument", "permissions"),
    ],
)
def test_a_policy_documents_kind_decides_whether_resource_star_is_checked(
    resource_type: str, key: str, kind: str
) -> None:
    statement = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    template = {"Resources": {"R": {"Type": resource_type, "Properties": {key: {"Statement": [statement]}}}}}
    (document,) = policy_documents(template)
    assert (document.kind, document.path) == (kind, ("Resources", "R", "Properties", key))
    findings = list(wildcard_findings(document))
    assert len(findings) == (1 if kind == "permissions" else 0)


def test_policy_documents_are_found_anywhere_in_properties_and_nowhere_else() -> None:
    template = {
        "Resources": {
            "A": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Statement": {"Effect": "Allow"}}},
            },
            "B": "not a resource",
            "C": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Wrapped": [{"Deeper": {"Statement": []}}]}},
            "D": {"Type": "AWS::SNS::Topic"},
        }
    }
    found = [(document.resource, document.resource_type, document.path) for document in policy_documents(template)]
    assert found == [
        ("A", "AWS::IAM::ManagedPolicy", ("Resources", "A", "Properties", "PolicyDocument")),
        ("C", "AWS::SNS::TopicPolicy", ("Resources", "C", "Properties", "Wrapped", 0, "Deeper")),
    ]
    (single,) = policy_documents({"Resources": {"A": template["Resources"]["A"]}})
    assert list(single.statements()) == [
        (("Resources", "A", "Properties", "PolicyDocument", "Statement"), {"Effect": "Allow"})
    ]
    assert list(policy_documents({"Resources": ["not", "a", "mapping"]})) == []
    assert list(policy_documents({})) == []


def test_element_values_take_one_value_or_a_list_and_nothing_when_absent() -> None:
    statement = {"Action": ["a", "b"], "Resource": "r"}
    assert list(element_values(statement, "Action", ("S",))) == [(("S", "Action", 0), "a"), (("S", "Action", 1), "b")]
    assert list(element_values(statement, "Resource", ("S",))) == [(("S", "Resource"), "r")]
    assert list(element_values(statement, "NotAction", ("S",))) == []


def test_every_statement_is_checked_whatever_comes_before_it() -> None:
    """A Deny statement, or a trust policy's statement, does not end the check of the statements after it."""
    prefix = ("Resources", "R", "Properties", "Policies", 0, "PolicyDocument", "Statement")
    document = _policy(
        [
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"},
        ]
    )
    assert list(wildcard_findings(document)) == [
        (
            (*prefix, 1, "Resource"),
            (
                "Allow statement grants s3:GetObject, s3:PutObject on Resource '*'; name the resources "
                "('*' is only for actions that support no resource-level permission)"
            ),
        )
    ]
    trust = {
        "Resources": {
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
                            {"Effect": "Allow", "Action": "sts:*"},
                        ]
                    }
                },
            }
        }
    }
    (role,) = policy_documents(trust)
    assert [path[-2:] for path, _ in wildcard_findings(role)] == [(1, "Action")]


def _service(controller: str | None, resource_type: str = "AWS::ECS::Service") -> dict[str, Any]:
    properties: dict[str, Any] = {} if controller is None else {"DeploymentController": {"Type": controller}}
    return {"Type": resource_type, "Properties": properties}


@pytest.mark.parametrize(
    ("before", "after", "switch"),
    [
        (_service("CODE_DEPLOY"), _service("ECS"), ("CODE_DEPLOY", "ECS")),
        (_service(None), _service("CODE_DEPLOY"), ("ECS", "CODE_DEPLOY")),  # no controller is ECS's default
        (_service("ECS"), _service(None), ()),
        ({"Type": "AWS::ECS::Service"}, _service("EXTERNAL"), ("ECS", "EXTERNAL")),  # no Properties at all
        (_service("ECS"), _service("ECS"), ()),
        (None, _service("ECS"), ()),
        (_service("ECS"), None, ()),
        (_service("ECS", "AWS::ECS::TaskSet"), _service("CODE_DEPLOY", "AWS::ECS::TaskSet"), ()),
        (_service("ECS", "AWS::ECS::TaskSet"), _service("CODE_DEPLOY"), ()),  # a type change is a replacement
    ],
)
def test_controller_switch_reads_both_controllers_of_one_ecs_service(
    before: dict[str, Any] | None, after: dict[str, Any] | None, switch: tuple[str, ...]
) -> None:
    from cfngen.deploy._safety import controller_switch

    assert controller_switch(before, after) == switch


def test_a_refused_controller_switch_names_the_documented_paths_and_the_way_out() -> None:
    from cfngen.facts.resource_types import IN_PLACE_CONTROLLER_SWITCHES

    switch = ResourceChange("root/ServiceWeb", "WebService", "AWS::ECS::Service", "modify", "False")
    refused = ResourceChange(**{**switch.__dict__, "controller_switch": ("ECS", "CODE_DEPLOY")})
    (problem,) = violations([refused])
    paths = ", ".join(f"{a} -> {b}" for a, b in IN_PLACE_CONTROLLER_SWITCHES)
    assert f"no in-place path (only {paths}): the service has to be created anew, its tasks stopped meanwhile: " in (
        str(problem)
    )
    assert "remove it from the blueprint and deploy, then add it back" in str(problem)
    assert violations([refused], allow_replace=["WebService"]) == []


def test_rules_after_a_controller_switch_still_see_every_later_change() -> None:
    """A switch ends the checks of its own row only: the rows after it are still checked."""
    switch = ResourceChange(
        "root/ServiceWeb",
        "WebService",
        "AWS::ECS::Service",
        "modify",
        "False",
        controller_switch=("CODE_DEPLOY", "ECS"),
    )
    removed = ResourceChange("root/Database", "DatabaseCluster", "AWS::RDS::DBCluster", "remove")
    assert [problem.change.logical_id for problem in violations([switch, removed])] == ["DatabaseCluster"]

"""Plan promises that mutation checking (benchmarks/mutation.py) found unguarded.

What a reviewer reads before approving a deploy (the table, the counts, what a failure does, what is adopted,
what drift is reverted, what early validation said); how each ResourceChange of DescribeChangeSet becomes a row;
that the walk reaches every page and every nested change set; and that a plan file reads back as exactly the plan
that was written, while anything else is refused with a one-line reason.
"""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest

from cfngen.deploy._plan import PLAN_FORMAT, Plan, ResourceChange, ValidationFinding, describe_tree, to_change
from cfngen.errors import UsageError
from cfngen.facts.resource_types import NESTED_STACK
from tests import documented_responses as documented


def _detail(name: str, recreation: str = "Never", attribute: str = "Properties") -> dict[str, Any]:
    return {"Target": {"Attribute": attribute, "Name": name, "RequiresRecreation": recreation}}


@pytest.mark.parametrize(
    "action, replacement, expected",
    [
        ("Add", "", ("add", "")),
        ("Remove", "", ("remove", "")),
        ("Import", "", ("import", "")),
        ("Dynamic", "", ("dynamic", "")),
        ("Modify", "False", ("modify", "")),
        ("Modify", "True", ("replace", "true")),
        ("Modify", "Conditional", ("replace", "conditional")),
        ("SomethingNew", "", ("somethingnew", "")),  # an action CloudFormation adds later is shown, not dropped
    ],
)
def test_each_action_of_a_resource_change_becomes_the_plans_word(
    action: str, replacement: str, expected: tuple[str, str]
) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceChange.html"""
    raw = {"Action": action, "LogicalResourceId": "Queue", "ResourceType": "AWS::SQS::Queue"}
    change = to_change("root/Service", {**raw, **({"Replacement": replacement} if replacement else {})})
    assert (change.action, change.replacement) == expected
    assert (change.stack, change.logical_id, change.resource_type) == ("root/Service", "Queue", "AWS::SQS::Queue")
    assert change.replaces is (expected[0] in ("replace", "dynamic"))


def test_the_causes_of_a_replacement_are_the_properties_that_force_it() -> None:
    raw = {
        "Action": "Modify",
        "Replacement": "Conditional",
        "Details": [
            _detail("Tags"),
            _detail("CidrBlock", "Always"),
            _detail("Ipv6CidrBlock", "Conditionally"),
            _detail("CidrBlock", "Always"),
        ],
    }
    assert to_change("root", raw).causes == ("CidrBlock", "Ipv6CidrBlock")


def test_without_a_forcing_property_every_changed_attribute_is_a_cause_once() -> None:
    raw = {
        "Action": "Modify",
        "Details": [
            _detail("DesiredCount"),
            _detail("Tags", attribute="Tags"),
            _detail("DesiredCount", "Never"),
            {"Target": {"Attribute": "Metadata"}},
            {"Target": {"Attribute": "Properties"}},  # a property change without a name: the attribute
            {"Evaluation": "Static"},  # no target at all
        ],
    }
    assert to_change("root", raw).causes == ("DesiredCount", "Tags", "Metadata", "Properties", "?")


def test_a_row_keeps_the_physical_id_and_the_pipeline_owned_properties_it_is_given() -> None:
    raw = {"Action": "Import", "LogicalResourceId": "Repo", "PhysicalResourceId": "shop/web", "ResourceType": "T"}
    change = to_change("root", raw, ("TaskDefinition",))
    assert (change.physical_id, change.pipeline_owned) == ("shop/web", ("TaskDefinition",))


def test_a_resource_change_with_fields_missing_is_a_row_of_empty_cells() -> None:
    """Every field of ResourceChange is optional in the API model: a sparse one is shown, not fatal."""
    assert to_change("root", {}) == ResourceChange("root", "", "", "")


def test_a_drift_aware_change_shows_template_value_live_value_and_effect_per_property() -> None:
    """BeforeValueFrom appears only in drift-aware change sets; the live value is the drift's ActualValue,
    else the BeforeValue read from the resource.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ResourceTargetDefinition.html"""

    def target(**fields: Any) -> dict[str, Any]:
        return {"Target": {"Attribute": "Properties", "BeforeValueFrom": "ACTUAL_STATE", **fields}}

    raw = {
        "Action": "Modify",
        "Details": [
            target(
                Path="/Properties/RetentionInDays",
                Name="RetentionInDays",
                AfterValue="30",
                BeforeValue="7",
                Drift={"ActualValue": "1"},
                AttributeChangeType="Modify",
            ),
            target(Name="Tags", AfterValue="a", BeforeValue="b", AttributeChangeType="Add"),
            target(AttributeChangeType="Remove"),
            target(Path="/Properties/X", AttributeChangeType="SyncWithActual", AfterValue=5, BeforeValue=5),
            target(Path="/Properties/Y", AttributeChangeType="Rewrite"),
            target(),
            _detail("NotDriftAware"),
        ],
    }
    assert to_change("root", raw).properties == (
        ("/Properties/RetentionInDays", "30", "1", "sets the template value"),
        ("Tags", "a", "b", "adds the template value"),
        ("?", "", "", "removes the live value"),
        ("/Properties/X", "5", "5", "keeps the live value (the template matches it)"),
        ("/Properties/Y", "", "", "Rewrite"),
        ("?", "", "", ""),
    )


def _walk(answers: dict[tuple[str, str], Any], owned: Any = None) -> Any:
    client = boto3.client(
        "cloudformation", region_name=documented.REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    documented.DocumentedCloudFormation(client, answers)
    if owned is None:
        return describe_tree(client, documented.ROOT_CHANGE_SET)
    return describe_tree(client, documented.ROOT_CHANGE_SET, owned)


def test_the_walk_follows_every_page_and_every_nested_change_set_depth_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DescribeChangeSet pages with NextToken; a nested stack's row names its child's change set in ChangeSetId.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html"""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    change, change_set = documented._change, documented._change_set
    grandchild = documented.change_set_id("grandchild")
    answers = {
        ("DescribeChangeSet", documented.ROOT_CHANGE_SET): change_set(
            documented.ROOT,
            "root",
            documented.ROOT_CHANGE_SET,
            [
                change("Modify", "Network", NESTED_STACK, nested=documented.NETWORK_CHANGE_SET),
                change("Add", "Queue", "AWS::SQS::Queue"),
            ],
            token="page-2",
        ),
        ("DescribeChangeSet", documented.ROOT_CHANGE_SET + "#page-2"): change_set(
            documented.ROOT,
            "root",
            documented.ROOT_CHANGE_SET,
            [
                change("Add", "Registry", NESTED_STACK),  # no child change set: a row, nothing to follow
                change("Modify", "Topic", "AWS::SNS::Topic", nested=grandchild),  # not a stack: not followed
                {"HookInvocationCount": 1},  # not a resource change
            ],
        ),
        ("DescribeChangeSet", documented.NETWORK_CHANGE_SET): change_set(
            documented.NETWORK,
            "network",
            documented.NETWORK_CHANGE_SET,
            [
                change("Modify", "Inner", NESTED_STACK, nested=grandchild),
                change("Remove", "Subnet", "AWS::EC2::Subnet"),
            ],
        ),
        ("DescribeChangeSet", grandchild): change_set(
            documented.NETWORK, "inner", grandchild, [change("Add", "Route", "AWS::EC2::Route")], token="last"
        ),
        # Changes is optional in the response: a last page may have none.
        ("DescribeChangeSet", grandchild + "#last"): {
            key: value
            for key, value in change_set(documented.NETWORK, "inner", grandchild, []).items()
            if key != "Changes"
        },
    }
    seen: list[tuple[str, str]] = []

    def owned(stack: str, raw: Any) -> tuple[str, ...]:
        seen.append((stack, raw["LogicalResourceId"]))
        return ("TaskDefinition",) if raw["LogicalResourceId"] == "Route" else ()

    tree = _walk(answers, owned)
    rows = [(c.stack, c.logical_id, c.action, c.pipeline_owned) for c in tree.changes]
    assert rows == [
        ("root", "Network", "modify", ()),
        ("root/Network", "Inner", "modify", ()),
        ("root/Network/Inner", "Route", "add", ("TaskDefinition",)),
        ("root/Network", "Subnet", "remove", ()),
        ("root", "Queue", "add", ()),
        ("root", "Registry", "add", ()),
        ("root", "Topic", "modify", ()),
    ]
    assert seen == [(c.stack, c.logical_id) for c in tree.changes]
    assert tree.nested_change_sets == (documented.NETWORK_CHANGE_SET, grandchild)
    assert _walk(answers).changes[2].pipeline_owned == (), "by default no property is pipeline-owned"


def _full_plan(**fields: Any) -> Plan:
    changes = (
        ResourceChange("root", "Database", NESTED_STACK, "modify", causes=("TemplateURL",)),
        ResourceChange(
            "root/Database", "Cluster", "AWS::RDS::DBCluster", "replace", "true", ("StorageEncrypted", "KmsKeyId")
        ),
        ResourceChange("root/Database", "Reader1", "AWS::RDS::DBInstance", "remove"),
        ResourceChange("root/Service", "Repo", "AWS::ECR::Repository", "import", physical_id="shop/web"),
        ResourceChange("root/Service", "Logs", "AWS::Logs::LogGroup", "import"),
        ResourceChange(
            "root/Service",
            "Group",
            "AWS::Logs::LogGroup",
            "modify",
            causes=("RetentionInDays",),
            properties=(("/Properties/RetentionInDays", "30", "1", "sets the template value"),),
        ),
    )
    return Plan(
        stack_name="shop",
        region="us-west-2",
        change_set_type="UPDATE",
        change_set_id="arn:cs",
        changes=changes,
        **fields,
    )


def test_the_plan_table_a_reviewer_reads() -> None:
    plan = _full_plan(
        not_drift_aware=("shop-Cluster-1", "shop-Network-2"),
        protection_gaps=("termination protection is off",),
        validation=(
            ValidationFinding("root/Database", "Cluster", "AWS::RDS::DBCluster", "FAIL", "NameConflict", "taken"),
            ValidationFinding("root", "", "", "WARN", "Quota", "near the limit"),
        ),
    )
    assert plan.render().splitlines() == [
        "stack shop (us-west-2), update",
        "stack          logical id  type                        action   replacement  caused by",
        "root           Database    AWS::CloudFormation::Stack  modify   -            TemplateURL",
        "root/Database  Cluster     AWS::RDS::DBCluster         replace  true         StorageEncrypted, KmsKeyId",
        "root/Database  Reader1     AWS::RDS::DBInstance        remove   -            -",
        "root/Service   Repo        AWS::ECR::Repository        import   -            -",
        "root/Service   Logs        AWS::Logs::LogGroup         import   -            -",
        "root/Service   Group       AWS::Logs::LogGroup         modify   -            RetentionInDays",
        "6 changes: 2 to import, 2 to modify, 1 to remove, 1 to replace",
        "adopts 2 existing resources (kept by an earlier stack; ImportExistingResources):",
        "  root/Service Repo AWS::ECR::Repository shop/web",
        "  root/Service Logs AWS::Logs::LogGroup",
        "property changes (drift-aware change set):",
        "stack         logical id  property                     template  live  change",
        "root/Service  Group       /Properties/RetentionInDays  30        1     sets the template value",
        "not drift-aware (CloudFormation did not apply REVERT_DRIFT; drift in these stays): shop-Cluster-1, "
        "shop-Network-2",
        "protection differs: termination protection is off (deploy restores it)",
        "on failure: the update rolls back; resources created by this run are deleted even with DeletionPolicy "
        "Retain (RetainExceptOnCreate), existing ones stay",
        "root/Database/Cluster (AWS::RDS::DBCluster): early validation NameConflict fails: taken",
        "root (stack): early validation Quota warns: near the limit",
    ]
    assert plan.validation_failed
    assert not replace(plan, validation=plan.validation[1:]).validation_failed


def test_one_adopted_resource_is_named_in_the_singular_and_none_gives_no_adoption_lines() -> None:
    plan = _full_plan()
    one = replace(plan, changes=plan.changes[:4])
    assert "adopts 1 existing resource (kept by an earlier stack; ImportExistingResources):" in one.render()
    assert "adopts" not in replace(plan, changes=plan.changes[:3]).render()


def test_a_plan_without_changes_says_so_with_its_drift_and_protection_notes() -> None:
    plan = Plan(
        stack_name="shop",
        region="eu-west-1",
        change_set_type="UPDATE",
        not_drift_aware=("shop-Network-2",),
        protection_gaps=("stack policy missing",),
    )
    assert not plan.has_changes
    assert plan.render().splitlines() == [
        "stack shop (eu-west-1), update: no changes",
        "not drift-aware (CloudFormation did not apply REVERT_DRIFT; drift in these stays): shop-Network-2",
        "protection differs: stack policy missing (deploy restores it)",
    ]


@pytest.mark.parametrize(
    "on_failure, note",
    [
        ("", "on failure: the create rolls back; " + "{retain}"),
        ("ROLLBACK", "on failure: the create rolls back; " + "{retain}"),
        ("DELETE", "on failure: the create rolls back and deletes the stack; " + "{retain}"),
        ("DO_NOTHING", "on failure: the create keeps what was created (no rollback)"),
        ("SOMETHING_ELSE", "on failure: the create rolls back; " + "{retain}"),
    ],
)
def test_what_a_failed_create_does_follows_its_on_failure_setting(on_failure: str, note: str) -> None:
    """https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html"""
    retain = "resources created by this run are deleted even with DeletionPolicy Retain (RetainExceptOnCreate)"
    plan = Plan(
        stack_name="shop", region="us-east-1", change_set_type="CREATE", change_set_id="cs", on_failure=on_failure
    )
    lines = plan.render().splitlines()
    assert lines[0] == "stack shop (us-east-1), create"
    assert lines[-1] == note.format(retain=retain)


def test_a_stack_whose_first_create_failed_is_replaced_and_the_plan_says_so_first() -> None:
    plan = Plan(
        stack_name="shop",
        region="us-east-1",
        change_set_type="CREATE",
        replaces_stack="arn:old",
        protection_gaps=("termination protection is off",),
    )
    assert plan.has_changes
    assert plan.render().splitlines()[-3:] == [
        "the failed stack arn:old (ROLLBACK_COMPLETE) is deleted at apply, then created anew; its change set is "
        "made and checked then",
        "protection differs: termination protection is off (deploy restores it)",
        "on failure: the create rolls back; resources created by this run are deleted even with DeletionPolicy "
        "Retain (RetainExceptOnCreate)",
    ]


def test_a_plan_file_reads_back_as_exactly_the_plan_written(tmp_path: Path) -> None:
    plan = replace(
        _full_plan(),
        stack_id="arn:stack",
        nested_change_sets=("arn:a", "arn:b"),
        template_url="https://b/t.json",
        template_hashes={"root.json": "ab"},
        parameters={"Env": "prod"},
        previous_parameters=("Old",),
        capabilities=("CAPABILITY_IAM",),
        tags={"Project": "shop"},
        stack_status="UPDATE_COMPLETE",
        stack_updated="2024-05-02",
        termination_protection=False,
        stack_policy="{}",
        status_reason="why",
        not_drift_aware=("x",),
        last_operation="op",
        on_failure="DELETE",
        protection_gaps=("gap",),
        validation=(ValidationFinding("root", "A", "T", "FAIL", "N", "r"),),
    )
    path = plan.save(tmp_path / "plan.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "the plan holds parameter values: its owner's only"
    text = path.read_text(encoding="utf-8")
    assert Plan.load(path) == plan
    assert plan.to_dict()["format"] == PLAN_FORMAT and plan.to_dict()["has_changes"] is True
    # Reviewable and diffable: one key per line, sorted, the same text for the same plan, a final newline.
    assert text.startswith('{\n  "capabilities": [\n    "CAPABILITY_IAM"\n  ],\n  "change_set_id": "arn:cs",\n')
    assert text.endswith("\n}\n") and text == plan.to_json()


def test_a_plan_file_may_leave_out_every_optional_field() -> None:
    minimal = {"format": PLAN_FORMAT, "stack_name": "s", "region": "r", "change_set_type": "CREATE"}
    assert Plan.from_dict(minimal) == Plan("s", "r", "CREATE")
    change = {"stack": "root", "logical_id": "A", "resource_type": "T", "action": "add"}
    assert Plan.from_dict({**minimal, "changes": [change]}).changes == (ResourceChange("root", "A", "T", "add"),)


@pytest.mark.parametrize(
    "data, message",
    [
        (["format", 1], f"not a cfngen plan file (format {PLAN_FORMAT})"),
        ({"stack_name": "s"}, f"not a cfngen plan file (format {PLAN_FORMAT})"),
        ({"format": PLAN_FORMAT + 1}, f"not a cfngen plan file (format {PLAN_FORMAT})"),
        ({"format": PLAN_FORMAT, "stack_name": "s"}, "plan file is damaged: "),
        (
            {"format": PLAN_FORMAT, "stack_name": "s", "region": "r", "change_set_type": "C", "changes": [{"x": 1}]},
            "plan file is damaged: ",
        ),
        (
            {"format": PLAN_FORMAT, "stack_name": "s", "region": "r", "change_set_type": "C", "validation": [{}]},
            "plan file is damaged: ",
        ),
    ],
)
def test_what_is_not_a_plan_file_is_refused_with_a_reason(data: Any, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        Plan.from_dict(data)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_an_unreadable_or_unparsable_plan_file_names_itself(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(UsageError, match=rf"^{missing}: cannot read the plan: No such file or directory$"):
        Plan.load(missing)
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match=rf"^{garbled}: not JSON: Expecting property name"):
        Plan.load(garbled)


def _rendered_lines(*changes: ResourceChange) -> list[str]:
    return Plan("s", "us-east-1", "UPDATE", change_set_id="arn:cs", changes=changes).render().splitlines()


def test_the_plan_says_which_launch_template_changes_roll_which_groups_instances() -> None:
    """modify, replace and dynamic on a launch template roll the instances of the group in its stack; an added
    template rolls nothing; a stack without a group row still names the group generically."""
    from cfngen.builders.cluster import REFRESH_MIN_HEALTHY_PERCENT

    template = "AWS::EC2::LaunchTemplate"
    lines = _rendered_lines(
        ResourceChange("root/Cluster", "ClusterAutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup", "modify"),
        ResourceChange("root/Cluster", "LaunchTemplate", template, "modify"),
        ResourceChange("root/Other", "LaunchTemplate", template, "replace", "True"),
        ResourceChange("root/Third", "LaunchTemplate", template, "dynamic"),
        ResourceChange("root/New", "LaunchTemplate", template, "add"),
        ResourceChange("root/Queue", "Queue", "AWS::SQS::Queue", "modify"),
    )
    rolls = [line for line in lines if line.startswith("instances roll")]
    healthy = f"(instance refresh, min healthy {REFRESH_MIN_HEALTHY_PERCENT} %)"
    assert rolls == [
        f"instances roll: root/Cluster ClusterAutoScalingGroup {healthy}",
        f"instances roll: root/Other Auto Scaling group {healthy}",
        f"instances roll: root/Third Auto Scaling group {healthy}",
    ]


def test_the_plan_names_each_controller_switch_and_its_path() -> None:
    from cfngen.facts.resource_types import IN_PLACE_CONTROLLER_SWITCHES

    service = "AWS::ECS::Service"
    lines = _rendered_lines(
        ResourceChange("root/ServiceApi", "ApiService", service, "modify"),  # no switch: a row before the others
        ResourceChange("root/ServiceWeb", "WebService", service, "modify", controller_switch=("CODE_DEPLOY", "ECS")),
        ResourceChange("root/ServiceJob", "JobService", service, "modify", controller_switch=("ECS", "CODE_DEPLOY")),
    )
    page = IN_PLACE_CONTROLLER_SWITCHES[("CODE_DEPLOY", "ECS")]
    assert [line for line in lines if "switches deployment controller" in line] == [
        f"root/ServiceWeb/WebService switches deployment controller CODE_DEPLOY -> ECS: in place, AWS's documented "
        f"migration ({page})",
        "root/ServiceJob/JobService switches deployment controller ECS -> CODE_DEPLOY: no in-place path AWS "
        "documents: the service has to be created anew (refused without --allow-replace JobService)",
    ]


def test_a_plan_file_keeps_each_controller_switch_and_an_older_file_has_none() -> None:
    switched = ResourceChange("root/ServiceWeb", "WebService", "AWS::ECS::Service", "modify", "False")
    plan = Plan("s", "r", "UPDATE", changes=(replace(switched, controller_switch=("CODE_DEPLOY", "ECS")),))
    again = Plan.from_dict(plan.to_dict())
    assert again == plan and again.changes[0].controller_switch == ("CODE_DEPLOY", "ECS")
    older = plan.to_dict()
    del older["changes"][0]["controller_switch"]
    assert Plan.from_dict(older).changes[0].controller_switch == ()

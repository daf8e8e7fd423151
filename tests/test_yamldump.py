"""cfngen's YAML says what troposphere's `Template.to_yaml()` says, in libyaml's layout (it is only faster)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfn_tools import load_yaml
from troposphere import (
    AccountId,
    Equals,
    GetAtt,
    If,
    Join,
    Output,
    Parameter,
    Ref,
    Select,
    Split,
    Sub,
    Template,
)
from troposphere.iam import Policy, Role
from troposphere.sns import Topic

from cfngen import load_blueprint, synthesize
from cfngen.synth._yamldump import to_yaml
from tests.conftest import EXAMPLES, example_ids


@pytest.mark.parametrize("blueprint_path", EXAMPLES, ids=example_ids())
def test_every_example_template_renders_as_troposphere_renders_it(blueprint_path: Path) -> None:
    for template in synthesize(load_blueprint(blueprint_path)).templates().values():
        assert load_yaml(to_yaml(template)) == load_yaml(template.to_yaml())


def test_awkward_values_render_as_troposphere_renders_them() -> None:
    template = Template(Description="quotes ' and \" and: colons, # hashes, unicode é")
    template.add_parameter(Parameter("Name", Type="String", Default="0123", AllowedValues=["0123", "yes", "null"]))
    template.add_condition("IsProd", Equals(Ref("Name"), "prod"))
    template.add_resource(
        Topic(
            "Topic",
            Condition="IsProd",
            DisplayName=If("IsProd", Sub("${AWS::StackName}-${Name}"), Join("-", [Ref("Name"), "x" * 200])),
            TopicName=Select(0, Split(",", Sub("a,b,${X}", X=Ref("Name")))),
        )
    )
    template.add_resource(
        Role(
            "Role",
            AssumeRolePolicyDocument={
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            Policies=[Policy(PolicyName="p", PolicyDocument={"Statement": [], "Note": "line one\nline two\n" * 6})],
        )
    )
    template.add_output(Output("Arn", Value=GetAtt("Topic", "TopicArn"), Condition="IsProd"))
    template.add_output(Output("Account", Value=AccountId))
    text = to_yaml(template)
    assert load_yaml(text) == load_yaml(template.to_yaml())
    # cfn-flip's styles: a number-like string stays a string, short-form intrinsics, many lines as a block.
    assert "Default: '0123'" in text and "!GetAtt Topic.TopicArn" in text and "Note: |\n" in text

"""A generated ECR repository name is lower case, as AWS generates it.

Emulator: moto names a repository without RepositoryName `<stack>-<LogicalId>-<RANDOM>`, in mixed case, which ECR
itself refuses (its repository names are lower case), so such a name never matches what AWS creates.
AWS: "If you don't specify a name, AWS CloudFormation generates a unique physical ID and uses that ID for the
repository name", within ECR's name pattern, lower case
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecr-repository.html#cfn-ecr-repository-repositoryname,
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html#ECR-CreateRepository-request-repositoryName).
moto already lowers generated S3 bucket names, as AWS does (the test checks both).
Test: tests/test_local_aws.py::test_generated_names_are_lower_case_where_aws_requires_it
"""

from __future__ import annotations

from cfngen.local.patches import Target

TARGETS = (Target("moto.cloudformation.parsing:generate_resource_name", "071e34cb73820599"),)
LOWER_CASE_TYPES = ("AWS::ECR::Repository",)  # types whose generated names moto leaves in mixed case


def apply() -> None:
    """Wrap moto's name generator."""
    from moto.cloudformation import parsing

    generate = parsing.generate_resource_name

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = generate(resource_type, stack_name, logical_id)
        return name.lower() if resource_type in LOWER_CASE_TYPES else name

    parsing.generate_resource_name = generate_resource_name

"""Facts about CloudFormation resource types that synthesis, the deployer and the review report share.

A type listed here is listed nowhere else: the deployer's safety rules and the
review's data-safety section read the same set, so they cannot drift apart.
"""

from __future__ import annotations

NESTED_STACK = "AWS::CloudFormation::Stack"

# Types that hold data no template can bring back, or that everything else stands in (a VPC and its
# subnets: replacing one replaces the database's subnet group, the cluster, the tasks' network).
# Replacing or removing one needs --allow-replace.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "AWS::CodeCommit::Repository",
        "AWS::DynamoDB::Table",
        "AWS::EC2::Subnet",
        "AWS::EC2::VPC",
        "AWS::ECR::Repository",
        "AWS::EFS::FileSystem",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::RDS::DBCluster",
        "AWS::RDS::DBInstance",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
    }
)

# What the stack policy protects from replacement and deletion: the database and the network.
PROTECTED_TYPES: tuple[str, ...] = ("AWS::EC2::VPC", "AWS::RDS::DBCluster", "AWS::RDS::DBInstance")

# Properties of an ECS service that only a CodeDeploy deployment may change once the CODE_DEPLOY
# controller runs it: CloudFormation refuses to update them.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ecs-service.html
CODE_DEPLOY_OWNED_PROPERTIES: tuple[str, ...] = (
    "TaskDefinition",
    "LoadBalancers",
    "NetworkConfiguration",
    "CapacityProviderStrategy",
    "PlatformVersion",
)

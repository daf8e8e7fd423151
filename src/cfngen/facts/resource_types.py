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

# Switches of an ECS service's deployment controller (AWS::ECS::Service DeploymentController.Type, absent = ECS)
# that AWS documents as an update of the running service, before -> after, with the page that says so. A switch
# between ECS's own strategies (rolling, blue/green, linear, canary) keeps the ECS controller and is an update too:
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/migrate-deployment-strategies.html
# Any other switch (ECS -> CODE_DEPLOY, for one) has no documented in-place path: the service is created anew.
_CODE_DEPLOY_TO_ECS = (
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/migrate-codedeploy-to-ecs-bluegreen.html"
)
# The resource schema's DeploymentController description lists these migrations and what to clean up after them.
_CONTROLLER_PAGE = "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-deploymentcontroller.html"
IN_PLACE_CONTROLLER_SWITCHES: dict[tuple[str, str], str] = {
    ("CODE_DEPLOY", "ECS"): _CODE_DEPLOY_TO_ECS,
    ("EXTERNAL", "ECS"): _CONTROLLER_PAGE,
    ("ECS", "EXTERNAL"): _CONTROLLER_PAGE,
}
DEFAULT_CONTROLLER = "ECS"

"""The pipeline stacks: per service, a push to its branch builds an image and rolls it out blue/green.

One stack per service (``pipeline-<service>``), not one for all: every
pipeline takes about fifteen inputs of its own (listeners, target groups,
roles, repositories), so one stack would hit CloudFormation's 200-parameter
limit at about a dozen services; and a change to one service's delivery then
updates (and, if it goes wrong, rolls back) that service's stack alone.

Each stack holds:
- an artifact bucket: encrypted, versioned, private, TLS only, old artifacts expire;
- a CodeBuild project: privileged (``docker build``), logs to a KMS-encrypted
  log group with retention; the rendered ``buildspec.yml`` tags the image with
  the commit id and writes ``imageDetail.json``;
- a CodeDeploy ECS application and a BLUE_GREEN deployment group that swaps
  the production and test listeners between the blue and green target groups,
  terminates the blue tasks after a wait, and rolls back on failure and on the
  service's alarms;
- a CodePipeline: Source (CodeCommit started by an EventBridge rule, or a
  CodeStar connection) -> Build -> optional manual approval -> CodeDeployToECS.

The build project carries its buildspec (``pipeline.buildspec: generated``, the
default). Under ``codedeploy`` a second, unprivileged CodeBuild project (the derive
project, first action of the deploy stage) writes what CodeDeployToECS reads:
``imageDetail.json`` checked to name a tag of the service's repository,
``taskdef.json``, the latest ACTIVE revision of the service's family that the
stacks registered with the image replaced by ``<IMAGE1_NAME>``, and
``appspec.yaml`` with the capacity provider strategy. The privileged build, which
runs the service's own code, writes none of them and may not read task
definitions. The stacks stay the one source of truth for the task definition and
a service repository needs only its code and Dockerfile.

Under the ``ecs-*`` strategies there is no CodeDeploy application: the deploy
stage is a second CodeBuild project that changes the root stack's image parameter
of the service in a change set (previous template, every other parameter at its
previous value), and ECS rolls the revision CloudFormation registers out with the
service's strategy. Not CodePipeline's CloudFormation action: it deploys a template
file from an artifact and gives every parameter it is not told about its default,
so it would reset the other services' images; not the ECS deploy action either,
which registers task definitions CloudFormation does not know. CloudFormation acts
with the deploy role's credentials, so that role holds exactly what updating this
service's task definition and service needs. It updates the root stack named after
the blueprint (``cfngen deploy``'s default) and refuses any other.

Every role is least privilege: statements name the exact ARNs they act on.
The CodeDeploy role has an inline policy instead of AWSCodeDeployRoleForECS,
which allows those actions on every service, listener, function and bucket of
the account. It touches the target groups only through the two listeners
(``ModifyListener``) and the ECS task sets; ELB has no resource-level
permission for the Describe calls, so those are on ``*`` (see
``iam.ACTIONS_WITHOUT_RESOURCE_LEVEL``).
"""

from __future__ import annotations

from collections.abc import Iterator

from awacs import (
    awslambda,
    cloudformation,
    cloudwatch,
    codebuild,
    codecommit,
    codedeploy,
    codepipeline,
    ecr,
    ecs,
    elasticloadbalancing,
    kms,
    logs,
    s3,
    sns,
    ssm,
)
from awacs import iam as iam_actions
from awacs.aws import (
    Action,
    Bool,
    BoolIfExists,
    Condition,
    Deny,
    ForAnyValueStringEquals,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, StackId, Sub, Template
from troposphere.codebuild import Artifacts, CloudWatchLogs, Environment, EnvironmentVariable, LogsConfig, Project
from troposphere.codebuild import Source as BuildSource
from troposphere.codedeploy import (
    Alarm,
    AlarmConfiguration,
    Application,
    AutoRollbackConfiguration,
    BlueGreenDeploymentConfiguration,
    BlueInstanceTerminationOption,
    DeploymentGroup,
    DeploymentReadyOption,
    DeploymentStyle,
    ECSService,
    LoadBalancerInfo,
    TargetGroupInfo,
    TargetGroupPairInfo,
    TrafficRoute,
)
from troposphere.codepipeline import (
    Actions,
    ActionTypeId,
    ArtifactStore,
    InputArtifacts,
    OutputArtifacts,
    Pipeline,
    Stages,
)
from troposphere.events import Rule, Target
from troposphere.s3 import (
    AbortIncompleteMultipartUpload,
    Bucket,
    BucketEncryption,
    BucketPolicy,
    LifecycleConfiguration,
    LifecycleRule,
    NoncurrentVersionExpiration,
    OwnershipControls,
    OwnershipControlsRule,
    PublicAccessBlockConfiguration,
    ServerSideEncryptionByDefault,
    ServerSideEncryptionRule,
    VersioningConfiguration,
)

from cfngen._jinja import render
from cfngen.blueprint import HOOK_EVENTS, Blueprint, Service
from cfngen.builders import _test_traffic, contracts, iam, image_cache, taskdef
from cfngen.builders.base import (
    add_output,
    add_parameter,
    named_log_group,
    new_template,
    owned_name,
    role_path,
    tagged,
)
from cfngen.builders.cluster import ECS_AMI_PARAMETER
from cfngen.builders.contracts import service_alarm_names
from cfngen.builders.registry import uses_codecommit
from cfngen.builders.service import ECS_PRINCIPAL
from cfngen.synth._stack import TEST_COMMAND_METADATA, NestedStack
from cfngen.synth.suppress import skip_check, skip_guard_rule

# Where CodeBuild and CodeDeployToECS find the rendered files (`cfngen render`) in the source artifact.
BUILDSPEC_FILE = "buildspec.yml"
TASK_DEFINITION_FILE = "taskdef.json"
APPSPEC_FILE = "appspec.yaml"
# The placeholder in taskdef.json that the deploy action replaces by the built image.
IMAGE_PLACEHOLDER_NAME = "IMAGE1_NAME"
BUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
BUILD_TIMEOUT_MINUTES = 30
ECS_TASKS_PRINCIPAL = "ecs-tasks.amazonaws.com"

SOURCE_ARTIFACT = "SourceOutput"
BUILD_ARTIFACT = "BuildOutput"
# Why a CodeBuild project names no EncryptionKey: what it writes lands in the artifact bucket, whose default
# encryption encrypts every object; CodeBuild then uses the AWS managed key for S3
# (https://docs.aws.amazon.com/codebuild/latest/userguide/security-encryption.html).
BUILD_OUTPUT_ENCRYPTION = (
    "the project's output goes to the artifact bucket, which encrypts every object by default, and CodeBuild "
    "uses the AWS managed S3 key; a customer key per pipeline would add a key policy and cost, not protection"
)
# The derive project's output: the only artifact the CodeDeployToECS action reads.
DERIVE_ARTIFACT = "DeriveOutput"
DERIVE_TIMEOUT_MINUTES = 10
# Change sets the deploy project of an ecs-* service creates on the root stack start with this.
CHANGE_SET_PREFIX = "cfngen-image-"


def stacks(blueprint: Blueprint) -> Iterator[NestedStack]:
    """One pipeline stack per service; the root lists every pipeline's name."""
    for service in blueprint.services:
        yield NestedStack(
            f"pipeline-{service.name}",
            build(blueprint, service),
            root_outputs=(contracts.of_service(service, "PipelineName"),),
            service=service.name,
        )


def build(blueprint: Blueprint, service: Service) -> Template:
    """The delivery pipeline of `service`: artifact bucket, build, deployment (CodeDeploy or stack update), pipeline."""
    deployment = blueprint.deployment_of(service)
    template = new_template(
        blueprint,
        f"delivery pipeline of {service.name}: source -> build -> "
        + ("blue/green deploy" if deployment.uses_codedeploy else "stack update"),
    )
    _add_parameters(template, blueprint, service)
    _add_artifact_bucket(template, blueprint, service)
    _add_build(template, blueprint, service)
    if derives_task_definition(blueprint, service):
        _add_derive(template, blueprint, service)
    if deployment.uses_codedeploy:
        _add_deployment(template, blueprint, service)
    else:
        _add_stack_update(template, blueprint, service)
    _add_pipeline(template, blueprint, service)
    if uses_codecommit(blueprint):
        _add_source_trigger(template, blueprint, service)
    _add_outputs(template, blueprint, service)
    return template


def derives_task_definition(blueprint: Blueprint, service: Service) -> bool:
    """True when the build writes taskdef.json and appspec.yaml itself (codedeploy, generated buildspec)."""
    return blueprint.pipeline.buildspec == "generated" and blueprint.deployment_of(service).uses_codedeploy


def build_spec(blueprint: Blueprint, service: Service) -> str:
    """The buildspec the build project carries (pipeline.buildspec: generated): test, build, push, imageDetail.json."""
    return render("buildspec.yml.j2", blueprint=blueprint.name, service=service.name, test_command=service.test_command)


def derive_spec(blueprint: Blueprint, service: Service) -> str:
    """The buildspec of the derive project: the deploy stage's imageDetail.json, taskdef.json and appspec.yaml."""
    appspec = render(
        "appspec.yaml.j2",
        blueprint=blueprint.name,
        service=service.name,
        container_name=taskdef.container_name(service),
        container_port=service.port,
        capacity_provider="$CAPACITY_PROVIDER",
        hooks=appspec_hooks(blueprint, service),
    )
    return render(
        "derive-buildspec.yml.j2",
        blueprint=blueprint.name,
        service=service.name,
        fields=taskdef.register_task_definition_fields(),
        tags=_tags(blueprint),
        image_placeholder=f"<{IMAGE_PLACEHOLDER_NAME}>",
        appspec=appspec.rstrip("\n"),
    )


def appspec_hooks(blueprint: Blueprint, service: Service) -> list[tuple[str, str]]:
    """The appspec's hooks in the order CodeDeploy runs them: the service's own and the test traffic function."""
    hooks = _test_traffic.codedeploy_hooks(blueprint, service)
    return [(event, hooks[event]) for event in HOOK_EVENTS if event in hooks]


def _tags(blueprint: Blueprint) -> list[dict[str, str]]:
    """The blueprint's tags as RegisterTaskDefinition takes them: the stacks' revisions carry them too."""
    return [{"key": key, "value": value} for key, value in sorted(blueprint.tags.items())]


def physical_name(blueprint: Blueprint, service: Service) -> str:
    """The name of the service's pipeline, build project, CodeDeploy application and deployment group."""
    return owned_name(blueprint, service.name)


def _add_parameters(template: Template, blueprint: Blueprint, service: Service) -> None:
    deployment = blueprint.deployment_of(service)
    inputs = [
        (contracts.LOGS_KMS_KEY_ARN, "KMS key that encrypts the build log group"),
        (contracts.CLUSTER_NAME, "ECS cluster the service runs in"),
        (contracts.of_service(service, "ServiceName"), f"ECS service of {service.name}"),
        (contracts.of_service(service, "ServiceArn"), f"ECS service ARN of {service.name}"),
        (
            contracts.of_service(service, "ExecutionRoleArn"),
            f"Task execution role of {service.name} (passed to ECS on deploy)",
        ),
        (contracts.of_service(service, "TaskRoleArn"), f"Task role of {service.name} (passed to ECS on deploy)"),
        (
            contracts.of_service(service, "RepositoryUri"),
            f"ECR repository URI the build pushes {service.name}'s images to",
        ),
        (contracts.of_service(service, "RepositoryArn"), f"ECR repository ARN of {service.name}"),
    ]
    if deployment.uses_codedeploy:
        inputs += [
            (contracts.of_service(service, "ProductionListenerArn"), f"Production listener of {service.name}"),
            (contracts.of_service(service, "TestListenerArn"), f"Test listener of {service.name}"),
            (contracts.of_service(service, "BlueTargetGroupName"), f"Blue target group of {service.name}"),
            (contracts.of_service(service, "GreenTargetGroupName"), f"Green target group of {service.name}"),
        ]
    elif deployment.shifts_traffic:
        inputs.append(
            (
                contracts.of_service(service, "InfrastructureRoleArn"),
                f"Role ECS shifts {service.name}'s traffic with (passed to ECS on deploy)",
            )
        )
        if _test_traffic.tests_traffic(blueprint, service):
            inputs.append(
                (
                    contracts.of_service(service, "TestTrafficHookRoleArn"),
                    f"Role ECS invokes {service.name}'s test traffic function with (passed to ECS on deploy)",
                )
            )
    if derives_task_definition(blueprint, service):
        inputs.append((contracts.CAPACITY_PROVIDER_NAME, "Capacity provider the appspec.yaml of a deployment names"))
    if uses_codecommit(blueprint):
        inputs += [
            (contracts.of_service(service, "SourceRepositoryName"), f"CodeCommit repository of {service.name}"),
            (contracts.of_service(service, "SourceRepositoryArn"), f"CodeCommit repository ARN of {service.name}"),
        ]
    for name, description in inputs:
        add_parameter(template, name, "String", description)


def _add_artifact_bucket(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    bucket = template.add_resource(
        Bucket(
            f"{prefix}ArtifactBucket",
            BucketEncryption=BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
                    )
                ]
            ),
            VersioningConfiguration=VersioningConfiguration(Status="Enabled"),
            PublicAccessBlockConfiguration=PublicAccessBlockConfiguration(
                BlockPublicAcls=True,
                BlockPublicPolicy=True,
                IgnorePublicAcls=True,
                RestrictPublicBuckets=True,
            ),
            OwnershipControls=OwnershipControls(Rules=[OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]),
            LifecycleConfiguration=LifecycleConfiguration(
                Rules=[
                    LifecycleRule(
                        Id="ExpireOldArtifacts",
                        Status="Enabled",
                        ExpirationInDays=blueprint.pipeline.artifact_retention_days,
                        NoncurrentVersionExpiration=NoncurrentVersionExpiration(NoncurrentDays=1),
                        AbortIncompleteMultipartUpload=AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
                    )
                ]
            ),
            # Artifacts outlive a stack update that would replace the bucket; removing them is a decision. Not
            # RetainExceptOnCreate: a pipeline starts when it is created, so its first artifacts may be here before
            # the create fails, and a bucket that is not empty cannot be deleted (the rollback would fail); its
            # generated name blocks no later create.
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    no_access_logs = (
        "only the pipeline's own roles read and write this bucket and CloudTrail "
        "records those calls; server access logs would need a second bucket per pipeline"
    )
    skip_check(bucket, "CKV_AWS_18", no_access_logs)
    skip_guard_rule(bucket, "S3_BUCKET_LOGGING_ENABLED", no_access_logs)
    skip_guard_rule(
        bucket,
        "S3_BUCKET_DEFAULT_LOCK_ENABLED",
        "artifacts are the inputs of pipeline runs, expired by the lifecycle rule after "
        "pipeline.artifact_retention_days; object lock would keep them from expiring",
    )
    template.add_resource(
        BucketPolicy(
            f"{prefix}ArtifactBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=iam.policy_document(
                Statement(
                    Sid="DenyInsecureTransport",
                    Effect=Deny,
                    Principal=Principal("*"),
                    Action=[Action("s3", "*")],
                    Resource=[GetAtt(bucket, "Arn"), Sub(f"${{{bucket.title}.Arn}}/*")],
                    Condition=Condition(Bool("aws:SecureTransport", False)),
                )
            ),
        )
    )


def _add_build(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    name = physical_name(blueprint, service)
    log_group = template.add_resource(
        named_log_group(f"{prefix}BuildLogGroup", f"/aws/codebuild/{name}", blueprint, contracts.LOGS_KMS_KEY_ARN)
    )
    repository = Ref(contracts.of_service(service, "RepositoryArn"))
    policies = {
        "write-build-logs": [iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(log_group, "Arn")])],
        "use-artifacts": _stage_artifact_statements(blueprint, service, SOURCE_ARTIFACT, BUILD_ARTIFACT),
        "push-image": [
            iam.allow([ecr.GetAuthorizationToken], ["*"]),
            iam.allow(
                [
                    ecr.BatchCheckLayerAvailability,
                    ecr.BatchGetImage,
                    ecr.CompleteLayerUpload,
                    ecr.DescribeImages,
                    ecr.GetDownloadUrlForLayer,
                    ecr.InitiateLayerUpload,
                    ecr.PutImage,
                    ecr.UploadLayerPart,
                ],
                [repository],
            ),
        ],
    }
    environment = _image_variables(service)
    if image_cache.upstreams(blueprint):
        policies["pull-base-images"] = image_cache.pull_statements(blueprint)
        environment += image_cache.build_environment(blueprint)
    template.add_resource(
        iam.service_role(
            f"{prefix}BuildRole",
            "codebuild.amazonaws.com",
            policies,
            path=role_path(blueprint),
            description=f"Lets CodeBuild build {service.name}: push to its repository, write its logs, use its artifacts",
        )
    )
    repository_buildspec = blueprint.pipeline.buildspec == "repository"
    # Tagged here: the CodeBuild schema does not say whether the stack's tags reach a project.
    project = template.add_resource(
        tagged(
            Project(
                f"{prefix}BuildProject",
                Name=name,
                Description=f"Builds, tests and pushes the image of {service.name} ({blueprint.name})",
                ServiceRole=GetAtt(f"{prefix}BuildRole", "Arn"),
                Source=BuildSource(
                    Type="CODEPIPELINE",
                    BuildSpec=BUILDSPEC_FILE if repository_buildspec else build_spec(blueprint, service),
                ),
                Artifacts=Artifacts(Type="CODEPIPELINE"),
                Cache=image_cache.LAYER_CACHE,
                Environment=Environment(
                    Type="LINUX_CONTAINER",
                    ComputeType="BUILD_GENERAL1_SMALL",
                    Image=BUILD_IMAGE,
                    PrivilegedMode=True,
                    EnvironmentVariables=environment,
                ),
                LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(log_group))),
                TimeoutInMinutes=BUILD_TIMEOUT_MINUTES,
            ),
            blueprint,
        )
    )
    skip_guard_rule(project, "CODEBUILD_ENCRYPTION_KEY_RULE", BUILD_OUTPUT_ENCRYPTION)
    skip_check(
        project,
        "CKV_AWS_316",
        "the build runs `docker build`, which needs the Docker daemon that only "
        "privileged mode starts; the build role can push to one repository only",
    )
    if service.test_command:
        metadata = dict(project.Metadata)
        metadata["cfngen"] = {**metadata.get("cfngen", {}), TEST_COMMAND_METADATA: service.test_command}
        project.Metadata = metadata


def _image_variables(service: Service) -> list[EnvironmentVariable]:
    return [
        EnvironmentVariable(
            Name="REPOSITORY_URI", Type="PLAINTEXT", Value=Ref(contracts.of_service(service, "RepositoryUri"))
        ),
        EnvironmentVariable(Name="CONTAINER_NAME", Type="PLAINTEXT", Value=taskdef.container_name(service)),
    ]


def _add_derive(template: Template, blueprint: Blueprint, service: Service) -> None:
    """The derive project: what the deploy stage trusts, written outside the privileged build.

    The build runs the service's own code (tests, ``docker build``) in privileged mode; whatever it can
    read or write, that code can too. So it writes only imageDetail.json, and this project, which runs
    nothing but its inline buildspec, unprivileged, checks that file names a tag of the service's
    repository and derives taskdef.json and appspec.yaml from the revision the stacks registered. Only
    this project's role may read task definitions, and the deploy action reads only its artifact.
    """
    prefix = service.logical_name
    name = f"{physical_name(blueprint, service)}-derive"
    log_group = template.add_resource(
        named_log_group(f"{prefix}DeriveLogGroup", f"/aws/codebuild/{name}", blueprint, contracts.LOGS_KMS_KEY_ARN)
    )
    template.add_resource(
        iam.service_role(
            f"{prefix}DeriveRole",
            "codebuild.amazonaws.com",
            {
                "write-derive-logs": [iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(log_group, "Arn")])],
                "use-artifacts": _stage_artifact_statements(blueprint, service, BUILD_ARTIFACT, DERIVE_ARTIFACT),
                # DescribeTaskDefinition takes no resource-level permission (iam.ACTIONS_WITHOUT_RESOURCE_LEVEL).
                "read-task-definition": [iam.allow([ecs.DescribeTaskDefinition], ["*"])],
            },
            path=role_path(blueprint),
            description=f"Lets CodeBuild derive {service.name}'s taskdef.json and appspec.yaml from its stacks",
        )
    )
    template.add_resource(
        tagged(
            Project(
                f"{prefix}DeriveProject",
                Name=name,
                Description=f"Derives the deployment files of {service.name} from its stacks ({blueprint.name})",
                ServiceRole=GetAtt(f"{prefix}DeriveRole", "Arn"),
                Source=BuildSource(Type="CODEPIPELINE", BuildSpec=derive_spec(blueprint, service)),
                Artifacts=Artifacts(Type="CODEPIPELINE"),
                Environment=Environment(
                    Type="LINUX_CONTAINER",
                    ComputeType="BUILD_GENERAL1_SMALL",
                    Image=BUILD_IMAGE,
                    EnvironmentVariables=[
                        *_image_variables(service),
                        EnvironmentVariable(
                            Name="TASK_FAMILY", Type="PLAINTEXT", Value=taskdef.family(blueprint, service)
                        ),
                        EnvironmentVariable(
                            Name="CAPACITY_PROVIDER", Type="PLAINTEXT", Value=Ref(contracts.CAPACITY_PROVIDER_NAME)
                        ),
                    ],
                ),
                LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(log_group))),
                TimeoutInMinutes=DERIVE_TIMEOUT_MINUTES,
            ),
            blueprint,
        )
    )


def _add_deployment(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    name = physical_name(blueprint, service)
    template.add_resource(Application(f"{prefix}CodeDeployApplication", ApplicationName=name, ComputePlatform="ECS"))
    alarms = service_alarm_names(blueprint, service)
    policies = {
        "shift-traffic-of-one-service": [
            iam.allow(
                [ecs.DescribeServices, ecs.UpdateServicePrimaryTaskSet],
                [Ref(contracts.of_service(service, "ServiceArn"))],
            ),
            iam.allow([ecs.CreateTaskSet, ecs.DeleteTaskSet], [_task_sets(prefix)]),
            iam.allow(
                [elasticloadbalancing.ModifyListener],
                [
                    Ref(contracts.of_service(service, "ProductionListenerArn")),
                    Ref(contracts.of_service(service, "TestListenerArn")),
                ],
            ),
            iam.allow(
                [
                    elasticloadbalancing.DescribeListeners,
                    elasticloadbalancing.DescribeRules,
                    elasticloadbalancing.DescribeTargetGroups,
                ],
                ["*"],
            ),
            iam.allow([cloudwatch.DescribeAlarms], [iam.arn("cloudwatch", f"alarm:{alarm}") for alarm in alarms]),
            _pass_task_roles(service),
        ],
    }
    hooks = appspec_hooks(blueprint, service)
    if hooks:
        policies["invoke-deployment-hooks"] = [
            iam.allow([awslambda.InvokeFunction], [iam.arn("lambda", f"function:{function}") for _, function in hooks])
        ]
    template.add_resource(
        iam.service_role(
            f"{prefix}CodeDeployRole",
            "codedeploy.amazonaws.com",
            policies,
            path=role_path(blueprint),
            description=f"Lets CodeDeploy shift {service.name} between its blue and green task sets",
        )
    )
    template.add_resource(
        DeploymentGroup(
            f"{prefix}DeploymentGroup",
            ApplicationName=Ref(f"{prefix}CodeDeployApplication"),
            DeploymentGroupName=name,
            ServiceRoleArn=GetAtt(f"{prefix}CodeDeployRole", "Arn"),
            DeploymentConfigName=blueprint.pipeline.deployment_config,
            DeploymentStyle=DeploymentStyle(DeploymentType="BLUE_GREEN", DeploymentOption="WITH_TRAFFIC_CONTROL"),
            BlueGreenDeploymentConfiguration=BlueGreenDeploymentConfiguration(
                DeploymentReadyOption=DeploymentReadyOption(ActionOnTimeout="CONTINUE_DEPLOYMENT"),
                TerminateBlueInstancesOnDeploymentSuccess=BlueInstanceTerminationOption(
                    Action="TERMINATE",
                    TerminationWaitTimeInMinutes=blueprint.pipeline.termination_wait_minutes,
                ),
            ),
            ECSServices=[
                ECSService(
                    ClusterName=Ref(contracts.CLUSTER_NAME),
                    ServiceName=Ref(contracts.of_service(service, "ServiceName")),
                )
            ],
            LoadBalancerInfo=LoadBalancerInfo(
                TargetGroupPairInfoList=[
                    TargetGroupPairInfo(
                        TargetGroups=[
                            TargetGroupInfo(Name=Ref(contracts.of_service(service, "BlueTargetGroupName"))),
                            TargetGroupInfo(Name=Ref(contracts.of_service(service, "GreenTargetGroupName"))),
                        ],
                        ProdTrafficRoute=TrafficRoute(
                            ListenerArns=[Ref(contracts.of_service(service, "ProductionListenerArn"))]
                        ),
                        TestTrafficRoute=TrafficRoute(
                            ListenerArns=[Ref(contracts.of_service(service, "TestListenerArn"))]
                        ),
                    )
                ]
            ),
            AutoRollbackConfiguration=AutoRollbackConfiguration(
                Enabled=True,
                Events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
            ),
            AlarmConfiguration=AlarmConfiguration(Enabled=True, Alarms=[Alarm(Name=alarm) for alarm in alarms]),
        )
    )


def _add_stack_update(template: Template, blueprint: Blueprint, service: Service) -> None:
    """The deploy project of an ecs-* service: a change set on the root stack with the new image (module docstring)."""
    prefix = service.logical_name
    name = f"{physical_name(blueprint, service)}-deploy"
    log_group = template.add_resource(
        named_log_group(f"{prefix}DeployLogGroup", f"/aws/codebuild/{name}", blueprint, contracts.LOGS_KMS_KEY_ARN)
    )
    template.add_resource(
        iam.service_role(
            f"{prefix}DeployRole",
            "codebuild.amazonaws.com",
            {
                "write-deploy-logs": [iam.allow([logs.CreateLogStream, logs.PutLogEvents], [GetAtt(log_group, "Arn")])],
                "read-image-detail": _stage_artifact_statements(blueprint, service, BUILD_ARTIFACT),
                "update-the-image-parameter": _stack_update_statements(blueprint),
                "roll-out-the-service": _rollout_statements(blueprint, service),
            },
            path=role_path(blueprint),
            description=f"Lets CodeBuild roll {service.name}'s new image out through the blueprint's root stack",
        )
    )
    deploy_project = template.add_resource(
        tagged(
            Project(
                f"{prefix}DeployProject",
                Name=name,
                Description=f"Rolls the new image of {service.name} out through CloudFormation ({blueprint.name})",
                ServiceRole=GetAtt(f"{prefix}DeployRole", "Arn"),
                Source=BuildSource(
                    Type="CODEPIPELINE",
                    BuildSpec=render(
                        "stack-update-buildspec.yml.j2",
                        blueprint=blueprint.name,
                        service=service.name,
                        image_parameter=contracts.image_parameter(service),
                        root_stack_name=blueprint.name,
                        change_set_prefix=CHANGE_SET_PREFIX,
                    ),
                ),
                Artifacts=Artifacts(Type="CODEPIPELINE"),
                Environment=Environment(
                    Type="LINUX_CONTAINER",
                    ComputeType="BUILD_GENERAL1_SMALL",
                    Image=BUILD_IMAGE,
                    EnvironmentVariables=[
                        EnvironmentVariable(Name="PIPELINE_STACK_ID", Type="PLAINTEXT", Value=StackId)
                    ],
                ),
                LogsConfig=LogsConfig(CloudWatchLogs=CloudWatchLogs(Status="ENABLED", GroupName=Ref(log_group))),
                TimeoutInMinutes=blueprint.deployment_of(service).deploy_stage_minutes,
            ),
            blueprint,
        )
    )
    skip_guard_rule(deploy_project, "CODEBUILD_ENCRYPTION_KEY_RULE", BUILD_OUTPUT_ENCRYPTION)


def _stack_update_statements(blueprint: Blueprint) -> list[Statement]:
    """Find the root from the pipeline's own stack, change its image parameter, follow the nested updates.

    The root is the stack named after the blueprint; its nested stacks' names start with that name.
    The EcsAmiId root parameter is an SSM parameter name the cluster stack resolves on every update.
    """
    root = iam.arn("cloudformation", f"stack/{blueprint.name}/*")
    nested = iam.arn("cloudformation", f"stack/{blueprint.name}-*/*")
    return [
        iam.allow([cloudformation.DescribeStacks], [StackId]),
        iam.allow(
            [
                cloudformation.CreateChangeSet,
                cloudformation.DescribeChangeSet,
                cloudformation.ExecuteChangeSet,
                cloudformation.DescribeStacks,
                cloudformation.UpdateStack,
            ],
            [root, nested],
        ),
        iam.allow([ssm.GetParameters], [iam.arn("ssm", f"parameter{ECS_AMI_PARAMETER}", account=False)]),
    ]


def _rollout_statements(blueprint: Blueprint, service: Service) -> list[Statement]:
    """What CloudFormation does with the deploy role's credentials: a new revision, the service updated to it."""
    prefix = service.logical_name
    revisions = iam.arn("ecs", f"task-definition/{taskdef.family(blueprint, service)}:*")
    service_arn = Ref(contracts.of_service(service, "ServiceArn"))
    statements = [
        # The blueprint's task definition asks for no privileged container; neither may the revisions this role
        # registers (the same guard as the CodeDeploy pipeline's, _deploy_statements).
        iam.allow(
            [ecs.RegisterTaskDefinition], [revisions], condition=Condition(BoolIfExists({"ecs:privileged": "false"}))
        ),
        iam.allow([ecs.ListTagsForResource], [revisions]),
        # Replacing the revision deregisters the old one; neither call takes a resource type.
        iam.allow([ecs.DescribeTaskDefinition, ecs.DeregisterTaskDefinition], ["*"]),
        iam.allow(
            [ecs.UpdateService, ecs.DescribeServices, ecs.ListServiceDeployments, ecs.ListTagsForResource],
            [service_arn],
        ),
        iam.allow(
            [ecs.DescribeServiceDeployments, ecs.StopServiceDeployment],
            [service_arn, iam.arn("ecs", f"service-deployment/${{ClusterName}}/${{{prefix}ServiceName}}/*")],
        ),
        _pass_task_roles(service),
    ]
    if blueprint.deployment_of(service).shifts_traffic:
        # The roles the service names for ECS: to shift traffic, and to invoke the test traffic function.
        roles = [Ref(contracts.of_service(service, "InfrastructureRoleArn"))]
        if _test_traffic.tests_traffic(blueprint, service):
            roles.append(Ref(contracts.of_service(service, "TestTrafficHookRoleArn")))
        statements.append(
            iam.allow(
                [iam_actions.PassRole],
                roles,
                condition=Condition(StringEquals({"iam:PassedToService": ECS_PRINCIPAL})),
            )
        )
    if blueprint.tags:
        statements.append(
            iam.allow(
                [ecs.TagResource],
                [revisions],
                condition=Condition(StringEquals({"ecs:CreateAction": "RegisterTaskDefinition"})),
            )
        )
    return statements


def _add_pipeline(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    codedeploy = blueprint.deployment_of(service).uses_codedeploy
    projects = [GetAtt(f"{prefix}BuildProject", "Arn")]
    if derives_task_definition(blueprint, service):
        projects.append(GetAtt(f"{prefix}DeriveProject", "Arn"))
    if not codedeploy:
        projects.append(GetAtt(f"{prefix}DeployProject", "Arn"))
    template.add_resource(
        iam.service_role(
            f"{prefix}PipelineRole",
            "codepipeline.amazonaws.com",
            {
                "use-artifacts": _artifact_statements(prefix),
                "read-source": [_source_statement(blueprint, service)],
                "run-build": [iam.allow([codebuild.StartBuild, codebuild.BatchGetBuilds], projects)],
                **({"deploy": _deploy_statements(blueprint, service)} if codedeploy else {}),
                **({"notify-approvers": _notify_statements(blueprint)} if blueprint.pipeline.approval else {}),
            },
            path=role_path(blueprint),
            description=f"Lets CodePipeline run {service.name}'s pipeline: read its source, build, deploy it",
        )
    )
    stages = [
        Stages(Name="Source", Actions=[_source_action(blueprint, service)]),
        Stages(
            Name="Build",
            Actions=[
                Actions(
                    Name="BuildImage",
                    ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
                    InputArtifacts=[InputArtifacts(Name=SOURCE_ARTIFACT)],
                    OutputArtifacts=[OutputArtifacts(Name=BUILD_ARTIFACT)],
                    Configuration={"ProjectName": Ref(f"{prefix}BuildProject")},
                )
            ],
        ),
    ]
    if blueprint.pipeline.approval:
        stages.append(
            Stages(
                Name="Approve",
                Actions=[
                    Actions(
                        Name="ApproveDeployment",
                        ActionTypeId=ActionTypeId(Category="Approval", Owner="AWS", Provider="Manual", Version="1"),
                        # The alarm topic tells on-call that a deployment waits for them.
                        Configuration={
                            "CustomData": f"Deploy the new image of {service.name} to {blueprint.name}?",
                            "NotificationArn": _alarm_topic_arn(blueprint),
                        },
                    )
                ],
            )
        )
    stages.append(Stages(Name="Deploy", Actions=_deploy_actions(blueprint, service)))
    template.add_resource(
        Pipeline(
            f"{prefix}Pipeline",
            Name=physical_name(blueprint, service),
            PipelineType="V2",
            RoleArn=GetAtt(f"{prefix}PipelineRole", "Arn"),
            ArtifactStore=ArtifactStore(Type="S3", Location=Ref(f"{prefix}ArtifactBucket")),
            Stages=stages,
            RestartExecutionOnUpdate=False,
        )
    )


def _deploy_actions(blueprint: Blueprint, service: Service) -> list[Actions]:
    """The deploy stage: a stack update (ecs-*), or CodeDeployToECS after the derive project when it derives.

    The derive project runs in this stage, after any approval, so the revision it derives is the latest
    the stacks registered when the deployment starts; CodeDeployToECS then reads only its artifact.
    """
    prefix = service.logical_name
    if not blueprint.deployment_of(service).uses_codedeploy:
        return [
            Actions(
                Name="StackUpdate",
                ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
                InputArtifacts=[InputArtifacts(Name=BUILD_ARTIFACT)],
                Configuration={"ProjectName": Ref(f"{prefix}DeployProject")},
            )
        ]
    actions = []
    if derives_task_definition(blueprint, service):
        actions.append(
            Actions(
                Name="DeriveDeployment",
                ActionTypeId=ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
                InputArtifacts=[InputArtifacts(Name=BUILD_ARTIFACT)],
                OutputArtifacts=[OutputArtifacts(Name=DERIVE_ARTIFACT)],
                Configuration={"ProjectName": Ref(f"{prefix}DeriveProject")},
                RunOrder=1,
            )
        )
        files = image = DERIVE_ARTIFACT
    else:
        # pipeline.buildspec: repository: the repository's own taskdef.json and appspec.yaml, which the build
        # cannot overwrite (_stage_artifact_statements); the deploy role registers no privileged container and
        # passes only the service's roles, whatever they say.
        files, image = SOURCE_ARTIFACT, BUILD_ARTIFACT
    actions.append(
        Actions(
            Name="BlueGreenDeploy",
            ActionTypeId=ActionTypeId(Category="Deploy", Owner="AWS", Provider="CodeDeployToECS", Version="1"),
            InputArtifacts=[InputArtifacts(Name=name) for name in dict.fromkeys((files, image))],
            Configuration={
                "ApplicationName": Ref(f"{prefix}CodeDeployApplication"),
                "DeploymentGroupName": Ref(f"{prefix}DeploymentGroup"),
                "TaskDefinitionTemplateArtifact": files,
                "TaskDefinitionTemplatePath": TASK_DEFINITION_FILE,
                "AppSpecTemplateArtifact": files,
                "AppSpecTemplatePath": APPSPEC_FILE,
                "Image1ArtifactName": image,
                "Image1ContainerName": IMAGE_PLACEHOLDER_NAME,
            },
            RunOrder=len(actions) + 1,
        )
    )
    return actions


def _source_action(blueprint: Blueprint, service: Service) -> Actions:
    source = blueprint.pipeline.source
    if uses_codecommit(blueprint):
        # Change detection comes from the EventBridge rule (_add_source_trigger), never from polling.
        return Actions(
            Name="Source",
            ActionTypeId=ActionTypeId(Category="Source", Owner="AWS", Provider="CodeCommit", Version="1"),
            OutputArtifacts=[OutputArtifacts(Name=SOURCE_ARTIFACT)],
            Configuration={
                "RepositoryName": Ref(contracts.of_service(service, "SourceRepositoryName")),
                "BranchName": blueprint.pipeline.branch,
                "PollForSourceChanges": False,
                "OutputArtifactFormat": "CODE_ZIP",
            },
        )
    return Actions(
        Name="Source",
        ActionTypeId=ActionTypeId(Category="Source", Owner="AWS", Provider="CodeStarSourceConnection", Version="1"),
        OutputArtifacts=[OutputArtifacts(Name=SOURCE_ARTIFACT)],
        Configuration={
            "ConnectionArn": source.connection_arn,
            "FullRepositoryId": source.repository,
            "BranchName": blueprint.pipeline.branch,
            "DetectChanges": True,
            "OutputArtifactFormat": "CODE_ZIP",
        },
    )


def _alarm_topic_arn(blueprint: Blueprint) -> Sub:
    """The monitoring stack's topic, by its fixed name: that stack comes after the pipelines (see contracts)."""
    return iam.arn("sns", contracts.alarm_topic_name(blueprint))


def _notify_statements(blueprint: Blueprint) -> list[Statement]:
    """Publish the approval request to the alarm topic, encrypting it with the topic's key through SNS only.

    The key's id is not known here, so the key is named by its alias (kms:ResourceAliases); its key policy
    lets the account's principals use it through SNS (monitoring.py).
    https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html
    """
    return [
        iam.allow([sns.Publish], [_alarm_topic_arn(blueprint)]),
        iam.allow(
            [kms.Decrypt, kms.GenerateDataKey],
            [iam.arn("kms", "key/*")],
            condition=Condition(
                [
                    ForAnyValueStringEquals({"kms:ResourceAliases": f"alias/{contracts.alarm_topic_name(blueprint)}"}),
                    StringEquals({"kms:ViaService": Sub("sns.${AWS::Region}.amazonaws.com")}),
                ]
            ),
        ),
    ]


def _source_statement(blueprint: Blueprint, service: Service) -> Statement:
    connection_arn = blueprint.pipeline.source.connection_arn
    if connection_arn is None:
        return iam.allow(
            [
                codecommit.GetBranch,
                codecommit.GetCommit,
                codecommit.GetRepository,
                codecommit.UploadArchive,
                codecommit.GetUploadArchiveStatus,
                codecommit.CancelUploadArchive,
            ],
            [Ref(contracts.of_service(service, "SourceRepositoryArn"))],
        )
    # Connections carry the service prefix of their ARN: codestar-connections, or codeconnections for new ones.
    return iam.allow([Action(connection_arn.split(":")[2], "UseConnection")], [connection_arn])


def _deploy_statements(blueprint: Blueprint, service: Service) -> list[Statement]:
    prefix = service.logical_name
    revisions = iam.arn("ecs", f"task-definition/{taskdef.family(blueprint, service)}:*")
    statements = [
        iam.allow([codedeploy.CreateDeployment, codedeploy.GetDeployment], [_deployment_group_arn(prefix)]),
        iam.allow(
            [codedeploy.GetApplication, codedeploy.GetApplicationRevision, codedeploy.RegisterApplicationRevision],
            [_application_arn(prefix)],
        ),
        iam.allow(
            [codedeploy.GetDeploymentConfig],
            [iam.arn("codedeploy", f"deploymentconfig:{blueprint.pipeline.deployment_config}")],
        ),
        # CodeDeployToECS registers the rendered taskdef.json as a new revision of the service's family.
        # The source repository's taskdef.json is registered as it stands: whatever it says, no privileged
        # container (ecs:privileged is a condition key of RegisterTaskDefinition; absent when no container asks,
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
        # The roles it may name are the two that _pass_task_roles lets the pipeline pass.
        iam.allow(
            [ecs.RegisterTaskDefinition], [revisions], condition=Condition(BoolIfExists({"ecs:privileged": "false"}))
        ),
        _pass_task_roles(service),
    ]
    if blueprint.tags:
        # taskdef.json carries the blueprint's tags, and ECS authorizes tags given at registration as
        # ecs:TagResource: allowed for that registration only, never for tagging anything later.
        statements.append(
            iam.allow(
                [ecs.TagResource],
                [revisions],
                condition=Condition(StringEquals({"ecs:CreateAction": "RegisterTaskDefinition"})),
            )
        )
    return statements


def _add_source_trigger(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    pipeline_arn = Sub(
        f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:${{{prefix}Pipeline}}"
    )
    template.add_resource(
        iam.service_role(
            f"{prefix}SourceEventRole",
            "events.amazonaws.com",
            {"start-pipeline": [iam.allow([codepipeline.StartPipelineExecution], [pipeline_arn])]},
            path=role_path(blueprint),
            description=f"Lets EventBridge start {service.name}'s pipeline when its branch changes",
        )
    )
    template.add_resource(
        Rule(
            f"{prefix}SourceEventRule",
            Description=f"Starts {service.name}'s pipeline on a push to {blueprint.pipeline.branch}",
            EventPattern={
                "source": ["aws.codecommit"],
                "detail-type": ["CodeCommit Repository State Change"],
                "resources": [Ref(contracts.of_service(service, "SourceRepositoryArn"))],
                "detail": {
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceType": ["branch"],
                    "referenceName": [blueprint.pipeline.branch],
                },
            },
            State="ENABLED",
            Targets=[Target(Id="Pipeline", Arn=pipeline_arn, RoleArn=GetAtt(f"{prefix}SourceEventRole", "Arn"))],
        )
    )


def _add_outputs(template: Template, blueprint: Blueprint, service: Service) -> None:
    prefix = service.logical_name
    add_output(
        template,
        contracts.of_service(service, "PipelineName"),
        Ref(f"{prefix}Pipeline"),
        f"Delivery pipeline of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "BuildProjectName"),
        Ref(f"{prefix}BuildProject"),
        f"CodeBuild project of {service.name}",
    )
    if not blueprint.deployment_of(service).uses_codedeploy:
        add_output(
            template,
            contracts.of_service(service, "DeployProjectName"),
            Ref(f"{prefix}DeployProject"),
            f"CodeBuild project that rolls {service.name}'s images out through CloudFormation",
        )
        return
    add_output(
        template,
        contracts.of_service(service, "CodeDeployApplicationName"),
        Ref(f"{prefix}CodeDeployApplication"),
        f"CodeDeploy application of {service.name}",
    )
    add_output(
        template,
        contracts.of_service(service, "DeploymentGroupName"),
        Ref(f"{prefix}DeploymentGroup"),
        f"CodeDeploy deployment group of {service.name}",
    )


def _artifact_statements(prefix: str) -> list[Statement]:
    bucket = f"{prefix}ArtifactBucket"
    return [
        iam.allow([s3.GetObject, s3.GetObjectVersion, s3.PutObject], [Sub(f"${{{bucket}.Arn}}/*")]),
        iam.allow([s3.GetBucketAcl, s3.GetBucketLocation, s3.GetBucketVersioning], [GetAtt(bucket, "Arn")]),
    ]


def _stage_artifact_statements(
    blueprint: Blueprint, service: Service, reads: str, writes: str | None = None
) -> list[Statement]:
    """A CodeBuild action reads its input artifact and writes its own output, nowhere else in the artifact bucket.

    The build (which runs the service's own code) reads the source and writes imageDetail.json; the derive
    project reads that and writes what the deploy stage reads; the stack-update project only reads. So no
    action can overwrite another's output: with pipeline.buildspec: repository the deploy stage reads
    taskdef.json and appspec.yaml from the source artifact, which the build cannot change. CodePipeline
    stores an artifact under `<pipeline name, first 20 characters>/<artifact name, first 10 characters>/<random
    id>` in the bucket (the folder "is created for you based on the name of the pipeline",
    https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ArtifactStore.html; the truncation:
    https://repost.aws/questions/QUI91tw7A9SUOMohJurNqmgA).
    """
    bucket = f"{service.logical_name}ArtifactBucket"
    folder = physical_name(blueprint, service)[:20]
    statements = [iam.allow([s3.GetObject, s3.GetObjectVersion], [Sub(f"${{{bucket}.Arn}}/{folder}/{reads[:10]}/*")])]
    if writes is not None:
        statements.append(iam.allow([s3.PutObject], [Sub(f"${{{bucket}.Arn}}/{folder}/{writes[:10]}/*")]))
    statements.append(
        iam.allow([s3.GetBucketAcl, s3.GetBucketLocation, s3.GetBucketVersioning], [GetAtt(bucket, "Arn")])
    )
    return statements


def _pass_task_roles(service: Service) -> Statement:
    """iam:PassRole for the service's two task roles, and only to ECS tasks."""
    roles = [Ref(contracts.of_service(service, "ExecutionRoleArn")), Ref(contracts.of_service(service, "TaskRoleArn"))]
    return iam.allow(
        [iam_actions.PassRole], roles, condition=Condition(StringEquals({"iam:PassedToService": ECS_TASKS_PRINCIPAL}))
    )


def _task_sets(prefix: str) -> Sub:
    return iam.arn("ecs", f"task-set/${{ClusterName}}/${{{prefix}ServiceName}}/*")


def _application_arn(prefix: str) -> Sub:
    return iam.arn("codedeploy", f"application:${{{prefix}CodeDeployApplication}}")


def _deployment_group_arn(prefix: str) -> Sub:
    return iam.arn("codedeploy", f"deploymentgroup:${{{prefix}CodeDeployApplication}}/${{{prefix}DeploymentGroup}}")

"""The stack outputs the delivery reads: which stack (``store-<stage>-<stack>``) and which output key.

The infrastructure's stacks (``infra/stacks``) declare these outputs; a test checks that
every one exists in the templates the builders produce, so a rename there fails here
at once. Reading them takes DescribeStacks only: nothing is created or updated.
"""

from __future__ import annotations

from infra.aws import StackOutput

USER_POOL_ARN = StackOutput("auth", "UserPoolArn")
USER_POOL_ID = StackOutput("auth", "UserPoolId")
USER_POOL_CLIENT_ID = StackOutput("auth", "UserPoolClientId")
SITE_BUCKET = StackOutput("edge", "SiteBucketName")
DISTRIBUTION_ID = StackOutput("edge", "DistributionId")
CLUSTER_NAME = StackOutput("container", "ClusterName")
SERVICE_NAME = StackOutput("container", "ServiceName")
REPOSITORY_URI = StackOutput("container", "RepositoryUri")
FUNCTION_ROLE_ARN = StackOutput("ci", "FunctionRoleArn")

ALL: tuple[StackOutput, ...] = (USER_POOL_ARN, USER_POOL_ID, USER_POOL_CLIENT_ID, SITE_BUCKET, DISTRIBUTION_ID,
                                CLUSTER_NAME, SERVICE_NAME, REPOSITORY_URI, FUNCTION_ROLE_ARN)

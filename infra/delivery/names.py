"""The CloudFormation exports the delivery reads, each ``store-<stage>-<name>`` (``infra.config.export_name``).

The infrastructure's stacks (``infra/stacks``) export these; delivery code never asks
for a stack by its outputs' logical ids, only by these deterministic export names.
"""

from __future__ import annotations

from infra.config import export_name

USER_POOL_ARN = "user-pool-arn"
USER_POOL_ID = "user-pool-id"
USER_POOL_CLIENT_ID = "user-pool-client-id"
SITE_BUCKET = "site-bucket"
DISTRIBUTION_ID = "distribution-id"
CLUSTER_NAME = "cluster-name"
SERVICE_NAME = "service-name"
REPOSITORY_URI = "repository-uri"


def export(stage: str, name: str) -> str:
    return export_name(stage, name)

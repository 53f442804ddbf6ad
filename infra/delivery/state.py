"""Chalice's deployment state, kept in the stage's private, versioned S3 bucket.

Chalice records what it deployed (role, function and REST API ids) in
``.chalice/deployed/<stage>.json`` and reads it on the next deploy to *update* those
resources. A fresh CI checkout has no such file and would create a second function and
a second API. So every deploy restores the file from S3 first and saves it after; the
bucket (``store-<stage>-chalice-state-<account>-<region>``, made by the infrastructure)
is versioned, so every earlier state stays retrievable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.aws import (
    chalice_resources,
    chalice_state_key,
    error_code,
    function_arns,
    rest_api_ids,
    saved_rest_api_id,
)
from infra.config import state_bucket_name
from infra.delivery.errors import DeliveryError, MissingInfrastructureError

__all__ = ["DeploymentStateStore", "StateLocation", "deployed_resources", "function_arns", "local_state_path",
           "rest_api_ids", "saved_rest_api_id"]


@dataclass(frozen=True)
class StateLocation:
    bucket: str
    key: str

    @classmethod
    def for_stage(cls, stage: str, account_id: str, region: str) -> StateLocation:
        return cls(bucket=state_bucket_name(stage, account_id, region), key=chalice_state_key(stage))

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def local_state_path(project_dir: Path, stage: str) -> Path:
    """Where Chalice reads and writes the state inside a (staged) project."""
    return project_dir / ".chalice" / "deployed" / f"{stage}.json"


class DeploymentStateStore:
    """Restore and save one stage's Chalice state; the S3 client is injected."""

    def __init__(self, s3: Any, location: StateLocation) -> None:
        self._s3 = s3
        self.location = location

    def check_bucket(self) -> None:
        try:
            self._s3.head_bucket(Bucket=self.location.bucket)
        except ClientError as error:
            if error_code(error) not in ("404", "NoSuchBucket", "NotFound", "403", "AccessDenied"):
                raise
            raise MissingInfrastructureError(
                f"state bucket {self.location.bucket} is missing: deploy the infrastructure first (make deploy-infra)"
            ) from None

    def load(self) -> tuple[bytes, str | None] | None:
        """The saved state and its version id, or None when nothing was saved yet."""
        try:
            result = self._s3.get_object(Bucket=self.location.bucket, Key=self.location.key)
        except ClientError as error:
            code = error_code(error)
            if code in ("NoSuchKey", "404"):
                return None
            raise DeliveryError(f"cannot read {self.location}: {code or error} (may these credentials "
                                f"s3:GetObject it, and does the bucket policy allow the request?)") from error
        return result["Body"].read(), result.get("VersionId")

    def restore(self, path: Path) -> str | None:
        """Write the saved state to ``path``; returns its version id ("null" if unversioned), None if none."""
        saved = self.load()
        if path.exists():
            path.unlink()
        if saved is None:
            return None
        body, version = saved
        try:
            json.loads(body)
        except ValueError:
            raise DeliveryError(f"{self.location} is not JSON: restore a good version of it (the bucket is "
                                f"versioned) before deploying") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return version or "null"

    def save(self, path: Path) -> str | None:
        """Upload ``path``; returns the new version id, or None when it equals what is saved."""
        body = path.read_bytes()
        saved = self.load()
        if saved is not None and saved[0] == body:
            return None
        result = self._s3.put_object(Bucket=self.location.bucket, Key=self.location.key, Body=body,
                                     ContentType="application/json", ServerSideEncryption="AES256")
        return str(result.get("VersionId") or "null")


def deployed_resources(path: Path) -> list[dict[str, Any]]:
    """The resources listed in a Chalice state file (empty when there is none)."""
    if not path.exists():
        return []
    return chalice_resources(path.read_bytes())

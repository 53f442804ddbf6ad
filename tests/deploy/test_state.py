"""The state store: restore and save Chalice's deployment state (an in-memory S3 stands in)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.delivery.errors import DeliveryError
from infra.delivery.state import DeploymentStateStore, StateLocation, local_state_path, saved_rest_api_id

STATE = {"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "abc123"}],
         "schema_version": "2.0", "backend": "api"}


class FakeS3:
    """Just enough of S3 for the store: versioned objects in a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], list[bytes]] = {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        versions = self.objects.get((Bucket, Key))
        if not versions:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject")
        return {"Body": io.BytesIO(versions[-1]), "VersionId": f"v{len(versions)}"}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> dict[str, Any]:
        self.objects.setdefault((Bucket, Key), []).append(Body)
        return {"VersionId": f"v{len(self.objects[(Bucket, Key)])}"}


@pytest.fixture
def store() -> DeploymentStateStore:
    return DeploymentStateStore(FakeS3(), StateLocation.for_stage("prod", "123456789012", "eu-west-1"))


def test_state_lives_in_the_stages_state_bucket(store: DeploymentStateStore) -> None:
    assert str(store.location) == "s3://store-prod-chalice-state-123456789012-eu-west-1/chalice/deployed/prod.json"


def test_restore_with_nothing_saved_leaves_no_file(store: DeploymentStateStore, tmp_path: Path) -> None:
    path = local_state_path(tmp_path, "prod")
    path.parent.mkdir(parents=True)
    path.write_text("{}")  # a stale local file never survives a restore
    assert store.restore(path) is None
    assert not path.exists()


def test_save_then_restore_round_trips_and_skips_unchanged_saves(store: DeploymentStateStore,
                                                                 tmp_path: Path) -> None:
    path = local_state_path(tmp_path, "prod")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(STATE))
    assert store.save(path) == "v1"
    assert store.save(path) is None  # unchanged: no new version
    path.unlink()
    assert store.restore(path) == "v1"
    assert json.loads(path.read_text()) == STATE
    assert saved_rest_api_id(store._s3, "prod", "123456789012", "eu-west-1") == "abc123"


def test_a_corrupt_saved_state_is_refused(store: DeploymentStateStore, tmp_path: Path) -> None:
    path = local_state_path(tmp_path, "prod")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    store.save(path)
    with pytest.raises(DeliveryError, match="not JSON"):
        store.restore(path)

"""``make deploy-site STAGE=...``: the storefront's files to its bucket, then a CloudFront invalidation.

The bucket (``store-<stage>-site-<account>-<region>``) and the distribution are the
edge stack's outputs. ``site/static`` is mirrored: new and changed files are
uploaded (compared by MD5 with the objects' ETags), files gone from the tree are
deleted, and ``config.json`` is written from the auth stack's outputs (it never lives in
the tree, as locally, where the storefront port generates it). Then the changed paths
are invalidated in CloudFront; nothing changed means no invalidation.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.aws import Target, read_outputs, resolve_target
from infra.delivery import names

Printer = Callable[[str], None]
PROJECT_DIR = Path(__file__).resolve().parents[2]
STATIC_DIR = PROJECT_DIR / "site" / "static"
CONFIG_KEY = "config.json"
# Beyond this many changed paths one wildcard invalidation is cheaper than a list.
MAX_INVALIDATION_PATHS = 15
NO_CACHE = "no-cache"
ASSET_CACHE = "public, max-age=300"
TYPES = {".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8", ".json": "application/json",
         ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8", ".ico": "image/x-icon",
         ".webmanifest": "application/manifest+json"}


@dataclass(frozen=True)
class SiteObject:
    key: str
    body: bytes
    content_type: str
    cache_control: str

    @property
    def md5(self) -> str:
        return hashlib.md5(self.body, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class SiteDeployReport:
    bucket: str
    uploaded: tuple[str, ...]
    deleted: tuple[str, ...]
    unchanged: int
    invalidation_id: str | None
    invalidated_paths: tuple[str, ...]


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    return TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def local_objects(static_dir: Path) -> list[SiteObject]:
    """The storefront's files as objects; dotfiles are never published."""
    objects = []
    for path in sorted(static_dir.rglob("*")):
        relative = path.relative_to(static_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        key = relative.as_posix()
        cache = NO_CACHE if key.endswith(".html") else ASSET_CACHE
        objects.append(SiteObject(key, path.read_bytes(), content_type(key), cache))
    return objects


def storefront_config(region: str, user_pool_id: str, client_id: str) -> dict[str, str]:
    """What ``/config.json`` says in AWS: the keys the local storefront port serves."""
    return {
        "apiBaseUrl": "/api",
        "cognitoEndpoint": f"https://cognito-idp.{region}.amazonaws.com/",
        "region": region,
        "userPoolId": user_pool_id,
        "clientId": client_id,
    }


def config_object(config: dict[str, str]) -> SiteObject:
    body = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()
    return SiteObject(CONFIG_KEY, body, "application/json", NO_CACHE)


def remote_etags(s3: Any, bucket: str) -> dict[str, str]:
    etags: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            etags[item["Key"]] = str(item["ETag"]).strip('"')
    return etags


def invalidation_paths(changed: list[str]) -> list[str]:
    paths = sorted({f"/{key}" for key in changed})
    if "/index.html" in paths:
        paths.append("/")
    return ["/*"] if len(paths) > MAX_INVALIDATION_PATHS else paths


def deploy(stage: str, *, region: str | None = None, static_dir: Path = STATIC_DIR,
           out: Printer = print) -> SiteDeployReport:
    target: Target = resolve_target(stage, region)
    out(f"deploy site: {target.describe()}")
    values = read_outputs(target, names.SITE_BUCKET, names.DISTRIBUTION_ID, names.USER_POOL_ID,
                          names.USER_POOL_CLIENT_ID)
    bucket, distribution_id = values[names.SITE_BUCKET], values[names.DISTRIBUTION_ID]
    config = storefront_config(target.region, values[names.USER_POOL_ID], values[names.USER_POOL_CLIENT_ID])

    s3 = target.client("s3")
    wanted = [*local_objects(static_dir), config_object(config)]
    existing = remote_etags(s3, bucket)
    uploaded: list[str] = []
    for obj in wanted:
        if existing.get(obj.key) == obj.md5:
            continue
        s3.put_object(Bucket=bucket, Key=obj.key, Body=obj.body, ContentType=obj.content_type,
                      CacheControl=obj.cache_control, ServerSideEncryption="AES256")
        uploaded.append(obj.key)
        out(f"uploaded s3://{bucket}/{obj.key} ({len(obj.body)} bytes)")
    wanted_keys = {obj.key for obj in wanted}
    deleted = sorted(key for key in existing if key not in wanted_keys)
    for start in range(0, len(deleted), 1000):
        batch = deleted[start:start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
    for key in deleted:
        out(f"deleted s3://{bucket}/{key}")

    paths = invalidation_paths(uploaded + deleted)
    invalidation_id: str | None = None
    if paths:
        result = target.client("cloudfront").create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths},
                               "CallerReference": f"store-{stage}-site-{time.time_ns()}"},
        )
        invalidation_id = str(result["Invalidation"]["Id"])
        out(f"CloudFront {distribution_id}: invalidation {invalidation_id} for {', '.join(paths)}")
    else:
        out("site unchanged: nothing uploaded or deleted, no invalidation")
    unchanged = len(wanted) - len(uploaded)
    out(f"site: {len(uploaded)} uploaded, {len(deleted)} deleted, {unchanged} unchanged")
    return SiteDeployReport(bucket, tuple(uploaded), tuple(deleted), unchanged, invalidation_id, tuple(paths))

"""``make deploy-site``: site/static mirrored to the site bucket, config.json written, CloudFront invalidated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.delivery import names, site
from tests.deploy.conftest import ACCOUNT, REGION, STAGE, Emulator, Infrastructure, outputs_stack, run_make

BUCKET = f"store-{STAGE}-site-{ACCOUNT}-{REGION}"


@pytest.fixture(scope="module")
def distribution_id(emulator: Emulator, infrastructure: Infrastructure) -> str:
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    origin_domain = f"{BUCKET}.s3.{REGION}.amazonaws.com"
    distribution = emulator.client("cloudfront").create_distribution(DistributionConfig={
        "CallerReference": "deploy-tests", "Comment": "stand-in", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": origin_domain,
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
    })["Distribution"]
    outputs_stack(emulator, "edge", {names.SITE_BUCKET: BUCKET, names.DISTRIBUTION_ID: distribution["Id"]})
    return str(distribution["Id"])


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    target = tmp_path / "static"
    shutil.copytree(site.STATIC_DIR, target)
    return target


def test_site_deploy_uploads_changes_deletes_leftovers_and_invalidates(
        emulator: Emulator, infrastructure: Infrastructure, distribution_id: str, static_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    s3 = emulator.client("s3")
    s3.put_object(Bucket=BUCKET, Key="old-page.html", Body=b"gone from the tree")
    lines: list[str] = []

    first = site.deploy(STAGE, static_dir=static_dir, out=lines.append)
    local_keys = {p.relative_to(static_dir).as_posix() for p in static_dir.rglob("*") if p.is_file()}
    assert set(first.uploaded) == local_keys | {"config.json"}
    assert first.deleted == ("old-page.html",)
    assert first.invalidation_id is not None
    config = json.loads(s3.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config == {"apiBaseUrl": "/api", "cognitoEndpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
                      "region": REGION, "userPoolId": infrastructure.user_pool_id,
                      "clientId": infrastructure.client_id}
    index = s3.get_object(Bucket=BUCKET, Key="index.html")
    assert index["ContentType"].startswith("text/html") and index["CacheControl"] == "no-cache"
    assert any(line.startswith(f"CloudFront {distribution_id}: invalidation") for line in lines)

    again = site.deploy(STAGE, static_dir=static_dir, out=lines.append)
    assert again.uploaded == () and again.deleted == () and again.invalidation_id is None

    (static_dir / "index.html").write_text((static_dir / "index.html").read_text() + "\n<!-- changed -->\n")
    removed = sorted(p for p in static_dir.rglob("*.css"))[0]
    removed.unlink()
    third = site.deploy(STAGE, static_dir=static_dir, out=lines.append)
    removed_key = removed.relative_to(static_dir).as_posix()
    assert third.uploaded == ("index.html",)
    assert third.deleted == (removed_key,)
    assert set(third.invalidated_paths) == {"/index.html", "/", f"/{removed_key}"}
    invalidations = emulator.client("cloudfront").list_invalidations(DistributionId=distribution_id)
    assert invalidations["InvalidationList"]["Quantity"] == 2


def test_invalidation_paths_collapse_to_a_wildcard_when_many_changed() -> None:
    assert site.invalidation_paths([f"f{i}.js" for i in range(site.MAX_INVALIDATION_PATHS + 1)]) == ["/*"]
    assert site.invalidation_paths(["app.js"]) == ["/app.js"]


def test_make_deploy_site_aims_at_aws_endpoint_url_and_says_what_changed(
        emulator: Emulator, infrastructure: Infrastructure, distribution_id: str) -> None:
    first = run_make(emulator, "deploy-site", f"STAGE={STAGE}").stdout
    assert f"endpoint {emulator.url}" in first
    second = run_make(emulator, "deploy-site", f"STAGE={STAGE}").stdout
    assert "site unchanged: nothing uploaded or deleted, no invalidation" in second
    keys = {o["Key"] for o in emulator.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {p.relative_to(site.STATIC_DIR).as_posix() for p in site.STATIC_DIR.rglob("*")
                    if p.is_file() and not p.name.startswith(".")} | {"config.json"}

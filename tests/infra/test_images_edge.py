"""The images bucket and CloudFront's /img/* and /img-upload paths, read as data."""

from __future__ import annotations

from typing import Any

from infra.config import stage_config
from infra.stacks import edge
from infra.stacks.images import UPLOAD_REWRITE


def _template() -> dict[str, Any]:
    import json

    return dict(json.loads(edge.build(stage_config("prod")).to_json()))


def test_images_bucket_is_private_encrypted_and_read_by_cloudfront_only() -> None:
    template = _template()
    bucket = template["Resources"]["ImagesBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (statement,) = [s for s in template["Resources"]["ImagesBucketPolicy"]["Properties"]["PolicyDocument"]
                    ["Statement"] if s.get("Sid") == "CloudFrontReadsImagesThroughOac"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in statement["Condition"]["StringEquals"]


def test_img_is_served_through_oac_and_cached_and_uploads_pass_through_unsigned() -> None:
    template = _template()
    config = template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert "OriginAccessControlId" in origins["images"]
    # The POST policy is the upload's authentication: CloudFront must not re-sign it.
    assert "OriginAccessControlId" not in origins["image-upload"]
    images = behaviours["/img/*"]
    assert images["AllowedMethods"] == ["GET", "HEAD"]
    cache = template["Resources"]["ImagesCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert cache["DefaultTTL"] >= 3600 and cache["MaxTTL"] == 31536000
    upload = behaviours["/img-upload"]
    assert "POST" in upload["AllowedMethods"]
    assert upload["FunctionAssociations"][0]["EventType"] == "viewer-request"
    assert "request.uri = '/'" in UPLOAD_REWRITE

"""Product images at the edge: the private images bucket and CloudFront's two paths to it.

- ``/img/*`` (GET, HEAD) -> the bucket through origin access control, cached for long:
  every upload gets a new key (``catalog_lambda.images``), so an image never changes
  under its URL. Objects live under the bucket's ``img/`` prefix, so the viewer path is
  the key and nothing is rewritten.
- ``/img-upload`` (POST) -> the same bucket, for the browser's presigned POST.

Why uploads go through CloudFront (same origin) rather than to the bucket with CORS:
the storefront keeps one origin, as everywhere else (no CORS rule, no bucket host in
the CSP, nothing that depends on the distribution's own name, which the bucket could
not reference without a dependency cycle). The POST carries its own authentication
(the policy, signed with the function's role, which S3 checks with its conditions), so
this origin has no OAC: CloudFront must not re-sign the request with its own identity,
or the bucket policy, not the POST policy, would decide. A CloudFront Function maps
the path to ``/``, the bucket's POST endpoint. The bucket stays private: block public
access governs public ACLs and policies, not requests signed by the account's role.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Template, cloudfront

from catalog_lambda.images import KEY_PREFIX, UPLOAD_PATH
from catalog_lambda.settings import default_images_bucket_name
from infra.config import StageConfig
from infra.stacks.common import ACCOUNT, REGION, cloudfront_bucket

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed cache policy
IMAGE_PATH = f"/{KEY_PREFIX}*"
# viewer-request: POST /img-upload -> POST / (S3's browser-upload endpoint is the bucket root).
UPLOAD_REWRITE = "function handler(event) { var request = event.request; request.uri = '/'; return request; }"


def add_images(template: Template, cfg: StageConfig, headers: Any) -> tuple[list[cloudfront.Origin],
                                                                             list[cloudfront.CacheBehavior]]:
    """The images bucket, its policy and the upload function; returns the origins and
    behaviours for the distribution (named ``Distribution`` in the same template)."""
    name = Sub(default_images_bucket_name(cfg.stage, ACCOUNT, REGION))
    bucket, oac = cloudfront_bucket(template, cfg, "images", name, keys=f"{KEY_PREFIX}*",
                                    sid="CloudFrontReadsImagesThroughOac")
    image_cache = template.add_resource(cloudfront.CachePolicy(
        "ImagesCachePolicy",
        CachePolicyConfig=cloudfront.CachePolicyConfig(
            Name=f"{cfg.prefix}-images", DefaultTTL=86400, MinTTL=0, MaxTTL=31536000,
            ParametersInCacheKeyAndForwardedToOrigin=cloudfront.ParametersInCacheKeyAndForwardedToOrigin(
                EnableAcceptEncodingGzip=False, EnableAcceptEncodingBrotli=False,
                HeadersConfig=cloudfront.CacheHeadersConfig(HeaderBehavior="none"),
                CookiesConfig=cloudfront.CacheCookiesConfig(CookieBehavior="none"),
                QueryStringsConfig=cloudfront.CacheQueryStringsConfig(QueryStringBehavior="none"),
            ),
        ),
    ))
    upload_request = template.add_resource(cloudfront.OriginRequestPolicy(
        "ImageUploadRequestPolicy",
        OriginRequestPolicyConfig=cloudfront.OriginRequestPolicyConfig(
            Name=f"{cfg.prefix}-image-upload",
            # The multipart boundary is in Content-Type; nothing else of the viewer's is needed.
            HeadersConfig=cloudfront.OriginRequestHeadersConfig(HeaderBehavior="whitelist",
                                                                Headers=["Content-Type"]),
            CookiesConfig=cloudfront.OriginRequestCookiesConfig(CookieBehavior="none"),
            QueryStringsConfig=cloudfront.OriginRequestQueryStringsConfig(QueryStringBehavior="none"),
        ),
    ))
    rewrite = template.add_resource(cloudfront.Function(
        "ImageUploadRewrite", Name=f"{cfg.prefix}-image-upload", AutoPublish=True, FunctionCode=UPLOAD_REWRITE,
        FunctionConfig=cloudfront.FunctionConfig(Comment="POST /img-upload -> the bucket's POST endpoint",
                                                 Runtime="cloudfront-js-2.0"),
    ))
    origins = [
        cloudfront.Origin(Id="images", DomainName=GetAtt(bucket, "RegionalDomainName"),
                          S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                          OriginAccessControlId=GetAtt(oac, "Id")),
        cloudfront.Origin(Id="image-upload", DomainName=GetAtt(bucket, "RegionalDomainName"),
                          S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity="")),
    ]
    behaviours = [
        cloudfront.CacheBehavior(
            PathPattern=IMAGE_PATH, TargetOriginId="images", ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=["GET", "HEAD"], CachedMethods=["GET", "HEAD"], Compress=False,
            CachePolicyId=Ref(image_cache), ResponseHeadersPolicyId=Ref(headers),
        ),
        cloudfront.CacheBehavior(
            PathPattern=UPLOAD_PATH, TargetOriginId="image-upload", ViewerProtocolPolicy="https-only",
            AllowedMethods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
            CachedMethods=["GET", "HEAD"], Compress=False,
            CachePolicyId=CACHING_DISABLED, OriginRequestPolicyId=Ref(upload_request),
            ResponseHeadersPolicyId=Ref(headers),
            FunctionAssociations=[cloudfront.FunctionAssociation(
                EventType="viewer-request", FunctionARN=GetAtt(rewrite, "FunctionMetadata.FunctionARN"))],
        ),
    ]
    return origins, behaviours

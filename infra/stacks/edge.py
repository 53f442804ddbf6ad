"""Edge stack: the storefront bucket and the CloudFront distribution in front of everything.

Behaviours (the browser sees one origin, as locally):

- default      -> the private S3 bucket with ``site/static`` (origin access control)
- ``/api/*``   -> API Gateway. Chalice's stage is named ``api``, so /api/products
  reaches the route /products with no rewriting. Never cached, Authorization forwarded.
- ``/img/*``, ``/img-upload`` -> the private images bucket (``infra/stacks/images.py``)
- ``/p/*``, ``/sitemap.xml`` -> the ALB of the container stack, with the origin-verify
  header the ALB requires; over HTTPS to ``origin.<domain>`` when the stage has a
  domain, else over HTTP to the ALB's own name. Only stages with the container path
  (``StageConfig.container_path``) have these behaviours and that origin.

CloudFront sends the origin-verify secret to API Gateway too (``X-Origin-Verify``), and
the API refuses requests without it in AWS (``api/origin.py``): the regional
execute-api endpoint is public, so without the header anyone could skip the web ACL.

The stack also writes the storefront's origin (``https://<domain>``, else the
distribution's own name) to the SSM parameter ``/store/<stage>/site-url``: the function
reads it for Stripe Checkout's return URLs, so no deploy path has to set ``SITE_URL``.

The web ACL and the certificate come from the edge-global stack (us-east-1) as
parameters; ``python -m infra deploy`` fills them in from that stack's outputs.
"""

from __future__ import annotations

from typing import Any

from troposphere import (
    And,
    Condition,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Template,
    cloudfront,
    route53,
    ssm,
)

from infra.config import API_STAGE_NAME, StageConfig, site_bucket_name, site_url_parameter
from infra.stacks.common import (
    ACCOUNT,
    REGION,
    checkov_skip,
    cloudfront_bucket,
    export,
    import_value,
    new_template,
    tags,
)
from infra.stacks.container import ORIGIN_HEADER, origin_secret_reference
from infra.stacks.images import add_images

# AWS managed CloudFront policies (stable, documented ids).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"  # every CloudFront distribution's alias zone
ALB_PATHS = ("/p/*", "/sitemap.xml")


def content_security_policy(cfg: StageConfig) -> str:
    # The storefront signs in against Cognito directly (InitiateAuth), so connect-src
    # must allow the regional Cognito endpoint besides its own origin.
    return "; ".join([
        "default-src 'self'",
        "img-src 'self' https: data:",
        "style-src 'self'",
        "script-src 'self'",
        f"connect-src 'self' https://cognito-idp.{cfg.region}.amazonaws.com",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ])


def _parameters(template: Template, cfg: StageConfig) -> None:
    template.add_parameter(Parameter(
        "RestApiId", Type="String", AllowedPattern=r"[a-z0-9]+",
        Description="Chalice's REST API id (.chalice/deployed/<stage>.json; python -m infra deploy reads it)",
    ))
    template.add_parameter(Parameter(
        "WebAclArn", Type="String", AllowedPattern=r"arn:aws[a-z-]*:wafv2:us-east-1:.+",
        Description="edge-global stack output WebAclArn (us-east-1)",
    ))
    certificate = template.add_parameter(Parameter(
        "CertificateArn", Type="String", Default="",
        Description="edge-global stack output CertificateArn (us-east-1); empty without a domain",
    ))
    domain = template.add_parameter(Parameter(
        "DomainName", Type="String", Default=cfg.domain_name, Description="Custom domain (optional)",
    ))
    zone = template.add_parameter(Parameter(
        "HostedZoneId", Type="String", Default=cfg.hosted_zone_id, Description="Hosted zone of DomainName",
    ))
    template.add_condition("HasDomain", And(Not(Equals(Ref(domain), "")), Not(Equals(Ref(certificate), ""))))
    template.add_condition("HasZone", And(Condition("HasDomain"), Not(Equals(Ref(zone), ""))))
    if cfg.container_path:
        template.add_condition("HttpsOrigin", And(Not(Equals(Ref(domain), "")), Not(Equals(Ref(zone), ""))))


def _site_bucket(template: Template, cfg: StageConfig) -> tuple[Any, Any]:
    return cloudfront_bucket(template, cfg, "site", Sub(site_bucket_name(cfg.stage, ACCOUNT, REGION)),
                             keys="*", sid="CloudFrontReadsThroughOac")


def _security_headers(template: Template, cfg: StageConfig) -> cloudfront.ResponseHeadersPolicy:
    return template.add_resource(cloudfront.ResponseHeadersPolicy(
        "SecurityHeaders",
        ResponseHeadersPolicyConfig=cloudfront.ResponseHeadersPolicyConfig(
            Name=f"{cfg.prefix}-security-headers",
            SecurityHeadersConfig=cloudfront.SecurityHeadersConfig(
                StrictTransportSecurity=cloudfront.StrictTransportSecurity(
                    AccessControlMaxAgeSec=63072000, IncludeSubdomains=True, Preload=True, Override=True),
                ContentTypeOptions=cloudfront.ContentTypeOptions(Override=True),
                FrameOptions=cloudfront.FrameOptions(FrameOption="DENY", Override=True),
                ReferrerPolicy=cloudfront.ReferrerPolicy(
                    ReferrerPolicy="strict-origin-when-cross-origin", Override=True),
                XSSProtection=cloudfront.XSSProtection(Protection=True, ModeBlock=True, Override=True),
                ContentSecurityPolicy=cloudfront.ContentSecurityPolicy(
                    ContentSecurityPolicy=content_security_policy(cfg), Override=False),
            ),
        ),
    ))


def _cache_policy(logical_id: str, name: str, ttls: tuple[int, int, int], headers: list[str]) -> cloudfront.CachePolicy:
    default_ttl, min_ttl, max_ttl = ttls
    return cloudfront.CachePolicy(
        logical_id,
        CachePolicyConfig=cloudfront.CachePolicyConfig(
            Name=name, DefaultTTL=default_ttl, MinTTL=min_ttl, MaxTTL=max_ttl,
            ParametersInCacheKeyAndForwardedToOrigin=cloudfront.ParametersInCacheKeyAndForwardedToOrigin(
                EnableAcceptEncodingGzip=True, EnableAcceptEncodingBrotli=True,
                HeadersConfig=(cloudfront.CacheHeadersConfig(HeaderBehavior="whitelist", Headers=headers)
                               if headers else cloudfront.CacheHeadersConfig(HeaderBehavior="none")),
                CookiesConfig=cloudfront.CacheCookiesConfig(CookieBehavior="none"),
                QueryStringsConfig=cloudfront.CacheQueryStringsConfig(
                    QueryStringBehavior="all" if headers else "none"),
            ),
        ),
    )


def _api_route(template: Template, cfg: StageConfig, headers: Any,
               ) -> tuple[cloudfront.Origin, cloudfront.CacheBehavior]:
    # Nothing is cached unless the API says so (DefaultTTL 0); the policy exists to
    # forward Authorization, which only a cache policy can do.
    cache = template.add_resource(_cache_policy("ApiCachePolicy", f"{cfg.prefix}-api", (0, 0, 1), ["Authorization"]))
    origin = cloudfront.Origin(
        Id="api",
        DomainName=Sub("${RestApiId}.execute-api.${AWS::Region}.amazonaws.com"),
        # The path is not rewritten: the API stage is named "api".
        CustomOriginConfig=cloudfront.CustomOriginConfig(
            OriginProtocolPolicy="https-only", OriginSSLProtocols=["TLSv1.2"]),
        # The API refuses requests without it (api/origin.py): only CloudFront, behind the WAF, has it.
        OriginCustomHeaders=[cloudfront.OriginCustomHeader(
            HeaderName=ORIGIN_HEADER, HeaderValue=origin_secret_reference(cfg))],
    )
    behaviour = cloudfront.CacheBehavior(
        PathPattern="/api/*", TargetOriginId="api", ViewerProtocolPolicy="https-only",
        AllowedMethods=["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"], CachedMethods=["GET", "HEAD"],
        Compress=True, CachePolicyId=Ref(cache), OriginRequestPolicyId=ALL_VIEWER_EXCEPT_HOST,
        ResponseHeadersPolicyId=Ref(headers),
    )
    return origin, behaviour


def _pages_route(template: Template, cfg: StageConfig, headers: Any,
                 ) -> tuple[cloudfront.Origin, list[cloudfront.CacheBehavior]]:
    """The container path's origin (the ALB) and its behaviours."""
    cache = template.add_resource(_cache_policy("PagesCachePolicy", f"{cfg.prefix}-pages", (60, 0, 3600), []))
    # A parameter, not an import: adding a domain changes it, and an import would block that update.
    pages_origin = template.add_parameter(Parameter(
        "PagesOriginDomain", Type="String", MinLength=1,
        Description="Where CloudFront reaches the container stack's ALB: its output OriginDomainName "
                    "(python -m infra deploy reads it)",
    ))
    origin = cloudfront.Origin(
        Id="pages", DomainName=Ref(pages_origin),
        # Same condition as the container stack's listener: HTTPS with a domain.
        CustomOriginConfig=If(
            "HttpsOrigin",
            cloudfront.CustomOriginConfig(OriginProtocolPolicy="https-only", HTTPSPort=443,
                                          OriginSSLProtocols=["TLSv1.2"]),
            cloudfront.CustomOriginConfig(OriginProtocolPolicy="http-only", HTTPPort=80),
        ),
        OriginCustomHeaders=[cloudfront.OriginCustomHeader(
            HeaderName=ORIGIN_HEADER, HeaderValue=origin_secret_reference(cfg))],
    )
    behaviours = [
        cloudfront.CacheBehavior(
            PathPattern=path, TargetOriginId="pages", ViewerProtocolPolicy="redirect-to-https",
            AllowedMethods=["GET", "HEAD"], CachedMethods=["GET", "HEAD"], Compress=True,
            CachePolicyId=Ref(cache), ResponseHeadersPolicyId=Ref(headers),
        )
        for path in ALB_PATHS
    ]
    return origin, behaviours


def _viewer_certificate() -> If:
    return If(
        "HasDomain",
        cloudfront.ViewerCertificate(AcmCertificateArn=Ref("CertificateArn"), SslSupportMethod="sni-only",
                                     MinimumProtocolVersion="TLSv1.2_2021"),
        cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True, MinimumProtocolVersion="TLSv1.2_2021"),
    )


def _distribution(template: Template, cfg: StageConfig, site: Any, oac: Any) -> cloudfront.Distribution:
    headers = _security_headers(template, cfg)
    api_origin, api_behaviour = _api_route(template, cfg, headers)
    origins = [
        cloudfront.Origin(
            Id="site", DomainName=GetAtt(site, "RegionalDomainName"),
            S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""), OriginAccessControlId=GetAtt(oac, "Id"),
        ),
        api_origin,
    ]
    behaviours = [api_behaviour]
    if cfg.container_path:
        pages_origin, pages_behaviours = _pages_route(template, cfg, headers)
        origins.append(pages_origin)
        behaviours += pages_behaviours
    image_origins, image_behaviours = add_images(template, cfg, headers)
    origins += image_origins
    behaviours += image_behaviours
    return template.add_resource(checkov_skip(cloudfront.Distribution(
        "Distribution",
        DistributionConfig=cloudfront.DistributionConfig(
            Comment=f"{cfg.prefix} storefront", Enabled=True, HttpVersion="http2and3", IPV6Enabled=True,
            PriceClass="PriceClass_100", DefaultRootObject="index.html", WebACLId=Ref("WebAclArn"),
            Aliases=If("HasDomain", [Ref("DomainName")], Ref("AWS::NoValue")),
            ViewerCertificate=_viewer_certificate(),
            Logging=cloudfront.Logging(Bucket=import_value(cfg, "access-logs-bucket-domain"),
                                       Prefix="cloudfront/", IncludeCookies=False),
            Origins=origins,
            DefaultCacheBehavior=cloudfront.DefaultCacheBehavior(
                TargetOriginId="site", ViewerProtocolPolicy="redirect-to-https",
                AllowedMethods=["GET", "HEAD"], CachedMethods=["GET", "HEAD"], Compress=True,
                CachePolicyId=CACHING_OPTIMIZED, ResponseHeadersPolicyId=Ref(headers),
            ),
            CacheBehaviors=behaviours,
        ),
        Tags=tags(cfg),
    ), ("CKV_AWS_174", "with a domain the ACM certificate enforces TLSv1.2_2021; without one CloudFront serves "
                       "its *.cloudfront.net certificate, whose protocol floor AWS fixes and nobody can raise")))


def _dns_and_outputs(template: Template, cfg: StageConfig, site: Any, distribution: Any) -> None:
    for record_type in ("A", "AAAA"):
        template.add_resource(route53.RecordSetType(
            f"AliasRecord{record_type}", Condition="HasZone", HostedZoneId=Ref("HostedZoneId"),
            Name=Ref("DomainName"), Type=record_type, AliasTarget=route53.AliasTarget(
                DNSName=GetAtt(distribution, "DomainName"), HostedZoneId=CLOUDFRONT_ZONE_ID),
        ))
    export(template, cfg, "SiteBucketName", "site-bucket", Ref(site), "Bucket for site/static")
    export(template, cfg, "DistributionId", "distribution-id", Ref(distribution), "CloudFront distribution id")
    template.add_output(Output("DistributionDomainName", Value=GetAtt(distribution, "DomainName"),
                               Description="The storefront's CloudFront address"))
    template.add_output(Output("ApiPathExample", Value=Sub(
        f"https://${{Distribution.DomainName}}/{API_STAGE_NAME}/health"), Description="GET /health via CloudFront"))


def _site_url(template: Template, cfg: StageConfig) -> None:
    """The storefront's https origin as an SSM parameter in the stage's region (the function's):
    Stripe Checkout's return URLs (catalog_lambda/services.py reads it on the first payment)."""
    template.add_resource(ssm.Parameter(
        "SiteUrlParameter", Name=site_url_parameter(cfg.stage), Type="String", Tier="Standard",
        Value=If("HasDomain", Sub("https://${DomainName}"), Sub("https://${Distribution.DomainName}")),
        Description=f"{cfg.prefix} storefront origin (payment return URLs)",
        # No Tags: the stack's tags reach it, and moto's CloudFormation reads the map
        # AWS::SSM::Parameter takes as a list (the rehearsal's emulator would fail).
    ))


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "edge", "storefront bucket, CloudFront (S3 + API Gateway + ALB), DNS")
    _parameters(template, cfg)
    site, oac = _site_bucket(template, cfg)
    distribution = _distribution(template, cfg, site, oac)
    _dns_and_outputs(template, cfg, site, distribution)
    _site_url(template, cfg)
    return template

"""Edge-global stack: what CloudFront needs from us-east-1, whatever the app's region.

CloudFront accepts only WAFv2 web ACLs of scope ``CLOUDFRONT`` and ACM certificates
issued in us-east-1. CloudFormation cannot import values across regions, so this stack
is always deployed to us-east-1 and ``python -m infra deploy`` passes its outputs
(``WebAclArn``, ``CertificateArn``) to the edge stack as parameters.

Web ACL: AWS managed rule groups (common rule set, known bad inputs, Amazon IP
reputation list) and a per-IP rate limit; requests are logged to CloudWatch Logs.
The common rule set's three body rules (8 KB body size, cross-site scripting, local
file inclusion) only count, and a rule of ours blocks on their labels except on the
API's admin edits, the image upload and the payment webhook (AWS's documented pattern for scoping a
managed rule: override to count, then match its label). A product description may
hold markup-like text and an import or a Stripe event may pass 8 KB; the API checks
those bodies itself (strict types, limits, a signature) and never renders HTML.
Certificate: only when a domain is given, validated through DNS in the hosted zone.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, Not, Output, Parameter, Ref, Sub, Template, certificatemanager, logs, wafv2

from catalog_lambda.images import UPLOAD_PATH
from infra.config import StageConfig
from infra.stacks.common import new_template, tags

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
MANAGED_RULE_GROUPS = (
    COMMON_RULE_SET,
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
# Rule name in the common rule set -> the label it adds to a matching request.
BODY_RULES = {
    "SizeRestrictions_BODY": "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body",
    "CrossSiteScripting_BODY": "awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body",
    "GenericLFI_BODY": "awswaf:managed:aws:core-rule-set:GenericLFI_Body",
}
# Where the body rules do not block (CloudFront paths): admin edits of the catalog
# (POST/PUT /products..., stock, image; the authorizer admits admins only), the admin's
# image upload (a presigned POST of up to 5 MB that S3 checks against its signed policy)
# and the provider's signed webhook.
BODY_RULE_EXEMPT_PREFIXES = ("/api/products", UPLOAD_PATH, "/api/payments/webhook")


def _visibility(name: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=name, SampledRequestsEnabled=True)


def _managed_group(name: str, priority: int) -> wafv2.WebACLRule:
    group = wafv2.ManagedRuleGroupStatement(VendorName="AWS", Name=name)
    if name == COMMON_RULE_SET:
        group.RuleActionOverrides = [
            wafv2.RuleActionOverride(Name=rule, ActionToUse=wafv2.RuleAction(Count=wafv2.CountAction()))
            for rule in BODY_RULES
        ]
    return wafv2.WebACLRule(
        Name=name,
        Priority=priority,
        OverrideAction=wafv2.OverrideAction(**{"None": {}}),
        Statement=wafv2.Statement(ManagedRuleGroupStatement=group),
        VisibilityConfig=_visibility(name),
    )


def _path_starts_with(prefix: str) -> wafv2.Statement:
    return wafv2.Statement(ByteMatchStatement=wafv2.ByteMatchStatement(
        FieldToMatch=wafv2.FieldToMatch(UriPath={}), PositionalConstraint="STARTS_WITH", SearchString=prefix,
        TextTransformations=[wafv2.TextTransformation(Priority=0, Type="NONE")],
    ))


def _body_rules_outside_exemptions(priority: int) -> wafv2.WebACLRule:
    """Block what the common rule set's body rules matched (labels), except on the exempt paths."""
    labelled = wafv2.Statement(OrStatement=wafv2.OrStatement(Statements=[
        wafv2.Statement(LabelMatchStatement=wafv2.LabelMatchStatement(Key=label, Scope="LABEL"))
        for label in BODY_RULES.values()
    ]))
    exempt = wafv2.Statement(OrStatement=wafv2.OrStatement(Statements=[
        _path_starts_with(prefix) for prefix in BODY_RULE_EXEMPT_PREFIXES
    ]))
    return wafv2.WebACLRule(
        Name="BodyRulesOutsideAdminEdits",
        Priority=priority,
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(AndStatement=wafv2.AndStatement(Statements=[
            labelled, wafv2.Statement(NotStatement=wafv2.NotStatement(Statement=exempt)),
        ])),
        VisibilityConfig=_visibility("BodyRulesOutsideAdminEdits"),
    )


def _rate_limit(cfg: StageConfig, priority: int) -> wafv2.WebACLRule:
    return wafv2.WebACLRule(
        Name="RateLimitPerIp",
        Priority=priority,
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(RateBasedStatement=wafv2.RateBasedStatement(
            Limit=cfg.waf_rate_limit, AggregateKeyType="IP",
        )),
        VisibilityConfig=_visibility("RateLimitPerIp"),
    )


def web_acl(cfg: StageConfig) -> wafv2.WebACL:
    # The label rule must come after the group that adds the labels.
    common, *others = MANAGED_RULE_GROUPS
    rules = [_managed_group(common, 0), _body_rules_outside_exemptions(1)]
    rules += [_managed_group(name, len(rules) + index) for index, name in enumerate(others)]
    rules.append(_rate_limit(cfg, len(rules)))
    return wafv2.WebACL(
        "WebAcl",
        Name=f"{cfg.prefix}-edge",
        Scope="CLOUDFRONT",
        DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
        Rules=rules,
        VisibilityConfig=_visibility(f"{cfg.prefix}-edge"),
        Tags=tags(cfg),
    )


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "edge-global", "us-east-1 only: CloudFront WAF web ACL and ACM certificate")
    domain = template.add_parameter(Parameter(
        "DomainName", Type="String", Default=cfg.domain_name,
        Description="Custom domain for the storefront (empty: the CloudFront domain only)",
    ))
    zone = template.add_parameter(Parameter(
        "HostedZoneId", Type="String", Default=cfg.hosted_zone_id,
        Description="Route53 hosted zone of DomainName (for DNS validation)",
    ))
    template.add_condition("HasDomain", Not(Equals(Ref(domain), "")))
    template.add_rule("DomainNeedsZone", {
        "RuleCondition": {"Fn::Not": [{"Fn::Equals": [Ref(domain), ""]}]},
        "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [Ref(zone), ""]}]},
                        "AssertDescription": "HostedZoneId is required with DomainName"}],
    })

    acl = template.add_resource(web_acl(cfg))
    # WAF requires the log group name to start with aws-waf-logs-.
    log_group_name = f"aws-waf-logs-{cfg.prefix}"
    log_group = template.add_resource(logs.LogGroup(
        "WafLogGroup", LogGroupName=log_group_name, RetentionInDays=cfg.log_retention_days, Tags=tags(cfg),
    ))
    template.add_resource(wafv2.LoggingConfiguration(
        "WafLogging",
        ResourceArn=GetAtt(acl, "Arn"),
        LogDestinationConfigs=[Sub(
            f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group_name}"
        )],
        # Keep credentials out of the logs.
        RedactedFields=[wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name="authorization"))],
        DependsOn=[log_group.title],
    ))
    certificate = template.add_resource(certificatemanager.Certificate(
        "Certificate",
        Condition="HasDomain",
        DomainName=Ref(domain),
        ValidationMethod="DNS",
        DomainValidationOptions=[certificatemanager.DomainValidationOption(
            DomainName=Ref(domain), HostedZoneId=Ref(zone),
        )],
        Tags=tags(cfg),
    ))

    template.add_output(Output("WebAclArn", Description="CloudFront web ACL (edge stack parameter WebAclArn)",
                               Value=GetAtt(acl, "Arn")))
    template.add_output(Output("CertificateArn", Condition="HasDomain",
                               Description="Certificate (edge stack parameter CertificateArn)",
                               Value=Ref(certificate)))
    return template

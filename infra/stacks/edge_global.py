"""Edge-global stack: what CloudFront needs from us-east-1, whatever the app's region.

CloudFront accepts only WAFv2 web ACLs of scope ``CLOUDFRONT`` and ACM certificates
issued in us-east-1. CloudFormation cannot import values across regions, so this stack
is always deployed to us-east-1 and ``python -m infra deploy`` passes its outputs
(``WebAclArn``, ``CertificateArn``) to the edge stack as parameters.

Web ACL: AWS managed rule groups (common rule set, known bad inputs, Amazon IP
reputation list) and a per-IP rate limit; requests are logged to CloudWatch Logs.
Certificate: only when a domain is given, validated through DNS in the hosted zone.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, Not, Output, Parameter, Ref, Sub, Template, certificatemanager, logs, wafv2

from infra.config import StageConfig
from infra.stacks.common import new_template, tags

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def _visibility(name: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=name, SampledRequestsEnabled=True)


def web_acl(cfg: StageConfig) -> wafv2.WebACL:
    rules = [
        wafv2.WebACLRule(
            Name=group,
            Priority=priority,
            OverrideAction=wafv2.OverrideAction(**{"None": {}}),
            Statement=wafv2.Statement(ManagedRuleGroupStatement=wafv2.ManagedRuleGroupStatement(
                VendorName="AWS", Name=group,
            )),
            VisibilityConfig=_visibility(group),
        )
        for priority, group in enumerate(MANAGED_RULE_GROUPS)
    ]
    rules.append(wafv2.WebACLRule(
        Name="RateLimitPerIp",
        Priority=len(rules),
        Action=wafv2.RuleAction(Block=wafv2.BlockAction()),
        Statement=wafv2.Statement(RateBasedStatement=wafv2.RateBasedStatement(
            Limit=cfg.waf_rate_limit, AggregateKeyType="IP",
        )),
        VisibilityConfig=_visibility("RateLimitPerIp"),
    ))
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

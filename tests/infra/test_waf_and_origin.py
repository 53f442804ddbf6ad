"""The WAF cannot be skipped, and its managed body rules do not refuse the API's admin edits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.config import StageConfig, origin_secret_name, stage_config
from infra.stacks import stack_spec
from infra.stacks.edge_global import BODY_RULE_EXEMPT_PREFIXES, BODY_RULES


def _rules(cfg: StageConfig | None = None) -> list[dict[str, Any]]:
    template = stack_spec("edge-global").build(cfg or stage_config("prod")).to_dict()
    return list(template["Resources"]["WebAcl"]["Properties"]["Rules"])


def _origins(stage: str) -> dict[str, dict[str, Any]]:
    edge = stack_spec("edge").build(stage_config(stage)).to_dict()
    return {o["Id"]: o for o in edge["Resources"]["Distribution"]["Properties"]["DistributionConfig"]["Origins"]}


def test_cloudfront_sends_the_origin_secret_to_the_api_in_every_stage() -> None:
    for stage in ("dev", "prod"):
        (header,) = _origins(stage)["api"]["OriginCustomHeaders"]
        assert header == {"HeaderName": "X-Origin-Verify",
                          "HeaderValue": f"{{{{resolve:secretsmanager:{origin_secret_name(stage)}:SecretString}}}}"}


def test_the_api_checks_the_header_cloudfront_sends() -> None:
    from api.origin import ORIGIN_HEADER
    from infra.stacks.container import ORIGIN_HEADER as ALB_HEADER

    assert ORIGIN_HEADER == ALB_HEADER
    config = json.loads((Path(__file__).resolve().parents[2] / ".chalice" / "config.json").read_text())
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["environment_variables"]["ORIGIN_SECRET_NAME"] == origin_secret_name(stage)
    secrets = stack_spec("secrets").build(stage_config("prod")).to_dict()["Resources"]
    assert secrets["OriginVerifySecret"]["Properties"]["Name"] == origin_secret_name("prod")


def test_the_body_rules_only_count_inside_the_common_rule_set() -> None:
    common = next(r for r in _rules() if r["Name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {o["Name"]: o["ActionToUse"] for o in overrides} == {name: {"Count": {}} for name in BODY_RULES}
    assert set(BODY_RULES) == {"SizeRestrictions_BODY", "CrossSiteScripting_BODY", "GenericLFI_BODY"}


def test_a_rule_of_ours_blocks_on_their_labels_outside_the_admin_edits() -> None:
    rules = _rules()
    by_name = {r["Name"]: r for r in rules}
    block = by_name["BodyRulesOutsideAdminEdits"]
    # Labels exist only after the rule group that adds them has run.
    assert block["Priority"] > by_name["AWSManagedRulesCommonRuleSet"]["Priority"]
    assert block["Action"] == {"Block": {}}
    labelled, exempt = block["Statement"]["AndStatement"]["Statements"]
    assert [s["LabelMatchStatement"]["Key"] for s in labelled["OrStatement"]["Statements"]] == list(
        BODY_RULES.values())
    paths = [s["ByteMatchStatement"] for s in exempt["NotStatement"]["Statement"]["OrStatement"]["Statements"]]
    assert [(p["SearchString"], p["PositionalConstraint"], p["FieldToMatch"]) for p in paths] == [
        (prefix, "STARTS_WITH", {"UriPath": {}}) for prefix in BODY_RULE_EXEMPT_PREFIXES]
    # The admin catalog routes (POST/PUT /products..., stock, image), the image upload, the signed webhook.
    assert BODY_RULE_EXEMPT_PREFIXES == ("/api/products", "/img-upload", "/api/payments/webhook")


def test_the_rest_of_the_web_acl_is_unchanged() -> None:
    rules = _rules()
    assert [r["Name"] for r in rules] == [
        "AWSManagedRulesCommonRuleSet", "BodyRulesOutsideAdminEdits", "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList", "RateLimitPerIp"]
    assert [r["Priority"] for r in rules] == list(range(len(rules)))

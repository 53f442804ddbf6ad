"""SES for the stage's email: identity, DKIM, configuration set, and Cognito sending through it."""

from __future__ import annotations

from typing import Any

from infra.config import StageConfig, ses_configuration_set_name, stage_config
from infra.stacks import stack_spec

DOMAIN = StageConfig(stage="dev", domain_name="shop.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ")


def _auth(cfg: StageConfig) -> dict[str, Any]:
    return dict(stack_spec("auth").build(cfg).to_dict())


def _types(template: dict[str, Any]) -> list[str]:
    return [r["Type"] for r in template["Resources"].values()]


def test_every_stage_has_the_configuration_set_the_senders_use() -> None:
    for cfg in (stage_config("dev"), stage_config("prod"), DOMAIN):
        configuration = _auth(cfg)["Resources"]["MailConfigurationSet"]["Properties"]
        assert configuration["Name"] == ses_configuration_set_name(cfg.stage)
        assert configuration["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}


def test_a_stage_with_a_domain_gets_a_domain_identity_with_dkim_records() -> None:
    template = _auth(DOMAIN)
    identity = template["Resources"]["MailIdentity"]["Properties"]
    assert identity["EmailIdentity"] == "shop.example.com"
    assert identity["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert identity["ConfigurationSetAttributes"] == {"ConfigurationSetName": "store-dev-email"}
    records = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Route53::RecordSet"]
    assert [r["Type"] for r in records] == ["CNAME"] * 3
    assert [r["Name"] for r in records] == [{"Fn::GetAtt": ["MailIdentity", f"DkimDNSTokenName{i}"]} for i in (1, 2, 3)]
    assert all(r["HostedZoneId"] == "Z0123456789ABCDEFGHIJ" for r in records)


def test_without_a_hosted_zone_the_dkim_records_are_left_to_the_owner() -> None:
    template = _auth(StageConfig(stage="dev", domain_name="shop.example.com"))
    assert "AWS::SES::EmailIdentity" in _types(template) and "AWS::Route53::RecordSet" not in _types(template)


def test_without_a_domain_the_from_address_is_the_identity() -> None:
    template = _auth(StageConfig(stage="dev", email_sender="shop@example.org"))
    identity = template["Resources"]["MailIdentity"]["Properties"]
    assert identity["EmailIdentity"] == "shop@example.org" and "DkimSigningAttributes" not in identity


def test_cognito_sends_through_the_ses_identity_once_verified() -> None:
    template = _auth(DOMAIN)
    assert template["Parameters"]["CognitoEmailThroughSes"]["Default"] == "true"
    chosen, fallback = template["Resources"]["UserPool"]["Properties"]["EmailConfiguration"]["Fn::If"][1:]
    assert chosen == {
        "EmailSendingAccount": "DEVELOPER", "From": "orders@shop.example.com",
        "SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/"
                                 "shop.example.com"},
        "ConfigurationSet": "store-dev-email",
    }
    assert fallback == {"EmailSendingAccount": "COGNITO_DEFAULT"}


def test_a_stage_without_a_sender_keeps_cognito_s_sender_and_has_no_identity() -> None:
    template = _auth(stage_config("dev"))
    assert template["Resources"]["UserPool"]["Properties"]["EmailConfiguration"] == {
        "EmailSendingAccount": "COGNITO_DEFAULT"}
    assert "AWS::SES::EmailIdentity" not in _types(template)


def test_self_sign_up_is_a_stage_setting() -> None:
    def admin_only(cfg: StageConfig) -> bool:
        pool = _auth(cfg)["Resources"]["UserPool"]["Properties"]
        return bool(pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"])

    assert not admin_only(stage_config("prod"))
    assert admin_only(StageConfig(stage="dev", self_sign_up=False))

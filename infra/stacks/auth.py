"""Auth stack: the Cognito user pool, the storefront's app client, the ``admin`` group, and SES.

Users sign in with their email address. The storefront (a public client, no secret)
uses ``USER_PASSWORD_AUTH`` and ``REFRESH_TOKEN_AUTH``, as the local stack does against
the emulator. API Gateway's Cognito authorizer checks the ID tokens; admins are members
of the group ``admin``.

Email: the stage's SES identity (a domain identity when the stage has a domain, with
its DKIM records when it has a hosted zone; else the ``email_sender`` address as an email
identity) and the configuration set every message is sent with (its bounces and
complaints go to the observability stack's mail-events topic). Cognito sends its
verification and reset codes through that identity (``EmailSendingAccount`` DEVELOPER)
rather than its own sender, which is capped at about 50 messages a day. A stage with
neither domain nor ``email_sender`` keeps Cognito's sender and has no identity.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, Template, cognito, route53, ses

from infra.config import StageConfig, ses_configuration_set_name, user_pool_name
from infra.stacks.common import export, new_template, output, tags

ADMIN_GROUP = "admin"


DKIM_TOKENS = 3  # Easy DKIM publishes three CNAME records


def mail_identity(cfg: StageConfig) -> str:
    """What SES verifies: the stage's domain, else its From address (empty: no identity)."""
    return cfg.domain_name or cfg.email_sender


def _mail(template: Template, cfg: StageConfig) -> ses.EmailIdentity | None:
    """The SES configuration set, and the identity with its DKIM records when there is one."""
    name = ses_configuration_set_name(cfg.stage)
    template.add_resource(ses.ConfigurationSet(
        "MailConfigurationSet", Name=name,
        DeliveryOptions=ses.DeliveryOptions(TlsPolicy="REQUIRE"),
        ReputationOptions=ses.ReputationOptions(ReputationMetricsEnabled=True),
        Tags=tags(cfg),
    ))
    if not mail_identity(cfg):
        return None
    identity = template.add_resource(ses.EmailIdentity(
        "MailIdentity", EmailIdentity=mail_identity(cfg),
        ConfigurationSetAttributes=ses.ConfigurationSetAttributes(ConfigurationSetName=name),
        DependsOn=["MailConfigurationSet"], Tags=tags(cfg),
    ))
    if cfg.domain_name:
        identity.DkimSigningAttributes = ses.DkimSigningAttributes(NextSigningKeyLength="RSA_2048_BIT")
    if cfg.domain_name and cfg.hosted_zone_id:
        for index in range(1, DKIM_TOKENS + 1):
            template.add_resource(route53.RecordSetType(
                f"MailDkimRecord{index}", HostedZoneId=cfg.hosted_zone_id, Type="CNAME", TTL="1800",
                Name=GetAtt(identity, f"DkimDNSTokenName{index}"),
                ResourceRecords=[GetAtt(identity, f"DkimDNSTokenValue{index}")],
            ))
    output(template, "MailIdentity", Ref(identity), "SES identity the stage's emails are sent from")
    return identity


def _email_configuration(template: Template, cfg: StageConfig, identity: ses.EmailIdentity | None) -> object:
    """Cognito's sender: SES through the stage's identity, once SES has verified it."""
    if identity is None:
        return cognito.EmailConfiguration(EmailSendingAccount="COGNITO_DEFAULT")
    through_ses = template.add_parameter(Parameter(
        "CognitoEmailThroughSes", Type="String", AllowedValues=["true", "false"], Default="true",
        Description="Cognito sends through the SES identity (Cognito refuses an identity SES has not verified "
                    "yet: deploy a new stage with false first, docs/deploy.md)",
    ))
    template.add_condition("CognitoUsesSes", Equals(Ref(through_ses), "true"))
    return If(
        "CognitoUsesSes",
        cognito.EmailConfiguration(
            EmailSendingAccount="DEVELOPER", From=cfg.sender,
            SourceArn=Sub(f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/"
                          f"{mail_identity(cfg)}"),
            ConfigurationSet=ses_configuration_set_name(cfg.stage),
        ),
        cognito.EmailConfiguration(EmailSendingAccount="COGNITO_DEFAULT"),
    )


def _user_pool(template: Template, cfg: StageConfig, identity: ses.EmailIdentity | None) -> cognito.UserPool:
    mfa = template.add_parameter(Parameter(
        "MfaConfiguration", Type="String", AllowedValues=["OFF", "OPTIONAL", "ON"], Default=cfg.mfa,
        Description="Multi-factor authentication (software TOTP) for the pool's users",
    ))
    template.add_condition("MfaOff", Equals(Ref(mfa), "OFF"))
    return template.add_resource(cognito.UserPool(
        "UserPool",
        UserPoolName=user_pool_name(cfg.stage),
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration=cognito.UsernameConfiguration(CaseSensitive=False),
        Schema=[cognito.SchemaAttribute(Name="email", AttributeDataType="String", Required=True, Mutable=True)],
        Policies=cognito.Policies(PasswordPolicy=cognito.PasswordPolicy(
            MinimumLength=12, RequireLowercase=True, RequireUppercase=True, RequireNumbers=True,
            RequireSymbols=True, TemporaryPasswordValidityDays=3,
        )),
        MfaConfiguration=Ref(mfa),
        EnabledMfas=If("MfaOff", Ref("AWS::NoValue"), ["SOFTWARE_TOKEN_MFA"]),
        AccountRecoverySetting=cognito.AccountRecoverySetting(RecoveryMechanisms=[
            cognito.RecoveryOption(Name="verified_email", Priority=1),
        ]),
        # Self sign-up bypasses the WAF (the browser calls Cognito directly): docs/operations.md.
        AdminCreateUserConfig=cognito.AdminCreateUserConfig(AllowAdminCreateUserOnly=not cfg.self_sign_up),
        EmailConfiguration=_email_configuration(template, cfg, identity),
        DeletionProtection="ACTIVE",
        UserPoolTags={"app": "store", "stage": cfg.stage},
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "auth", "Cognito user pool, app client, admin group, SES identity")
    pool = _user_pool(template, cfg, _mail(template, cfg))
    client = template.add_resource(cognito.UserPoolClient(
        "StorefrontClient",
        ClientName=f"{cfg.prefix}-storefront",
        UserPoolId=Ref(pool),
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
        PreventUserExistenceErrors="ENABLED",
        EnableTokenRevocation=True,
        AccessTokenValidity=60,
        IdTokenValidity=60,
        RefreshTokenValidity=30,
        TokenValidityUnits=cognito.TokenValidityUnits(AccessToken="minutes", IdToken="minutes", RefreshToken="days"),
        SupportedIdentityProviders=["COGNITO"],
    ))
    template.add_resource(cognito.UserPoolGroup(
        "AdminGroup", GroupName=ADMIN_GROUP, UserPoolId=Ref(pool),
        Description="Store administrators: may edit the catalog and see every order",
    ))

    export(template, cfg, "UserPoolId", "user-pool-id", Ref(pool), "Cognito user pool id")
    export(template, cfg, "UserPoolArn", "user-pool-arn", GetAtt(pool, "Arn"),
           "Cognito user pool ARN (the API's authorizer)")
    export(template, cfg, "UserPoolClientId", "user-pool-client-id", Ref(client), "Storefront app client id")
    export(template, cfg, "UserPoolIssuer", "user-pool-issuer",
           Sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"), "ID token issuer")
    return template

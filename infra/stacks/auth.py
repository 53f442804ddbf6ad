"""Auth stack: the Cognito user pool, the storefront's app client and the ``admin`` group.

Users sign in with their email address. The storefront (a public client, no secret)
uses ``USER_PASSWORD_AUTH`` and ``REFRESH_TOKEN_AUTH``, as the local stack does against
the emulator. API Gateway's Cognito authorizer checks the ID tokens; admins are members
of the group ``admin``.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Parameter, Ref, Sub, Template, cognito

from infra.config import StageConfig, user_pool_name
from infra.stacks.common import export, new_template

ADMIN_GROUP = "admin"


def build(cfg: StageConfig) -> Template:
    template = new_template(cfg, "auth", "Cognito user pool, app client, admin group")
    mfa = template.add_parameter(Parameter(
        "MfaConfiguration", Type="String", AllowedValues=["OFF", "OPTIONAL", "ON"], Default=cfg.mfa,
        Description="Multi-factor authentication (software TOTP) for the pool's users",
    ))
    template.add_condition("MfaOff", Equals(Ref(mfa), "OFF"))

    pool = template.add_resource(cognito.UserPool(
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
        AdminCreateUserConfig=cognito.AdminCreateUserConfig(AllowAdminCreateUserOnly=False),
        DeletionProtection="ACTIVE",
        UserPoolTags={"app": "store", "stage": cfg.stage},
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))
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

"""Who is calling: Cognito ID tokens, checked the same way in AWS and locally.

In AWS (``AUTH_MODE=gateway``) API Gateway's Cognito authorizer has verified the
token before the function runs; the app reads the verified claims from the request
context. Locally (``AUTH_MODE=local``) ``chalice local`` checks nothing, so the app
verifies signature, expiry, audience, issuer and token use against the emulator's
JWKS itself. Either way a missing or bad token is a 401 and a non-admin on an admin
route is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from api.errors import ApiError
from catalog_lambda.errors import UnavailableError
from catalog_lambda.settings import AUTH_MODE_LOCAL, Settings

ADMIN_GROUP = "admin"


@dataclass(frozen=True)
class Principal:
    sub: str
    email: str = ""
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="store"'})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def _groups(claims: dict[str, Any]) -> frozenset[str]:
    raw = claims.get("cognito:groups") or []
    if isinstance(raw, str):
        # API Gateway flattens list claims to "a,b" or "[a b]".
        raw = raw.strip("[]").replace(",", " ").split()
    return frozenset(str(g) for g in raw)


def _principal(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise unauthorized("the token names no subject")
    return Principal(sub=sub, email=str(claims.get("email", "")), groups=_groups(claims))


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> Any:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def verify_local_token(token: str, settings: Settings) -> dict[str, Any]:
    """Verify an emulator-issued ID token (RS256) as API Gateway's authorizer would."""
    import jwt

    try:
        signing_key = _jwks_client(settings.cognito_jwks_url).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            audience=settings.cognito_client_id,
            issuer=settings.cognito_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise unauthorized("the token has expired") from None
    except jwt.PyJWKClientConnectionError:
        # The key set could not be fetched: that says nothing about the token.
        raise UnavailableError("the token keys cannot be fetched right now; retry", retry_after=2) from None
    except (jwt.PyJWTError, ValueError) as error:
        raise unauthorized(f"the token is not valid: {type(error).__name__}") from None
    if claims.get("token_use") != "id":
        raise unauthorized("an ID token is required")
    return claims


def authenticate(headers: Any, context: dict[str, Any], settings: Settings) -> Principal:
    if settings.auth_mode == AUTH_MODE_LOCAL:
        header = headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        if not header:
            raise unauthorized("sign in: an Authorization: Bearer token is required")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("the Authorization header must be 'Bearer <ID token>'")
        return _principal(verify_local_token(token.strip(), settings))
    claims = (context.get("authorizer") or {}).get("claims")
    if not isinstance(claims, dict):
        raise unauthorized("sign in: an Authorization: Bearer token is required")
    return _principal(claims)


def route_authorizer(settings: Settings) -> Any:
    """API Gateway's Cognito authorizer, attached only when packaging or deploying.

    ``chalice local`` does not check Cognito authorizers (it would accept a forged
    token), so locally no route carries one and :func:`authenticate` does the work.
    """
    if not settings.authorizer_pool_arns:
        return None
    from chalice.app import CognitoUserPoolAuthorizer

    return CognitoUserPoolAuthorizer("CognitoUsers", provider_arns=list(settings.authorizer_pool_arns),
                                     header="Authorization")

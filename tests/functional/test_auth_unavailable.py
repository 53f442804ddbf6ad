"""Local token verification when the key set cannot be fetched: 503, not a blamed token."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.auth import authenticate
from catalog_lambda.errors import UnavailableError
from catalog_lambda.settings import Settings
from tests.conftest import free_port


def test_unreachable_jwks_is_unavailable_not_unauthorized() -> None:
    port = free_port()  # nothing listens there
    settings = Settings(auth_mode="local", cognito_jwks_url=f"http://127.0.0.1:{port}/pool/.well-known/jwks.json",
                        cognito_client_id="client", cognito_issuer="https://issuer.example/pool")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"sub": "s", "aud": "client", "iss": "https://issuer.example/pool", "exp": 2_000_000_000,
                        "iat": 1, "token_use": "id"}, key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(UnavailableError):
        authenticate({"authorization": f"Bearer {token}"}, {}, settings)

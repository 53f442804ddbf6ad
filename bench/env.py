"""A private AWS emulator (the linearizable moto server of the local stack) for one
benchmark run, with the stage's tables, a user pool with the two demo users, and the
demo catalog."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import free_port, start_emulator
from infra.local.stack import stop_process

PROJECT_DIR = Path(__file__).resolve().parents[1]
STAGE = "dev"
CURSOR_KEY = "bench-cursor-signing-key-0123456789"


def use_fake_credentials() -> None:
    """This process talks to the emulator only: fake credentials, no profile, no real AWS."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})


@dataclass(frozen=True)
class BenchEnv:
    emulator_url: str
    pool_id: str
    client_id: str
    jwks_url: str
    issuer: str

    def aws_env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": self.emulator_url, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}

    def app_env(self, local_auth: bool = True) -> dict[str, str]:
        env = {**self.aws_env(), "STAGE": STAGE, "CURSOR_SIGNING_KEY": CURSOR_KEY,
               "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_METRICS_NAMESPACE": "Store",
               "POWERTOOLS_SERVICE_NAME": "store-api", "POWERTOOLS_LOG_LEVEL": "WARNING"}
        if local_auth:
            env.update({"AUTH_MODE": "local", "COGNITO_USER_POOL_ID": self.pool_id,
                        "COGNITO_CLIENT_ID": self.client_id, "COGNITO_JWKS_URL": self.jwks_url,
                        "COGNITO_ISSUER": self.issuer})
        return env

    def token(self, user: str) -> str:
        from infra.local import bootstrap

        email = bootstrap.ADMIN_EMAIL if user == "admin" else bootstrap.SHOPPER_EMAIL
        password = bootstrap.DEFAULT_ADMIN_PASSWORD if user == "admin" else bootstrap.DEFAULT_SHOPPER_PASSWORD
        return bootstrap.sign_in(self.emulator_url, self.client_id, email, password)["IdToken"]


@contextmanager
def emulator(latency_ms: float = 0.0) -> Iterator[BenchEnv]:
    """Start an emulator on a free port, bootstrap it, stop it afterwards.

    ``latency_ms`` is the emulator's fixed delay per request (``--latency-ms``), outside
    its lock: the latency model of the bulk-import comparison.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_emulator(port, latency_ms=latency_ms)
    try:
        use_fake_credentials()
        from catalog_lambda.settings import Settings
        from infra.local import bootstrap

        pool = bootstrap.create_user_pool(url, STAGE)
        settings = Settings(stage=STAGE, region="us-east-1", endpoint_url=url, cursor_signing_key=CURSOR_KEY)
        bootstrap.create_tables(settings)
        bootstrap.ensure_user(url, pool, bootstrap.ADMIN_EMAIL, bootstrap.DEFAULT_ADMIN_PASSWORD, admin=True)
        bootstrap.ensure_user(url, pool, bootstrap.SHOPPER_EMAIL, bootstrap.DEFAULT_SHOPPER_PASSWORD, admin=False)
        bootstrap.seed_catalog(settings)
        yield BenchEnv(url, pool.pool_id, pool.client_id, pool.jwks_url, pool.issuer)
    finally:
        stop_process(proc)


def bench_settings(env: BenchEnv) -> object:
    from catalog_lambda.settings import Settings

    return Settings(stage=STAGE, region="us-east-1", endpoint_url=env.emulator_url, cursor_signing_key=CURSOR_KEY)

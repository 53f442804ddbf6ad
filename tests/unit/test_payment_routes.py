"""The payment routes as the deploy wires them: the webhook carries no Cognito authorizer
(its signature is the check), every order route does; the expiry sweep runs every minute."""

from __future__ import annotations

from api import create_app
from catalog_lambda.settings import ENV_AUTHORIZER_POOL_ARNS, Settings


def test_only_the_webhook_goes_without_the_cognito_authorizer() -> None:
    pool = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x"
    app = create_app(Settings.from_env({ENV_AUTHORIZER_POOL_ARNS: pool}))
    assert app.routes["/payments/webhook"]["POST"].authorizer is None
    for path, method in [("/orders", "POST"), ("/orders", "GET"), ("/orders/{order_id}/pay", "POST"),
                         ("/orders/{order_id}/cancel", "POST"), ("/orders/{order_id}/ship", "POST")]:
        assert app.routes[path][method].authorizer is not None, (path, method)


def test_the_expiry_sweep_is_scheduled_every_minute() -> None:
    app = create_app()
    [source] = [s for s in app.event_sources if getattr(s, "name", "") == "expire_orders"]
    assert source.schedule_expression.to_string() == "rate(1 minute)"

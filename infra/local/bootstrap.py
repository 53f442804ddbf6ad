"""Create what the app needs inside the emulator: tables, user pool, users, secrets, demo data."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import boto3

from catalog_lambda.models import IDEMPOTENCY_KEY_ATTR, IDEMPOTENCY_TTL_ATTR, TABLE_SHAPES, bind_models
from catalog_lambda.settings import Settings
from infra.config import cursor_secret_name, payment_secret_name
from infra.config import user_pool_name as pool_name

REGION = "us-east-1"  # the emulator answers unsigned Cognito calls only in us-east-1
ADMIN_EMAIL = "admin@example.com"
SHOPPER_EMAIL = "shopper@example.com"
DEFAULT_ADMIN_PASSWORD = "Admin-Passw0rd!"
DEFAULT_SHOPPER_PASSWORD = "Shopper-Passw0rd!"
ENV_ADMIN_PASSWORD = "LOCAL_ADMIN_PASSWORD"
ENV_SHOPPER_PASSWORD = "LOCAL_SHOPPER_PASSWORD"
IMAGES_BUCKET = "store-dev-images"  # the emulator's images bucket (no account in the name)
EMAIL_SENDER = "orders@store.example.com"  # the From address of local order emails


@dataclass(frozen=True)
class UserPool:
    pool_id: str
    client_id: str
    jwks_url: str
    issuer: str


def client(service: str, endpoint: str | None) -> Any:
    return boto3.client(
        service, region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


def create_tables(settings: Settings) -> None:
    bind_models(settings)
    for model in TABLE_SHAPES.values():
        if not model.exists():
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
    dynamodb = client("dynamodb", settings.endpoint_url)
    existing = dynamodb.list_tables()["TableNames"]
    if settings.idempotency_table not in existing:
        dynamodb.create_table(
            TableName=settings.idempotency_table,
            KeySchema=[{"AttributeName": IDEMPOTENCY_KEY_ATTR, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": IDEMPOTENCY_KEY_ATTR, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.update_time_to_live(
            TableName=settings.idempotency_table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": IDEMPOTENCY_TTL_ATTR},
        )


def create_user_pool(endpoint: str, stage: str) -> UserPool:
    cognito = client("cognito-idp", endpoint)
    name = pool_name(stage)
    pools = cognito.list_user_pools(MaxResults=60)["UserPools"]
    pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True,
                                         "RequireLowercase": True, "RequireNumbers": True,
                                         "RequireSymbols": False}},
        )["UserPool"]["Id"]
        cognito.create_group(GroupName="admin", UserPoolId=pool_id, Description="store administrators")
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == "storefront"), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="storefront", GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    return UserPool(
        pool_id=pool_id,
        client_id=client_id,
        jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
        issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
    )


def ensure_user(endpoint: str, pool: UserPool, email: str, password: str, admin: bool) -> None:
    cognito = client("cognito-idp", endpoint)
    try:
        cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(
            UserPoolId=pool.pool_id, Username=email, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )
    cognito.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)
    if admin:
        cognito.admin_add_user_to_group(UserPoolId=pool.pool_id, Username=email, GroupName="admin")


def ensure_cursor_secret(endpoint: str, stage: str) -> str:
    sm = client("secretsmanager", endpoint)
    name = cursor_secret_name(stage)
    try:
        sm.describe_secret(SecretId=name)
    except sm.exceptions.ResourceNotFoundException:
        sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))
    return name


def ensure_payment_secret(endpoint: str, stage: str) -> tuple[str, str]:
    """The payment secret ({"webhook_secret"}): its name and the webhook secret, which the
    local payment page signs with (Stripe's ``whsec_`` form)."""
    import json

    sm = client("secretsmanager", endpoint)
    name = payment_secret_name(stage)
    try:
        value = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
    except sm.exceptions.ResourceNotFoundException:
        value = {"webhook_secret": "whsec_" + secrets.token_urlsafe(32)}
        sm.create_secret(Name=name, SecretString=json.dumps(value))
    return name, str(value["webhook_secret"])


def sign_in(endpoint: str, client_id: str, email: str, password: str) -> dict[str, str]:
    """Cognito InitiateAuth (USER_PASSWORD_AUTH), as a storefront would do it."""
    cognito = client("cognito-idp", endpoint)
    result = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]
    return {k: str(v) for k, v in result.items()}


def ensure_images_bucket(settings: Settings, seed: bool = True) -> None:
    """The images bucket, with the demo products' images (drawn here, no network)."""
    from catalog_lambda.images import IMAGE_CACHE_CONTROL
    from infra.local.demo_images import product_image
    from infra.local.seed_data import demo_images

    s3 = client("s3", settings.endpoint_url)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if settings.images_bucket not in existing:
        s3.create_bucket(Bucket=settings.images_bucket)
    if seed:
        for key, category, index in demo_images():
            s3.put_object(Bucket=settings.images_bucket, Key=key, Body=product_image(category, index),
                          ContentType="image/png", CacheControl=IMAGE_CACHE_CONTROL)


def verify_sender(settings: Settings) -> None:
    """SES refuses to send from an unverified identity; the emulator's is verified on creation."""
    ses = client("sesv2", settings.endpoint_url)
    try:
        ses.get_email_identity(EmailIdentity=settings.email_sender)
    except ses.exceptions.NotFoundException:
        ses.create_email_identity(EmailIdentity=settings.email_sender)


def seed_catalog(settings: Settings) -> int:
    """Create the demo categories and products through the catalog service (exact counts)."""
    from catalog_lambda.errors import ConflictError
    from catalog_lambda.services import catalog_service
    from infra.local.seed_data import CATEGORIES, products

    service = catalog_service(settings)
    for slug, name in CATEGORIES:
        try:
            service.create_category(slug, name)
        except ConflictError:
            pass
    created = 0
    for body in products():
        try:
            service.create_product(body)
            created += 1
        except ConflictError:
            pass  # already seeded (sku taken)
    return created


def seed_orders(settings: Settings, endpoint: str, pool: UserPool, email: str) -> int:
    """The shopper's demo orders, paid (one shipped too): placed, paid through the local
    provider's signed webhook and shipped by the same service code as any order, so
    none is left pending. Idempotent: fixed Idempotency-Keys."""
    import json
    import time

    from catalog_lambda.orders import NoNotifier
    from catalog_lambda.payments.local import payment_intent_for
    from catalog_lambda.payments.webhook import sign
    from catalog_lambda.services import catalog_service, order_service

    cognito = client("cognito-idp", endpoint)
    attributes = cognito.admin_get_user(UserPoolId=pool.pool_id, Username=email)["UserAttributes"]
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")
    products = catalog_service(settings).list_products(limit="4")["items"]
    if len(products) < 4:
        return 0
    baskets = [[(products[0]["id"], 1), (products[1]["id"], 2)], [(products[2]["id"], 1), (products[3]["id"], 1)]]
    address = {"name": "Sam Shopper", "line1": "1 Demo Street", "city": "Springfield", "postal_code": "12345",
               "country": "US"}
    orders = order_service(settings, NoNotifier())
    for number, basket in enumerate(baskets, start=1):
        body = {"lines": [{"product_id": pid, "quantity": qty} for pid, qty in basket], "shipping_address": address}
        order = orders.place_order(sub, email, f"demo-order-{number}", body).order
        if order["status"] == "pending_payment":
            session = orders.pay(order["id"], sub)
            event = json.dumps({
                "id": f"evt_demo_{order['id']}", "object": "event", "type": "checkout.session.completed",
                "created": int(time.time()),
                "data": {"object": {"id": session["session_id"], "object": "checkout.session",
                                    "client_reference_id": order["id"], "amount_total": order["total_cents"],
                                    "currency": order["currency"].lower(), "payment_status": "paid",
                                    "payment_intent": payment_intent_for(session["session_id"])}},
            })
            orders.handle_webhook(event.encode(), sign(event, settings.payment_webhook_secret))
        if number == 1 and orders.get_order(order["id"], sub, False)["status"] == "paid":
            orders.ship_order(order["id"], {"carrier": "DemoPost", "tracking_number": "DP123456789"})
    return len(baskets)

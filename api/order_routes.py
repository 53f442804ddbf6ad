"""Order routes: any signed-in user places, pays and sees their own orders; admins see all and ship."""

from __future__ import annotations

from chalice.app import Response

from api.auth import forbidden
from api.http import ADMIN, USER, Ctx, json_response, route
from api.observability import order_placed, refunds_made
from catalog_lambda.errors import ValidationError
from catalog_lambda.services import order_service


@route("/orders", "POST", USER)
def place_order(ctx: Ctx) -> Response:
    placed = order_service().place_order(ctx.user.sub, ctx.user.email, ctx.header("idempotency-key"), ctx.json())
    if placed.created:
        order_placed()
    return json_response(placed.order, 201, {"Location": f"orders/{placed.order['id']}"})


@route("/orders", "GET", USER)
def list_orders(ctx: Ctx) -> Response:
    scope = ctx.query("scope")
    if scope not in (None, "", "mine", "all"):
        raise ValidationError("scope must be 'mine' or 'all'", [{"field": "scope", "issue": "unknown value"}])
    if scope == "all" and not ctx.user.is_admin:
        raise forbidden("only an admin may list every customer's orders")
    page = order_service().list_orders(ctx.user.sub, scope == "all", ctx.query("status"), ctx.query("limit"),
                                       ctx.query("cursor"))
    return json_response(page)


@route("/orders/{order_id}", "GET", USER)
def get_order(ctx: Ctx) -> Response:
    return json_response(order_service().get_order(ctx.params["order_id"], ctx.user.sub, ctx.user.is_admin))


@route("/orders/{order_id}/pay", "POST", USER)
def pay_order(ctx: Ctx) -> Response:
    return json_response(order_service().pay(ctx.params["order_id"], ctx.user.sub))


@route("/orders/{order_id}/cancel", "POST", USER)
def cancel_order(ctx: Ctx) -> Response:
    cancelled = order_service().cancel_order(ctx.params["order_id"], ctx.user.sub, ctx.user.is_admin)
    if cancelled.refunded_cents:
        refunds_made()
    return json_response(cancelled.order)


@route("/orders/{order_id}/ship", "POST", ADMIN)
def ship_order(ctx: Ctx) -> Response:
    return json_response(order_service().ship_order(ctx.params["order_id"], ctx.json()))

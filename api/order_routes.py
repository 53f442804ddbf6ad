"""Order routes: any signed-in user places, pays and sees their own orders; admins see all and ship."""

from __future__ import annotations

from chalice.app import Response

from api.auth import forbidden
from api.http import ADMIN, CURSOR, LIMIT, USER, Ctx, Routes, header, json_response, query
from api.observability import order_placed, refunds_made
from catalog_lambda.errors import ValidationError
from catalog_lambda.services import order_service

routes = Routes()


@routes.route("/orders", "POST", USER, ok=201, response="Order", body="OrderCreate",
              summary="Place an order awaiting payment: every line reserves stock until expires_at, or none does",
              errors=(400, 404, 409, 413, 415, 422, 503), response_headers={"Location": "the order's URL"},
              parameters=(header("Idempotency-Key", "retries with the same key place the order once", required=True,
                                 minLength=1, maxLength=128, pattern=r"^[A-Za-z0-9_.:-]+$"),))
def place_order(ctx: Ctx) -> Response:
    placed = order_service().place_order(ctx.user.sub, ctx.user.email, ctx.header("idempotency-key"), ctx.json())
    if placed.created:
        order_placed()
    return json_response(placed.order, 201, {"Location": f"orders/{placed.order['id']}"})


@routes.route("/orders", "GET", USER, response="OrderPage", errors=(400, 403, 503),
              summary="List the caller's orders (or, for an admin with scope=all, everyone's, optionally in one "
                      "status), newest first",
              parameters=(query("scope", "'all' lists every customer's orders (admin only)", type="string",
                                enum=["mine", "all"]),
                          query("status", "only orders in this status (with scope=all)", type="string",
                                enum=["pending_payment", "paid", "shipped", "cancelled", "expired"]),
                          LIMIT, CURSOR))
def list_orders(ctx: Ctx) -> Response:
    scope = ctx.query("scope")
    if scope not in (None, "", "mine", "all"):
        raise ValidationError("scope must be 'mine' or 'all'", [{"field": "scope", "issue": "unknown value"}])
    if scope == "all" and not ctx.user.is_admin:
        raise forbidden("only an admin may list every customer's orders")
    page = order_service().list_orders(ctx.user.sub, scope == "all", ctx.query("status"), ctx.query("limit"),
                                       ctx.query("cursor"))
    return json_response(page)


@routes.route("/orders/{order_id}", "GET", USER, summary="Get one of the caller's orders", response="Order",
              errors=(404, 503))
def get_order(ctx: Ctx) -> Response:
    return json_response(order_service().get_order(ctx.params["order_id"], ctx.user.sub, ctx.user.is_admin))


@routes.route("/orders/{order_id}/pay", "POST", USER, response="PaymentSession", errors=(402, 404, 409, 503),
              summary="Open (or reopen) the provider's hosted payment page for this order's total")
def pay_order(ctx: Ctx) -> Response:
    return json_response(order_service().pay(ctx.params["order_id"], ctx.user.sub))


@routes.route("/orders/{order_id}/cancel", "POST", USER, response="Order", errors=(404, 409, 503),
              summary="Cancel an order awaiting payment, or a paid one with a full refund; its stock is returned "
                      "exactly once")
def cancel_order(ctx: Ctx) -> Response:
    cancelled = order_service().cancel_order(ctx.params["order_id"], ctx.user.sub, ctx.user.is_admin)
    if cancelled.refunded_cents:
        refunds_made()
    return json_response(cancelled.order)


@routes.route("/orders/{order_id}/ship", "POST", ADMIN, response="Order", body="Shipment",
              summary="Ship a paid order with its carrier and tracking number (admin)",
              errors=(400, 404, 409, 413, 415, 503))
def ship_order(ctx: Ctx) -> Response:
    return json_response(order_service().ship_order(ctx.params["order_id"], ctx.json()))

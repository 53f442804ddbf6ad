"""The expiry sweep: a Chalice schedule (every minute) that expires unpaid orders whose
hold has ended and returns their stock. ``chalice deploy`` creates its function and
EventBridge rule; the local stack calls the same handler every EXPIRY_SWEEP_SECONDS
(``infra/local/expiry.py``)."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate

SCHEDULE_NAME = "expire_orders"


def sweep_expired_orders() -> list[str]:
    from api.observability import flush_metrics, logger, orders_expired
    from catalog_lambda.services import order_service

    expired = order_service().expire_due()
    if expired:
        orders_expired(len(expired))
        logger.info("orders expired", extra={"expired": len(expired), "order_ids": expired[:50]})
    flush_metrics()
    return expired


def register_expiry_schedule(app: Chalice) -> Any:
    @app.schedule(Rate(1, unit=Rate.MINUTES), name=SCHEDULE_NAME)
    def expire_orders(event: CloudWatchEvent) -> None:
        sweep_expired_orders()

    return expire_orders

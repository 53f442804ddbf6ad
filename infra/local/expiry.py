"""The local stack's stand-in for EventBridge: calls the app's scheduled expiry handler
(``api.order_events``, the same handler Lambda runs every minute) every
``EXPIRY_SWEEP_SECONDS``, on a daemon thread of the local API process."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from chalice.app import Chalice


def scheduled_event() -> dict[str, Any]:
    """What EventBridge sends a scheduled function."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [], "detail": {},
    }


def start_sweeper(app: Chalice, every_seconds: float, stop: threading.Event | None = None) -> threading.Thread:
    from api.order_events import SCHEDULE_NAME

    handler = app.handler_map[SCHEDULE_NAME]
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            started = time.monotonic()
            try:
                handler(scheduled_event(), None)
            except Exception as error:  # a failed sweep is retried on the next tick, as in AWS
                print(f"expiry sweep failed: {error!r} after {time.monotonic() - started:.1f}s", flush=True)

    thread = threading.Thread(target=loop, name="expiry-sweeper", daemon=True)
    thread.start()
    return thread

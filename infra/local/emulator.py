"""The local AWS emulator: moto's server, made linearizable.

moto is not atomic under concurrency: its DynamoDB backend evaluates a condition and
applies the write in separate steps, so concurrent conditional writes can both pass
(measured: 200 concurrent conditional decrements on stock 100 let up to 105 succeed).
DynamoDB guarantees that a conditional write or a transaction is atomic, and the
store relies on that (no oversell, unique skus, If-Match). So every request to the
emulator is served under one lock: requests are applied one at a time, in the order
the lock is taken, which makes the emulator linearizable. The threaded server still
accepts connections concurrently, so clients see real concurrency up to that point.

Run: ``python -m infra.local.emulator --port 5000`` (binds 127.0.0.1 only).

``--latency-ms N`` adds a fixed delay of N ms to every request, before the lock (so
concurrent requests wait it out together): a stand-in for the network round trip to
DynamoDB, which the in-process emulator otherwise does not have. ``make bench`` uses
it for the bulk-import comparison (see ``bench/bulk.py``); it is 0 everywhere else.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class SerializedApp:
    """WSGI middleware: one request at a time through the wrapped app, body included."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], latency_s: float = 0.0) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._latency_s = latency_s

    def __call__(self, environ: Environ, start_response: StartResponse) -> list[bytes]:
        if self._latency_s:
            time.sleep(self._latency_s)  # the network round trip: outside the lock
        with self._lock:
            # Drain the response inside the lock: moto may build it lazily.
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


def build_app(latency_s: float = 0.0) -> SerializedApp:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from infra.local import moto_items, moto_transactions

    moto_transactions.install()  # transactions without whole-table copies (see that module)
    moto_items.install()  # items built in linear time (see that module)
    return SerializedApp(DomainDispatcherApplication(create_backend_app), latency_s)


def make_emulator(port: int, host: str = "127.0.0.1", latency_s: float = 0.0) -> BaseWSGIServer:
    from moto.moto_server.threaded_moto_server import MotoRequestHandler  # type: ignore[attr-defined]

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc,valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return make_server(host, port, build_app(latency_s), threaded=True, request_handler=QuietHandler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="a fixed delay per request, outside the lock (a stand-in for the network)")
    args = parser.parse_args(argv)
    server = make_emulator(args.port, latency_s=args.latency_ms / 1000)
    print(f"emulator listening on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

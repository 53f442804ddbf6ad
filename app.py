"""Chalice's entry point: only wires the app from ``api/``.

When the Chalice CLI loads this file (``chalice local``, ``chalice package``, ``chalice
deploy`` typed at the repository root), :mod:`infra.chalice_cli` first prepares that
command: the lean package, the Cognito pool of the authorizer, the local stack's
settings. ``infra/`` is not in the deployment package and Lambda never takes this branch.

Cold start: the garbage collector is paused while the app's modules import and the app
is built (they make no garbage worth collecting, and every full collection would walk
the whole import graph again), then :func:`gc.freeze` moves everything built so far
(modules, app, routes: all as long-lived as the process) out of its view. The first
request loads botocore's data (service model, endpoints, partitions: tens of thousands
of new objects), which sets off full collections; without the freeze each of them
rescans the import graph. Measured with ``gc.callbacks`` in the benchmark's Lambda-like
process, those collections were most of what a cold GET cost over ``import boto3`` and
one call (see ``bench/results.md``). Frozen objects are still freed when their reference
count drops to zero; they are only never scanned for cycles.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.app import Chalice


def _build() -> Chalice:
    gc.disable()
    try:
        from api import create_app
        from catalog_lambda.settings import under_chalice_cli

        if under_chalice_cli():
            from infra.chalice_cli import prepare

            prepare()
        built = create_app()
        gc.freeze()
        return built
    finally:
        gc.enable()


app = _build()

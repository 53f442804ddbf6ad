"""The bulk-import trigger: a file landing under ``imports/`` of the imports bucket is
imported (``catalog_lambda.bulk_import``) and its report written beside it.

Registered only when ``IMPORTS_BUCKET`` names the bucket: Chalice wires S3
notifications with ``chalice deploy``; its SAM packager (``chalice package``) refuses
them, as CloudFormation cannot add notifications to an existing bucket, so a SAM
package must be built without ``IMPORTS_BUCKET``.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, S3Event

from catalog_lambda.settings import Settings, get_settings

IMPORT_PREFIX = "imports/"  # the same as catalog_lambda.bulk_import.IMPORT_PREFIX (not imported: cold start)


def handle_import_event(event: S3Event, settings: Settings | None = None) -> dict[str, Any] | None:
    from api.observability import logger
    from catalog_lambda.bulk_import import import_s3_object
    from catalog_lambda.models import bind_models

    settings = settings or get_settings()
    bind_models(settings)
    logger.append_keys(import_key=event.key)
    report = import_s3_object(event.bucket, event.key, settings)
    if report is not None:
        logger.info("import finished", extra={f"import_{k}": report[k] for k in ("rows", "created", "updated",
                                                                              "unchanged", "failed")})
    return report


def register_import_trigger(app: Chalice, settings: Settings) -> None:
    if not settings.imports_bucket:
        return

    @app.on_s3_event(bucket=settings.imports_bucket, prefix=IMPORT_PREFIX, events=["s3:ObjectCreated:*"],
                     name="import_products")
    def import_products(event: S3Event) -> None:
        handle_import_event(event)

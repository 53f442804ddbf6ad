"""Command line: ``python -m catalog_lambda import FILE [--report PATH] [--one-by-one]``.

Imports products from CSV or JSON Lines (see :mod:`catalog_lambda.bulk_import`) into
the tables the environment names (``STAGE``, ``AWS_ENDPOINT_URL`` for the emulator...),
with a progress bar, and writes the report (bad rows with their line numbers) as
JSON beside the file unless ``--report`` says where. Exit status: 0 when every row was
imported, 1 when some rows were refused, 2 when the import could not run.

What it needs is checked first and named when missing, in one line, never a
traceback: AWS credentials (any of boto3's usual sources), a reachable endpoint
(``AWS_ENDPOINT_URL``, or AWS itself) and the stage's products table. Against the
local stack, ``make import FILE=...`` supplies all three from the stack's state file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from catalog_lambda.bulk_import import REPORT_SUFFIX, ImportReport, import_file
from catalog_lambda.errors import DomainError
from catalog_lambda.settings import ENV_ENDPOINT, ENV_STAGE, Settings, SettingsError

LOCAL_HINT = "for the local stack run `make import FILE=...` (it reads the stack's endpoint and credentials)"


def preflight(settings: Settings) -> str | None:
    """What the import lacks to run (credentials, a reachable endpoint, the table), or None."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    session = boto3.session.Session(region_name=settings.region)
    if session.get_credentials() is None:
        return (f"no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); "
                f"{LOCAL_HINT}")
    where = settings.endpoint_url or f"DynamoDB in {settings.region} (no {ENV_ENDPOINT} set)"
    dynamodb = session.client("dynamodb", endpoint_url=settings.endpoint_url,
                              config=Config(connect_timeout=5, retries={"max_attempts": 2}))
    try:
        dynamodb.describe_table(TableName=settings.products_table)
    except EndpointConnectionError:
        return f"cannot reach {where}: is the endpoint right and running? {LOCAL_HINT}"
    except NoCredentialsError:
        return f"no AWS credentials; {LOCAL_HINT}"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            return (f"no table {settings.products_table} at {where}: set {ENV_STAGE} (now {settings.stage!r}) "
                    f"to a deployed stage, or {LOCAL_HINT}")
        return f"{where} refused the table look-up ({code}): check the credentials and {ENV_STAGE}"
    except BotoCoreError as error:
        return f"cannot reach {where}: {error}"
    return None


def _run_import(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from catalog_lambda.models import bind_models

    console = Console(stderr=True)
    path = Path(args.file)
    if not path.is_file():
        console.print(f"[red]no such file: {path}[/red]")
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        console.print(f"[red]{error}[/red]")
        return 2
    missing = preflight(settings)
    if missing is not None:
        console.print(f"[red]{missing}[/red]", highlight=False, soft_wrap=True)
        return 2
    bind_models(settings)
    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(f"importing {path.name}", total=None)
        try:
            report = import_file(path, settings, batched=not args.one_by_one,
                                 progress=lambda n: bar.advance(task, n),
                                 total=lambda n: bar.update(task, total=n))
        except DomainError as error:
            console.print(f"[red]import failed: {error.message}[/red] {json.dumps(error.details)}")
            return 2
    report_path = Path(args.report) if args.report else path.with_name(path.name + REPORT_SUFFIX)
    report_path.write_text(json.dumps(report.as_dict(), indent=2))
    _summary(console, report, report_path)
    return 1 if report.failed else 0


def _summary(console: Any, report: ImportReport, report_path: Path) -> None:
    console.print(f"{report.rows} rows: {report.created} created, {report.updated} updated, "
                  f"{report.unchanged} unchanged, {report.failed} refused in {report.seconds:.1f}s")
    for error in report.errors[:20]:
        issues = "; ".join(f"{e.get('field') or '(row)'}: {e.get('issue')}" for e in error["errors"])
        console.print(f"  line {error['line']}: {issues}")
    if report.failed > 20:
        console.print(f"  ... and {report.failed - 20} more")
    console.print(f"report: {report_path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog_lambda", description="catalog tools")
    sub = parser.add_subparsers(dest="command", required=True)
    p_import = sub.add_parser("import", help="import products from a CSV or JSON Lines file (upsert by sku)")
    p_import.add_argument("file")
    p_import.add_argument("--report", help="where to write the JSON report (default: FILE.report.json)")
    p_import.add_argument("--one-by-one", action="store_true",
                          help="one transaction per product instead of chunks (slow; for comparison)")
    args = parser.parse_args(argv)
    return _run_import(args)


if __name__ == "__main__":
    sys.exit(main())

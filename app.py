"""Chalice's entry point: only wires the app from ``api/``.

When the Chalice CLI loads this file (``chalice local``, ``chalice package``, ``chalice
deploy`` typed at the repository root), :mod:`infra.chalice_cli` first prepares that
command: the lean package, the Cognito pool of the authorizer, the local stack's
settings. ``infra/`` is not in the deployment package and Lambda never takes this branch.
"""

from api import create_app
from catalog_lambda.settings import under_chalice_cli

if under_chalice_cli():
    from infra.chalice_cli import prepare

    prepare()

app = create_app()

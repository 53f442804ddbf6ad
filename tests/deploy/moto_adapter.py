"""Test tooling only: run Chalice's own CLI against moto's API Gateway.

Nothing here is used by ``make deploy`` or the workflows; it exists because moto
(5.2.5) cannot take what Chalice sends to API Gateway:

* Chalice sends a Swagger 2.0 document to ImportRestApi / PutRestApi, and moto refuses
  anything but OpenAPI 3.x ("Only OpenAPI 3.x.x are currently supported");
* moto's ImportRestApi reads ``info.description`` unconditionally and answers HTTP 500
  (a KeyError) when it is missing, and Chalice's document has no description.

So this module changes exactly one thing, Chalice's Swagger *base template*: its
version key says ``openapi: 3.0.1`` and it carries an ``info.description``. Every path,
integration, authorizer and policy Chalice generates is left as Chalice builds it, and
every other call (IAM, Lambda, API Gateway deployments, Lambda permissions) is
Chalice's unchanged code talking to the emulator. Real API Gateway accepts Chalice's
Swagger 2.0 as is, which is why users never run this.

Two ways in, both used by ``tests/deploy``:

* ``python tests/deploy/moto_adapter.py chalice <chalice args>`` runs Chalice's CLI
  (``chalice deploy --stage dev`` ...) with the adapted template; :data:`CHALICE_COMMAND`
  is that command line, for the ``chalice_command`` argument of
  :func:`infra.delivery.app.deploy`;
* ``python tests/deploy/moto_adapter.py deliver --stage dev``, run with the working
  directory at a project checkout (a fresh clone, say), imports *that checkout's*
  ``infra.delivery.app`` and runs its ``deploy`` with :data:`CHALICE_COMMAND`: the real
  delivery code (state restore, pool ARN, gateway responses, state save) around the
  real Chalice CLI. This script lives outside the checkout so the clone needs nothing
  from the tests.
"""

from __future__ import annotations

import sys
from typing import Any

CHALICE_COMMAND = (sys.executable, __file__, "chalice")
MOTO_DESCRIPTION = "Chalice API (moto needs an OpenAPI 3 version key and an info.description)"


def adapt_swagger_base_template() -> None:
    """Make Chalice's Swagger base template acceptable to moto (see the module doc)."""
    from chalice.deploy.swagger import SwaggerGenerator

    template: dict[str, Any] = dict(SwaggerGenerator._BASE_TEMPLATE)
    template.pop("swagger", None)
    template = {"openapi": "3.0.1", **template}
    template["info"] = {**template["info"], "description": MOTO_DESCRIPTION}
    SwaggerGenerator._BASE_TEMPLATE = template


def run_chalice(argv: list[str]) -> int:
    adapt_swagger_base_template()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *argv]
    return int(chalice_main() or 0)


def run_delivery(argv: list[str]) -> int:
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="moto_adapter.py deliver")
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, os.getcwd())
    from infra.delivery import app

    app.deploy(args.stage, chalice_command=CHALICE_COMMAND)
    return 0


if __name__ == "__main__":
    modes = {"chalice": run_chalice, "deliver": run_delivery}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        raise SystemExit("usage: python tests/deploy/moto_adapter.py chalice|deliver <arguments>")
    sys.exit(modes[sys.argv[1]](sys.argv[2:]))

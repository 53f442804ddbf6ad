"""What ``chalice local``, ``chalice package`` and ``chalice deploy`` need when typed at the repository root.

Chalice imports ``app.py`` before it builds or serves anything, and ``app.py`` calls
:func:`prepare` when the Chalice CLI is the caller (the CLI sets ``AWS_CHALICE_CLI_MODE``;
Lambda never does). The command and its ``--stage`` come from click's context. Nothing
here reaches the deployment package (``infra/`` is not in it).

``chalice package --stage S OUT`` and ``chalice deploy --stage S`` (``make package`` and
``make deploy`` run exactly these, at the root):

1. **A lean package.** ``PIP_NO_DEPS=1`` goes into this process's environment. Chalice
   resolves ``requirements.txt`` by running pip in a subprocess that inherits it, and pip
   reads its options from ``PIP_*`` variables, so pip installs exactly the pinned list
   (which names every transitive dependency the function needs) and never boto3 or
   botocore, which pynamodb and aws-xray-sdk would pull in (15 MB the Lambda runtime
   already has). ``api/`` and ``catalog_lambda/`` reach the zip's root through the
   committed links ``vendor/api`` and ``vendor/catalog_lambda`` (Chalice copies
   ``vendor/``'s contents into the zip, following links).
2. **The authorizer's user pool** (``api.auth.route_authorizer`` reads
   ``API_COGNITO_POOL_ARNS`` while the routes are registered): the variable when set, with
   no AWS call; else the auth stack's output ``UserPoolArn`` when AWS answers; else the
   command stops here, before anything is built, and says what to do.
3. **Gateway responses in the API definition.** Chalice's base Swagger document gets the
   ``x-amazon-apigateway-gateway-responses`` block (:mod:`infra.delivery.gateway`), so
   every ImportRestApi / PutRestApi (mode overwrite, each deploy) keeps API Gateway's own
   answers (unknown path, authorizer refusals, throttling) in the contract's JSON, and
   ``sam.json`` carries them too. Chalice offers no setting for it; the base document is
   the one place its generator takes from.
4. ``deploy`` only: the stage's committed ``iam_role_arn`` must name the caller's
   account (:mod:`infra.chalice_config`), else it stops with the bootstrap step to run.

``chalice local`` (stage dev): the settings ``make dev`` gives its API, read from the
running local stack's state file (``.local/stack.json``, or ``STACK_STATE_FILE``), whose
emulator must be the one on ``LOCAL_AWS_PORT`` (default 5000): local token verification
against the emulator's Cognito, the emulator's endpoint and fake credentials. A variable
already set wins. The server is :func:`infra.local.api_server.local_server`, which
answers an unknown route as the deployed API does (404 ``not_found``, no token echoed).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

import click

from catalog_lambda.settings import ENV_AUTHORIZER_POOL_ARNS
from infra.aws import InfraError, StackOutput, read_outputs, resolve_target
from infra.config import stage_config
from infra.delivery.gateway import SWAGGER_EXTENSION, swagger_extension

ENV_PIP_NO_DEPS = "PIP_NO_DEPS"
ENV_LOCAL_AWS_PORT = "LOCAL_AWS_PORT"
DEFAULT_LOCAL_AWS_PORT = 5000
USER_POOL_ARN = StackOutput("auth", "UserPoolArn")
BUILD_COMMANDS = frozenset({"package", "deploy"})


def prepare() -> None:
    """Prepare the Chalice CLI command being run (see the module docstring); others are left alone."""
    context = click.get_current_context(silent=True)
    if context is not None:
        command, stage = context.info_name or "", str(context.params.get("stage") or "dev")
    else:
        # `chalice local` autoreloads by default: its worker process imports the app in the
        # server's thread, where click keeps no context, so read the command line instead.
        command, stage = command_from_argv(sys.argv)
    if command in BUILD_COMMANDS:
        prepare_build(command, stage)
    elif command == "local":
        prepare_local()


def command_from_argv(argv: list[str]) -> tuple[str, str]:
    """``chalice [--project-dir D] [--debug] COMMAND [--stage S] ...`` -> ``(COMMAND, S)`` (stage dev by default)."""
    args = argv[1:]
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] == "--project-dir" else 1
    if index >= len(args):
        return "", "dev"
    rest = args[index + 1:]
    stage = "dev"
    for position, arg in enumerate(rest):
        if arg == "--stage" and position + 1 < len(rest):
            stage = rest[position + 1]
        elif arg.startswith("--stage="):
            stage = arg.partition("=")[2]
    return args[index], stage


# --- chalice package / chalice deploy ---------------------------------------------------


def prepare_build(command: str, stage: str) -> None:
    try:
        cfg = stage_config(stage)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        # Chalice needs a region to render ARNs even for `package`; the stage has one.
        os.environ["AWS_DEFAULT_REGION"] = cfg.region
    os.environ[ENV_PIP_NO_DEPS] = "1"
    pool_arns = authorizer_pool_arns(command, stage)
    os.environ[ENV_AUTHORIZER_POOL_ARNS] = pool_arns
    click.echo(f"{command} --stage {stage}: authorizer on Cognito user pool {pool_arns}", err=True)
    if command == "deploy":
        check_function_role(stage)
    add_gateway_responses_to_api_definition()


def authorizer_pool_arns(command: str, stage: str) -> str:
    given = os.environ.get(ENV_AUTHORIZER_POOL_ARNS, "").strip()
    if given:
        return given
    stack = USER_POOL_ARN.stack_name(stage)
    try:
        target = resolve_target(stage)
        return read_outputs(target, USER_POOL_ARN)[USER_POOL_ARN]
    except InfraError as error:
        reason = str(error)
    raise click.ClickException(
        f"chalice {command} --stage {stage}: no Cognito user pool for API Gateway's authorizer, so nothing was "
        f"built. Either set {ENV_AUTHORIZER_POOL_ARNS}=<user pool ARN> (no AWS call), or run it with AWS "
        f"credentials for the account whose {stack} stack exists (its output {USER_POOL_ARN.key} is read). "
        f"({reason})")


def check_function_role(stage: str) -> None:
    from infra.chalice_config import check_role_account

    try:
        target = resolve_target(stage)
        check_role_account(stage, target.account_id)
    except InfraError as error:
        raise click.ClickException(f"chalice deploy --stage {stage}: {error}") from None


def add_gateway_responses_to_api_definition() -> None:
    from chalice.deploy.swagger import SwaggerGenerator

    base: dict[str, Any] = dict(SwaggerGenerator._BASE_TEMPLATE)
    base[SWAGGER_EXTENSION] = swagger_extension()
    SwaggerGenerator._BASE_TEMPLATE = base


# --- chalice local ----------------------------------------------------------------------


def local_state_file() -> Path:
    from infra.local.stack import DEFAULT_STATE_FILE, ENV_STATE_FILE

    return Path(os.environ.get(ENV_STATE_FILE) or DEFAULT_STATE_FILE)


def local_settings() -> dict[str, str]:
    """The environment of `make dev`'s API, for the emulator on LOCAL_AWS_PORT; refuses when it is not running."""
    from infra.local.stack import emulator_env

    port = int(os.environ.get(ENV_LOCAL_AWS_PORT) or DEFAULT_LOCAL_AWS_PORT)
    emulator_url = f"http://127.0.0.1:{port}"
    start = f"start the local stack first (`make dev`, with the same {ENV_LOCAL_AWS_PORT}), then run chalice local"
    try:
        urllib.request.urlopen(f"{emulator_url}/moto-api/", timeout=3).close()
    except OSError:
        raise click.ClickException(f"no AWS emulator answers at {emulator_url}: {start}") from None
    state_file = local_state_file()
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise click.ClickException(f"no local stack state at {state_file}: {start}") from None
    if state.get("emulator_url") != emulator_url or "api_environment" not in state:
        raise click.ClickException(f"{state_file} describes a local stack on {state.get('emulator_url')}, not the "
                                   f"emulator at {emulator_url}: {start}")
    return {**emulator_env(emulator_url), **{str(k): str(v) for k, v in state["api_environment"].items()}}


def prepare_local() -> None:
    for name, value in local_settings().items():
        os.environ.setdefault(name, value)
    # Locally the app verifies tokens itself; Chalice's local gateway would not check a
    # Cognito authorizer at all.
    os.environ.pop(ENV_AUTHORIZER_POOL_ARNS, None)
    import chalice.local

    from infra.local.api_server import local_server

    chalice.local.create_local_server = local_server

"""The whole local stack in one command (``make dev``), and demo tokens (``make token``).

``up`` starts, in order: the linearizable emulator (moto server on 127.0.0.1), the
bootstrap (tables, user pool, demo users, secrets, demo catalog), the container
service, the storefront, and the API last, so that once ``/health`` answers every
service is up. It prints every URL and the demo credentials, and writes them to a
state file. Ctrl-C or SIGTERM stops every child process (their whole process groups)
within a few seconds.

Ports: emulator ``LOCAL_AWS_PORT`` (5000), API ``API_PORT`` (8000), storefront
``SITE_PORT`` (8080), container ``SERVER_PORT`` (8081); flags override the environment.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from catalog_lambda import settings as names
from infra.local.processes import emulator_argv, wait_http

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_STATE_FILE = PROJECT_DIR / ".local" / "stack.json"
SERVER_DIR = PROJECT_DIR / "site" / "server"
# Where `up` writes and `token` reads the stack's URLs and ids (so `make token` finds a
# stack started elsewhere, e.g. by a test on ports of its own); --state-file wins.
ENV_STATE_FILE = "STACK_STATE_FILE"
STAGE = "dev"
PORT_ENV = {"emulator": ("LOCAL_AWS_PORT", 5000), "api": ("API_PORT", 8000),
            "site": ("SITE_PORT", 8080), "server": ("SERVER_PORT", 8081)}
STOP_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class StackInfo:
    emulator_url: str
    api_url: str
    site_url: str
    server_url: str
    region: str
    user_pool_id: str
    client_id: str
    jwks_url: str
    issuer: str
    cursor_secret_name: str
    admin_email: str
    shopper_email: str
    payment_webhook_secret: str = ""


def _port(name: str, given: int | None) -> int:
    env, default = PORT_ENV[name]
    return given if given is not None else int(os.environ.get(env, default))


def sell_env() -> dict[str, str]:
    """The selling settings every process of the stack gets: the caller's, else the defaults."""
    from catalog_lambda import settings as s

    defaults = {s.ENV_ORDER_HOLD_SECONDS: s.DEFAULT_ORDER_HOLD_SECONDS,
                s.ENV_EXPIRY_SWEEP_SECONDS: s.DEFAULT_EXPIRY_SWEEP_SECONDS,
                s.ENV_MAX_PENDING_ORDERS: s.DEFAULT_MAX_PENDING_ORDERS,
                s.ENV_SHIPPING_FLAT_CENTS: s.DEFAULT_SHIPPING_FLAT_CENTS,
                s.ENV_FREE_SHIPPING_OVER_CENTS: s.DEFAULT_FREE_SHIPPING_OVER_CENTS,
                s.ENV_PAYMENT_PROVIDER: s.PAYMENT_PROVIDER_LOCAL}
    return {name: os.environ.get(name) or str(defaults[name]) for name in s.SELL_ENV_NAMES}


def sell_settings() -> dict[str, Any]:
    """The same, as :class:`Settings` fields (the bootstrap's seed runs under them too)."""
    from catalog_lambda.settings import Settings

    values = Settings.from_env(sell_env())
    return {name: getattr(values, name) for name in ("order_hold_seconds", "expiry_sweep_seconds",
                                                     "max_pending_orders", "shipping_flat_cents",
                                                     "free_shipping_over_cents", "payment_provider")}


def emulator_env(emulator_url: str) -> dict[str, str]:
    """Environment that points every AWS client at the emulator, with fake credentials."""
    return {
        names.ENV_ENDPOINT: emulator_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        names.ENV_DEFAULT_REGION: "us-east-1",
        names.ENV_REGION: "us-east-1",
    }


def stop_process(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """Terminate a child, give it ``grace`` seconds, then kill it; always reaps it."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Supervisor:
    """Starts children in their own process groups and stops them all, whatever happens."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def stop(self) -> None:
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for _name, proc in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                pass
        for _name, proc in self.children:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.children:
            if proc.poll() is not None:
                return name, proc.returncode
        return None


def ports_in_use(ports: dict[str, int]) -> list[str]:
    """One line for every port that something else already listens on."""
    taken = []
    for name, port in ports.items():
        with socket.socket() as sock:
            # As the servers do: a connection of a stopped stack in TIME_WAIT is no obstacle.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                env = PORT_ENV[name][0]
                taken.append(f"port {port} ({name}) is in use: stop what listens there "
                             f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another with {env}=...")
    return taken


def up(args: argparse.Namespace) -> int:
    from infra.local import bootstrap

    ports = {name: _port(name, getattr(args, f"{name}_port")) for name in PORT_ENV}
    taken = ports_in_use(ports)
    if taken:
        print("\n".join(taken), file=sys.stderr)
        return 2
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    python = sys.executable
    base_env = {**os.environ, **emulator_env(urls["emulator"]), "PYTHONPATH": str(PROJECT_DIR),
                "PYTHONUNBUFFERED": "1"}
    supervisor = Supervisor()

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state_file = Path(args.state_file)
    written: str | None = None
    try:
        emulator = supervisor.start("emulator", emulator_argv(ports["emulator"]), base_env)
        wait_http(f"{urls['emulator']}/moto-api/", 60, emulator)

        os.environ.update(emulator_env(urls["emulator"]))
        from catalog_lambda import settings as settings_module
        from catalog_lambda.settings import ENV_EMAIL_SENDER, ENV_IMAGES_BUCKET, Settings
        from infra.local.site_proxy import ENV_API_URL, ENV_SERVER_URL

        pool = bootstrap.create_user_pool(urls["emulator"], STAGE)
        secret_name = bootstrap.ensure_cursor_secret(urls["emulator"], STAGE)
        payment_secret, webhook_secret = bootstrap.ensure_payment_secret(urls["emulator"], STAGE)
        settings = Settings(stage=STAGE, region=bootstrap.REGION, endpoint_url=urls["emulator"],
                            cursor_secret_name=secret_name, images_bucket=bootstrap.IMAGES_BUCKET,
                            email_sender=bootstrap.EMAIL_SENDER, payment_webhook_secret=webhook_secret,
                            site_url=urls["site"], **sell_settings())
        bootstrap.create_tables(settings)
        bootstrap.ensure_images_bucket(settings, seed=not args.no_seed)
        bootstrap.verify_sender(settings)
        admin_pw = os.environ.get(bootstrap.ENV_ADMIN_PASSWORD, bootstrap.DEFAULT_ADMIN_PASSWORD)
        shopper_pw = os.environ.get(bootstrap.ENV_SHOPPER_PASSWORD, bootstrap.DEFAULT_SHOPPER_PASSWORD)
        bootstrap.ensure_user(urls["emulator"], pool, bootstrap.ADMIN_EMAIL, admin_pw, admin=True)
        bootstrap.ensure_user(urls["emulator"], pool, bootstrap.SHOPPER_EMAIL, shopper_pw, admin=False)
        seeded = 0 if args.no_seed else bootstrap.seed_catalog(settings)
        if not args.no_seed:
            bootstrap.seed_orders(settings, urls["emulator"], pool, bootstrap.SHOPPER_EMAIL)

        info = StackInfo(
            emulator_url=urls["emulator"], api_url=urls["api"], site_url=urls["site"],
            server_url=urls["server"], region=bootstrap.REGION, user_pool_id=pool.pool_id,
            client_id=pool.client_id, jwks_url=pool.jwks_url, issuer=pool.issuer,
            cursor_secret_name=secret_name, admin_email=bootstrap.ADMIN_EMAIL,
            shopper_email=bootstrap.SHOPPER_EMAIL, payment_webhook_secret=webhook_secret,
        )

        app_env = {
            **base_env,
            names.ENV_STAGE: STAGE,
            names.ENV_AUTH_MODE: names.AUTH_MODE_LOCAL,
            names.ENV_COGNITO_POOL_ID: pool.pool_id,
            names.ENV_COGNITO_CLIENT_ID: pool.client_id,
            names.ENV_COGNITO_JWKS_URL: pool.jwks_url,
            names.ENV_COGNITO_ISSUER: pool.issuer,
            names.ENV_CURSOR_SECRET_NAME: secret_name,
            ENV_IMAGES_BUCKET: bootstrap.IMAGES_BUCKET,
            ENV_EMAIL_SENDER: bootstrap.EMAIL_SENDER,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "Store",
            ENV_API_URL: urls["api"],
            ENV_SERVER_URL: urls["server"],
            **sell_env(),
            settings_module.ENV_PAYMENT_SECRET_NAME: payment_secret,
            settings_module.ENV_SITE_URL: urls["site"],
        }
        # The state file also carries the API's own settings (what app_env adds to the
        # inherited environment), so a `chalice local` at the root serves the same API
        # (infra.chalice_cli).
        api_environment = {k: v for k, v in app_env.items() if base_env.get(k) != v}
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state_file.write_text(json.dumps({**asdict(info), "api_environment": api_environment}, indent=2))
        written = state_file.read_text()
        server_env = {**app_env, **server_environment(STAGE, urls["site"], secret_name)}
        for name, argv, health in _services(python, ports, args):
            proc = supervisor.start(name, argv, server_env if name == "server" else app_env)
            wait_http(health, 120, proc)

        _print_banner(info, seeded, admin_pw, shopper_pw)
        while True:
            exited = supervisor.first_exited()
            if exited is not None:
                print(f"local stack: {exited[0]} exited with code {exited[1]}; stopping", file=sys.stderr)
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nlocal stack: stopping", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop()
        _remove_own_state(state_file, written)


def _remove_own_state(state_file: Path, written: str | None) -> None:
    """A stopped stack leaves no state file behind (unless another stack has rewritten it)."""
    try:
        if written is not None and state_file.read_text() == written:
            state_file.unlink()
    except OSError:
        pass


def _services(python: str, ports: dict[str, int], args: argparse.Namespace) -> list[tuple[str, list[str], str]]:
    """(name, argv, readiness URL) in start order; the API comes last."""
    services: list[tuple[str, list[str], str]] = []
    # The container service: the image's own command (site/server/Dockerfile's CMD), bound to
    # loopback; its settings come from the environment, as ECS gives them (server_environment).
    gunicorn, *options = image_command()
    services.append(("server", [python, "-m", gunicorn, *options[:-1], "--chdir", str(SERVER_DIR),
                                "--bind", f"127.0.0.1:{ports['server']}", "--graceful-timeout", "3", options[-1]],
                     f"http://127.0.0.1:{ports['server']}/healthz"))
    # The storefront origin: static files, /api/* -> API, /p/* + /sitemap.xml -> container,
    # /cognito/ -> the emulator's Cognito; /config.json generated from the env it is given.
    services.append(("site", [python, "-m", "infra.local.site_proxy", "--port", str(ports["site"])],
                     f"http://127.0.0.1:{ports['site']}/config.json"))
    services.append(("api", [python, "-m", "infra.local.api_server", "--port", str(ports["api"]),
                             "--stage", STAGE], f"http://127.0.0.1:{ports['api']}/health"))
    return services


def image_command(dockerfile: Path | None = None) -> list[str]:
    """The container image's command: the exec-form ``CMD`` of site/server/Dockerfile."""
    text = (dockerfile or SERVER_DIR / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [line.strip()[len("CMD"):] for line in text.splitlines() if line.strip().startswith("CMD [")]
    if not commands:
        raise RuntimeError("site/server/Dockerfile has no exec-form CMD")
    argv = json.loads(commands[-1])
    if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
        raise RuntimeError("site/server/Dockerfile's CMD is not a list of strings")
    return [str(a) for a in argv]


def server_environment(stage: str, site_url: str, secret_name: str) -> dict[str, str]:
    """The container service's settings, by the same names the ECS task definition sets."""
    from infra.stacks.container import ENV_PUBLIC_BASE_URL

    return {
        names.ENV_STAGE: stage,
        names.ENV_PRODUCTS_TABLE: names.default_table_name(stage, "products"),
        names.ENV_ORDERS_TABLE: names.default_table_name(stage, "orders"),
        names.ENV_IDEMPOTENCY_TABLE: names.default_table_name(stage, "idempotency"),
        names.ENV_CURSOR_SECRET_NAME: secret_name,
        ENV_PUBLIC_BASE_URL: site_url,
    }


def _print_banner(info: StackInfo, seeded: int, admin_pw: str, shopper_pw: str) -> None:
    print(
        "\n".join([
            "",
            "Local stack is up (Ctrl-C stops everything)",
            f"  API          {info.api_url}   (try {info.api_url}/health)",
            f"  storefront   {info.site_url}",
            f"  container    {info.server_url}",
            f"  AWS emulator {info.emulator_url}   (region {info.region})",
            f"  user pool    {info.user_pool_id}   app client {info.client_id}",
            f"  demo admin   {info.admin_email} / {admin_pw}",
            f"  demo shopper {info.shopper_email} / {shopper_pw}",
            f"  seeded       {seeded} new demo products",
            "  token        make token USER=admin   (or USER=shopper)",
            _selling_line(),
            "",
        ]),
        flush=True,
    )


def _selling_line() -> str:
    from catalog_lambda import settings as s

    env = sell_env()
    return (f"  payments     {env[s.ENV_PAYMENT_PROVIDER]} provider (Pay/Decline page on the storefront); unpaid "
            f"orders hold stock {env[s.ENV_ORDER_HOLD_SECONDS]} s, swept every {env[s.ENV_EXPIRY_SWEEP_SECONDS]} s, "
            f"at most {env[s.ENV_MAX_PENDING_ORDERS]} per shopper")


TOKEN_USERS = ("admin", "shopper")
TOKEN_USAGE = "usage: make token USER=admin|shopper (no USER: the shopper's token)"
STACK_DOWN = "the local stack is not running: start it with `make dev`"


def read_state(state_file: Path) -> dict[str, Any] | None:
    """The running stack's state file, or None when there is no stack to talk to.

    A state file left behind by a stack that was killed (or another machine's copy) is
    not a stack: the emulator it names must answer too.
    """
    try:
        info = json.loads(state_file.read_text())
        emulator = str(info["emulator_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        with urllib.request.urlopen(f"{emulator}/moto-api/", timeout=2):
            pass
    except (OSError, ValueError):
        return None
    return dict(info)


def token(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.local import bootstrap

    user = args.user or "shopper"
    if user not in TOKEN_USERS:
        print(f"unknown user {user!r}; {TOKEN_USAGE}", file=sys.stderr)
        return 2
    info = read_state(Path(args.state_file))
    if info is None:
        print(STACK_DOWN, file=sys.stderr)
        return 2
    if not args.user:
        print(TOKEN_USAGE, file=sys.stderr)
    users = {
        "admin": (info["admin_email"], os.environ.get(bootstrap.ENV_ADMIN_PASSWORD, bootstrap.DEFAULT_ADMIN_PASSWORD)),
        "shopper": (info["shopper_email"],
                    os.environ.get(bootstrap.ENV_SHOPPER_PASSWORD, bootstrap.DEFAULT_SHOPPER_PASSWORD)),
    }
    email, password = users[user]
    try:
        result = bootstrap.sign_in(info["emulator_url"], info["client_id"], email, password)
    except ClientError as error:
        # A stack restarted since the state file was written has a new pool and client.
        print(f"{STACK_DOWN} ({error.response.get('Error', {}).get('Code', 'error')} from the emulator)",
              file=sys.stderr)
        return 2
    except BotoCoreError:
        print(STACK_DOWN, file=sys.stderr)
        return 2
    print(result["IdToken"])
    return 0


def import_file(args: argparse.Namespace) -> int:
    """``make import FILE=...``: the bulk import, aimed at the running local stack."""
    if not args.file:
        print("usage: make import FILE=path/to/products.csv (or .jsonl); see docs/local.md", file=sys.stderr)
        return 2
    info = read_state(Path(args.state_file))
    if info is None:
        print(STACK_DOWN, file=sys.stderr)
        return 2
    os.environ.update(emulator_env(info["emulator_url"]))
    os.environ[names.ENV_STAGE] = STAGE
    from catalog_lambda.__main__ import main as catalog_main

    return catalog_main(["import", args.file, *(["--report", args.report] if args.report else [])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description="the local stack")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the whole local stack")
    for name in PORT_ENV:
        p_up.add_argument(f"--{name}-port", type=int, default=None)
    p_up.add_argument("--no-seed", action="store_true", help="skip the demo catalog")
    state_file = os.environ.get(ENV_STATE_FILE) or str(DEFAULT_STATE_FILE)
    p_up.add_argument("--state-file", default=state_file)
    p_token = sub.add_parser("token", help="print a demo user's ID token")
    p_token.add_argument("user", nargs="?", default="", help="admin or shopper (default: shopper)")
    p_token.add_argument("--state-file", default=state_file)
    p_import = sub.add_parser("import", help="bulk-import a CSV or JSON Lines file into the running stack")
    p_import.add_argument("file", nargs="?", default="")
    p_import.add_argument("--report", help="where to write the JSON report (default: FILE.report.json)")
    p_import.add_argument("--state-file", default=state_file)
    args = parser.parse_args(argv)
    commands = {"up": up, "token": token, "import": import_file}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures for the infrastructure tests: synthesized templates, one checkov run, the emulator.

Nothing here reaches AWS: templates are built in memory, the linters run offline and
the emulator (moto's server, the same one ``make dev`` uses) listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import lint
from infra.config import STAGES, StageConfig, stage_config
from infra.synth import synth
from tests.conftest import free_port

# A stage with a custom domain takes the other branch of every domain condition
# (certificates, DNS records, HTTPS to the origin, the SES domain identity and its DKIM
# records), so it is linted and scanned too; with private tasks behind interface
# endpoints, and a second variant behind a NAT gateway, every network mode is covered.
DOMAIN_VARIANT = StageConfig(stage="dev", domain_name="shop.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ",
                             container_path=True, task_egress="endpoints")
NAT_VARIANT = StageConfig(stage="dev", container_path=True, task_egress="nat", email_sender="shop@example.com")


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every stage's templates, as ``python -m infra synth`` writes them: ROOT/<stage>/<stack>.json,
    plus ROOT/dev-with-domain/ and ROOT/dev-with-nat/."""
    root = tmp_path_factory.mktemp("synth")
    for stage in sorted(STAGES):
        synth(stage_config(stage), root / stage)
    synth(DOMAIN_VARIANT, root / "dev-with-domain")
    synth(NAT_VARIANT, root / "dev-with-nat")
    return root


@pytest.fixture(scope="session")
def templates(synth_root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(stage, stack) -> parsed template."""
    return {
        (path.parent.name, path.stem): json.loads(path.read_text())
        for path in sorted(synth_root.glob("*/*.json"))
    }


@pytest.fixture(scope="session")
def checkov_report(synth_root: Path) -> lint.CheckovReport:
    """checkov is slow to start: one run over every stage's templates per session."""
    return lint.checkov(synth_root)


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    """An emulator per test module, on a free loopback port, stopped at the end.

    moto keeps its state in process-wide backends, so each module starts by resetting
    them: one module's stacks never meet another's.
    """
    from infra.local.emulator import make_emulator

    server = make_emulator(free_port())
    thread = threading.Thread(target=server.serve_forever, name="infra-emulator", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=30):
            pass
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

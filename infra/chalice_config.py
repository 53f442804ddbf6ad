"""The stage's function role in ``.chalice/config.json``: read, check against the account, write.

Chalice runs every function as the role the ci stack created (``manage_iam_role:
false``, ``iam_role_arn`` per stage), so it never writes IAM. The ARN names the account,
so it is committed once per account as a bootstrap step (README):
``python -m infra function-role --stage prod --write``, which reads the ci stack's output
``FunctionRoleArn``. Until then the committed value names the placeholder account
``000000000000`` and ``chalice deploy`` refuses with that instruction
(:func:`check_role_account`, called by :mod:`infra.chalice_cli`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.aws import ClientFactory, InfraError, boto3_client, read_outputs, resolve_target
from infra.delivery.names import FUNCTION_ROLE_ARN

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"
PLACEHOLDER_ACCOUNT = "000000000000"

__all__ = ["FUNCTION_ROLE_ARN", "check_role_account", "committed_role_arn", "function_role_arn",
           "write_function_role"]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def committed_role_arn(stage: str, path: Path = CHALICE_CONFIG) -> str:
    return str(_load(path)["stages"][stage].get("iam_role_arn", ""))


def role_account(arn: str) -> str:
    """``arn:aws:iam::<account>:role/<name>`` -> account."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def check_role_account(stage: str, account_id: str, path: Path = CHALICE_CONFIG) -> str:
    """The committed role ARN, if it names ``account_id``; else an error that says what to run."""
    arn = committed_role_arn(stage, path)
    if role_account(arn) != account_id:
        raise InfraError(
            f"the {stage} stage's iam_role_arn in .chalice/config.json ({arn or 'none'}) is not in account "
            f"{account_id}: once the ci stack exists, run `python -m infra function-role --stage {stage} --write` "
            f"and commit .chalice/config.json (README: bootstrap)")
    return arn


def function_role_arn(stage: str, clients: ClientFactory = boto3_client) -> str:
    """The ci stack's ``FunctionRoleArn`` output."""
    target = resolve_target(stage, clients=clients)
    return read_outputs(target, FUNCTION_ROLE_ARN)[FUNCTION_ROLE_ARN]


def write_function_role(stage: str, arn: str, path: Path = CHALICE_CONFIG) -> Path:
    config = _load(path)
    config["stages"][stage]["iam_role_arn"] = arn
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path

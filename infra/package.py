"""Build the Lambda deployment package (``make package STAGE=... OUT=DIR``): ``chalice package`` at the root.

It runs exactly what a user types, ``chalice package --stage STAGE <dir>``, in the
repository root, so ``make package``, a bare ``chalice package`` and ``chalice deploy``
build the same zip. What makes that zip lean (no boto3/botocore, ``api/`` and
``catalog_lambda/`` inside) and where the authorizer's user pool comes from is
:mod:`infra.chalice_cli`'s, which the CLI runs while it loads ``app.py``.

Here: the zip and ``sam.json`` are copied to ``OUT/``, and the zip is held to its budget
(:data:`MAX_PACKAGE_BYTES`, or :data:`MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK` once it carries
the payment provider's SDK).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from catalog_lambda.settings import ENV_AUTHORIZER_POOL_ARNS

PROJECT_DIR = Path(__file__).resolve().parents[1]
MAX_PACKAGE_BYTES = 5 * 1024 * 1024
# The contract's budget for a package that carries the payment SDK (every deployed stage
# takes payments through Stripe): 8 MB.
PAYMENT_SDK = "stripe"
MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK = 8 * 1024 * 1024


def chalice_executable() -> str:
    candidate = Path(sys.executable).with_name("chalice")
    return str(candidate) if candidate.exists() else "chalice"


def package_budget(names: list[str]) -> int:
    """The size budget of a zip holding ``names``."""
    with_sdk = any(n.startswith(f"{PAYMENT_SDK}/") for n in names)
    return MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK if with_sdk else MAX_PACKAGE_BYTES


def package(stage: str, out: Path, authorizer_pool_arns: str | None = None, project_dir: Path = PROJECT_DIR) -> Path:
    """``chalice package --stage STAGE`` in ``project_dir``; returns ``out/deployment.zip``."""
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if authorizer_pool_arns:
        env[ENV_AUTHORIZER_POOL_ARNS] = authorizer_pool_arns
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        result_dir = Path(tmp) / "out"
        process = subprocess.run([chalice_executable(), "package", "--stage", stage, str(result_dir)],
                                 cwd=project_dir, env=env)
        if process.returncode != 0:
            raise SystemExit(process.returncode)
        for item in result_dir.iterdir():
            shutil.copy2(item, out / item.name)
    zip_path = out / "deployment.zip"
    size = zip_path.stat().st_size
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    print(f"{zip_path}: {size / 1024 / 1024:.2f} MB, {len(names)} files")
    budget = package_budget(names)
    if size > budget:
        raise SystemExit(f"the package is {size} bytes, over the {budget} byte budget")
    return zip_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default="dist")
    parser.add_argument("--authorizer-pool-arns", default=os.environ.get(ENV_AUTHORIZER_POOL_ARNS),
                        help="Cognito user pool ARN(s) for API Gateway's authorizer (comma separated)")
    args = parser.parse_args(argv)
    package(args.stage, Path(args.out).resolve(), args.authorizer_pool_arns)


if __name__ == "__main__":
    main()

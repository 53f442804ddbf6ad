"""Build the Lambda deployment package (``make package STAGE=... OUT=DIR``).

Chalice packages only ``app.py``, ``chalicelib/``, ``vendor/`` and what
``requirements.txt`` resolves to, and resolves it *with* dependencies, so pynamodb and
aws-xray-sdk would drag in a 15 MB botocore that the Lambda runtime already has. So
the build happens in a staging directory:

* ``vendor/`` gets copies of ``api/`` and ``catalog_lambda/`` (they land at the zip's
  root) and the packages of ``requirements.txt`` installed ``--no-deps`` for the
  Lambda platform (manylinux x86_64, CPython 3.11) — botocore never enters;
* the staging ``requirements.txt`` is empty, so Chalice adds nothing on its own;
* ``chalice package`` (or ``chalice deploy``, see :func:`stage_project`) runs there.

The vendored wheels are cached under ``build/wheels-<hash of requirements.txt>``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from catalog_lambda.settings import ENV_AUTHORIZER_POOL_ARNS

PROJECT_DIR = Path(__file__).resolve().parents[1]
BUILD_DIR = PROJECT_DIR / "build"
APP_PACKAGES = ("api", "catalog_lambda")
LAMBDA_PYTHON = "3.11"
LAMBDA_PLATFORM = "manylinux2014_x86_64"
MAX_PACKAGE_BYTES = 5 * 1024 * 1024
# The contract's budget for a package that carries the payment SDK (every deployed stage
# takes payments through Stripe): 8 MB.
PAYMENT_SDK = "stripe"
MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK = 8 * 1024 * 1024


def package_budget(names: list[str]) -> int:
    """The size budget of a zip holding ``names``."""
    with_sdk = any(n.startswith(f"{PAYMENT_SDK}/") for n in names)
    return MAX_PACKAGE_BYTES_WITH_PAYMENT_SDK if with_sdk else MAX_PACKAGE_BYTES
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")


def chalice_executable() -> str:
    candidate = Path(sys.executable).with_name("chalice")
    return str(candidate) if candidate.exists() else "chalice"


def vendored_dependencies(requirements: Path = PROJECT_DIR / "requirements.txt") -> Path:
    """Install requirements.txt --no-deps for the Lambda platform, cached by content."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    target = BUILD_DIR / f"wheels-{digest}"
    if (target / ".complete").exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--no-compile", "--target", str(target), "--platform", LAMBDA_PLATFORM, "--implementation", "cp",
         "--python-version", LAMBDA_PYTHON, "--only-binary=:all:", "-r", str(requirements)],
        check=True,
    )
    for junk in target.glob("bin"):
        shutil.rmtree(junk)
    (target / ".complete").write_text(digest)
    return target


def stage_project(stage_dir: Path) -> Path:
    """Lay out a Chalice project in ``stage_dir`` whose package is lean (see module doc)."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    stage_dir.mkdir(parents=True)
    shutil.copy2(PROJECT_DIR / "app.py", stage_dir / "app.py")
    chalice_dir = stage_dir / ".chalice"
    chalice_dir.mkdir()
    for item in (PROJECT_DIR / ".chalice").iterdir():
        if item.is_file():
            shutil.copy2(item, chalice_dir / item.name)
    (stage_dir / "requirements.txt").write_text(
        "# Empty on purpose: dependencies are vendored --no-deps by infra/package.py.\n"
    )
    vendor = stage_dir / "vendor"
    shutil.copytree(vendored_dependencies(), vendor, ignore=shutil.ignore_patterns(".complete"))
    for package in APP_PACKAGES:
        shutil.copytree(PROJECT_DIR / package, vendor / package, ignore=_IGNORE)
    return stage_dir


def package(stage: str, out: Path, authorizer_pool_arns: str | None = None) -> Path:
    """Run ``chalice package`` on a staged project; returns ``out/deployment.zip``."""
    out.mkdir(parents=True, exist_ok=True)
    stage_dir = stage_project(BUILD_DIR / f"chalice-{stage}")
    env = dict(os.environ)
    # chalice package makes no AWS call but needs a region to render ARNs.
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    if authorizer_pool_arns:
        env[ENV_AUTHORIZER_POOL_ARNS] = authorizer_pool_arns
    with tempfile.TemporaryDirectory(prefix="chalice-package-") as tmp:
        result_dir = Path(tmp) / "out"
        subprocess.run([chalice_executable(), "package", "--stage", stage, str(result_dir)],
                       cwd=stage_dir, env=env, check=True)
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

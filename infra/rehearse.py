"""``make rehearse``: the documented bootstrap of a stage, run against a fresh emulator.

Runs the commands of docs/deploy.md ("Bootstrap a stage once"), in its order and as
written there (for the stage asked, ``dev`` by default), against a fresh emulator on
127.0.0.1, then a code deploy and a site deploy as a push to main would run them. Each
step's outcome is printed as it ends; a failed step prints the end of its output and
stops the rehearsal (the later steps need it). Then every stand-in is named: each
resource that the emulator could not create and :mod:`infra.local.emulator_gaps` made
instead, each emulator behaviour that had to be fixed for the deploy to run, and the
one step done differently (the container image is put into ECR by its manifest: the
emulator has no registry to push an image to).

Exit status 0 only when every step succeeded. No real AWS is reached: every command
gets the emulator's ``AWS_ENDPOINT_URL`` and fake credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1]
OUT_DIR = PROJECT_DIR / "build" / "rehearsal"
DOCUMENTED_STAGE = "prod"  # the stage docs/deploy.md writes its commands for
VENV_PYTHON = ".venv/bin/python"
EMULATOR_START_SECONDS = 60.0
STEP_TIMEOUT_SECONDS = 900.0
TAIL_LINES = 25
ACCOUNT = "123456789012"  # the emulator's account
REHEARSAL_REPOSITORY = "example-owner/serverless-store"
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"


@dataclass
class Step:
    """One documented step: its command as docs/deploy.md writes it, with ``{stage}`` for the stage."""

    number: str
    title: str
    command: str  # as documented, with {stage}; "" for a check without a command
    run_as: str = ""  # what the rehearsal runs instead, when the emulator needs it (named as a stand-in)
    stand_in: str = ""  # why run_as differs
    before: Callable[[Rehearsal], None] | None = None
    check: Callable[[Rehearsal], str] | None = None  # raises StepFailed, or returns a note
    container_path: bool = False  # only for stages with the container path (infra/config.py)


@dataclass
class Outcome:
    step: Step
    ok: bool
    seconds: float
    note: str = ""
    log: Path | None = None
    applies: bool = True  # False: the step is not part of this stage's bootstrap


class StepFailed(Exception):
    """A step's check did not hold."""


def documented(command: str, stage: str = DOCUMENTED_STAGE) -> str:
    """The command as docs/deploy.md writes it (there for stage prod)."""
    return command.format(stage=stage, head="$(git rev-parse HEAD)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Rehearsal:
    stage: str
    emulator_url: str
    record: Path
    out_dir: Path
    python: str = sys.executable
    outcomes: list[Outcome] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        from infra.config import stage_config

        region = stage_config(self.stage).region
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "USER_POOL_ID"}
        env.update({"AWS_ENDPOINT_URL": self.emulator_url, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
                    "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1"})
        return env

    def client(self, service: str, region: str | None = None) -> Any:
        import boto3

        env = self.env()
        return boto3.client(service, endpoint_url=self.emulator_url,
                            region_name=region or env["AWS_REGION"], aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    def argv(self, command: str) -> list[str]:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                              check=True).stdout.strip()
        argv = [self.only_the_stages_stacks(arg) for arg in shlex.split(command.format(stage=self.stage, head=head))]
        if argv[0] == VENV_PYTHON:
            argv[0] = self.python
        if argv[0] == "make":
            # `make rehearse` has installed what the commands need: they must not install again.
            argv[1:1] = ["--no-print-directory", f"PY={self.python}", "STAMP="]
        return argv

    def only_the_stages_stacks(self, arg: str) -> str:
        """``STACK="..."`` without the stacks the stage does not have (no container path: no network)."""
        if not arg.startswith("STACK="):
            return arg
        from infra.config import stage_config
        from infra.stacks import stacks_for

        have = {spec.name for spec in stacks_for(stage_config(self.stage))}
        return "STACK=" + " ".join(name for name in arg.removeprefix("STACK=").split() if name in have)

    def applies(self, step: Step) -> bool:
        from infra.config import stage_config

        return stage_config(self.stage).container_path or not step.container_path

    def run(self, step: Step) -> Outcome:
        if not self.applies(step):
            outcome = Outcome(step, True, 0.0, f"not part of stage {self.stage}'s bootstrap: it has no container "
                                               f"path (infra/config.py)", applies=False)
            self.outcomes.append(outcome)
            return outcome
        started = time.monotonic()
        log = self.out_dir / f"step-{step.number.replace('.', '-')}.log"
        try:
            if step.before is not None:
                step.before(self)
            note = ""
            command = step.run_as or step.command
            if command:
                with log.open("w", encoding="utf-8") as sink:
                    result = subprocess.run(self.argv(command), cwd=PROJECT_DIR, env=self.env(), stdout=sink,
                                            stderr=subprocess.STDOUT, text=True, timeout=STEP_TIMEOUT_SECONDS)
                if result.returncode != 0:
                    raise StepFailed(f"exit code {result.returncode}")
            if step.check is not None:
                note = step.check(self)
            outcome = Outcome(step, True, time.monotonic() - started, note, log if command else None)
        except (StepFailed, subprocess.TimeoutExpired, OSError) as error:
            outcome = Outcome(step, False, time.monotonic() - started, str(error), log if log.exists() else None)
        except Exception as error:  # a check's AWS call failed: the step failed, say how
            outcome = Outcome(step, False, time.monotonic() - started, f"{type(error).__name__}: {error}",
                              log if log.exists() else None)
        self.outcomes.append(outcome)
        return outcome


# --- stand-ins and checks of the steps ---------------------------------------------------------

def put_image_manifest(rehearsal: Rehearsal) -> None:
    """The image the deploy-server step deploys, put into ECR by its manifest (no registry to push to)."""
    from infra.delivery import names

    uri = _outputs(rehearsal, names.REPOSITORY_URI.stack).get(names.REPOSITORY_URI.key)
    if not uri:
        raise StepFailed(f"the container stack has no output {names.REPOSITORY_URI.key}")
    repository = uri.rsplit("/", 1)[-1]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True,
                          check=True).stdout.strip()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0,
                           "digest": "sha256:" + "0" * 64}, "layers": []}
    ecr = rehearsal.client("ecr")
    existing = ecr.list_images(repositoryName=repository)["imageIds"]
    if not any(image.get("imageTag") == head for image in existing):
        ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=head)


def _outputs(rehearsal: Rehearsal, stack: str, region: str | None = None) -> dict[str, str]:
    cfn = rehearsal.client("cloudformation", region)
    stacks = cfn.describe_stacks(StackName=f"store-{rehearsal.stage}-{stack}")["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def check_ci_stack(rehearsal: Rehearsal) -> str:
    from infra.config import stage_config

    note = check_stacks("ci")(rehearsal)
    cfg = stage_config(rehearsal.stage)
    oidc = "this stage's ci stack creates GitHub's OIDC provider" if cfg.create_oidc_provider else \
        "this stage expects GitHub's OIDC provider to exist (CreateOidcProvider=true creates it)"
    return f"{note}; {oidc}"


def check_function_role(rehearsal: Rehearsal) -> str:
    from infra.chalice_config import committed_role_arn

    arn = committed_role_arn(rehearsal.stage)
    if f"::{ACCOUNT}:" not in arn:
        raise StepFailed(f".chalice/config.json names {arn}, not the role of account {ACCOUNT}")
    return f"iam_role_arn = {arn} (put back as committed when the rehearsal ends)"


def check_exports(*names: str) -> Callable[[Rehearsal], str]:
    def check(rehearsal: Rehearsal) -> str:
        exports = {e["Name"]: e["Value"] for e in rehearsal.client("cloudformation").list_exports()["Exports"]}
        wanted = [name.format(stage=rehearsal.stage) for name in names]
        missing = [name for name in wanted if name not in exports]
        if missing:
            raise StepFailed(f"no export {', '.join(missing)}")
        return "; ".join(f"{name} = {exports[name]}" for name in wanted)
    return check


def check_stacks(*stacks: str) -> Callable[[Rehearsal], str]:
    def check(rehearsal: Rehearsal) -> str:
        from infra.config import stage_config
        from infra.stacks import stack_spec, stacks_for

        cfg = stage_config(rehearsal.stage)
        statuses = []
        have = {spec.name for spec in stacks_for(cfg)}
        for stack in (name for name in stacks if name in have):
            region = stack_spec(stack).region(cfg)
            status = rehearsal.client("cloudformation", region).describe_stacks(
                StackName=f"store-{rehearsal.stage}-{stack}")["Stacks"][0]["StackStatus"]
            if not status.endswith("_COMPLETE") or "ROLLBACK" in status:
                raise StepFailed(f"store-{rehearsal.stage}-{stack} is {status}")
            statuses.append(f"{stack} {status}")
        return ", ".join(statuses)
    return check


def check_one_api(rehearsal: Rehearsal) -> str:
    """A redeploy updates the function and API the first deploy made: it never adds another."""
    apis = rehearsal.client("apigateway").get_rest_apis()["items"]
    functions = [f["FunctionName"] for f in rehearsal.client("lambda").list_functions()["Functions"]]
    if len(apis) != 1:
        raise StepFailed(f"{len(apis)} REST APIs in the emulator, expected 1: {[a['id'] for a in apis]}")
    return f"REST API {apis[0]['id']}; functions {', '.join(sorted(functions))}"


def check_site(rehearsal: Rehearsal) -> str:
    from infra.config import site_bucket_name, stage_config

    region = stage_config(rehearsal.stage).region
    bucket = site_bucket_name(rehearsal.stage, ACCOUNT, region)
    keys = {o["Key"] for o in rehearsal.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])}
    for key in ("index.html", "config.json"):
        if key not in keys:
            raise StepFailed(f"s3://{bucket}/{key} is missing")
    return f"{len(keys)} objects in s3://{bucket}"


def steps() -> list[Step]:
    image_stand_in = ("container image build and push: the emulator has no image registry, so the image's "
                      "manifest is put into ECR through its API and the step runs with BUILD=0")
    return [
        Step("1", "the ci stack: who may deploy, the deploy roles, the permissions boundary, the function role",
             f"{VENV_PYTHON} -m infra deploy --stage {{stage}} --stack ci --parameter GitHubRepository=OWNER/NAME",
             run_as=f"{VENV_PYTHON} -m infra deploy --stage {{stage}} --stack ci "
                    f"--parameter GitHubRepository={REHEARSAL_REPOSITORY}",
             stand_in=f"the repository: {REHEARSAL_REPOSITORY} stands for yours", check=check_ci_stack),
        Step("1.1", "the function role into .chalice/config.json (then commit it)",
             f"{VENV_PYTHON} -m infra function-role --stage {{stage}} --write", check=check_function_role),
        Step("2", "the stacks the app needs",
             'make deploy-infra STAGE={stage} STACK="secrets network data auth"',
             check=check_stacks("secrets", "network", "data", "auth")),
        Step("3", "the container stack, with no tasks until its image exists (Bootstrap computed)",
             "make deploy-infra STAGE={stage} STACK=container", check=check_stacks("container"), container_path=True),
        Step("4", "the API's first deploy", "make deploy STAGE={stage}", check=check_one_api),
        Step("5", "the edge and the alarms",
             'make deploy-infra STAGE={stage} STACK="edge-global edge observability" '
             "PARAMETER=AlarmEmail=oncall@example.com",
             check=check_stacks("edge-global", "edge", "observability")),
        Step("6", "the first image, and the service rolled to it", "make deploy-server STAGE={stage}",
             run_as="make deploy-server STAGE={stage} BUILD=0", stand_in=image_stand_in, before=put_image_manifest,
             container_path=True),
        Step("7", "the container stack again: the image is pushed, so it serves (PublicBaseUrl from edge)",
             "make deploy-infra STAGE={stage} STACK=container", check=check_stacks("container"), container_path=True),
        Step("8", "the storefront", "make deploy-site STAGE={stage}", check=check_site),
        Step("9", "the role ARNs for GitHub's repository variables", "",
             check=check_exports("store-{stage}-ci-code-role-arn", "store-{stage}-ci-infra-role-arn")),
        Step("push.1", "a code deploy, as a push to main runs it", "make deploy STAGE={stage}", check=check_one_api),
        Step("push.2", "a site deploy, as a push to main runs it", "make deploy-site STAGE={stage}",
             check=check_site),
    ]


# --- the run -------------------------------------------------------------------------------------

def start_emulator(port: int, record: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local.emulator_gaps", "--port", str(port),
                                 "--record", str(record)], cwd=PROJECT_DIR, stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)}, start_new_session=True)
    deadline = time.monotonic() + EMULATOR_START_SECONDS
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the emulator exited with code {proc.returncode}; see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2).close()
            return proc
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"the emulator did not answer within {EMULATOR_START_SECONDS:.0f}s") from None
            time.sleep(0.2)


def stand_ins(record: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """(resource type -> how and where, emulator fixes used) from the emulator's record."""
    types: dict[str, dict[str, Any]] = {}
    fixes: list[str] = []
    lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
    for event in (json.loads(line) for line in lines):
        if event["kind"] == "stand-in":
            entry = types.setdefault(event["type"], {"how": event["how"], "where": []})
            entry["where"].append(f"{event['stack']}/{event['logical_id']}")
        elif event["fix"] not in fixes:
            fixes.append(event["fix"])
    return types, fixes


def report(rehearsal: Rehearsal, all_steps: list[Step], out: Callable[[str], None]) -> None:
    types, fixes = stand_ins(rehearsal.record)
    out("")
    out("Stood in for, because the emulator lacks it:")
    for resource_type, entry in sorted(types.items()):
        where = ", ".join(sorted(set(entry["where"])))
        out(f"  {resource_type}: {entry['how']} ({where})")
    for step in all_steps:
        if step.stand_in and any(o.step is step and o.applies for o in rehearsal.outcomes):
            out(f"  step {step.number}: {step.stand_in}")
    if fixes:
        out("Emulator behaviour fixed for the rehearsal (moto differs from AWS; infra/local/emulator_gaps.py):")
        for fix in fixes:
            out(f"  {fix}")
    ran = len(rehearsal.outcomes)
    failed = [o for o in rehearsal.outcomes if not o.ok]
    out("")
    if failed or ran < len(all_steps):
        out(f"rehearsal FAILED: {ran - len(failed)} of {len(all_steps)} steps succeeded "
            f"({len(all_steps) - ran} not run); logs in {rehearsal.out_dir}")
    else:
        skipped = sum(1 for o in rehearsal.outcomes if not o.applies)
        also = f" ({skipped} not part of stage {rehearsal.stage}'s bootstrap)" if skipped else ""
        out(f"rehearsal passed: all {len(all_steps) - skipped} steps succeeded{also}; logs in {rehearsal.out_dir}")


def print_outcome(outcome: Outcome, stage: str, out: Callable[[str], None]) -> None:
    step = outcome.step
    mark = "n/a" if not outcome.applies else "ok" if outcome.ok else "FAILED"
    command = documented(step.command, stage) if step.command else "(a check, no command)"
    out(f"[{mark}] step {step.number}: {step.title} ({outcome.seconds:.0f} s)")
    out(f"         {command}")
    if step.run_as and outcome.applies:
        out(f"         ran as: {documented(step.run_as, stage)}  (a stand-in, see below)")
    if outcome.note:
        out(f"         {outcome.note}")
    if not outcome.ok and outcome.log is not None:
        lines = outcome.log.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in lines[-TAIL_LINES:]:
            out(f"       | {line}")
        out(f"         whole output: {outcome.log}")


def rehearse(stage: str, out_dir: Path = OUT_DIR, out: Callable[[str], None] = print) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    record = out_dir / "emulator-record.jsonl"
    record.unlink(missing_ok=True)
    port = free_port()
    out(f"rehearsal of docs/deploy.md's bootstrap (written there for stage {DOCUMENTED_STAGE}) for stage "
        f"{stage} against a fresh emulator on http://127.0.0.1:{port}")
    emulator = start_emulator(port, record, out_dir / "emulator.log")
    rehearsal = Rehearsal(stage, f"http://127.0.0.1:{port}", record, out_dir)
    all_steps = steps()
    # Step 1.1 writes the emulator's role ARN into .chalice/config.json, as the bootstrap
    # does for a real account; the checkout gets its committed file back afterwards.
    committed_config = CHALICE_CONFIG.read_bytes()
    try:
        for step in all_steps:
            outcome = rehearsal.run(step)
            print_outcome(outcome, stage, out)
            if not outcome.ok:
                break
    finally:
        CHALICE_CONFIG.write_bytes(committed_config)
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()
            emulator.wait()
    report(rehearsal, all_steps, out)
    return 0 if len(rehearsal.outcomes) == len(all_steps) and all(o.ok for o in rehearsal.outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    from infra.config import STAGES

    parser = argparse.ArgumentParser(prog="python -m infra.rehearse", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default=DOCUMENTED_STAGE, choices=sorted(STAGES),
                        help=f"default: {DOCUMENTED_STAGE}, the stage docs/deploy.md writes its commands for")
    parser.add_argument("--out", default=str(OUT_DIR), help="where the logs go (default: build/rehearsal)")
    args = parser.parse_args(argv)
    return rehearse(args.stage, Path(args.out))


if __name__ == "__main__":
    sys.exit(main())

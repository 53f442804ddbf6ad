"""``python -m infra``: synth, lint, deploy and diff the generated stacks.

    python -m infra synth --stage dev --out build/infra/dev    # JSON templates, no AWS needed
    python -m infra lint [--dir DIR]                          # cfn-lint + checkov (default: every stage)
    python -m infra deploy --stage dev [--stack NAME] [--parameter K=V]
    python -m infra diff --stage dev [--stack NAME]           # show the change sets, execute nothing
    python -m infra policies --stage dev                      # print the functions' IAM policy
    python -m infra function-role --stage dev [--write]       # the role ARN for .chalice/config.json
    python -m infra cost --stage dev                          # idle monthly bill; total on the last line

The command line only: ``synth`` writes templates (:mod:`infra.synth`), ``deploy`` and
``diff`` call CloudFormation through :mod:`infra.deploy`, ``function-role`` reads the ci
stack's output (and with ``--write`` sets the stage's ``iam_role_arn`` in
``.chalice/config.json``). The template builders (:mod:`infra.stacks`) stay pure.
Code deploys are :mod:`infra.delivery`'s (``make deploy``, ``deploy-site``, ``deploy-server``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from infra.config import STAGES, ConfigError, stage_config
from infra.stacks import STACK_NAMES

if TYPE_CHECKING:
    from infra.deploy import Deployer

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parameters(values: list[str]) -> dict[str, str]:
    parameters = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ConfigError(f"--parameter wants KEY=VALUE, got {value!r}")
        parameters[key] = val
    return parameters


def cmd_synth(args: argparse.Namespace) -> int:
    from infra.synth import synth

    started = time.perf_counter()
    paths = synth(stage_config(args.stage), Path(args.out))
    for path in paths:
        print(path)
    print(f"{len(paths)} templates in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    from infra import lint

    try:
        return _lint(args)
    except lint.LintError as error:
        print(f"lint failed: {error}", file=sys.stderr)
        return EXIT_USAGE


def _lint(args: argparse.Namespace) -> int:
    from infra import lint
    from infra.synth import synth

    with tempfile.TemporaryDirectory(prefix="store-infra-") as scratch:
        if args.dir:
            directory = Path(args.dir)
            paths = sorted(directory.glob("*.json"))
            regions = sorted({cfg.region for cfg in STAGES.values()} | {"us-east-1"})
        else:
            directory = Path(scratch)
            paths = []
            for stage, cfg in sorted(STAGES.items()):
                paths += synth(cfg, directory / stage)
            regions = sorted({cfg.region for cfg in STAGES.values()} | {"us-east-1"})
        if not paths:
            print(f"no templates (*.json) in {directory}", file=sys.stderr)
            return EXIT_USAGE
        findings = lint.cfn_lint(paths, regions)
        for finding in findings:
            print(finding)
        errors = [f for f in findings if f.severity == "error"]
        print(f"cfn-lint: {len(paths)} templates, {len(errors)} errors, {len(findings) - len(errors)} other findings")
        report = lint.checkov(directory)
        for finding in report.failed:
            print(finding)
        for finding in report.skipped:
            print(finding)
        print(f"checkov: {report.passed} passed, {len(report.failed)} failed, {len(report.skipped)} skipped "
              f"in templates, {report.parsing_errors} parsing errors (account-wide skips: .checkov.yaml)")
    return EXIT_FAILED if errors or report.failed or report.parsing_errors else EXIT_OK


def _deployer(args: argparse.Namespace) -> Deployer:
    from infra.deploy import Deployer

    return Deployer(stage_config(args.stage), role_arn=args.role_arn)


def cmd_deploy(args: argparse.Namespace) -> int:
    from infra.aws import InfraError

    try:
        _deployer(args).deploy(args.stack or None, _parameters(args.parameter))
    except InfraError as error:
        print(f"deploy failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from infra.aws import InfraError

    try:
        _deployer(args).diff(args.stack or None, _parameters(args.parameter))
    except InfraError as error:
        print(f"diff failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_policies(args: argparse.Namespace) -> int:
    from infra import policies

    print(policies.render(args.stage), end="")
    return EXIT_OK


def cmd_function_role(args: argparse.Namespace) -> int:
    from infra.aws import InfraError
    from infra.chalice_config import function_role_arn, write_function_role

    try:
        arn = function_role_arn(args.stage)
    except InfraError as error:
        print(f"function-role failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.write:
        path = write_function_role(args.stage, arn)
        print(f"{path}: stage {args.stage} iam_role_arn = {arn} (commit it)", file=sys.stderr)
    print(arn)
    return EXIT_OK


def cmd_cost(args: argparse.Namespace) -> int:
    from infra.cost import CostError, report

    try:
        lines = report(stage_config(args.stage))
    except CostError as error:
        print(f"cost failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description="Generated infrastructure for the store.")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write one JSON template per stack into --out")
    synth.add_argument("--stage", required=True, choices=sorted(STAGES))
    synth.add_argument("--out", required=True, help="output directory")
    synth.set_defaults(func=cmd_synth)

    lint = commands.add_parser("lint", help="cfn-lint and checkov over the templates")
    lint.add_argument("--dir", help="lint the templates in DIR (default: synthesize every stage)")
    lint.set_defaults(func=cmd_lint)

    for name, func, text in (("deploy", cmd_deploy, "deploy through change sets"),
                             ("diff", cmd_diff, "show the change sets without executing them")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--stage", required=True, choices=sorted(STAGES))
        sub.add_argument("--stack", action="append", choices=STACK_NAMES,
                         help="only this stack (repeatable; default: all, in dependency order)")
        sub.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                         help="template parameter (repeatable; wins over looked-up values)")
        sub.add_argument("--role-arn", help="CloudFormation service role (the ci stack's cfn-exec role)")
        sub.set_defaults(func=func)

    policies = commands.add_parser("policies", help="print the IAM policy of the stage's Lambda functions")
    policies.add_argument("--stage", required=True, choices=sorted(STAGES))
    policies.set_defaults(func=cmd_policies)

    role = commands.add_parser("function-role", help="the ci stack's function role ARN (for .chalice/config.json)")
    role.add_argument("--stage", required=True, choices=sorted(STAGES))
    role.add_argument("--write", action="store_true", help="set it as the stage's iam_role_arn in .chalice/config.json")
    role.set_defaults(func=cmd_function_role)

    cost = commands.add_parser("cost", help="price the always-on resources of a stage's templates (idle bill)")
    cost.add_argument("--stage", required=True, choices=sorted(STAGES))
    cost.set_defaults(func=cmd_cost)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE

"""``python -m infra.delivery app|site|server|state --stage STAGE``: see :mod:`infra.delivery`."""

from __future__ import annotations

import argparse
import sys

from infra.aws import InfraError, resolve_target
from infra.delivery import app, server, site
from infra.delivery.state import DeploymentStateStore, StateLocation, saved_rest_api_id


def show_state(stage: str, region: str | None, rest_api_id_only: bool = False) -> int:
    target = resolve_target(stage, region)
    if rest_api_id_only:
        api_id = saved_rest_api_id(target.client("s3"), stage, target.account_id, target.region)
        if api_id is None:
            print(f"no REST API in the saved state of stage {stage}: run make deploy STAGE={stage} first",
                  file=sys.stderr)
            return 1
        print(api_id)
        return 0
    store = DeploymentStateStore(target.client("s3"), StateLocation.for_stage(stage, target.account_id,
                                                                              target.region))
    saved = store.load()
    if saved is None:
        print(f"no state saved at {store.location}")
        return 0
    body, version = saved
    print(f"{store.location} (version {version}):")
    print(body.decode())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.delivery", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("app", "chalice deploy of the API (code only), state kept in S3"),
                            ("site", "sync site/static to the site bucket, write config.json, invalidate"),
                            ("server", "build+push the image where Docker runs, roll the ECS service"),
                            ("state", "print the Chalice deployment state saved for the stage")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--stage", required=True)
        command.add_argument("--region", default=None, help="default: AWS_REGION, then the stage's region")
        if name == "server":
            command.add_argument("--image", default=None, help="deploy this image URI instead of building")
            command.add_argument("--tag", default=None, help="image tag to build/deploy (default: git HEAD)")
            command.add_argument("--no-build", dest="build", action="store_false",
                                 help="never build: deploy the image already pushed for the tag")
            command.add_argument("--wait", action="store_true", help="wait until the service is stable")
        if name == "state":
            command.add_argument("--rest-api-id", action="store_true", help="print only the REST API id")
    args = parser.parse_args(argv)
    try:
        if args.command == "app":
            app.deploy(args.stage, region=args.region)
        elif args.command == "site":
            site.deploy(args.stage, region=args.region)
        elif args.command == "server":
            server.deploy(args.stage, region=args.region, image=args.image or None, tag=args.tag or None,
                          build=args.build, wait=args.wait)
        else:
            return show_state(args.stage, args.region, args.rest_api_id)
    except InfraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

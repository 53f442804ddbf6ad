"""The emulator for ``make rehearse``: the local emulator, with its deploy gaps filled and named.

The deploy code runs unchanged against this emulator; what the emulator (moto 5.2)
lacks is filled in here, and every use of a fill-in is written to a record file, so
the rehearsal can name each one. Nothing here is used by ``make dev``, the app or a
real deploy.

Emulator fixes (moto behaves unlike AWS; the deploy code is right):

* change sets: moto builds a change set's stack without the region's exports, so any
  ``Fn::ImportValue`` fails ("No export named ..."), and executing a change set never
  computes the stack's outputs or exports. Fixed: the stack sees the exports, and its
  outputs and exports are computed after execution, as ``CreateStack`` does.
* change sets of a parameter-only update: moto lists no change when only parameters
  differ (``Bootstrap=true`` -> ``false``), so the deploy would find nothing to do.
  Fixed: resources that use a changed parameter (or a condition on it) are listed.
* parameters kept with ``UsePreviousValue``: moto takes a parameter the last request did
  not name as changed, and then updates every resource that references it, even one a
  false condition never created (which fails). Fixed: compared with the stack's values.
* KMS keys: moto's CloudFormation handler passes ``Tags`` ({Key, Value}) to its KMS API,
  which wants {TagKey, TagValue}; a tagged key is an HTML 500 ("KeyError: 'TagKey'").
* API Gateway: moto's ImportRestApi/PutRestApi take only OpenAPI 3 with an
  ``info.description``; Chalice sends Swagger 2.0 without one (real API Gateway takes
  it). The document is passed on with the version key moto wants.

Stand-ins: moto's CloudFormation skips resource types it has no handler for, silently
(the stack still reports CREATE_COMPLETE). Each such resource is created here instead:
through the emulator's own service API where moto has one (Cognito user pools, clients
and groups, Secrets Manager secrets, CloudFront distributions, IAM OIDC providers),
else recorded only, with placeholder ids and ARNs for ``Ref`` and ``Fn::GetAtt``
(WAFv2, ACM, CloudWatch alarms, autoscaling, SNS subscriptions, SES, and any other type
moto lacks). S3 bucket policies are recorded, not applied: the emulator speaks plain
HTTP, and the policies deny insecure transport.

Run: ``python -m infra.local.emulator_gaps --port PORT --record FILE`` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import json
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

RECORD_LOCK = threading.Lock()
_record_path: Path | None = None

API_BACKED = "created through the emulator's {service} API"
RECORD_ONLY = "recorded only: nothing is created in the emulator; Ref/GetAtt give placeholder ids and ARNs"


def record(event: dict[str, Any]) -> None:
    """Append one event (a stand-in or a fix used) to the record file."""
    if _record_path is None:
        return
    with RECORD_LOCK, _record_path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(event, sort_keys=True) + "\n")


def _stack_name(kwargs: dict[str, Any]) -> str:
    stack_id = str(kwargs.get("StackId", ""))
    parts = stack_id.split(":stack/", 1)
    return parts[1].split("/", 1)[0] if len(parts) == 2 else stack_id


# --- stand-ins for resource types moto's CloudFormation lacks ---------------------------------

Creator = Callable[[str, dict[str, Any], str, str], tuple[str, dict[str, str]]]


def _cognito(account: str, region: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    return cognitoidp_backends[account][region]


def _user_pool(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    config = {k: v for k, v in props.items() if k != "UserPoolName"}
    pool = _cognito(account, region).create_user_pool(str(props.get("UserPoolName") or name), config)
    provider = f"cognito-idp.{region}.amazonaws.com/{pool.id}"
    return pool.id, {"Arn": pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}",
                     "UserPoolId": pool.id}


def _user_pool_client(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    config = {"ClientName": name, **props}
    client = _cognito(account, region).create_user_pool_client(
        str(props["UserPoolId"]), bool(props.get("GenerateSecret", False)), config)
    return client.id, {"ClientId": client.id, "ClientSecret": str(getattr(client, "secret", "") or ""),
                       "Name": str(config["ClientName"])}


def _user_pool_group(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    group_name = str(props.get("GroupName") or name)
    _cognito(account, region).create_group(str(props["UserPoolId"]), group_name, str(props.get("Description", "")),
                                           props.get("RoleArn"), props.get("Precedence"))
    return group_name, {}


def _secret(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    from moto.secretsmanager.models import secretsmanager_backends

    value = props.get("SecretString")
    generate = props.get("GenerateSecretString")
    if value is None and isinstance(generate, dict):
        generated = secrets.token_urlsafe(int(generate.get("PasswordLength", 32)))
        template, key = generate.get("SecretStringTemplate"), generate.get("GenerateStringKey")
        value = json.dumps({**json.loads(template), key: generated}) if template and key else generated
    created = secretsmanager_backends[account][region].create_secret(
        name=str(props.get("Name") or name), secret_string=value, secret_binary=None,
        description=props.get("Description"), tags=props.get("Tags"), kms_key_id=props.get("KmsKeyId"),
        client_request_token=None, replica_regions=[], force_overwrite=False)
    arn = str(json.loads(created)["ARN"]) if isinstance(created, str) else str(created["ARN"])
    return arn, {"Id": arn}


def _distribution(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    from moto.cloudfront.models import cloudfront_backends

    config = props["DistributionConfig"]
    origins = [{"Id": str(o["Id"]), "DomainName": str(o["DomainName"]), "OriginPath": o.get("OriginPath", "")}
               for o in config.get("Origins", [])]
    default = config.get("DefaultCacheBehavior", {})
    api_config = {
        "CallerReference": name, "Comment": str(config.get("Comment", "")),
        "Enabled": bool(config.get("Enabled", True)),
        "Origins": {"Quantity": len(origins), "Items": origins},
        "DefaultCacheBehavior": {"TargetOriginId": str(default["TargetOriginId"]),
                                 "ViewerProtocolPolicy": str(default.get("ViewerProtocolPolicy", "redirect-to-https"))},
    }
    dist, _location, _etag = cloudfront_backends[account]["global"].create_distribution(api_config, [])
    return str(dist.distribution_id), {"DomainName": str(dist.domain_name), "Id": str(dist.distribution_id)}


def _oidc_provider(name: str, props: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    from moto.iam.models import iam_backends

    provider = iam_backends[account]["global"].create_open_id_connect_provider(
        str(props["Url"]), list(props.get("ThumbprintList", [])), list(props.get("ClientIdList", [])),
        list(props.get("Tags", [])))
    return str(provider.arn), {"Arn": str(provider.arn)}


# type -> (service the stand-in uses, creator); types missing here are recorded only.
API_STAND_INS: dict[str, tuple[str, Creator]] = {
    "AWS::Cognito::UserPool": ("cognito-idp", _user_pool),
    "AWS::Cognito::UserPoolClient": ("cognito-idp", _user_pool_client),
    "AWS::Cognito::UserPoolGroup": ("cognito-idp", _user_pool_group),
    "AWS::SecretsManager::Secret": ("secretsmanager", _secret),
    "AWS::CloudFront::Distribution": ("cloudfront", _distribution),
    "AWS::IAM::OIDCProvider": ("iam", _oidc_provider),
}


# Types recorded only for a reason other than a missing emulator service.
RECORD_REASONS = {
    "AWS::S3::BucketPolicy": "recorded only, not applied: the emulator serves plain HTTP, so the policy's "
                             "deny of insecure transport would refuse every request",
}


def _placeholder(resource_type: str, name: str, account: str, region: str) -> tuple[str, dict[str, str]]:
    service = resource_type.split("::")[1].lower()
    kind = resource_type.split("::")[-1].lower()
    arn = f"arn:aws:{service}:{region}:{account}:{kind}/{name}"
    ref = arn if resource_type in ("AWS::CertificateManager::Certificate", "AWS::WAFv2::WebACL") else name
    return ref, {"Arn": arn, "Id": name, "Name": name}


def _stand_in_class(resource_type: str) -> type[Any]:
    from moto.core.common_models import CloudFormationModel

    service, creator = API_STAND_INS.get(resource_type, (resource_type.split("::")[1], None))

    class StandIn(CloudFormationModel):
        def __init__(self, physical_id: str, attributes: dict[str, str]) -> None:
            self._physical_id = physical_id
            self._attributes = attributes

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return resource_type

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        @property
        def physical_resource_id(self) -> str:
            return self._physical_id

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self._attributes.get(attribute_name, self._physical_id)

        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> StandIn:
            props = dict(cloudformation_json.get("Properties") or {})
            how = (API_BACKED if creator else RECORD_REASONS.get(resource_type, RECORD_ONLY)).format(service=service)
            if creator is not None:
                physical, attributes = creator(resource_name, props, account_id, region_name)
            else:
                physical, attributes = _placeholder(resource_type, resource_name, account_id, region_name)
            record({"kind": "stand-in", "type": resource_type, "stack": _stack_name(kwargs),
                    "logical_id": str(kwargs.get("LogicalId", "")), "how": how})
            return cls(physical, attributes)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                            cloudformation_json: dict[str, Any], account_id: str,
                                            region_name: str) -> Any:
            return original_resource  # an update keeps the stand-in created first

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str) -> None:
            return None

    StandIn.__name__ = StandIn.__qualname__ = "StandIn_" + resource_type.replace("::", "_")
    return StandIn


_STAND_IN_CLASSES: dict[str, type[Any]] = {}


def _install_stand_ins() -> None:
    from moto.cloudformation import parsing

    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        known = original(resource_type)
        if known is not None or resource_type in parsing.NULL_MODELS:
            return known
        if resource_type not in _STAND_IN_CLASSES:
            _STAND_IN_CLASSES[resource_type] = _stand_in_class(resource_type)
        return _STAND_IN_CLASSES[resource_type]

    parsing.resource_class_from_type = resource_class_from_type


# --- fixes of emulator behaviour ---------------------------------------------------------------

def _patch(owner: Any, name: str, value: Any) -> None:
    """Replace ``owner.name`` in this process's moto (the emulator only)."""
    setattr(owner, name, value)


def _fix_change_sets() -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None)
        if change_set is not None:
            stack = self.stacks[change_set.stack_id]
            stack.cross_stack_resources = self.exports
            stack.resource_map.cross_stack_resources = self.exports
        original(self, change_set_name, stack_name)
        if change_set is None:
            return
        stack = self.stacks[change_set.stack_id]
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for name in [n for n, export in self.exports.items() if export.exporting_stack_id == stack.stack_id]:
            del self.exports[name]
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export
        record({"kind": "fix", "fix": "change-set outputs and exports", "stack": stack.name})

    _patch(CloudFormationBackend, "execute_change_set", execute_change_set)


def _resolved(declared: dict[str, Any], given: dict[str, Any] | None) -> dict[str, str]:
    defaults = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    return {**defaults, **{name: str(value) for name, value in (given or {}).items()}}


def _fix_parameter_diff() -> None:
    from moto.cloudformation.models import Change, ChangeSet

    original = ChangeSet.diff

    def diff(self: Any) -> list[Any]:
        changes: list[Any] = original(self)
        if self.change_set_type != "UPDATE":
            return changes
        template = self.template_dict
        declared = template.get("Parameters") or {}
        # What the stack has now (its resolved values): a parameter sent as UsePreviousValue
        # arrives with exactly that value, so it is no change.
        old = _resolved((self.stack.template_dict or {}).get("Parameters") or {},
                        {k: v for k, v in self.stack.stack_parameters.items() if k in declared})
        new = _resolved(declared, self.parameters)
        changed = {name for name in declared if old.get(name) != new.get(name)}
        if not changed:
            return changes
        conditions = {name for name, body in (template.get("Conditions") or {}).items()
                      if any(f'"Ref": "{p}"' in json.dumps(body) for p in changed)}
        listed = {change.logical_resource_id for change in changes}
        for logical_id, resource in template.get("Resources", {}).items():
            text = json.dumps(resource)
            if logical_id not in listed and (any(f'"Ref": "{p}"' in text or "${" + p + "}" in text for p in changed)
                                             or any(f'"{c}"' in text for c in conditions)):
                changes.append(Change(action="Modify", logical_resource_id=logical_id,
                                      resource_type=resource["Type"]))
        record({"kind": "fix", "fix": "change set lists what a parameter change modifies", "stack": self.stack.name})
        return changes

    _patch(ChangeSet, "diff", diff)


def _fix_previous_values() -> None:
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        # moto counts a parameter as changed when the last request did not name it, so a
        # value kept through UsePreviousValue (the stack's own value) "changes", and moto
        # then updates resources that reference it, even ones never created (a false
        # condition), which fails. Compare against the values the stack really has.
        declared = (template.get("Parameters") or {}).keys()
        current = {k: v for k, v in self.resolved_parameters.items() if k in declared}
        if parameters and any(k not in self.input_parameters for k in parameters):
            record({"kind": "fix", "fix": "UsePreviousValue is no parameter change"})
        self.input_parameters = {**current, **(self.input_parameters or {})}
        original(self, template, parameters)

    _patch(ResourceMap, "update", update)


def _fix_kms_tags() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls: type[Any], /, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> Any:
        props = cloudformation_json.get("Properties") or {}
        tags = props.get("Tags") or []
        if tags and "Key" in tags[0]:
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
            record({"kind": "fix", "fix": "KMS key tags", "stack": _stack_name(kwargs)})
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    _patch(Key, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def _fix_swagger_import() -> None:
    from moto.apigateway.models import APIGatewayBackend

    def as_moto_wants(doc: dict[str, Any]) -> dict[str, Any]:
        if "swagger" not in doc:
            return doc
        adapted = {"openapi": "3.0.1", **{k: v for k, v in doc.items() if k != "swagger"}}
        adapted["info"] = {"description": "", **dict(doc.get("info") or {})}
        record({"kind": "fix", "fix": "Swagger 2.0 accepted by API Gateway"})
        return adapted

    original_import, original_put = APIGatewayBackend.import_rest_api, APIGatewayBackend.put_rest_api

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        return original_import(self, as_moto_wants(api_doc), fail_on_warnings)

    def put_rest_api(self: Any, function_id: str, api_doc: dict[str, Any], fail_on_warnings: bool,
                     mode: str = "merge") -> Any:
        return original_put(self, function_id, as_moto_wants(api_doc), fail_on_warnings, mode)

    _patch(APIGatewayBackend, "import_rest_api", import_rest_api)
    _patch(APIGatewayBackend, "put_rest_api", put_rest_api)


def install(record_path: Path | None) -> None:
    """Fill the gaps in this process's moto (call before the emulator serves)."""
    global _record_path
    _record_path = record_path
    _install_stand_ins()
    _fix_change_sets()
    _fix_parameter_diff()
    _fix_previous_values()
    _fix_kms_tags()
    _fix_swagger_import()


def _stop_with_parent(server: Any) -> None:
    """Shut down once the rehearsal that started us is gone (killed before it could stop us)."""
    import os
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        server.shutdown()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    from infra.local.emulator import make_emulator

    parser = argparse.ArgumentParser(prog="python -m infra.local.emulator_gaps", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True, help="JSON Lines file: every stand-in and fix used")
    args = parser.parse_args(argv)
    install(Path(args.record))
    server = make_emulator(args.port)
    _stop_with_parent(server)
    print(f"rehearsal emulator listening on http://127.0.0.1:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    # Run from the imported module, not __main__: moto files model classes by module name.
    from infra.local import emulator_gaps

    raise SystemExit(emulator_gaps.main())

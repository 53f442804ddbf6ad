"""Test tooling: the IAM action each call in the emulator's request log needs, and the code role's grant.

The recording emulator logs each call's service (SigV4 scope), method, path, query and,
for the JSON and query protocols, the operation name. REST-style calls (Lambda, S3) are
named by matching method and path against botocore's own service model, the same model
the SDK used to send them; API Gateway's IAM actions are its HTTP methods.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from infra.config import stage_config
from infra.stacks import ci

# Calls that need no IAM permission.
UNAUTHORIZED_CALLS = {("sts", "GetCallerIdentity")}


def s3_action(method: str, path: str, query: str) -> str:
    """S3's IAM action for the bucket and object calls the deploys make (path-style addressing)."""
    on_object = "/" in path.strip("/")
    params = set(parse_qs(query, keep_blank_values=True))
    if not on_object:
        if method == "POST" and "delete" in params:
            return "s3:DeleteObject"  # DeleteObjects is authorized per object
        if method in ("GET", "HEAD"):
            return "s3:ListBucketVersions" if "versions" in params else "s3:ListBucket"
        raise AssertionError(f"unmapped S3 bucket call {method} {path}?{query}")
    return {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject",
            "DELETE": "s3:DeleteObject"}[method]


@lru_cache(maxsize=8)
def _rest_operations(service: str) -> list[tuple[str, re.Pattern[str], frozenset[str], str]]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    operations = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = str(http["requestUri"]).partition("?")
        pattern = re.sub(r"\{[^}]+\+\}", ".+", uri)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        keys = frozenset(part.split("=")[0] for part in query.split("&") if part)
        operations.append((str(http["method"]), re.compile(f"^{pattern.rstrip('/')}/?$"), keys, name))
    return operations


def rest_operation(service: str, method: str, path: str, query: str) -> str:
    """The operation of a REST-style call: the most specific URI template that matches."""
    present = set(parse_qs(query, keep_blank_values=True))
    candidates = [(len(regex.pattern) + 10 * len(keys), name) for verb, regex, keys, name in _rest_operations(service)
                  if verb == method and regex.match(path) and keys <= present]
    if not candidates:
        raise AssertionError(f"no {service} operation for {method} {path}?{query}")
    return max(candidates)[1]


def iam_action(call: dict[str, Any]) -> str | None:
    """The IAM action a logged call needs (None for calls that need none)."""
    service, operation = call["service"], call["action"]
    if service == "apigateway":
        return f"apigateway:{call['method']}"
    if service == "s3":
        return s3_action(call["method"], call["path"], call["query"])
    if not operation:
        operation = rest_operation(service, call["method"], call["path"], call["query"])
    if (service, operation) in UNAUTHORIZED_CALLS:
        return None
    return f"{service}:{operation}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def code_role_actions(stage: str) -> list[str]:
    """Every action the stage's code-deploy role allows (patterns, as written)."""
    document = ci.code_deploy_policy(stage_config(stage))
    return [a for s in document["Statement"] if s["Effect"] == "Allow" for a in _as_list(s["Action"])]


def uncovered(calls: list[dict[str, Any]], allowed: list[str]) -> list[str]:
    """The logged calls whose action the grant does not cover, as ``action (method path)``."""
    missing = []
    for call in calls:
        action = iam_action(call)
        if action is None or any(fnmatch.fnmatchcase(action, pattern) for pattern in allowed):
            continue
        missing.append(f"{action} ({call['method']} {call['path']})")
    return sorted(set(missing))


def actions_used(calls: list[dict[str, Any]]) -> list[str]:
    return sorted({a for a in (iam_action(c) for c in calls) if a})

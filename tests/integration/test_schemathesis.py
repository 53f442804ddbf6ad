"""Property-based API test: schemathesis against /openapi.json on the running local stack.

Bounded in examples (``MAX_EXAMPLES`` per operation) and in time (no phase runs
unbounded; the whole module takes about a minute). Every response must be a non-5xx
that conforms to the document: documented status, content type, headers and body
schema; data that breaks the schema (an empty integer, an unknown query parameter)
must be refused with a 4xx; a protected operation called without its token must
answer 401, and cases generated without a token are sent without one.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as generic_checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.conftest import LocalStack

MAX_EXAMPLES = 60

CHECKS = [
    generic_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.ignored_auth,
]


@pytest.fixture(scope="session")
def api_schema(local_stack: LocalStack) -> Any:
    loaded = schemathesis.openapi.from_url(f"{local_stack.api_url}/openapi.json")
    loaded.config.update(base_url=local_stack.api_url)
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# One pytest item runs every operation (~1,000 requests): about a minute on an idle
# machine, several on a loaded one, so the suite's 300 s per test is too short here.
@pytest.mark.timeout(1200)
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any, admin_token: str) -> None:
    # The admin's token on every case, except those generated to test a missing or
    # broken token: those go out exactly as generated (no token, or the bad one).
    negated = case.operation.schema.is_security_param_negated(case)
    headers = {} if negated else {"Authorization": f"Bearer {admin_token}"}
    case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

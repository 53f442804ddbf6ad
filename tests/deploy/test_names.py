"""The delivery reads stack outputs and names the infrastructure really produces."""

from __future__ import annotations

import json

import pytest

from infra.config import API_STAGE_NAME, stage_config, state_bucket_name
from infra.delivery import app, names
from infra.delivery.gateway import GATEWAY_RESPONSES
from infra.stacks import stack_spec

PROJECT_CHALICE_CONFIG = json.loads((app.packaging.PROJECT_DIR / ".chalice" / "config.json").read_text())


@pytest.mark.parametrize("output", names.ALL, ids=lambda o: f"{o.stack}.{o.key}")
def test_every_output_the_delivery_reads_is_in_the_stacks_template(output: names.StackOutput) -> None:
    for stage in ("dev", "prod"):
        template = stack_spec(output.stack).build(stage_config(stage))
        assert output.key in template.outputs, f"{output.stack_name(stage)} has no output {output.key}"


def test_state_bucket_is_the_data_stacks_bucket() -> None:
    template = json.loads(stack_spec("data").build(stage_config("prod")).to_json())
    bucket = template["Resources"]["ChaliceStateBucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": state_bucket_name("prod", "${AWS::AccountId}", "${AWS::Region}")}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


def test_gateway_responses_go_to_chalices_api_stage() -> None:
    assert PROJECT_CHALICE_CONFIG["api_gateway_stage"] == API_STAGE_NAME


def test_every_gateway_response_body_is_the_contract_error_shape() -> None:
    seen = set()
    for response in GATEWAY_RESPONSES:
        assert response.response_type not in seen
        seen.add(response.response_type)
        body = json.loads(response.body())
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["details"] == [] and body["error"]["code"] and body["error"]["message"]
        if response.status is not None:
            assert 400 <= int(response.status) <= 599
    assert {"DEFAULT_4XX", "DEFAULT_5XX", "UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN",
            "THROTTLED", "INTEGRATION_TIMEOUT"} <= seen

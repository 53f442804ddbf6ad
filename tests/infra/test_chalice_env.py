"""The function's environment names the stage's email sender and configuration set,
the same ones its policy allows (infra/config.py is the one source)."""

from __future__ import annotations

import json

import pytest

from infra import policies
from infra.chalice_config import CHALICE_CONFIG
from infra.config import STAGES, ses_configuration_set_name, stage_config


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_email_settings_match_the_stage(stage: str) -> None:
    env = json.loads(CHALICE_CONFIG.read_text())["stages"][stage]["environment_variables"]
    assert env["SES_CONFIGURATION_SET"] == ses_configuration_set_name(stage)
    # No sender (a stage without a domain): the function sends no emails, and says so in its log.
    assert env.get("EMAIL_SENDER", "") == stage_config(stage).sender
    (statement,) = [s for s in policies.lambda_policy(stage)["Statement"] if s["Sid"] == "OrderEmails"]
    assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == (stage_config(stage).sender or "none@invalid")

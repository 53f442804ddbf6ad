"""The storefront's origin reaches the function without any deploy path setting SITE_URL:
the edge stack writes it to one SSM parameter, in the function's region, and the
function may read exactly that parameter (templates and policies as data)."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_lambda.settings import site_url_parameter_name
from infra import policies
from infra.config import STAGES, StageConfig, stage_config
from infra.stacks import stack_spec
from infra.stacks.ci import boundary_policy
from infra.stacks.edge import build

DISTRIBUTION_NAME = "d111111abcdef8.cloudfront.net"
DOMAIN = StageConfig(stage="dev", domain_name="shop.example.com", hosted_zone_id="Z0123456789ABCDEFGHIJ")


def _evaluate(value: Any, template: dict[str, Any], parameters: dict[str, str]) -> Any:
    """The few intrinsic functions the parameter's value and its condition use, evaluated as
    CloudFormation would for these parameter values (the distribution's name is made up)."""
    if not isinstance(value, dict):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return parameters.get(argument, template["Parameters"].get(argument, {}).get("Default", ""))
    if function == "Fn::Sub":
        text = argument.replace("${Distribution.DomainName}", DISTRIBUTION_NAME)
        for name in template["Parameters"]:
            text = text.replace(f"${{{name}}}", str(_evaluate({"Ref": name}, template, parameters)))
        assert "${" not in text, text
        return text
    if function == "Fn::If":
        condition, when_true, when_false = argument
        holds = _evaluate(template["Conditions"][condition], template, parameters)
        return _evaluate(when_true if holds else when_false, template, parameters)
    if function == "Fn::Equals":
        return _evaluate(argument[0], template, parameters) == _evaluate(argument[1], template, parameters)
    if function == "Fn::Not":
        return not _evaluate(argument[0], template, parameters)
    if function == "Fn::And":
        return all(_evaluate(part, template, parameters) for part in argument)
    if function == "Condition":
        return _evaluate(template["Conditions"][argument], template, parameters)
    raise AssertionError(f"unexpected {function}")


def _site_url(cfg: StageConfig, **parameters: str) -> str:
    template = build(cfg).to_dict()
    (parameter,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SSM::Parameter"]
    properties = parameter["Properties"]
    assert (properties["Name"], properties["Type"]) == (site_url_parameter_name(cfg.stage), "String")
    return str(_evaluate(properties["Value"], template, parameters))


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_without_a_domain_the_parameter_holds_the_distributions_own_address(stage: str) -> None:
    assert _site_url(stage_config(stage), CertificateArn="") == f"https://{DISTRIBUTION_NAME}"


def test_with_a_domain_and_its_certificate_the_parameter_holds_the_domain() -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    assert _site_url(DOMAIN, CertificateArn=certificate) == "https://shop.example.com"
    # Without the certificate CloudFront does not answer on the domain (no alias): its own name.
    assert _site_url(DOMAIN, CertificateArn="") == f"https://{DISTRIBUTION_NAME}"


def test_the_parameter_lives_in_the_functions_region_not_in_us_east_1() -> None:
    # Only edge-global is pinned to us-east-1; edge (and so the parameter) follows the
    # stage's region, where Chalice deploys the function.
    cfg = StageConfig(stage="dev", region="eu-west-1")
    assert stack_spec("edge").region(cfg) == "eu-west-1"
    assert stack_spec("edge-global").region(cfg) == "us-east-1"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_functions_policy_reads_that_parameter_and_the_boundary_allows_it(stage: str) -> None:
    granted = [s for s in policies.lambda_policy(stage)["Statement"] if any(
        a.startswith("ssm:") for a in s["Action"])]
    assert granted == [{"Sid": "SiteUrl", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                        "Resource": f"arn:aws:ssm:*:*:parameter{site_url_parameter_name(stage)}"}]
    boundary = [s for s in boundary_policy(stage_config(stage))["Statement"] if s["Action"] == ["ssm:GetParameter"]]
    (resource,) = boundary[0]["Resource"]
    assert resource.to_dict()["Fn::Sub"].endswith(f":parameter/store/{stage}/*")

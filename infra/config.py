"""Stage settings and deterministic resource names for the generated infrastructure.

Everything here is plain, frozen data: the template builders in ``infra/stacks`` read
a :class:`StageConfig` and nothing else, so the same stage always yields the same
templates. Names are derived from the stage alone (plus the account and region, via
CloudFormation pseudo parameters, where AWS requires global uniqueness), so the app and
the delivery scripts find every resource without hand wiring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog_lambda.settings import default_table_name, site_url_parameter_name

APP = "store"
# CloudFront-scoped WAF web ACLs and CloudFront's ACM certificates exist only in
# us-east-1, whatever region the rest of the store runs in.
GLOBAL_REGION = "us-east-1"
# Chalice's API Gateway stage name (.chalice/config.json "api_gateway_stage"). Because
# CloudFront forwards /api/* unchanged, /api/products reaches the route /products.
API_STAGE_NAME = "api"
TABLES = ("products", "orders", "idempotency")
CONTAINER_PORT = 8080
TASK_EGRESS = ("public-ip", "endpoints", "nat")


class ConfigError(ValueError):
    """An unknown stage or stack name."""


@dataclass(frozen=True)
class StageConfig:
    """What differs between stages. Defaults suit a cheap development stage."""

    stage: str
    region: str = "us-east-1"
    # Optional custom domain (e.g. shop.example.com) and its Route53 hosted zone.
    domain_name: str = ""
    hosted_zone_id: str = ""
    # GitHub repository ("owner/name") whose workflows may assume the CI roles. No
    # default: an unedited deploy must not trust someone else's repository, so the ci
    # stack's GitHubRepository parameter is required (README: bootstrap) unless set here.
    github_repository: str = ""
    # An account holds one OIDC provider per URL: only one stage should create it.
    create_oidc_provider: bool = False
    # The container path (ECR, ECS Fargate, ALB, the VPC they need, and CloudFront's
    # /p/* and /sitemap.xml behaviours) is opt-in per stage: it is most of the idle bill.
    # Without it the network and container stacks do not exist for the stage.
    container_path: bool = False
    # How the Fargate tasks reach ECR, Logs and Secrets Manager (docs/operations.md, "Idle cost"):
    # "public-ip": tasks in the public subnets with a public address (no NAT, no endpoints);
    # "endpoints": private subnets, interface endpoints in one AZ; "nat": private subnets, one NAT gateway.
    task_egress: str = "public-ip"
    vpc_cidr: str = "10.20.0.0/16"
    container_cpu: int = 256
    container_memory: int = 512
    container_min_tasks: int = 1
    container_max_tasks: int = 2
    log_retention_days: int = 30
    waf_rate_limit: int = 1000  # requests per 5 minutes per client IP
    mfa: str = "OPTIONAL"  # OFF | OPTIONAL | ON
    # Required before a deploy (docs/operations.md, "Alarms"): who receives the alarms.
    # Empty here means the observability template has no default and the deploy must pass
    # --parameter AlarmEmail=...; set it per stage below to make the stage self-contained.
    alarm_email: str = ""
    # The From address of order emails (an SES identity); empty: orders@<domain_name>
    # when the stage has a domain, else the stage sends no order emails.
    email_sender: str = ""
    # Shoppers may create their own accounts (sign-up calls reach Cognito directly, not
    # through CloudFront's WAF: docs/operations.md, "Sign-up abuse").
    self_sign_up: bool = True
    tags: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.task_egress not in TASK_EGRESS:
            raise ConfigError(f"task_egress must be one of {', '.join(TASK_EGRESS)}, not {self.task_egress!r}")

    @property
    def prefix(self) -> str:
        return f"{APP}-{self.stage}"

    @property
    def sender(self) -> str:
        """The order emails' From address ("" when the stage sends none)."""
        if self.email_sender:
            return self.email_sender
        return f"orders@{self.domain_name}" if self.domain_name else ""


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(stage="dev", create_oidc_provider=True),
    "prod": StageConfig(
        stage="prod",
        vpc_cidr="10.30.0.0/16",
        container_path=True,
        # Graviton, 0.25 vCPU / 0.5 GB, two tasks (one per AZ): docs/operations.md, "Idle cost".
        container_cpu=256,
        container_memory=512,
        container_min_tasks=2,
        container_max_tasks=6,
        log_retention_days=365,
        waf_rate_limit=2000,
    ),
}


def stage_config(stage: str) -> StageConfig:
    try:
        return STAGES[stage]
    except KeyError:
        raise ConfigError(f"unknown stage {stage!r}; known: {', '.join(sorted(STAGES))}") from None


# --- deterministic names -----------------------------------------------------------


def table_name(stage: str, table: str) -> str:
    """``store-<stage>-<table>``: the same function the app uses for its defaults."""
    return default_table_name(stage, table)


def secret_prefix(stage: str) -> str:
    """Every secret of the stage is named under this prefix."""
    return f"{APP}/{stage}/"


def cursor_secret_name(stage: str) -> str:
    """The cursor-signing key's secret (the local stack's too)."""
    return f"{APP}/{stage}/cursor-signing-key"


def payment_secret_name(stage: str) -> str:
    """The payment provider's secrets, JSON ``{"webhook_secret", "api_key"}`` (the local
    stack's too)."""
    return f"{APP}/{stage}/payment"


def origin_secret_name(stage: str) -> str:
    """Shared value CloudFront sends to the ALB so the ALB refuses direct requests."""
    return f"{APP}/{stage}/origin-verify"


def site_url_parameter(stage: str) -> str:
    """The SSM String parameter the edge stack writes with the storefront's https origin
    (the function reads it for Stripe Checkout's return URLs)."""
    return site_url_parameter_name(stage)


def metrics_namespace(stage: str) -> str:
    """The app's own (EMF) metrics namespace in AWS: one per stage, so alarms on them never count
    another stage's (Powertools reads it from POWERTOOLS_METRICS_NAMESPACE, .chalice/config.json)."""
    return f"Store/{stage}"


def user_pool_name(stage: str) -> str:
    return f"{APP}-{stage}-users"


def lambda_function_prefix(stage: str) -> str:
    """Chalice names the API function ``<app>-<stage>`` and others ``<app>-<stage>-<name>``."""
    return f"{APP}-{stage}"


def function_role_name(stage: str) -> str:
    """The role every Lambda function of the stage runs as (the ci stack creates it; Chalice only passes it)."""
    return f"{APP}-{stage}-function"


def permissions_boundary_name(stage: str) -> str:
    """The managed policy every role the stage's stacks create must carry as its permissions boundary."""
    return f"{APP}-{stage}-role-boundary"


def ses_configuration_set_name(stage: str) -> str:
    """The SES configuration set every email of the stage goes out with, Cognito's included
    (its bounces and complaints reach the observability stack's mail-events topic)."""
    return f"{APP}-{stage}-email"


def stack_name(stage: str, stack: str) -> str:
    return f"{APP}-{stage}-{stack}"


def export_name(stage: str, name: str) -> str:
    return f"{APP}-{stage}-{name}"


def state_bucket_name(stage: str, account_id: str, region: str) -> str:
    """Chalice deployment state bucket; bucket names are global, hence account and region."""
    return f"{APP}-{stage}-chalice-state-{account_id}-{region}"


def logs_bucket_name(stage: str, account_id: str, region: str) -> str:
    return f"{APP}-{stage}-access-logs-{account_id}-{region}"


def site_bucket_name(stage: str, account_id: str, region: str) -> str:
    return f"{APP}-{stage}-site-{account_id}-{region}"

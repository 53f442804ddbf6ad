"""Infrastructure: troposphere template builders, the infra CLI and the local stack."""

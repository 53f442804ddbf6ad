"""Delivery: ship code and content to a stage whose infrastructure already exists.

``python -m infra.delivery app|site|server|state --stage STAGE``, called by ``make
deploy``, ``make deploy-site`` and ``make deploy-server`` and by the deploy workflows.
None of it creates or updates a CloudFormation stack (``make deploy-infra`` does that,
through ``python -m infra deploy``): it reads the stacks' outputs and deterministic
names and changes only code, content and the service's task definition, then prints
what it changed. Every AWS client honours the standard ``AWS_ENDPOINT_URL``, so the
same commands run against the local emulator.
"""

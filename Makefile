# The project's commands. `make dev` and `make test` are all a new machine needs:
# both create .venv at the repository root and install into it on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY ?= $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= dev
OUT ?= dist

.PHONY: dev check test tools synth-infra lint-infra token outbox import package deploy deploy-infra diff-infra deploy-site deploy-server rehearse lint typecheck unit functional integration e2e chromium soak bench clean help

help:
	@echo "make dev                 start the whole local stack (emulator, API, storefront, container)"
	@echo "make check               ruff, mypy and every test that starts no server (< 2 min): before each commit"
	@echo "make test                run every test (installs what it needs)"
	@echo "make e2e                 the browser tests only (headless chromium)"
	@echo "make image-test          build site/server's image with buildah and run it read-only (root)"
	@echo "make token USER=admin    print a demo user's ID token (admin|shopper; default shopper)"
	@echo "make outbox              every email the local stack sent, one JSON object per line"
	@echo "make import FILE=products.csv   bulk-import products into the running local stack"
	@echo "make package STAGE=prod OUT=dist   build the Lambda zip (DIR/deployment.zip)"
	@echo "make deploy STAGE=prod             code-only redeploy of the API (chalice deploy, state in S3)"
	@echo "make deploy-infra STAGE=prod [STACK=auth]   the CloudFormation stacks (python -m infra deploy)"
	@echo "make deploy-site STAGE=prod        site/static to its bucket, config.json, CloudFront invalidation"
	@echo "make deploy-server STAGE=prod [IMAGE=uri:tag]   image build+push (Docker), roll the ECS service"
	@echo "make rehearse [STAGE=prod]         the documented bootstrap + code and site deploys, on a fresh emulator"
	@echo "make synth-infra STAGE=prod OUT=dist   CloudFormation templates -> OUT/infra/STAGE"
	@echo "make lint-infra          cfn-lint + checkov over every stage's templates"
	@echo "make lint                ruff + mypy"
	@echo "make soak                repeat the concurrency tests 20 times"
	@echo "make bench               benchmarks -> bench/results.md"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# checkov pins an older boto3 than the app's, so it gets a virtualenv of its own
# (infra/lint.py runs it from there). `make test` creates it on first use.
TOOLS_VENV := .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed

$(TOOLS_STAMP): requirements-tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)

# Generated CloudFormation (README: Infrastructure): templates into OUT/infra/STAGE, and
# cfn-lint + checkov over every stage's templates.
synth-infra: $(STAMP)
	$(PY) -m infra synth --stage $(STAGE) --out $(OUT)/infra/$(STAGE)

lint-infra: $(STAMP) $(TOOLS_STAMP)
	$(PY) -m infra lint

dev: $(STAMP)
	$(PY) -m infra.local.stack up

# make takes USER from the environment too, where it is the login name: only a USER given on
# make's command line (`make token USER=admin`) names the demo user.
TOKEN_USER = $(if $(filter command line,$(origin USER)),$(USER))

token: $(STAMP)
	@$(PY) -m infra.local.stack token $(TOKEN_USER)

outbox: $(STAMP)
	@$(PY) -m infra.local.outbox

# Bulk import into the running local stack (docs/local.md): FILE=products.csv or .jsonl;
# REPORT: where the JSON report goes (default FILE.report.json).
FILE ?=
REPORT ?=

import: $(STAMP)
	@$(PY) -m infra.local.stack import $(FILE) $(if $(REPORT),--report $(REPORT))

package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE) --out $(OUT)

# --- delivery (README: Deployment). Each honours AWS_ENDPOINT_URL and prints what it changed.
# STACK: stack names for deploy-infra/diff-infra (default: all); CFN_ROLE_ARN: CloudFormation's
# service role; IMAGE: deploy-server deploys this image instead of building; BUILD=0: never build,
# deploy the image pushed for this commit; WAIT=1: wait until the ECS service is stable.
STACK ?=
# PARAMETER: template parameters for deploy-infra/diff-infra, KEY=VALUE separated by spaces.
PARAMETER ?=
CFN_ROLE_ARN ?=
IMAGE ?=
BUILD ?= 1
WAIT ?=

deploy: $(STAMP)
	$(PY) -m infra.delivery app --stage $(STAGE)

deploy-infra: $(STAMP)
	$(PY) -m infra deploy --stage $(STAGE) $(foreach s,$(STACK),--stack $(s)) $(if $(CFN_ROLE_ARN),--role-arn $(CFN_ROLE_ARN)) $(foreach p,$(PARAMETER),--parameter $(p))

diff-infra: $(STAMP)
	$(PY) -m infra diff --stage $(STAGE) $(foreach s,$(STACK),--stack $(s)) $(if $(CFN_ROLE_ARN),--role-arn $(CFN_ROLE_ARN)) $(foreach p,$(PARAMETER),--parameter $(p))

deploy-site: $(STAMP)
	$(PY) -m infra.delivery site --stage $(STAGE)

# The documented bootstrap, then a code and a site deploy, against a fresh emulator (docs/deploy.md).
# Stage prod (the one the docs write) unless STAGE= is given on make's command line.
rehearse: $(STAMP)
	$(PY) -m infra.rehearse $(if $(filter command line,$(origin STAGE)),--stage $(STAGE))

deploy-server: $(STAMP)
	$(PY) -m infra.delivery server --stage $(STAGE) $(if $(IMAGE),--image $(IMAGE)) $(if $(filter 0,$(BUILD)),--no-build) $(if $(WAIT),--wait)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -x $(CHROMIUM)

# The container image test (tests/image) builds with Debian's buildah on a debootstrap
# base (cached under .cache/image) and runs the image as ECS would; root only.
.PHONY: image-tools image-test
image-tools:
	@for tool in buildah debootstrap; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	  test -z "$$missing" || { echo "installing$$missing for the image test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $$missing >/dev/null; }

image-test: $(STAMP) image-tools
	$(PY) -m pytest tests/image

# The quick loop: lint, types and every test that starts no server (tests/conftest.py marks
# those `server`) and is not marked `slow` (cfn-lint, checkov, ...): unit, functional, docs,
# and the infra and deploy tests that read templates and workflows as data, on both cores
# (a test file stays on one worker: its module fixtures are built once). `make test` runs
# everything.
CHECK_TESTS := (unit or functional or infra or deploy or docs) and not server and not slow

check: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -q -n 2 --dist loadfile -m "$(CHECK_TESTS)"

# The image test is mostly waiting (debootstrap, pip downloads, file copies), so it runs
# alongside the rest of the suite; its output follows the suite's.
test: $(STAMP) $(TOOLS_STAMP) chromium image-tools
	$(PY) -m ruff check .
	$(PY) -m mypy
	@mkdir -p .cache; set -o pipefail; \
	  $(PY) -m pytest -p no:cacheprovider tests/image > .cache/image-test.log 2>&1 & image=$$!; \
	  $(PY) -m pytest --ignore=tests/image | tee .cache/test.log; suite=$$?; \
	  wait $$image; images=$$?; echo "--- make image-test (ran alongside):"; cat .cache/image-test.log; \
	  tail -n 1 .cache/test.log; test $$suite = 0 -a $$images = 0

e2e: $(STAMP) chromium
	$(PY) -m pytest tests/e2e

unit: $(STAMP)
	$(PY) -m pytest tests/unit

functional: $(STAMP)
	$(PY) -m pytest tests/functional

integration: $(STAMP)
	$(PY) -m pytest tests/integration

soak: $(STAMP)
	$(PY) -m pytest -m concurrency --count 20 -x tests/integration

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf build dist .local .pytest_cache .mypy_cache .ruff_cache

# One entry point per task. Every target does its own set-up (make setup), locally and in CI.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
UV ?= $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen
# System tools the tests drive for real: Prometheus + promtool, Alertmanager + amtool, wrk, jq
# (the workflows' shell steps use it), redis-server (the shared idempotency store), Go and the
# expr library (the lab's expr oracle, built offline: docs/decisions/0080-*).
APT_PACKAGES := prometheus prometheus-alertmanager wrk jq redis-server golang-go golang-github-antonmedv-expr-dev
SCENARIO ?= incident-visa-timeouts
OVERLAY ?= prod
REPEAT_SCENARIO ?= healthy
RUNS ?= 20
PYTEST_ARGS ?=
# CRDs at the pinned upstream releases for offline validation: PAYSTREAM_CRDS_DIR if set (.ci/run
# sets it), else ../shared/crds beside the checkout, else .crds/ fetched once by `make crds`.
PAYSTREAM_CRDS_DIR ?= $(abspath $(or $(wildcard ../shared/crds),.crds))
export PAYSTREAM_CRDS_DIR

.PHONY: help setup crds test pytest lab lab-repeat serve bench bench-hostile lint fmt validate dashboards

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## install uv (pinned), the locked Python deps and the system tools the tests use
	@# A system Python marked externally managed (PEP 668, Debian 12+) refuses a plain --user
	@# install; uv is a single static binary that touches nothing else, so allow it there.
	@command -v $(UV) >/dev/null 2>&1 || python3 -m pip install --quiet --user "uv==$(UV_VERSION)" \
	  || python3 -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)"
	@# Bytecode compiled once here: the suite starts hundreds of Python processes (granian, the
	@# CLI, the load generator), which otherwise compile what they import each time when
	@# PYTHONDONTWRITEBYTECODE is set (docs/decisions/0115-*).
	@$(UV) sync --frozen --quiet --compile-bytecode
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

crds: setup ## make sure PAYSTREAM_CRDS_DIR holds the pinned CRDs (downloads them once if not)
	@if ! find "$(PAYSTREAM_CRDS_DIR)" -name '*.yaml' -print -quit 2>/dev/null | grep -q .; then \
	  echo "fetching the pinned CRDs into $(PAYSTREAM_CRDS_DIR)"; \
	  $(RUN) paystream-ops fetch-crds "$(PAYSTREAM_CRDS_DIR)"; \
	fi

# Everything but the lab on PYTEST_WORKERS processes, a module per worker (module fixtures start
# their processes once); then the lab scenarios alone, since they time themselves.
# Three on two cores: those tests mostly wait on processes (docs/decisions/0139-*).
PYTEST_WORKERS ?= 3
# The lab run collects only the files that carry the mark, not all of the suite's modules.
LAB_TESTS = $(shell grep -rlE 'mark\.lab\b' --include='test_*.py' service/tests loadgen/tests tests)
test: setup crds lint ## the whole test suite (lint, unit, integration, manifests, monitoring, lab, git)
	$(RUN) pytest -m "not lab" -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)
	$(RUN) pytest -m lab $(PYTEST_ARGS) $(LAB_TESTS)

pytest: setup crds ## the test suite without lint; PYTEST_ARGS selects a part (CI runs it in shards)
	$(RUN) pytest $(PYTEST_ARGS)

lab: setup ## the canary lab: replay the Visa-timeout incident against the prod overlay (figures: docs/figures.md)
	$(RUN) paystream-ops lab --scenario $(SCENARIO) --overlay $(OVERLAY) --report lab-report --record-figures

lab-repeat: setup ## no false aborts: RUNS (20) seeded runs of REPEAT_SCENARIO (healthy), ~20 min
	$(RUN) paystream-ops lab --scenario $(REPEAT_SCENARIO) --overlay $(OVERLAY) --repeat $(RUNS) \
	  --quiet --json lab-report/$(REPEAT_SCENARIO)-x$(RUNS).json --record-figures

# Without PAYSTREAM_SECRETS_DIR, `make serve` generates local secrets once in .serve/secrets
# (never committed); the admin token is .serve/secrets/admin-token.
SERVE_SECRETS := .serve/secrets
serve: setup ## run the authorization service on :8080 (local secrets in .serve/ unless PAYSTREAM_SECRETS_DIR is set)
	@if [ -z "$${PAYSTREAM_SECRETS_DIR:-}" ]; then \
	  mkdir -p $(SERVE_SECRETS) && chmod 700 $(SERVE_SECRETS); \
	  for f in admin-token processor-api-key; do \
	    [ -s $(SERVE_SECRETS)/$$f ] || (umask 077; $(RUN) python -c 'import secrets; print(secrets.token_urlsafe(32))' > $(SERVE_SECRETS)/$$f); \
	  done; \
	fi
	PAYSTREAM_SECRETS_DIR="$${PAYSTREAM_SECRETS_DIR:-$(CURDIR)/$(SERVE_SECRETS)}" \
	  $(RUN) python -m paystream_auth.granian_command --host 0.0.0.0 --port 8080

bench: setup ## the service vs bare granian, side by side (requests/s, p50/p99, ratio; ~2.5 min)
	$(RUN) paystream-ops bench --record-figures

bench-hostile: setup ## p50/p99 of normal requests idle and while 2,000 hostile connections are held
	$(RUN) paystream-ops bench-hostile --record-figures

# .pre-commit-config.yaml runs these same commands (tests/workflows checks they agree).
lint: setup ## ruff (lint + format check), mypy (strict) and yamllint, as pre-commit runs them
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) yamllint --strict .

fmt: setup ## apply ruff formatting and safe fixes
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

validate: setup crds ## render every overlay and Application and validate it offline
	$(RUN) paystream-ops validate

dashboards: setup ## regenerate the AnalysisTemplate (base/analysis), the SLO rules and the Grafana dashboard (base/monitoring)
	$(RUN) paystream-ops dashboards

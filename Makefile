# MayaChat Serverless: `make dev` runs the whole system locally, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP   := $(VENV)/.installed
PYTEST  := $(PY) -m pytest

.PHONY: help dev up down status token room test test-unit test-integration test-e2e lint typecheck \
        cfn-lint lock clean invoke sam-venv sam-build sam-check scan openapi bench browser chaos

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# The dev venv: the Lambda runtime's Python when present, every package pinned in
# requirements/dev.txt (uv installs it; its cache lives outside the clone).
$(STAMP): requirements/dev.txt pyproject.toml
	@py=$$(infra/local/find-python.sh) && echo "venv: $$($$py --version) at $(VENV)" && \
	  { [ -x $(PY) ] || $$py -m venv $(VENV); }
	@$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	@$(UV) pip sync -q --python $(PY) requirements/dev.txt
	@$(UV) pip install -q --python $(PY) --no-deps -e .
	@# Bytecode for every installed module, as the Lambda layers ship it (layers/*/Makefile):
	@# where PYTHONDONTWRITEBYTECODE is set nothing else writes it, and each local cold start
	@# would compile redis, pydantic and botocore from source again.
	@$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
	  layers/core functions infra/local/mayachat_local >/dev/null || true
	@touch $@

venv: $(STAMP)  ## create/update the dev virtualenv

dev: $(STAMP)  ## run the whole system locally (services + WebSocket API), Ctrl-C stops
	@$(PY) -m mayachat_local.devtools.dev

up: $(STAMP)  ## start only the backing services, in the background
	@$(PY) -m mayachat_local.stack up

down:  ## stop exactly what `make dev` / the tests started
	@if [ -x $(PY) ]; then $(PY) -m mayachat_local.stack down; else echo "nothing to stop"; fi

status: $(STAMP)  ## show each local service and who started it
	@$(PY) -m mayachat_local.stack status

token: $(STAMP)  ## print a local dev JWT: make token USER=alice
	@$(PY) -m mayachat_local.devtools.devauth "$(USER)"

invoke: $(STAMP)  ## one function once, no Docker: make invoke FUNCTION=WsPingFunction EVENT=tests/events/ws_ping.json [AS=alice]
	@$(PY) -m mayachat_local.devtools.invoke "$(FUNCTION)" "$(EVENT)" $(if $(AS),--user "$(AS)")

room: $(STAMP)  ## create a room in the local MongoDB: make room USERS="alice bob"
	@$(PY) -m mayachat_local.devtools.rooms $(USERS)

lint: $(STAMP)  ## ruff, and a syntax check on the machine's default Python
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@python3 -m compileall -q layers/core functions infra/local/mayachat_local >/dev/null

typecheck: $(STAMP)  ## mypy (strict on the core package; each function on its own)
	@$(PY) -m mypy
	@$(PY) -m mypy --no-error-summary tests/fakes.py tests/push_fakes.py  # the fakes match the ports
	@for f in functions/*/app.py; do $(PY) -m mypy --no-error-summary "$$f" || exit 1; done

cfn-lint: $(STAMP)  ## lint template.yaml
	@$(VENV)/bin/cfn-lint template.yaml

test-unit: $(STAMP)  ## unit tests (no I/O)
	@$(PYTEST) -m unit

test-integration: $(STAMP) $(SAM_VENV)/.installed  ## adapters against the real local servers (started on demand)
	@MAYACHAT_SAM=$(SAM) $(PYTEST) -m integration

# The web demo's browser test drives Debian's chromium (Playwright for Python, never
# `playwright install`): installed with apt once, only when it is missing.
CHROMIUM := /usr/bin/chromium

browser:  ## install Debian's chromium for the browser test (only when missing)
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing chromium with apt (once)"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  { $$sudo apt-get update -q >/dev/null && \
	    $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  echo "warning: could not install chromium; the browser test will be skipped"

test-e2e: $(STAMP) browser  ## the whole system through real clients
	@$(PYTEST) -m e2e

test: lint typecheck cfn-lint sam-check scan browser  ## everything: lint, types, template, scan, unit, integration, e2e
	@MAYACHAT_SAM=$(SAM) $(PYTEST)

chaos: $(STAMP)  ## fault injection on a stack of its own (~4 min); writes docs/reliability.md
	@$(PY) -m mayachat_local.chaos --report docs/reliability.md

# `sam build` as a team without Docker or python3.13 runs it: every resource builds with make
# (layers/*/Makefile, functions/*/Makefile), the deps layer from arm64 wheels. PATH holds only
# the system's tools and uv, which proves it; wheels are cached in ~/.cache/uv, built resources
# in $(SAM_CACHE), so a second build takes seconds. Output: .aws-sam/build (what `sam deploy` uses).
# SAM CLI in a venv of its own: it pins boto3 and click, which must not pin the app's.
SAM_VENV  := .venv-sam
SAM       := $(SAM_VENV)/bin/sam
SAM_CACHE ?= $(HOME)/.cache/mayachat/sam-cache
SAM_PATH  := $(VENV)/.sam-path

$(SAM_VENV)/.installed: requirements/sam.txt $(STAMP)
	@{ [ -x $(SAM_VENV)/bin/python ] || $(UV) venv -q --python $(PY) $(SAM_VENV); }
	@$(UV) pip install -q --python $(SAM_VENV)/bin/python -r requirements/sam.txt
	@touch $@

sam-venv: $(SAM_VENV)/.installed  ## install the pinned AWS SAM CLI into .venv-sam

sam-build: $(SAM_VENV)/.installed  ## sam build (arm64 layers, no Docker, no python3.13 needed) into .aws-sam/build
	@mkdir -p $(SAM_PATH) && ln -sf "$(abspath $(UV))" $(SAM_PATH)/uv
	@py=$$(realpath $(PY)); case "$$($$py --version 2>&1)" in "Python 3.13."*) \
	  ln -sf "$$py" $(SAM_PATH)/python3.13;; *) rm -f $(SAM_PATH)/python3.13;; esac
	@SAM_CLI_TELEMETRY=0 PATH="$(abspath $(SAM_PATH)):/usr/bin:/bin" \
	  $(SAM) build --cached --parallel --cache-dir "$(SAM_CACHE)"

sam-check: $(SAM_VENV)/.installed  ## the deployable application: cfn-lint (app + infra/aws), sam validate --lint, sam build
	@$(VENV)/bin/cfn-lint template.yaml infra/aws/*.yaml
	@SAM_CLI_TELEMETRY=0 $(SAM) validate --lint
	@$(MAKE) --no-print-directory sam-build >$(VENV)/.sam-build.log 2>&1 || { cat $(VENV)/.sam-build.log; exit 1; }

# checkov, the IaC security and best-practice scanner, on every template. A check that does not
# apply is skipped next to its resource (Metadata: checkov: skip:), with the reason.
CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/.installed: requirements/checkov.txt $(STAMP)
	@{ [ -x $(CHECKOV_VENV)/bin/python ] || $(UV) venv -q --python $(PY) $(CHECKOV_VENV); }
	@$(UV) pip install -q --python $(CHECKOV_VENV)/bin/python -r requirements/checkov.txt
	@touch $@

scan: $(CHECKOV_VENV)/.installed  ## checkov on template.yaml and infra/aws/*.yaml (skips justified in place)
	@for f in template.yaml infra/aws/*.yaml; do \
	  $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f "$$f" \
	    >$(VENV)/.checkov.log 2>&1 || { cat $(VENV)/.checkov.log; exit 1; }; done

openapi: $(STAMP)  ## regenerate docs/openapi.json from the REST app
	@$(PY) -c "import json; from mayachat.rest.app import create_app; \
	  open('docs/openapi.json', 'w').write(json.dumps(create_app().openapi(), indent=2, sort_keys=True) + '\n')"

# The commit before the profile-driven changes of the send path: "before" in before/after.
BENCH_BEFORE ?= 5427740

bench: $(STAMP)  ## run the benchmarks (~30 min, quiet machine) and write docs/benchmarks.md
	@$(PY) bench/bench_cold_start.py --runs 20 --before $(BENCH_BEFORE)
	@$(PY) bench/bench_cold_session.py --runs 5 --before $(BENCH_BEFORE)
	@$(PY) bench/bench_send.py --messages 200 --before $(BENCH_BEFORE)
	@$(PY) bench/bench_fanout.py --messages 20 --before $(BENCH_BEFORE)
	@$(PY) bench/bench_round_trips.py --messages 200
	@$(PY) bench/bench_end_to_end.py
	@$(PY) bench/bench_persist.py
	@$(PY) bench/bench_rest.py
	@$(PY) bench/bench_flood.py --messages 50 --pairs 2
	@$(PY) bench/bench_cold_burst.py
	@$(PY) bench/bench_notify.py
	@$(PY) bench/profile_send.py --messages 400 --before $(BENCH_BEFORE)
	@$(PY) bench/bench_presence.py
	@$(PY) bench/plots.py
	@$(PY) bench/report.py

lock: $(STAMP)  ## re-pin requirements/*.txt from pyproject.toml
	$(UV) pip compile -q pyproject.toml --extra dev --extra bench --universal --python-version 3.13 -o requirements/dev.txt
	$(UV) pip compile -q requirements/sam.in --python-version 3.13 -o requirements/sam.txt
	$(UV) pip compile -q requirements/checkov.in --python-version 3.13 -o requirements/checkov.txt
	# The layer gets the same versions as the venv the tests ran with (-c dev.txt).
	$(UV) pip compile -q pyproject.toml --python-version 3.13 --python-platform aarch64-manylinux2014 -c requirements/dev.txt -o requirements/lambda.txt

clean: down  ## remove local state (data, logs) and the venv; keeps the download cache
	rm -rf .local $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .mypy_cache .ruff_cache .pytest_cache

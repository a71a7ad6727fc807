# Switchboard's two commands are `make dev` and `make test`; both set up what they need first.
# Everything is pinned: Python packages in pyproject.toml + requirements.lock, the CDK CLI in
# package.json + package-lock.json.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PY_STAMP    := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local
NODE_STAMP  := node_modules/.installed
PORT   ?= 8787

# Keep the CDK offline and quiet (no telemetry, no version check, no jsii end-of-life banner).
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: env local-env dev dev-once test lint typecheck unit synth clean bench

# `make dev` needs only the runtime and the local extra (moto, rich): about a tenth of the whole set
# (no CDK, no linters, no browser driver), so a newcomer's first run starts sooner. `make test` installs
# everything, which includes the local extra.
$(LOCAL_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[local]'
	touch $@

$(PY_STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(LOCAL_STAMP) $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

env: $(PY_STAMP) $(NODE_STAMP)

local-env: $(LOCAL_STAMP) $(NODE_STAMP)

## make dev [FRESH=1] [VERBOSE=1]: run Switchboard locally (embedded AWS + sandbox apps), replay the samples, serve until Ctrl-C;
## the state is saved on Ctrl-C and restored by the next make dev, which does not replay (FRESH=1 starts empty and replays;
## VERBOSE=1 prints every step of the replay).
dev: local-env
	$(BIN)/switchboard dev --port $(PORT)$(if $(FRESH), --fresh)$(if $(VERBOSE), --verbose)

## make dev-once [VERBOSE=1]: replay the samples, wait until the queues drain, print a summary and exit.
dev-once: local-env
	$(BIN)/switchboard dev --once --port 0$(if $(VERBOSE), --verbose)

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: env
	$(BIN)/mypy

unit: env
	$(BIN)/pytest -q -n 2

## make test: lint, type-check and the whole test suite (unit, functions, CDK, end to end).
test: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --durations=10

# Deploying (docs/deploying.md): STAGE names everything (switchboard-<stage>-...); ALARM_EMAIL, if
# given, is subscribed to the stage's alarm topic; SETTINGS=local synthesizes with make dev's sample
# settings. diff and deploy need AWS credentials.
STAGE ?= dev
CDK_CONTEXT = -c stage=$(STAGE) $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) $(if $(SETTINGS),-c settings=$(SETTINGS))

.PHONY: diff deploy

# The stage's templates in cdk.out/ (older synths of other stages may sit beside them).
TEMPLATES = cdk.out/Switchboard-$(STAGE)-core.template.json cdk.out/Switchboard-$(STAGE)-integrations.template.json

## make synth [STAGE=dev] [SETTINGS=local]: synthesize the CDK app offline into cdk.out/ (SETTINGS=local:
## with make dev's sample settings instead of cdk.json's, e.g. before the real ones exist); cdk-nag runs during the synth,
## then cfn-lint on the stage's templates fails it on any error (warnings are shown). W3005 is off:
## CDK writes DependsOn entries that references already imply (docs/cloudformation-pitfalls.md).
synth: env
	npx cdk synth --quiet $(CDK_CONTEXT)
	$(BIN)/cfn-lint --ignore-checks W3005 --non-zero-exit-code error -- $(TEMPLATES)

## make diff STAGE=prod: what `make deploy` would change in the account.
diff: env
	npx cdk diff --all $(CDK_CONTEXT)

## make deploy STAGE=prod [ALARM_EMAIL=ops@example.com]: deploy the core and integrations stacks.
deploy: env
	npx cdk deploy --all $(CDK_CONTEXT)

## make bench: the performance figures, with their targets, against baselines measured in the same run
## (< 5 minutes); exits 1 when a figure got worse than the recorded one by more than its measured noise.
## make bench RECORD=1 records the run's figures in benchmarks/results/bench.json (without it they go to
## .switchboard/bench/). Every full run also writes what each integration's events cost AWS, measured,
## to benchmarks/results/cost.json.
bench: env
	$(PY) -m benchmarks $(if $(RECORD),--record)

## make perf-docs: docs/performance.md's figures block from the recorded benchmarks/results/bench.json.
.PHONY: perf-docs
perf-docs: env
	$(PY) -m benchmarks.report

## make cost-docs: docs/cost.md from the dev stage's templates (synthesized here) and benchmarks/results/cost.json.
.PHONY: cost-docs
cost-docs: env
	$(MAKE) synth STAGE=dev SETTINGS=local
	$(BIN)/switchboard cost --events-per-month 10000 --stage dev --markdown > docs/cost.md

clean:
	rm -rf $(VENV) node_modules cdk.out .switchboard .pytest_cache .mypy_cache .ruff_cache

# Two commands on a fresh machine: `make dev` (run the whole local stack) and `make test`.
# Both install what they need: uv (from PyPI) and the locked environment; redis-server is
# installed with apt-get when missing and running as root (otherwise a clear message).
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := python3 -m uv
PORT ?= 8000

.PHONY: dev test browser token chat install lint fmt bench-chat bench-cpu bench-coldstart bench-emulator bench-worker bench-locomo bench-extraction bench-extraction-real bench-capacity validate validate-container clean

install:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==$(UV_VERSION)" \
		|| python3 -m pip install --quiet --user --break-system-packages "uv==$(UV_VERSION)"
	$(UV) sync --frozen

dev: install
	$(UV) run python -m infra.local --port $(PORT)

# The browser tests (tests/browser) drive Debian's Chromium; CJK fonts so Chinese renders.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "Chromium is missing: install it with 'sudo apt-get install chromium fonts-noto-cjk'" \
			"(the browser tests skip without it, and fail under CI=true)."; fi; \
	fi

test: install browser
	$(UV) run ruff check .
	$(UV) run mypy
	$(UV) run pytest

# A local development token for any user: `make token USER=alice` (USER defaults to dev-user).
token: install
	@$(UV) run companion token $(if $(filter command line,$(origin USER)),$(USER),dev-user)

# The terminal client against the local stack: `make chat CHARACTER=luna`.
chat: install
	$(UV) run companion chat $(or $(CHARACTER),xiaoyu)

lint: install
	$(UV) run ruff check .

fmt: install
	$(UV) run ruff check --fix .

validate: install
	$(UV) run sam validate --lint --template template.yaml --region us-east-1

# The container-mode template (ECS on Fargate behind an ALB): cfn-lint, as `make validate` lints template.yaml.
validate-container: install
	$(UV) run cfn-lint --regions us-east-1 -- infra/container/ecs-fargate.yaml

bench-chat: install
	$(UV) run python benchmarks/bench_chat_ttfb.py

# CPU milliseconds of the chat process per turn, by stage, with and without recall
# (COMPARE=<another checkout> measures its chat code beside this one's).
bench-cpu: install
	$(UV) run python benchmarks/bench_turn_cpu.py $(if $(COMPARE),--compare $(COMPARE))

bench-coldstart: install
	$(UV) run python benchmarks/bench_cold_start.py

bench-emulator: install
	$(UV) run python benchmarks/bench_opensearch_emulator.py

bench-worker: install
	$(UV) run python benchmarks/bench_memory_worker.py

# Recall at the product's defaults (the headline); `make bench-locomo VARIANTS=full,bm25` (or all) for others.
bench-locomo: install
	$(UV) run python benchmarks/locomo_recall.py $(if $(VARIANTS),--variants $(VARIANTS))

# Precision and recall of extracted facts and events, per language: the rule extractor, and the
# LLM extractor when LLM_CHAIN (or MEMORY_LLM_CHAIN) names a model.
bench-extraction: install
	$(UV) run python benchmarks/bench_extraction.py

# The same through a real generative model served offline (SmolLM2-135M-Instruct via xllamacpp):
# proves the real path (schema-constrained JSON, repair, a slow model); too small to judge quality.
bench-extraction-real: install
	$(UV) run --group realmodel python benchmarks/bench_extraction.py --real-model

# Capacity and monthly cost at the seed's two scales, Lambda against containers.
bench-capacity: install
	$(UV) run python benchmarks/capacity.py

clean:
	rm -rf .local .pytest_cache .ruff_cache .aws-sam

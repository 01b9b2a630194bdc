# kefu — `make run` starts the whole product on the embedded defaults; `make test`
# installs what the tests need and runs lint, types and the suite; `make bench`
# measures and appends to bench/RESULTS.md. Each target installs what it needs itself.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WIDGETS := widgets/chat widgets/console

.PHONY: run test bench install frontend system-deps services lint typecheck pytest clean

$(BIN)/kefu: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/kefu

install: $(BIN)/kefu

# Node modules and the built bundles (src/kefu/static/...). Skipped for a widget whose
# folder has no package.json yet.
frontend:
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	@for w in $(WIDGETS); do \
	  if [ -f $$w/package.json ]; then \
	    echo "building $$w"; \
	    (cd $$w && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) || exit 1; \
	  fi; \
	done

# Debian packages the tests drive: Chromium for the browser tests, with CJK and emoji
# fonts so screenshots show Chinese text rather than empty boxes.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/wqy ] || missing="$$missing fonts-wqy-microhei"; \
	[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# PostgreSQL and Redis on loopback: start them if installed but stopped.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  for v in $$(ls /etc/postgresql 2>/dev/null); do $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$v main start || true; done; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || { \
	  mkdir -p /var/lib/redis /var/log/redis; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/ci.log; sleep 1; }

run: install frontend
	mkdir -p var
	$(BIN)/kefu db upgrade
	$(BIN)/kefu demo
	$(BIN)/kefu serve

lint: install
	$(BIN)/ruff check src connectors knowledge tests bench migrations
	$(BIN)/ruff format --check src connectors knowledge tests bench migrations

typecheck: install
	$(BIN)/mypy

# Parallel workers (pytest-xdist): one per core by default, each with its own PostgreSQL
# database; whole files go to one worker, so a module's browser and server are shared.
# PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto

pytest: install frontend system-deps services
	$(BIN)/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck pytest

bench: install frontend services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var src/kefu/static node_modules widgets/*/node_modules

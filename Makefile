# kefu — `make run` starts the whole product on the embedded defaults; `make test`
# installs what the tests need and runs lint, types and the suite; `make bench`
# measures and appends to bench/RESULTS.md. Each target installs what it needs itself.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test bench install frontend system-deps services lint typecheck pytest clean

$(BIN)/kefu: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/kefu

install: $(BIN)/kefu

# Node modules and the built bundles (src/kefu/static/...), rebuilt only when out of date:
# `npm ci` when a package-lock.json is newer than its stamp, a Vite build when any of the
# widget's sources is newer than its bundle. A second `make run` rebuilds nothing.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
CHAT_BUNDLE := src/kefu/static/chat/widget.js
CONSOLE_BUNDLE := src/kefu/static/console/index.html
widget_sources = $(shell find $(1)/src $(wildcard widgets/shared $(1)/scripts) -type f) \
  $(wildcard $(1)/package.json $(1)/tsconfig.json $(1)/vite.config.ts $(1)/vite.call.config.ts $(1)/index.html)

frontend: $(CHAT_BUNDLE) $(CONSOLE_BUNDLE)

# The stamp lives inside node_modules, so deleting node_modules also re-runs `npm ci`.
widgets/%/node_modules/.kefu-npm-ci: widgets/%/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }
	cd widgets/$* && $(NPM_CI)
	touch $@

$(CHAT_BUNDLE): widgets/chat/node_modules/.kefu-npm-ci $(call widget_sources,widgets/chat)
	cd widgets/chat && npm run build --silent
	touch $@

$(CONSOLE_BUNDLE): widgets/console/node_modules/.kefu-npm-ci $(call widget_sources,widgets/console)
	cd widgets/console && npm run build --silent
	touch $@

# Debian packages the tests drive: Chromium for the browser tests, with CJK and emoji
# fonts so screenshots show Chinese text rather than empty boxes; nginx for the soak
# test, which runs its own nginx on free ports (the system service is left stopped).
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/wqy ] || missing="$$missing fonts-wqy-microhei"; \
	[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing="$$missing fonts-noto-color-emoji"; \
	command -v pg_ctlcluster >/dev/null || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	  case "$$missing" in *nginx*) $(SUDO) systemctl disable --now nginx >/dev/null 2>&1 || $(SUDO) service nginx stop >/dev/null 2>&1 || true;; esac; \
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

# Migrate, seed the demo and serve in one process (`kefu db upgrade`, `kefu demo`, then
# `kefu serve`, without importing kefu three times).
run: install frontend
	mkdir -p var
	$(BIN)/kefu serve --migrate --demo

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

# Octopus OIDC Wizard: the two commands of the README.
#
#   make run    install what is missing, build the app, open the wizard window
#   make test   install what is missing, then run every check, in order, stopping at the first failure
#
# Both install Debian/Ubuntu packages with apt-get when run as root or with password-less sudo
# (otherwise they name the packages and the command), npm packages from the lockfiles, and
# tauri-driver with cargo. All Rust builds share one target dir and `make test` compiles every
# dependency once: clippy's lints run inside the debug test build (see LINTED below), and the E2E
# tests drive a debug build of the app that reuses the test build's compiled dependencies (only
# tauri and the app itself are rebuilt, for `custom-protocol`); the optimized release build of
# every dependency is left to `make run`, `make deb` and the start-up benchmark.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

APP := octo-oidc-wizard
# The shared target dir (CARGO_TARGET_DIR when set).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
APP_BIN := $(TARGET_DIR)/release/$(APP)
# The app the E2E tests drive: a debug build sharing the test build's dependencies.
E2E_BIN := $(TARGET_DIR)/debug/$(APP)
# `cargo test` and the E2E app build use the same features (the app embeds ui/dist), so the app
# build finds every dependency already compiled; `--tests` there keeps dev-dependency features
# unified with the test build's.
APP_FEATURES := --features $(APP)/custom-protocol
PHASE := tests/tools/phase.sh

# Clippy's lints in the test build. `cargo clippy -- -D warnings` is `cargo check` with
# clippy-driver as the compiler of the workspace's own crates (RUSTC_WORKSPACE_WRAPPER) and the
# arguments after `--` in CLIPPY_ARGS, joined by `__CLIPPY_HACKERY__`. The driver compiles as
# well as it lints, so `make test` gives it the test build instead (`linted-build`): every
# target of every workspace crate is linted, and no dependency is compiled a second time as
# check metadata (a cold CI run on one machine: 1184 s with a separate clippy phase, ~1060 s this
# way). Every cargo call of `make test` sets it, so they share one build of the workspace
# crates; `make clippy` is the plain command. `tests/tools/clippy-gate.sh` proves the driver
# takes the arguments and denies a warning.
CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
LINTED = RUSTC_WORKSPACE_WRAPPER="$$(command -v clippy-driver)" CLIPPY_ARGS='$(CLIPPY_ARGS)'
MOTO_VERSION := 5.2.5

export CARGO_TERM_COLOR ?= never
export NO_COLOR ?= 1
ifeq ($(CI),true)
# CI builds from scratch once: incremental caches cost time and disk and are never reused.
export CARGO_INCREMENTAL := 0
endif

.PHONY: help run test deps-run deps-test linted-build clippy bindings \
        ui-build release-build e2e e2e-release deb screenshot-readme bench-apply-latency bench-aws-cli bench-startup \
        bench-filter bench-keystroke bench-page-timeline

help:
	@echo "make run    build and open the Octopus OIDC Wizard (installs what is missing)"
	@echo "make test   run every check: fmt, clippy, cargo test, bindings, UI, app build, E2E"
	@echo "make deb    build the .deb installer with the Tauri CLI (target/release/bundle/deb/)"
	@echo "make e2e-release     the E2E suite against the release app (make test drives the debug app)"
	@echo "make bench-startup   start-up time and memory of the release app vs a bare Tauri window"
	@echo "make bench-filter    one keystroke's search over 10,000 projects / 2,000 policies vs 16 ms"
	@echo "make bench-keystroke one keystroke in the release window's Scope, 10,000 projects, vs 16 ms"
	@echo "make bench-page-timeline where the page's start-up time goes (modules, mount, layout, frame)"

# `make run` without a display: one line, before anything is installed or built.
ifneq ($(filter run,$(MAKECMDGOALS)),)
ifeq ($(strip $(DISPLAY)$(WAYLAND_DISPLAY)),)
$(error make run: no display here (DISPLAY is not set), so the wizard window cannot open - run 'make test' instead, which tests it under a virtual display)
endif
endif

# ---- installing what is missing ------------------------------------------------------------

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	npm --prefix ui ci --no-audit --no-fund --loglevel=error
	@touch $@

tests/node_modules/.installed: tests/package.json tests/package-lock.json
	npm --prefix tests ci --no-audit --no-fund --loglevel=error
	@touch $@

# moto_server (local AWS IAM/STS) for the AWS adapter's tests.
.venv/bin/moto_server:
	python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]==$(MOTO_VERSION)'
	@test -x $@

deps-run:
	@tests/tools/system-deps.sh run
	@tests/tools/toolchain.sh
	@$(MAKE) --no-print-directory ui/node_modules/.installed

deps-test:
	@$(PHASE) "install: system packages" tests/tools/system-deps.sh test
	@$(PHASE) "install: toolchain and tauri-driver" tests/tools/toolchain.sh --with-tauri-driver
	@$(PHASE) "install: npm (ui, tests)" $(MAKE) --no-print-directory ui/node_modules/.installed tests/node_modules/.installed
	@$(PHASE) "install: moto_server venv" $(MAKE) --no-print-directory .venv/bin/moto_server

# The UI bundle is rebuilt only when its sources change: a fresh ui/dist makes cargo re-embed
# it, recompiling the app.
UI_SOURCES := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts \
              ui/svelte.config.js ui/tsconfig.json ui/package-lock.json

ui/dist/index.html: ui/node_modules/.installed $(UI_SOURCES)
	npm --prefix ui run --silent build

# ---- make run ------------------------------------------------------------------------------

run: deps-run
	@$(MAKE) --no-print-directory ui/dist/index.html
	cargo build --release -p $(APP) --features custom-protocol
	$(APP_BIN)

# ---- make test -----------------------------------------------------------------------------

test: deps-test
	@$(PHASE) "cargo fmt --check" cargo fmt --all --check
	@$(PHASE) "core has no IO dependencies" tests/tools/check-core-deps.sh
	@$(LINTED) $(PHASE) "clippy gate denies warnings" tests/tools/clippy-gate.sh
	@$(PHASE) "UI type check (svelte-check)" npm --prefix ui run --silent check
	@$(PHASE) "UI unit tests (vitest)" npm --prefix ui run --silent test
	@$(PHASE) "UI build" $(MAKE) --no-print-directory ui/dist/index.html
	@$(LINTED) $(PHASE) "cargo build of every target, with clippy's lints (-D warnings)" \
	  $(MAKE) --no-print-directory linted-build
	@$(LINTED) $(PHASE) "cargo test (D-Bus session, unlocked keyring)" \
	  dbus-run-session -- tests/tools/with-keyring.sh cargo test --workspace --locked $(APP_FEATURES)
	@$(PHASE) "IPC bindings are up to date" $(MAKE) --no-print-directory bindings
	@$(LINTED) $(PHASE) "app build for E2E (debug, shares the test build)" \
	  cargo build --workspace --locked --bins --tests $(APP_FEATURES)
	@$(PHASE) "E2E (WebDriver under Xvfb)" $(MAKE) --no-print-directory e2e
	@echo "make test: all checks passed"

# The test build with clippy's lints (run with $(LINTED)): the targets `cargo test` builds, then
# the benchmarks, which it does not (`--all-targets` would build the examples as tests instead of
# as the programs `cargo test` builds, so the run would compile them again).
linted-build:
	cargo test --workspace --locked $(APP_FEATURES) --no-run
	cargo test --workspace --benches --locked $(APP_FEATURES) --no-run

# The plain clippy run, for use outside `make test` (which lints in its test build).
clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

# `cargo test` (export_bindings) rewrites ui/src/ipc/bindings.ts; a diff means the committed file is stale.
bindings:
	@git ls-files --error-unmatch ui/src/ipc/bindings.ts >/dev/null 2>&1 || { \
	  echo "ui/src/ipc/bindings.ts is not committed; run 'cargo test -p $(APP) export_bindings' and commit it" >&2; exit 1; }
	@git diff --exit-code --stat ui/src/ipc/bindings.ts || { \
	  echo "ui/src/ipc/bindings.ts is stale: commit the regenerated file (cargo test -p $(APP) export_bindings)" >&2; exit 1; }
	@echo "ui/src/ipc/bindings.ts matches the Rust commands"

e2e: tests/node_modules/.installed
	@test -x $(E2E_BIN) || { echo "no app build at $(E2E_BIN); run make test" >&2; exit 1; }
	rm -rf target/e2e-screenshots
	APP_BIN=$(E2E_BIN) xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' npm --prefix tests run --silent e2e

# The release app and the bare window in one build (one set of features, so the benchmark and
# `make e2e-release` share it).
release-build: ui/node_modules/.installed
	@$(MAKE) --no-print-directory ui/dist/index.html
	cargo build --release --locked -p $(APP) -p octo-oidc-bare-window \
	  --features $(APP)/custom-protocol,octo-oidc-bare-window/custom-protocol

# The E2E suite against the release app (the app users get; `make test` drives the debug build,
# because an optimized build of every dependency does not fit CI's time budget).
e2e-release: deps-test release-build
	@$(MAKE) --no-print-directory e2e E2E_BIN=$(APP_BIN)

# Start-up and memory: the release app against a bare Tauri window of the same tauri version
# (benches/bare-window, same workspace, lock file and target dir, so one release build of the
# dependencies serves both), under Xvfb. Prints the medians and the ratios (goal <= 1.2x time,
# <= 1.15x memory), first with caches kept across launches (a user's second launch on), then with
# empty caches (a machine's first launch: every shader compiled afresh).
BENCH_RUNS ?= 15
bench-startup: release-build
	sync # a binary just written out would stall its first launches on writeback
	for caches in warm cold; do \
	  xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' python3 benches/startup.py --caches $$caches \
	    --app $(APP_BIN) --bare $(TARGET_DIR)/release/octo-oidc-bare-window --runs $(BENCH_RUNS); \
	done

# ---- installers and docs -------------------------------------------------------------------

deb: ui/node_modules/.installed
	npm --prefix ui run tauri -- build --bundles deb

# Refreshes the README screenshots from the last E2E run.
screenshot-readme:
	cp target/e2e-screenshots/aws-01-welcome.png docs/screenshot.png
	mkdir -p docs/screenshots
	cp target/e2e-screenshots/aws-09-trust-preview.png docs/screenshots/trust-preview.png
	cp target/e2e-screenshots/aws-10-review-plan.png docs/screenshots/review-plan.png
	cp target/e2e-screenshots/azure-08-apply-failed.png docs/screenshots/apply-failed.png
	cp target/e2e-screenshots/aws-12-verify.png docs/screenshots/verify.png
	cp target/e2e-screenshots/github-09-done.png docs/screenshots/done.png

# ---- benchmarks (print figures; not part of make test) --------------------------------------

# octo-oidc apply with 100 ms on every sandbox request (AWS; Azure with 8 environments) vs the
# longest chain of dependent requests x 100 ms.
bench-apply-latency:
	cargo build --release -p octo-oidc-cli
	OCTO_OIDC=$(TARGET_DIR)/release/octo-oidc python3 tests/bench/apply_latency.py

# One keystroke's search: a list's filter over 10,000 projects and a picker's over 2,000 policies
# (ui/src/lib/*.bench.ts, vitest's bench mode: mean, p99 and max per keystroke), against the goal
# of < 16 ms, one frame at 60 Hz.
bench-filter: ui/node_modules/.installed
	cd ui && npx vitest bench --run

# One keystroke in the release window: the Scope screen's project search over 10,000 projects
# (the Sandbox's large profile) through WebDriver under Xvfb (tests/bench/scope_keystroke.mjs),
# the page's work per keystroke against the goal of < 16 ms.
bench-keystroke: deps-test tests/node_modules/.installed release-build
	APP_BIN=$(APP_BIN) xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' node tests/bench/scope_keystroke.mjs

# Where the wizard page's start-up time goes: the release app launched through WebDriver
# (tests/bench/page_timeline.mjs), the page's clock at each User Timing mark of ui/src/main.ts.
bench-page-timeline: deps-test tests/node_modules/.installed release-build
	APP_BIN=$(APP_BIN) xvfb-run -a -s '-screen 0 1280x800x24 -nolisten tcp' node tests/bench/page_timeline.mjs

# octo-oidc apply against moto vs the AWS CLI's four IAM commands (installs awscli into .venv).
bench-aws-cli: .venv/bin/moto_server
	cargo build --release -p octo-oidc-cli
	OCTO_OIDC=$(TARGET_DIR)/release/octo-oidc python3 tests/bench/aws_cli_moto.py

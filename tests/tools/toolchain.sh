#!/usr/bin/env bash
# Checks the toolchains the build needs and names how to get a missing one: Rust (cargo) and
# Node.js >= 20.19 with npm (Vite 7's minimum). Installs tauri-driver with cargo when asked.
# Usage: tests/tools/toolchain.sh [--with-tauri-driver]
set -euo pipefail

if ! command -v cargo >/dev/null; then
  echo "Rust is missing: install it with rustup (https://rustup.rs), then rerun." >&2
  exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "Node.js 20.19+ with npm is missing: install it (e.g. from your distribution or nodejs.org), then rerun." >&2
  exit 1
fi
node_version=$(node -p 'process.versions.node')
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "Node.js ${node_version} is too old: Vite 7 needs 20.19 or newer." >&2
  exit 1
fi
echo "toolchain: $(cargo --version), node ${node_version}, npm $(npm --version)"

if [ "${1:-}" = "--with-tauri-driver" ] && ! command -v tauri-driver >/dev/null; then
  echo "tauri-driver missing: cargo install tauri-driver --locked --debug"
  # A debug build: it only relays WebDriver calls, and skips the optimizer's compile time.
  cargo install tauri-driver --locked --debug --quiet
fi

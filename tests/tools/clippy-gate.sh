#!/usr/bin/env bash
# Proves that the clippy lints of `make test`'s test build can fail it. `make test` compiles the
# workspace crates with RUSTC_WORKSPACE_WRAPPER=clippy-driver and CLIPPY_ARGS (the way
# `cargo clippy -- -D warnings` runs); an empty wrapper, a driver that no longer reads
# CLIPPY_ARGS, or arguments that do not deny warnings would let every lint through silently.
# This compiles one line that clippy warns about (`len_zero`) with the same driver and arguments
# and expects an error, and without the arguments expects only the warning.
# Usage: RUSTC_WORKSPACE_WRAPPER=... CLIPPY_ARGS=... tests/tools/clippy-gate.sh
set -euo pipefail

driver=${RUSTC_WORKSPACE_WRAPPER:-}
if [ -z "$driver" ] || [ ! -x "$driver" ]; then
  echo "clippy-driver not found (RUSTC_WORKSPACE_WRAPPER='${driver}'): install clippy with 'rustup component add clippy'" >&2
  exit 1
fi
if [ -z "${CLIPPY_ARGS:-}" ]; then
  echo "CLIPPY_ARGS is empty: the test build would not deny clippy's warnings" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'pub fn empty(items: &[u8]) -> bool {\n    items.len() == 0\n}\n' >"$work/gate.rs"
compile() {
  "$driver" "$(command -v rustc)" --crate-type lib --edition 2021 --emit metadata \
    --out-dir "$work" "$work/gate.rs" 2>"$work/stderr"
}

if ! CLIPPY_ARGS= compile; then
  echo "clippy-driver failed on the gate's source without CLIPPY_ARGS:" >&2
  cat "$work/stderr" >&2
  exit 1
fi
if ! grep -q 'clippy::len_zero' "$work/stderr"; then
  echo "clippy-driver ran no clippy lint on the gate's source (expected clippy::len_zero):" >&2
  cat "$work/stderr" >&2
  exit 1
fi
if compile; then
  echo "clippy-driver with CLIPPY_ARGS='${CLIPPY_ARGS}' let a clippy warning through:" >&2
  cat "$work/stderr" >&2
  exit 1
fi
echo "clippy gate: ${driver} lints and CLIPPY_ARGS denies warnings"

#!/usr/bin/env bash
# Architecture check: a pure crate (the core by default; the engine too) stays pure. Fails if `cargo tree -p "$crate"` (normal
# and build dependencies, all features) contains an IO or platform crate.
set -euo pipefail
crate=${1:-octo-oidc-core}
forbidden='^(tauri|tauri-[a-z-]+|wry|tao|reqwest|hyper|tokio|async-std|aws-[a-z-]+|azure_[a-z_]+|keyring|zbus|axum)$'
crates=$("${CARGO:-cargo}" tree -p "$crate" --edges normal,build --all-features --prefix none --format '{p}' |
  awk '{print $1}' | sort -u)
offenders=$(grep -E "$forbidden" <<<"$crates" || true)
if [ -n "$offenders" ]; then
  echo "$crate must do no IO, but depends on: $(tr '\n' ' ' <<<"$offenders")" >&2
  "${CARGO:-cargo}" tree -p "$crate" --edges normal,build --all-features -i "$(head -1 <<<"$offenders")" >&2 || true
  exit 1
fi
echo "$crate: $(wc -l <<<"$crates") crates in its tree, none of them IO (tauri, reqwest, tokio, aws-*, azure_*, keyring)"

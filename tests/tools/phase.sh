#!/usr/bin/env bash
# Runs one phase of `make test` / `.ci/run`: prints a header, runs the command, and prints one
# timing line (`<== name: ok in 12.3 s` or `failed (exit N) after ...`). Exits with the command's status.
# Usage: tests/tools/phase.sh NAME COMMAND [ARGS...]
set -uo pipefail
name=$1
shift
echo "==> ${name}"
start=$(date +%s.%N)
"$@"
status=$?
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
if [ "$status" -eq 0 ]; then
  echo "<== ${name}: ok in ${elapsed} s"
else
  echo "<== ${name}: FAILED (exit ${status}) after ${elapsed} s" >&2
fi
exit "$status"

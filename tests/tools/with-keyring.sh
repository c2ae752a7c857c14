#!/usr/bin/env bash
# Runs a command with a working OS keychain, as a desktop session would have: call it inside
# `dbus-run-session`. Starts gnome-keyring's Secret Service unlocked (its keyring files under a
# scratch HOME in target/, so the user's own keyring is never touched) and gives the command its
# own kernel session keyring (keyutils). Sets OCTO_OIDC_EXPECT_KEYCHAIN=1 so keychain tests
# assert that the keychain works instead of tolerating its absence.
# Usage: dbus-run-session -- tests/tools/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "with-keyring.sh: no D-Bus session; run it inside dbus-run-session" >&2
  exit 1
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
scratch_home="${root}/target/keyring-home"
rm -rf "$scratch_home"
mkdir -p "$scratch_home"
eval "$(printf 'octo-oidc-test' | HOME="$scratch_home" XDG_DATA_HOME="$scratch_home/.local/share" \
  gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL OCTO_OIDC_EXPECT_KEYCHAIN=1
exec keyctl session - "$@"

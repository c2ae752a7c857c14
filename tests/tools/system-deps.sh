#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the wizard needs to build (`run`) or to be tested (`test`),
# when any is missing: with apt-get as root, or through sudo when that works without a prompt.
# Otherwise it names the missing packages and the one command that installs them, and fails.
# Usage: tests/tools/system-deps.sh run|test
set -euo pipefail

# Build: WebKitGTK and GTK headers, the tray library Tauri links, TLS, and the C toolchain.
run_packages=(
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libssl-dev libxdo-dev
  pkg-config build-essential cmake file curl
)
# Test: a virtual display and WebDriver for the window, a D-Bus session with gnome-keyring and
# kernel keyutils for keychain tests, ImageMagick for screenshots, Python venv for moto_server.
test_packages=(
  xvfb xauth x11-utils webkit2gtk-driver dbus dbus-x11 dbus-user-session gnome-keyring keyutils
  libsecret-tools imagemagick python3-venv libgl1-mesa-dri
)

case "${1:-}" in
  run) wanted=("${run_packages[@]}") ;;
  test) wanted=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all ${#wanted[@]} present"
  exit 0
fi

echo "system packages missing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"

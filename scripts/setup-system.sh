#!/usr/bin/env bash
# Installs the system packages a fresh Debian 12 machine lacks for the tests: Debian's Chromium (browser WebGPU via
# SwiftShader) and Mesa 25's lavapipe from the backports suite (Dawn refuses bookworm's Mesa 22). Idempotent: does
# nothing when both are already there, so the test command can call it every time.
set -euo pipefail

have_chromium() { command -v chromium >/dev/null 2>&1; }
# lavapipe's ICD file is what the Vulkan loader reads; Mesa >= 25 is what Dawn accepts.
have_lavapipe() {
  [ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] || return 1
  local v; v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 25
}

if have_chromium && have_lavapipe && ldconfig -p | grep -q 'libvulkan.so.1'; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "setup-system: missing system packages (chromium, Mesa >= 25 lavapipe). Run as root: sudo bash scripts/setup-system.sh" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
# Backports from the same mirror the machine already uses, so no new host is contacted.
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | head -n1 | tr -d ' ' || true)
mirror=${mirror:-http://deb.debian.org/debian}
if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb ${mirror%/} ${codename}-backports main" > /etc/apt/sources.list.d/genpi-backports.list
fi
echo "setup-system: apt-get update" >&2
apt-get update -qq
echo "setup-system: installing chromium and Mesa lavapipe from ${codename}-backports" >&2
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core libvulkan1 >/dev/null
apt-get install -y -qq --no-install-recommends -t "${codename}-backports" mesa-vulkan-drivers >/dev/null
have_lavapipe || { echo "setup-system: Mesa lavapipe >= 25 did not install" >&2; exit 1; }
echo "setup-system: done" >&2

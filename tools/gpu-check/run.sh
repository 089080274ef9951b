#!/usr/bin/env bash
# The GPU check for a lent NVIDIA H100/H200 (no internet, no Node): see README.md beside this file.
#
#   bash tools/gpu-check/run.sh [--stages LIST] [--list]
#
# Every call receives the parts carried in .carry/gpu-check/ (made by prepare.sh) into
# $GPU_CHECK_STAGE/parts (default /tmp/oneshot-em-gpu-check: /tmp outlives the working-tree copy
# between calls while the machine is warm), checks them against SHA256SUMS and unpacks each
# complete set (dawn, ort). Then it runs, in the order below and all within GPU_CHECK_BUDGET_S
# (default 540 s), every stage whose sets are here and that has not run on this machine yet
# (--stages LIST: exactly those, again if they ran). Each stage has its own time cap and writes
# its JSON under $GPU_CHECK_STAGE/results, so a stage that is cut off or fails leaves the others.
# Each call returns in $OUT: gpu-check.log, env.txt, stages.jsonl (every stage so far: rc,
# seconds, cap) and results.tar.gz (every result so far).
# GPU_CHECK_DEVICE=cpu rehearses it all on a machine without a GPU: Dawn on lavapipe, ORT's CPU
# EP, stories260K / qwen2-25m and tiny workloads, nothing installed into /.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

# name|sets it needs|cap seconds — in order of value: what the first ~10 device minutes answer
STAGES=(
  "dawn-adapter|dawn|30"
  "dawn-kernels|dawn|150"
  "dawn-decode-1-bf16|dawn|60"
  "dawn-decode-64|dawn|90"
  "dawn-tests|dawn|120"
  "dawn-1.5b|dawn|300"
  "dawn-decode-1|dawn|60"
  "torch-1.5b|dawn|180"
  "dawn-7b|dawn|300"
  "ort-tests|dawn,ort|150"
  "ort-1.5b|dawn,ort|300"
  "ort-decode-1|dawn,ort|90"
  "ort-decode-64|dawn,ort|120"
  "ort-kernels|dawn,ort|120"
  "ort-7b|dawn,ort|300"
)
names() { for s in "${STAGES[@]}"; do printf '%s ' "${s%%|*}"; done; }

wanted=""
while [ $# -gt 0 ]; do
  case "$1" in
    --stages) wanted="${2:-}"; shift 2 || shift ;;
    --stages=*) wanted="${1#--stages=}"; shift ;;
    --list) for s in "${STAGES[@]}"; do echo "$s"; done; exit 0 ;;
    *) echo "run.sh: unknown option $1 (expected --stages LIST or --list)" >&2; exit 2 ;;
  esac
done
for w in ${wanted//,/ }; do
  case " $(names)" in *" $w "*) ;; *) echo "run.sh: --stages $w: unknown; stages: $(names)" >&2; exit 2 ;; esac
done

device="${GPU_CHECK_DEVICE:-gpu}"
stage_dir="${GPU_CHECK_STAGE:-/tmp/oneshot-em-gpu-check}"
parts="$stage_dir/parts" results="$stage_dir/results" done_dir="$stage_dir/done"
OUT="${OUT:-$stage_dir/out}"
mkdir -p "$parts" "$results" "$done_dir" "$OUT" "$root/.gpu"
exec > >(tee -a "$OUT/gpu-check.log" "$stage_dir/gpu-check.log") 2>&1
deadline=$((SECONDS + ${GPU_CHECK_BUDGET_S:-540}))
log() { printf '[gpu-check %4ss] %s\n' "$SECONDS" "$*"; }

ran_now=() # this call's stages: their JSONs also come back as files, 4 at most (8 files a call)
finish() { # what comes back: this call's log, env.txt, and everything so far
  local n=0 name
  for name in "${ran_now[@]}"; do
    [ "$n" -lt 4 ] && [ -f "$results/$name.json" ] && [ "$(stat -c %s "$results/$name.json")" -lt 1048576 ] &&
      cp -f "$results/$name.json" "$OUT/" && n=$((n + 1))
  done
  [ -f "$stage_dir/stages.jsonl" ] && cp -f "$stage_dir/stages.jsonl" "$OUT/stages.jsonl"
  [ -f "$stage_dir/env.txt" ] && cp -f "$stage_dir/env.txt" "$OUT/env.txt"
  if [ -n "$(ls -A "$results" 2>/dev/null)" ]; then
    tar -czf "$OUT/results.tar.gz" -C "$stage_dir" results
  fi
}
trap finish EXIT

# ---- receive --------------------------------------------------------------------------------
if [ -d .carry/gpu-check ]; then
  for f in .carry/gpu-check/*; do
    [ -f "$f" ] || continue
    # a new SHA256SUMS (another prepare.sh) voids the checks made against the old one
    if [ "$(basename "$f")" = SHA256SUMS ] && ! cmp -s "$f" "$parts/SHA256SUMS"; then rm -f "$parts"/*.ok; fi
    cp -f "$f" "$parts/" && log "received $(basename "$f") ($(du -h "$f" | cut -f1))"
  done
fi
if [ ! -f "$parts/SHA256SUMS" ]; then
  log "no SHA256SUMS yet: carry .carry/gpu-check/SHA256SUMS with the first part"
  exit 0
fi
# complete <set>: SHA256SUMS names parts of it, and every one is here and intact
complete() {
  local ok=0 listed=0 name sum
  while read -r sum name; do
    case "$name" in "$1".tar.xz.*) listed=$((listed + 1)) ;; *) continue ;; esac
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
  [ "$listed" -gt 0 ] || { log "SHA256SUMS names no $1 part (not packed)"; return 1; }
  return $ok
}
# unpack <set> <a path the set brings>: into the repository, again if the tree was laid anew
unpack() {
  if [ -f "$root/.gpu/$1.unpacked" ] && [ -e "$root/$2" ]; then return 0; fi
  log "unpacking the $1 set"
  cat "$parts/$1".tar.xz.[0-9][0-9] | xz -d -T0 | tar -x -C "$root" || { log "unpacking $1 failed"; return 1; }
  touch "$root/.gpu/$1.unpacked"
}
have=""
complete dawn && unpack dawn .gpu/node/bin/node && have="$have dawn"
complete ort && unpack ort packages/backend-ort/node_modules/onnxruntime-node && have="$have ort"
case " $have " in *" dawn "*) ;; *) log "waiting for the dawn parts"; exit 0 ;; esac
export PATH="$root/.gpu/node/bin:$PATH"
binding_dir="$root/packages/backend-ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
have_ep=0
[ -f "$binding_dir/libonnxruntime_providers_cuda.so" ] && have_ep=1

# ---- Vulkan and GL dispatch -----------------------------------------------------------------
# The NVIDIA Vulkan ICD loads libGLX_nvidia.so.0, which needs the GL dispatch libraries
# (libglvnd): without them the loader says "Could not get 'vkCreateInstance' … Found no drivers".
missing_libs=""
for lib in libvulkan.so.1 libGLX.so.0 libGLdispatch.so.0 libEGL.so.1; do
  ldconfig -p | grep -q "$lib" || missing_libs="$missing_libs $lib"
done
if [ -n "$missing_libs" ]; then
  if [ "$device" = gpu ]; then
    log "installing the carried loader and GL dispatch libraries (missing:$missing_libs)"
    for f in "$root"/.gpu/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    log "missing here:$missing_libs (rehearsal: not installing into /)"
  fi
fi
nvidia="${GPU_CHECK_NVIDIA_DIR:-/usr/local/nvidia}" # the driver's read-only mount on the lent machine
icd="$nvidia/share/vulkan/icd.d/nvidia_icd.json"
if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"
fi
egl="$nvidia/share/glvnd/egl_vendor.d/10_nvidia.json"
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg}"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

# CUDA 13 + cuDNN 9 for the CUDA EP: the CUDA toolkit's and the Python wheels' library folders.
if [ "$have_ep" = 1 ]; then
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
fi

gpu_name="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
case "$gpu_name" in
  *H200*) bandwidth=4800 ;;
  *H100*) bandwidth=3350 ;;
  *) bandwidth="" ;;
esac
python="$(command -v python3 || true)"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "device mode: $device"
  echo "node: $(command -v node) $(node --version 2>&1)"
  echo "sets:$have"
  echo "gpu: ${gpu_name:-none} (bandwidth GB/s: ${bandwidth:-unknown})"
  command -v nvidia-smi >/dev/null && nvidia-smi 2>&1 | head -15
  echo "host memory: $(grep MemAvailable /proc/meminfo)"
  echo "vulkan loader: $(ldconfig -p | grep 'libvulkan.so.1' | head -1)"
  echo "GL dispatch: $(ldconfig -p | grep -c 'libGLX.so.0\|libGLdispatch.so.0\|libEGL.so.1') of 3 libraries"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  echo "cuda ep: $([ "$have_ep" = 1 ] && echo "$binding_dir" || echo 'not carried')"
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
  echo "python3: ${python:-none} $("${python:-false}" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' 2>&1 | tail -1)"
  if [ "$have_ep" = 1 ]; then
    # libcudnn.so.9 and libcufft are opened at run time, so ldd cannot vouch for them
    echo "unresolved libraries of the CUDA EP: $(ldd "$binding_dir/libonnxruntime_providers_cuda.so" | grep -c 'not found')"
    ldd "$binding_dir/libonnxruntime_providers_cuda.so" | grep 'not found'
  fi
} >"$stage_dir/env.txt" 2>&1
cat "$stage_dir/env.txt"

# ---- stages ---------------------------------------------------------------------------------
export CI=true
# the workspace packages resolve to their TypeScript sources (their exports' "oneshot-em-source" condition)
export NODE_OPTIONS="--conditions=oneshot-em-source${NODE_OPTIONS:+ $NODE_OPTIONS}"
R="$results"
node_run=(node "$root/node_modules/tsx/dist/cli.mjs")
vitest=(node "$root/node_modules/vitest/vitest.mjs" run)
bench=("${node_run[@]}" tools/bench/bench.ts)
bw=()
[ -n "$bandwidth" ] && bw=(--bandwidth "$bandwidth")
if [ "$device" = gpu ]; then
  ort=ort:cuda ort_device=cuda gpu=(--gpu) m15=qwen2.5-1.5b m7=qwen2.5-7b mtorch=qwen2.5-1.5b
  # 7B on Dawn: the optimizer on the host (ZeRO-offload: f32 master and AdamW m, v in host
  # memory), one micro-batch of one completion, no buffer pool: the plan is 77.3 GB of the
  # H200's 150.7 GB device and 89.5 GiB of its 128 GiB host (all on the device: 144.7 GB);
  # at the paper's 64 × 512, micro-batch 4, it is 125.9 GB device (with the default pool)
  # the 1.5B step as a user runs it on a GPU: the bf16 compute copy (`--dtype auto` for a bf16
  # base), no checkpoint (the save is the Scale issue's, measured on the CPU; its 18.5 GB write
  # would take a third of a session)
  step15=(--no-save) step7=(--effective-batch 1 --micro-batch 1)
  bf16=(--dawn-options '{"dtype":"bf16"}')
  dawn7=(--dawn-options '{"poolBytes":0}' --optimizer-on host)
  dec1=(--gen-batch 1 --new-tokens 128) dec64=(--gen-batch 64 --new-tokens 128)
  torch_wl=() dawn_tests=(src/dawn.conformance.test.ts src/kernels/rope src/kernels/matmul src/kernels/widen src/generate.test.ts src/optimizer-offload.test.ts)
else
  # the rehearsal: the same commands on small shapes (lavapipe is slow)
  ort=ort ort_device=cpu gpu=() m15=stories260K m7=stories260K mtorch=qwen2-25m
  tiny=(--prompt-tokens 8 --new-tokens 16)
  step15=(--effective-batch 4 --micro-batch 2 "${tiny[@]}") bf16=(--dawn-options '{"dtype":"bf16"}') step7=(--effective-batch 2 --micro-batch 1 "${tiny[@]}")
  dawn7=(--dawn-options '{"poolBytes":0}' --optimizer-on host)
  dec1=(--gen-batch 1 --prompt-tokens 8 --new-tokens 8) dec64=(--gen-batch 4 --prompt-tokens 8 --new-tokens 8)
  torch_wl=(--batch 4 --micro-batch 2 --prompt-tokens 8 --new-tokens 16 --decode-tokens 8 --dtype f32)
  # the conformance suite outlasts the cap on a loaded lavapipe (CI runs it there anyway)
  dawn_tests=(src/kernels/rope)
fi

# run_stage <name>: the stage's command (its JSON goes to $R/<name>.json)
run_stage() {
  local j="$R/$1.json"
  case "$1" in
    dawn-adapter) "${node_run[@]}" tools/gpu-check/adapter.ts "$j" ;;
    dawn-tests)
      "${vitest[@]}" --root packages/backend-dawn "${dawn_tests[@]}" \
        --reporter=dot --reporter=json --outputFile.json="$j" ;;
    dawn-1.5b) "${bench[@]}" --backend dawn "${gpu[@]}" --model "$m15" --only scale "${step15[@]}" "${bf16[@]}" --json "$j" ;;
    dawn-decode-1) "${bench[@]}" --backend dawn "${gpu[@]}" --model "$m15" --only generation "${dec1[@]}" "${bw[@]}" --json "$j" ;;
    dawn-decode-1-bf16) "${bench[@]}" --backend dawn "${gpu[@]}" --model "$m15" --only generation "${dec1[@]}" "${bw[@]}" "${bf16[@]}" --json "$j" ;;
    dawn-decode-64) "${bench[@]}" --backend dawn "${gpu[@]}" --model "$m15" --only generation "${dec64[@]}" "${bw[@]}" "${bf16[@]}" --json "$j" ;;
    torch-1.5b)
      "${node_run[@]}" tools/gpu-check/model-config.ts "$mtorch" "$R/$1.config.json" &&
        PYTHONUNBUFFERED=1 "${python:-python3}" tools/gpu-check/torch_em_gpu.py --config "$R/$1.config.json" \
          "${torch_wl[@]}" --json "$j" ;;
    dawn-7b) "${bench[@]}" --backend dawn "${gpu[@]}" --model "$m7" --only scale --no-save "${step7[@]}" "${dawn7[@]}" --json "$j" ;;
    ort-tests)
      ORT_TEST_DEVICE="$ort_device" "${vitest[@]}" --root packages/backend-ort src/ort.conformance.test.ts \
        --reporter=dot --reporter=json --outputFile.json="$j" ;;
    ort-1.5b) "${bench[@]}" --backend "$ort" "${gpu[@]}" --model "$m15" --only scale "${step15[@]}" --json "$j" ;;
    ort-decode-1) "${bench[@]}" --backend "$ort" "${gpu[@]}" --model "$m15" --only generation "${dec1[@]}" "${bw[@]}" --json "$j" ;;
    ort-decode-64) "${bench[@]}" --backend "$ort" "${gpu[@]}" --model "$m15" --only generation "${dec64[@]}" "${bw[@]}" --json "$j" ;;
    dawn-kernels) "${bench[@]}" --backend dawn "${gpu[@]}" --only kernels --repeats 4 "${bw[@]}" --json "$j" ;;
    ort-kernels) "${bench[@]}" --backend "$ort" "${gpu[@]}" --only kernels --repeats 4 "${bw[@]}" --json "$j" ;;
    ort-7b) "${bench[@]}" --backend "$ort" "${gpu[@]}" --model "$m7" --only scale --no-save "${step7[@]}" --json "$j" ;;
  esac
}

# why_not <name> <sets>: prints why the stage cannot run here now (nothing: it can)
why_not() {
  local s
  for s in ${2//,/ }; do
    case " $have " in *" $s "*) ;; *) echo "no $s set"; return ;; esac
  done
  case "$1" in
    ort-*) [ "$device" = gpu ] && [ "$have_ep" = 0 ] && echo "no CUDA EP in the ort set" ;;
    torch-*) "${python:-false}" -c 'import torch, transformers' >/dev/null 2>&1 || echo "no torch + transformers for python3" ;;
    dawn-kernels) [ "$device" = gpu ] || echo "rehearsal: the kernel shapes take minutes on lavapipe" ;;
  esac
  # ORT keeps f32 weights, gradients and AdamW state on the host: 16+ bytes per parameter
  if [ "$1" = ort-7b ] && [ "$device" = gpu ]; then
    local avail
    avail="$(awk '/MemAvailable/ {print $2 * 1024}' /proc/meminfo)"
    awk -v a="$avail" 'BEGIN { exit !(a < 18 * 7615616512) }' && echo "host memory: $avail bytes < 18 B/param of 7.6B"
  fi
}

record() { echo "$1" >>"$stage_dir/stages.jsonl"; }
ran=0
for s in "${STAGES[@]}"; do
  IFS='|' read -r name needs cap <<<"$s"
  if [ -n "$wanted" ]; then
    case ",$wanted," in *",$name,"*) ;; *) continue ;; esac
  elif [ -f "$done_dir/$name" ]; then
    continue
  fi
  reason="$(why_not "$name" "$needs")"
  if [ -n "$reason" ]; then
    log "not now: $name ($reason)"
    # a stage that waits for parts stays pending; one that cannot run here is recorded
    case "$reason" in "no "*" set") ;; *) record "{\"stage\":\"$name\",\"rc\":null,\"skipped\":\"$reason\"}"; touch "$done_dir/$name" ;; esac
    continue
  fi
  left=$((deadline - SECONDS))
  if [ "$left" -lt 20 ]; then
    log "skip $name: the budget is spent"
    record "{\"stage\":\"$name\",\"rc\":null,\"skipped\":\"budget\"}"
    continue
  fi
  [ "$cap" -gt "$left" ] && cap="$left"
  log "stage $name (cap ${cap}s)"
  t0=$SECONDS
  timeout --kill-after=10 "$cap" bash -c "$(declare -p node_run vitest bench gpu bw bf16 step15 step7 dawn7 dec1 dec64 torch_wl dawn_tests 2>/dev/null); $(declare -f run_stage); R='$R' m15='$m15' m7='$m7' mtorch='$mtorch' ort='$ort' ort_device='$ort_device' python='$python' run_stage $name"
  rc=$?
  log "stage $name: rc $rc in $((SECONDS - t0))s"
  record "{\"stage\":\"$name\",\"rc\":$rc,\"seconds\":$((SECONDS - t0)),\"cap\":$cap,\"device\":\"$device\"}"
  touch "$done_dir/$name"
  ran=$((ran + 1))
  ran_now+=("$name")
done
[ "$ran" = 0 ] && log "no stage to run in this call (sets:$have)"
log "done; results in $OUT"

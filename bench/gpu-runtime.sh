#!/usr/bin/env bash
# Runtime benchmark on a CUDA machine: runs bench/runtime.ts with the CUDA backend required (no silent CPU
# fallback) and saves bench/results/runtime-gpu.json.
#
#   bench/gpu-runtime.sh                                  # tiny generated model
#   AITBC_GGUF=/models/llama-3.2-3b-q4_k_m.gguf bench/gpu-runtime.sh   # plus a real model
#
# Needs Node >= 22.13 and `npm ci` done on that machine (node-llama-cpp ships prebuilt CUDA binaries; nothing is
# compiled or downloaded).
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 22 ]; then
  echo "Node >= 22.13 is required (found $(node --version)); run: npx -y -p node@22 -c 'bench/gpu-runtime.sh'" >&2
  exit 1
fi

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
  echo "warning: nvidia-smi not found; the CUDA backend will probably fail to load" >&2
fi

out=bench/results/runtime-gpu.json
AITBC_BENCH_GPU=cuda AITBC_BENCH_OUT="$out" ./node_modules/.bin/hardhat run --no-compile bench/runtime.ts

device=$(node -p "JSON.parse(require('fs').readFileSync('$out', 'utf8')).runtime_device")
if [ "$device" != "cuda" ]; then
  echo "expected runtime_device cuda in $out, got $device" >&2
  exit 1
fi
echo "GPU benchmark saved to $out"

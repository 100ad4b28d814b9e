#!/usr/bin/env bash
# Decode (batch 1) and prefill (512-token prompt) speed of the qwen2.5-0.5b shape in bf16 and f32, each beside
# the machine limits measured in the same run (read bandwidth for decode, FMA peak for prefill).
# Writes bench/results/model-qwen2.5-0.5b.md. Usage: bench/model-bench.sh [threads]
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}
model="$cache/bench/qwen2.5-0.5b-bf16"
out=bench/results/model-qwen2.5-0.5b.md

dotnet build src/VllmSharp.Cli -c Release -nologo -v q
cli() { dotnet src/VllmSharp.Cli/bin/Release/net10.0/vllmsharp.dll "$@"; }
[ -f "$model/config.json" ] || cli create-model --preset qwen2.5-0.5b --dtype bfloat16 -o "$model"

{
  echo "# qwen2.5-0.5b shape: prefill and decode vs machine limits"
  echo
  echo "Run: \`bench/model-bench.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)."
  echo
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB;" \
       "flags: $(grep -o -w -E 'avx512f|avx512_bf16|avx512_vnni|avx2|fma|f16c' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo
  for dtype in bfloat16 float32; do
    echo "## --dtype $dtype"
    echo
    echo '```'
    cli bench latency "$model" --dtype "$dtype" --input-len 512 --output-len 128 --batch-size 1 \
        --num-iters-warmup 1 --num-iters 3 --measure-limits 2>/dev/null
    echo '```'
    echo
  done
} | tee "$out"

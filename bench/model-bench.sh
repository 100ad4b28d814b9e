#!/usr/bin/env bash
# Decode (batch 1) and prefill (512-token prompt) speed of the qwen2.5-0.5b shape in bf16 and f32, each beside
# the machine limits measured in the same run (read bandwidth for decode, FMA peak for prefill).
# Writes bench/results/model-qwen2.5-0.5b.md. Usage: bench/model-bench.sh
source "$(dirname "$0")/common.sh"
out=bench/results/model-qwen2.5-0.5b.md

{
  echo "# qwen2.5-0.5b shape: prefill and decode vs machine limits"
  echo
  echo "Run: \`bench/model-bench.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)."
  echo
  echo "Machine: $machine;" \
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

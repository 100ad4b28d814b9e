#!/usr/bin/env bash
# Engine throughput for the qwen2.5-0.5b shape in bf16: single-stream decode (bench latency, batch 1) and
# aggregate throughput of 8 and 32 concurrent requests (bench throughput, input 256, output 128), with the FMA
# peak measured in the same run. Writes bench/results/engine-qwen2.5-0.5b.md. Usage: bench/engine-bench.sh
source "$(dirname "$0")/common.sh"
out=bench/results/engine-qwen2.5-0.5b.md
engine=(--kv-cache-memory 2GiB --max-model-len 4096)

{
  echo "# qwen2.5-0.5b shape, bf16: single stream vs concurrent requests"
  echo
  echo "Run: \`bench/engine-bench.sh\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)."
  echo "Machine: $machine."
  echo
  echo "## Single stream (bench latency, input 256, output 128, batch 1)"
  echo '```'
  cli bench latency "$model" --input-len 256 --output-len 128 --batch-size 1 --num-iters 3 2>/dev/null
  echo '```'
  for n in 8 32; do
    echo
    echo "## $n concurrent requests (bench throughput, input 256, output 128)"
    echo '```'
    cli bench throughput "$model" --input-len 256 --output-len 128 --num-prompts "$n" --measure-limits "${engine[@]}" 2>/dev/null
    echo '```'
  done
} | tee "$out"

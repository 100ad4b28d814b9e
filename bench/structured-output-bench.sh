#!/usr/bin/env bash
# Structured-output overhead on the qwen2.5-0.5b shape (bf16 test model, real Qwen tokenizer), issue #8 item 6:
#   - first-request compile of a typical 7-property JSON schema, in fresh processes: without the vocabulary trie
#     (as before it was prewarmed) and after the engine-start prewarm;
#   - decode tok/s, JSON-schema-constrained vs unconstrained, at batch 1 and with 16 concurrent requests,
#     temperature 1.0 with fixed seeds, after a first constrained request.
# Writes bench/results/structured-output.md. Usage: bench/structured-output-bench.sh [max_tokens] [batch-1 reps]
# (defaults 64 and 5). The engine and the walk are single processes; run on an otherwise idle machine.
source "$(dirname "$0")/common.sh"
out=bench/results/structured-output.md
tokens=${1:-64}
reps=${2:-5}
batch=16
art=${VLLMSHARP_BENCH_ARTIFACTS:-/tmp/vllmsharp-structured-bench}
dotnet build bench/VllmSharp.StructuredBench -c Release --artifacts-path "$art" -nologo -v q
sbench() { dotnet "$art/bin/VllmSharp.StructuredBench/release/structured-bench.dll" "$@"; }

lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
sbench compile "$model" cold >> "$lines"
sbench compile "$model" prewarm >> "$lines"
sbench decode "$model" "$tokens" "$reps" "$batch" >> "$lines"

{
  echo "# Structured outputs: constraint overhead, qwen2.5-0.5b shape (bf16), Qwen tokenizer"
  echo
  echo "Run: \`bench/structured-output-bench.sh $tokens $reps\` on $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo "(no git)")."
  echo "Machine: $machine."
  echo
  sbench report < "$lines"
  echo
  echo "Method: compile numbers come from fresh processes (JIT included, as a server's first constrained request)."
  echo "\"First walk\" draws up to 2,048 tokens uniformly among the allowed ones, computing each new DFA state's mask;"
  echo "the steady-state column repeats the same walk, so every mask is a cache hit (lookup + advance per token)."
  echo "Decode: unconstrained requests ignore EOS and run to max_tokens; constrained ones use"
  echo "\`{\"notes\": [string, ...]}\` (minItems 4, no maxItems) and their generated tokens are counted (in parentheses)."
  echo "Batch 1: $reps back-to-back pairs (unconstrained request, constrained request); tok/s = tokens after the first /"
  echo "(last token − first token). Batch $batch: 2 pairs of one Generate call with $batch requests each; tok/s = tokens"
  echo "after each request's first / (latest last token − latest first token). tok/s columns pool all runs of a mode;"
  echo "the slowdown is the median over the pairs of (1 − constrained / unconstrained tok/s)."
} | tee "$out"

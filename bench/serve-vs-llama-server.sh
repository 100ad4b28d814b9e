#!/usr/bin/env bash
# Serving benchmark: `vllmsharp serve` vs llama.cpp's `llama-server` on the same GGUF files, one after the other on the
# same loopback port, measured by the same client (`vllmsharp bench serve`, vLLM's `vllm bench serve` method):
# random dataset, input 256, output 128, --ignore-eos, at concurrency 1, 4, 16 and 64, each after an unmeasured
# warm-up wave (min(C, 16) requests, output 16). Writes
# bench/results/serve-vs-llama-server.md (both engines' figures and the ours/llama ratios, with machine info).
#
# Usage: bench/serve-vs-llama-server.sh [LLAMA_SRC_DIR]
#   LLAMA_SRC_DIR   llama.cpp source folder (default: bench/llamacpp-build.sh fetches and builds its own).
# Environment (optional):
#   CONCURRENCIES="1 4 16 64"   QUANTS="q8_0 q4_k_m"   PORT=18000   ENGINES="vllmsharp llama-server"
#   NUM_PROMPTS=N (default per concurrency: max(16, min(2·C, 64)), so one run takes about two minutes or less)
#   VLLMSHARP_DLL=path/to/vllmsharp.dll uses that build of the CLI instead of building src/VllmSharp.Cli
#   LLAMA_SERVER_ARGS="--poll 0" extra llama-server flags;  RUN_TAG=x keeps raw results apart;  OUT=file.md
#   SKIP_EXISTING=1 keeps results already saved for an engine/quant/C and measures only the missing ones
#   VLLMSHARP_CACHE (default ~/.cache/vllmsharp): models, builds and raw JSON results go under $VLLMSHARP_CACHE/bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src_dir=${1:-}
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}
work="$cache/bench/serve-vs-llama"
raw="$work/results${RUN_TAG:+-$RUN_TAG}"
mkdir -p "$work" "$raw"
concurrencies=${CONCURRENCIES:-"1 4 16 64"}
quants=${QUANTS:-"q8_0 q4_k_m"}
engines=${ENGINES:-"vllmsharp llama-server"}
port=${PORT:-18000}
input_len=256
output_len=128
out=${OUT:-bench/results/serve-vs-llama-server.md}
log() { echo "[serve-vs-llama] $*" >&2; }

# --- llama.cpp: built (or reused) by bench/llamacpp-build.sh, whose last stdout line is its bin folder ---------------
if [ -f bench/llamacpp-build.sh ]; then
  bin=$(bash bench/llamacpp-build.sh ${src_dir:+"$src_dir"} | tail -n 1)
else
  bin="$cache/llama.cpp/build/bin"
  log "bench/llamacpp-build.sh not found; reusing $bin"
fi
[ -x "$bin/llama-quantize" ] || { log "no llama-quantize in '$bin'"; exit 1; }
if [ ! -x "$bin/llama-server" ]; then
  # The shared build may have the server switched off: add that one target (no web UI, nothing downloaded).
  build_dir=$(dirname "$bin")
  llama_src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build_dir/CMakeCache.txt")
  log "building llama-server in $build_dir"
  cmake -S "$llama_src" -B "$build_dir" -DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF >&2
  cmake --build "$build_dir" --target llama-server -j "$(nproc)" >&2
fi
llama_version=$("$bin/llama-server" --version 2>&1 | grep -m1 -i version || echo unknown)

# --- our CLI, in its own artifacts folder so concurrent builds in the tree do not collide ----------------------------
if [ -n "${VLLMSHARP_DLL:-}" ]; then
  dll=$VLLMSHARP_DLL # a build made beforehand (e.g. while the tree is being edited)
else
  dotnet build src/VllmSharp.Cli -c Release --artifacts-path "$work/art" -nologo -v q >&2
  dll="$work/art/bin/VllmSharp.Cli/release/vllmsharp.dll"
fi
cli() { dotnet "$dll" "$@"; }

# --- models: our f16 GGUF of the qwen2.5-0.5b shape, quantized by llama.cpp itself -----------------------------------
f16="$work/qwen2.5-0.5b-f16.gguf"
[ -f "$f16" ] || cli create-model --preset qwen2.5-0.5b --format gguf --dtype f16 -o "$f16" >&2
gguf_of() {
  local q=$1 file="$work/qwen2.5-0.5b-$1.gguf"
  if [ ! -f "$file" ]; then
    local type
    case $q in q8_0) type=Q8_0 ;; q4_k_m) type=Q4_K_M ;; f16) echo "$f16"; return ;; *) type=${q^^} ;; esac
    "$bin/llama-quantize" "$f16" "$file.tmp" "$type" >"$work/quantize-$q.log" 2>&1
    mv "$file.tmp" "$file"
  fi
  echo "$file"
}

server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT

port_busy() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/health"; }

# Starts one engine on $port and waits (≤ 5 min) until /health answers 200; returns 1 if the server died instead.
# The port must be free first, so a leftover server can never answer for the one under test.
start_server() {
  local engine=$1 gguf=$2 c=$3 logfile=$4
  for _ in $(seq 1 150); do port_busy || break; sleep 0.2; done
  if port_busy; then log "port $port is still in use"; return 1; fi
  if [ "$engine" = vllmsharp ]; then
    # dotnet directly (not the cli function): $! must be the server process itself so that stop_server ends it.
    dotnet "$dll" serve "$gguf" --host 127.0.0.1 --port "$port" --disable-log-requests >"$logfile" 2>&1 &
  else
    # -np slots = concurrency, continuous batching (default), 2 threads, context for every slot's prompt + output.
    # shellcheck disable=SC2086 # LLAMA_SERVER_ARGS is a word list on purpose
    "$bin/llama-server" -m "$gguf" --host 127.0.0.1 --port "$port" -np "$c" -t 2 -tb 2 -c $((c * (input_len + output_len + 64))) \
      ${LLAMA_SERVER_ARGS:-} >"$logfile" 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 1 1500); do
    kill -0 "$server_pid" 2>/dev/null || { server_pid=""; return 1; }
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; then
      sleep 1
      kill -0 "$server_pid" 2>/dev/null && return 0 # still alive: it is the one that answered
      server_pid=""
      return 1
    fi
    sleep 0.2
  done
  stop_server
  return 1
}

# The value of the first series of our /metrics (Prometheus text) whose line starts with $1.
metric() { awk -v s="$1" 'index($0, s) == 1 { print $NF }' "$2"; }

# Our server's GC work during one run, from /metrics before and after it: collections per generation per 1,000
# generated tokens, GC pause time, and the process's peak resident memory (VmHWM).
gc_report() {
  local before=$1 after=$2 pid=$3
  delta() { awk -v a="$(metric "$1" "$before" | head -1)" -v b="$(metric "$1" "$after" | head -1)" 'BEGIN { print b - a }'; }
  local hwm
  hwm=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo "?")
  echo "$(delta 'vllm:generation_tokens_total{model_name') $(delta 'dotnet_collection_count_total{generation="0"}')" \
    "$(delta 'dotnet_collection_count_total{generation="1"}') $(delta 'dotnet_collection_count_total{generation="2"}')" \
    "$(delta dotnet_gc_pause_seconds_total) $hwm"
}

# A number from the one-line result JSON that bench serve saves.
field() { sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p" "$1"; }

for q in $quants; do
  gguf=$(gguf_of "$q")
  for c in $concurrencies; do
    n=${NUM_PROMPTS:-$(( c * 2 > 64 ? 64 : (c * 2 < 16 ? 16 : c * 2) ))}
    for engine in $engines; do
      name="$engine-$q-c$c"
      if [ -n "${SKIP_EXISTING:-}" ] && [ -f "$raw/$name.json" ]; then log "$name: reusing $raw/$name.json"; continue; fi
      log "$name: $n prompts"
      rm -f "$raw/$name.json" "$raw/$name.failed"
      if ! start_server "$engine" "$gguf" "$c" "$work/$name.server.log"; then
        log "$name: the server did not start (see $work/$name.server.log)"
        echo "server did not start: $(grep -m1 -iE 'error|exception|not supported' "$work/$name.server.log" | cut -c1-120 | tr '|' '/')" >"$raw/$name.failed"
        continue
      fi
      # Warm-up, not measured, the same for both engines: a short wave at this concurrency (JIT tiers, buffers sized
      # for the batch, the GC's budgets), so the measured run shows steady state.
      cli bench serve --base-url "http://127.0.0.1:$port" --tokenizer "$gguf" --dataset-name random \
        --random-input-len $input_len --random-output-len 16 --ignore-eos --num-prompts "$(( c < 16 ? c : 16 ))" --max-concurrency "$c" \
        --seed 1 --disable-tqdm >/dev/null 2>&1 || true
      [ "$engine" = vllmsharp ] && curl -s "http://127.0.0.1:$port/metrics" >"$work/$name.metrics-before"
      cli bench serve --base-url "http://127.0.0.1:$port" --tokenizer "$gguf" --dataset-name random \
        --random-input-len $input_len --random-output-len $output_len --ignore-eos --num-prompts "$n" --max-concurrency "$c" \
        --seed 0 --percentile-metrics ttft,tpot,itl,e2el --disable-tqdm --label "$engine" \
        --save-result --result-dir "$raw" --result-filename "$name.json" | tee "$work/$name.bench.txt" >&2 || true
      if [ "$engine" = vllmsharp ]; then
        curl -s "http://127.0.0.1:$port/metrics" >"$work/$name.metrics-after"
        gc_report "$work/$name.metrics-before" "$work/$name.metrics-after" "$server_pid" >"$raw/$name.gc"
      fi
      stop_server
      [ -f "$raw/$name.json" ] || echo "bench failed (see $work/$name.bench.txt)" >"$raw/$name.failed"
    done
  done
done

# The table is built from the saved results, so a rerun with SKIP_EXISTING=1 only measures what is missing.
rows=()
for q in $quants; do
  for c in $concurrencies; do
    for engine in $engines; do
      j="$raw/$engine-$q-c$c.json"
      if [ -f "$j" ]; then
        rows+=("$engine|$q|$c|$(field "$j" num_prompts)|$(field "$j" completed)|$(field "$j" failed)|$(field "$j" output_throughput)|$(field "$j" median_ttft_ms)|$(field "$j" median_tpot_ms)|$(field "$j" median_itl_ms)|$(field "$j" duration)")
      elif [ -f "$raw/$engine-$q-c$c.failed" ]; then
        rows+=("$engine|$q|$c||$(cat "$raw/$engine-$q-c$c.failed")")
      fi
    done
  done
done

# --- report ---------------------------------------------------------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet 2>/dev/null || commit="$commit (with uncommitted changes)"
{
  echo "# vllmsharp serve vs llama-server (qwen2.5-0.5b shape, GGUF)"
  echo
  echo "Run: \`bench/serve-vs-llama-server.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit."
  echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB."
  echo "llama.cpp: $llama_version; \`llama-server -np C -t 2 -tb 2 -c C×(${input_len}+${output_len}+64) ${LLAMA_SERVER_ARGS:-}\` (continuous batching)."
  echo "Ours: \`vllmsharp serve X.gguf\` with default flags."
  echo "Client: \`vllmsharp bench serve --dataset-name random --random-input-len $input_len --random-output-len $output_len --ignore-eos --max-concurrency C\`,"
  echo "identical prompts for both engines (seed 0, token lengths from the GGUF's tokenizer); the f16 GGUF is written by"
  echo "\`vllmsharp create-model --format gguf\` and quantized by llama.cpp's \`llama-quantize\`."
  echo "Each measured run follows an unmeasured warm-up wave on the same server (min(C, 16) requests, output 16 tokens)."
  echo "Timings on a shared 2-core machine are noisy: compare the two engines only within this one run."
  echo
  echo "| engine | quant | C | prompts | ok | failed | output tok/s | median TTFT (ms) | median TPOT (ms) | median ITL (ms) | duration (s) |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for r in "${rows[@]}"; do
    IFS='|' read -r e q c n rest <<<"$r"
    if [[ $rest == *"|"* ]]; then
      IFS='|' read -r ok failed tput ttft tpot itl dur <<<"$rest"
      printf '| %s | %s | %s | %s | %s | %s | %.2f | %.1f | %.2f | %.2f | %.1f |\n' "$e" "$q" "$c" "$n" "$ok" "$failed" "$tput" "$ttft" "$tpot" "$itl" "$dur"
    else
      echo "| $e | $q | $c | $n | $rest | | | | | | |"
    fi
  done
  echo
  echo "## Ratios (ours / llama-server)"
  echo
  echo "Output throughput: higher is better for us (> 1 = faster). TTFT and TPOT: lower is better (< 1 = faster)."
  echo
  echo "| quant | C | output tok/s | median TTFT | median TPOT |"
  echo "|---|---:|---:|---:|---:|"
  for q in $quants; do
    for c in $concurrencies; do
      ours="" theirs=""
      for r in "${rows[@]}"; do
        IFS='|' read -r e rq rc _ ok _ tput ttft tpot _ <<<"$r"
        [ "$rq" = "$q" ] && [ "$rc" = "$c" ] && [[ $ok =~ ^[0-9]+$ ]] || continue
        [ "$e" = vllmsharp ] && ours="$tput $ttft $tpot"
        [ "$e" = llama-server ] && theirs="$tput $ttft $tpot"
      done
      if [ -n "$ours" ] && [ -n "$theirs" ]; then
        awk -v q="$q" -v c="$c" -v a="$ours" -v b="$theirs" 'BEGIN { split(a, x, " "); split(b, y, " ");
          printf "| %s | %s | %.2f× | %.2f× | %.2f× |\n", q, c,
            (y[1] > 0 ? x[1] / y[1] : 0), (y[2] > 0 ? x[2] / y[2] : 0), (y[3] > 0 ? x[3] / y[3] : 0) }'
      else
        echo "| $q | $c | n/a | n/a | n/a |"
      fi
    done
  done
  echo
  echo "## Our garbage collector during each run (from /metrics before and after it)"
  echo
  echo "Collections per generation per 1,000 generated tokens in the measured run (after the warm-up wave; prefill"
  echo "included), total GC pause, and the server's peak resident memory."
  echo
  echo "| quant | C | generated tokens | gen0 | gen1 | gen2 | gen0 / 1k tok | gen2 / 1k tok | GC pause (s) | peak RSS (MB) |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for q in $quants; do
    for c in $concurrencies; do
      f="$raw/vllmsharp-$q-c$c.gc"
      [ -s "$f" ] || continue
      read -r tokens g0 g1 g2 pause hwm <"$f"
      awk -v q="$q" -v c="$c" -v t="$tokens" -v g0="$g0" -v g1="$g1" -v g2="$g2" -v p="$pause" -v h="$hwm" 'BEGIN {
        printf "| %s | %s | %d | %d | %d | %d | %.2f | %.2f | %s | %s |\n", q, c, t, g0, g1, g2, (t > 0 ? 1000 * g0 / t : 0), (t > 0 ? 1000 * g2 / t : 0), p, h }'
    done
  done
  echo
  echo "Raw results (vLLM's JSON keys): \`$raw/<engine>-<quant>-c<C>.json\`; server logs next to them."
} >"$out"
log "wrote $out"
cat "$out"

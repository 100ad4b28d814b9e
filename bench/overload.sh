#!/usr/bin/env bash
# Overload benchmark (issue 7 item 4): `vllmsharp serve` on the qwen2.5-0.5b-shaped test model with --max-num-seqs 8
# takes 200 concurrent streaming requests (`vllmsharp bench serve --request-rate inf`), twice per server: once without a
# queue limit and once with --max-waiting-requests 16. While each burst runs, the server's RSS (/proc/PID/status VmRSS
# and RssAnon) and the latency of GET /health are sampled every 0.5 s. Writes bench/results/overload.md: RSS at start,
# peak and end of each burst, the kernel's VmHWM per server, completed/refused/other-failed counts, /health latency.
#
# Usage: bench/overload.sh
# Environment (optional): NUM_PROMPTS=200  MAX_NUM_SEQS=8  MAX_WAITING=16  INPUT_LEN=32  OUTPUT_LEN=16  PORT=18100
#   KV_CACHE=128MiB (small on purpose: the block pool is cycled through within a round, so its first-touch growth ends)
#   VLLMSHARP_CACHE (default ~/.cache/vllmsharp): the model, the build and raw JSON results go under $VLLMSHARP_CACHE/bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}
work="$cache/bench/overload"
mkdir -p "$work"
num_prompts=${NUM_PROMPTS:-200}
max_num_seqs=${MAX_NUM_SEQS:-8}
max_waiting=${MAX_WAITING:-16}
input_len=${INPUT_LEN:-32}
output_len=${OUTPUT_LEN:-16}
port=${PORT:-18100}
kv_cache=${KV_CACHE:-128MiB}
out=bench/results/overload.md
log() { echo "[overload] $*" >&2; }
for tool in curl jq; do command -v $tool >/dev/null || { log "needs $tool"; exit 1; }; done

# Our CLI in its own artifacts folder, so concurrent builds in the tree do not collide.
dotnet build src/VllmSharp.Cli -c Release --artifacts-path "$work/art" -nologo -v q >&2
dll="$work/art/bin/VllmSharp.Cli/release/vllmsharp.dll"
cli() { dotnet "$dll" "$@"; }
model="$cache/bench/qwen2.5-0.5b-bf16"
[ -f "$model/config.json" ] || cli create-model --preset qwen2.5-0.5b --dtype bfloat16 -o "$model" >&2

server_pid="" sampler_pid=""
stop_all() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  server_pid="" sampler_pid=""
}
trap stop_all EXIT

rss_kib() { awk -v f="${2:-VmRSS}:" '$1 == f {print $2}' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

# Samples "seconds vmrss_kib rssanon_kib health_ms health_status" every 0.5 s until killed.
sample() {
  local pid=$1 file=$2 t0 ms code
  t0=$(date +%s.%N)
  while kill -0 "$pid" 2>/dev/null; do
    read -r code ms < <(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port/health" || echo "000 5")
    echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') $(rss_kib "$pid") $(rss_kib "$pid" RssAnon) $(awk -v s="$ms" 'BEGIN{printf "%.1f", s*1000}') $code" >>"$file"
    sleep 0.5
  done
}

# burst LABEL ROUND: one burst of $num_prompts requests against the running server; appends one table row.
rows=()
burst() {
  local label=$1 round=$2
  local samples="$work/samples-$label-$round.txt" result="$work/result-$label-$round.json"
  rm -f "$samples" "$result"
  local rss_start anon_start; rss_start=$(rss_kib "$server_pid"); anon_start=$(rss_kib "$server_pid" RssAnon)
  sample "$server_pid" "$samples" &
  sampler_pid=$!
  log "$label round $round: $num_prompts concurrent streaming requests"
  cli bench serve --port "$port" --model qwen --tokenizer "$model" --endpoint /v1/completions --dataset-name random \
    --random-input-len "$input_len" --random-output-len "$output_len" --ignore-eos --num-prompts "$num_prompts" --seed "$round" \
    --request-rate inf --percentile-metrics ttft,tpot,e2el --metric-percentiles 50,99 --disable-tqdm \
    --save-result --save-detailed --result-dir "$work" --result-filename "result-$label-$round.json" >"$work/bench-$label-$round.log" 2>&1 \
    || log "$label: bench serve exited with $? (see $work/bench-$label-$round.log)"
  [ -f "$result" ] || { log "$label: no result JSON"; exit 1; }
  # Idle again: let the last responses flush, then read the end state.
  sleep 3
  local rss_end anon_end; rss_end=$(rss_kib "$server_pid"); anon_end=$(rss_kib "$server_pid" RssAnon)
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""

  local completed failed refused other peak duration polls health_max health_p50 health_bad
  completed=$(jq '.completed' "$result"); failed=$(jq '.failed' "$result")
  refused=$(jq '[.errors[] | select(. != null and startswith("HTTP 503"))] | length' "$result")
  other=$((failed - refused))
  duration=$(jq '.duration | . * 10 | round / 10' "$result")
  peak=$(awk 'max < $2 {max = $2} END {print max}' "$samples")
  polls=$(wc -l <"$samples")
  health_max=$(awk 'max < $4 {max = $4} END {printf "%.0f", max}' "$samples")
  health_p50=$(awk '{print $4}' "$samples" | sort -n | awk '{a[NR]=$1} END {printf "%.0f", a[int((NR+1)/2)]}')
  health_bad=$(awk '$5 != 200' "$samples" | wc -l)
  log "$label round $round: completed $completed, refused $refused, other failures $other; RSS $(mib "$rss_start") -> peak $(mib "$peak") -> $(mib "$rss_end") MiB"
  rows+=("| $label | $round | $completed | $refused | $other | $duration | $(mib "$rss_start") ($(mib "$anon_start")) | $(mib "$peak") | $(mib "$rss_end") ($(mib "$anon_end")) | $polls | $health_p50 | $health_max | $health_bad |")
  if [ "$other" -ne 0 ] || [ $((completed + refused)) -ne "$num_prompts" ]; then
    log "$label: requests lost or failed otherwise; first error: $(jq -r '[.errors[] | select(. != null and (startswith("HTTP 503") | not))][0]' "$result")"
  fi
}

# run LABEL [serve flags...]: one fresh server, two bursts (the second shows whether memory keeps growing), then stop.
hwms=()
run() {
  local label=$1; shift
  log "$label: starting the server"
  # dotnet itself in the background (not the cli function, whose $! would be a subshell): $! is the server's PID.
  dotnet "$dll" serve "$model" --port "$port" --host 127.0.0.1 --served-model-name qwen --max-num-seqs "$max_num_seqs" \
    --max-model-len 512 --kv-cache-memory "$kv_cache" --disable-log-requests --disable-uvicorn-access-log --disable-log-stats "$@" \
    >"$work/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.5; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/health" || { log "server did not start; see $work/server-$label.log"; exit 1; }
  sleep 1
  burst "$label" 1
  burst "$label" 2
  hwms+=("$label: $(mib "$(rss_kib "$server_pid" VmHWM)") MiB")
  stop_all
}

run unlimited
run "max-waiting-$max_waiting" --max-waiting-requests "$max_waiting"

machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
{
  echo "# Overload: $num_prompts concurrent streaming requests, --max-num-seqs $max_num_seqs"
  echo
  echo "Generated by \`bench/overload.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $machine; commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + local changes')."
  echo
  echo "\`vllmsharp serve\` on the qwen2.5-0.5b-shaped bf16 test model (\`create-model --preset qwen2.5-0.5b\`, weights memory-mapped),"
  echo "\`--max-num-seqs $max_num_seqs --max-model-len 512 --kv-cache-memory $kv_cache\`; the client is \`vllmsharp bench serve\` (\`/v1/completions\`,"
  echo "streaming, random prompts of $input_len tokens, $output_len output tokens with \`--ignore-eos\`, all $num_prompts sent at once). One fresh"
  echo "server per run, two bursts (rounds) per server. RSS is the server's VmRSS (in brackets: RssAnon, i.e. without the"
  echo "mapped weight file), sampled every 0.5 s together with one \`GET /health\`; \"end\" is 3 s after the last response."
  echo "\"refused\" = 503 (\`--max-waiting-requests\`); \"other\" = any other failure (wrong status, broken stream, error event):"
  echo "must be 0, and completed + refused must be $num_prompts."
  echo
  echo "| run | round | completed | refused (503) | other failed | duration s | RSS start MiB (anon) | RSS peak MiB | RSS end MiB (anon) | /health polls | /health p50 ms | /health max ms | /health non-200 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Kernel high-water mark (VmHWM) per server: $(printf '%s; ' "${hwms[@]}" | sed 's/; $//')."
  echo
  echo "Raw samples, server logs and the bench JSON: \`$work\`."
} >"$out"
log "wrote $out"
cat "$out"

#!/usr/bin/env bash
# Single-stream speed against llama.cpp, in ONE run on ONE machine, on the SAME GGUF files:
#   llama.cpp:  llama-bench -m X.gguf -p 512 -n 128 -t 2
#   VllmSharp:  vllmsharp bench latency X.gguf --input-len 512 --output-len 128 --batch-size 1 --measure-limits
# for the qwen2.5-0.5b and llama-3.2-1b shapes × {f16, q8_0, q4_k}. The f16 file comes from our writer
# (`create-model --format gguf`), q8_0 / q4_k from it through llama.cpp's llama-quantize (Q8_0, Q4_K_M).
# The two engines alternate per file for SPEED_ROUNDS rounds and each keeps its best round, so a neighbour's load
# or a bandwidth drift hits both about equally; only ratios from one run mean anything (DESIGN.md §6). Writes bench/results/gguf-vs-llamacpp.md.
#
#   bench/gguf-vs-llamacpp.sh [LLAMA_CPP_SRC_DIR]
#
# Environment: SPEED_PRESETS ("qwen2.5-0.5b llama-3.2-1b"), SPEED_DTYPES ("f16 q8_0 q4_k"), SPEED_THREADS (2),
#   SPEED_ROUNDS (3: engines alternate, best round kept), LLAMA_BENCH_REPS (1 per round, after its own warm-up run),
#   OUR_ITERS (1 per round, after one warm-up run), VLLMSHARP_CACHE, VLLMSHARP_BENCH_ARTIFACTS, VLLMSHARP_SKIP_BUILD (as in
#   llama-parity.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}
art=${VLLMSHARP_BENCH_ARTIFACTS:-$cache/bench-artifacts}
models="$cache/gguf-models"
work=$(mktemp -d "${TMPDIR:-/tmp}/gguf-vs-llamacpp.XXXXXX")
trap 'rm -rf "$work"' EXIT
presets=${SPEED_PRESETS:-qwen2.5-0.5b llama-3.2-1b}
dtypes=${SPEED_DTYPES:-f16 q8_0 q4_k}
threads=${SPEED_THREADS:-2}
reps=${LLAMA_BENCH_REPS:-1}
iters=${OUR_ITERS:-1}
rounds=${SPEED_ROUNDS:-3}
results="$repo/bench/results/gguf-vs-llamacpp.md"

bin=$(bench/llamacpp-build.sh "$@" | tail -n 1)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# VLLMSHARP_SKIP_BUILD=1 reuses what is already in $art (e.g. while the tree is mid-edit).
if [ "${VLLMSHARP_SKIP_BUILD:-0}" != 1 ]; then
  echo "building the VllmSharp CLI into $art" >&2
  dotnet build src/VllmSharp.Cli -c Release --artifacts-path "$art" -nologo -v q > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
fi
cli() { dotnet "$art/bin/VllmSharp.Cli/release/vllmsharp.dll" "$@"; }

source "$repo/bench/gguf-models.sh"

# avg tokens/s of the llama-bench CSV row with n_prompt=$2, n_gen=$3 and n_depth=$4; columns found by header name.
csv_rate() {
  awk -F'","' -v want_p="$2" -v want_n="$3" -v want_d="$4" '
    NR == 1 { gsub(/"/, ""); n = split($0, h, ","); for (i = 1; i <= n; i++) col[h[i]] = i; next }
    { gsub(/^"|"$/, "")
      if ($col["n_prompt"] == want_p && $col["n_gen"] == want_n && $col["n_depth"] == want_d) { printf "%.1f", $col["avg_ts"]; exit } }' "$1"
}

pct() { if [ -n "$1" ]; then echo "$1 %"; else echo "—"; fi; }
num() { sed -n "$2" "$1" | head -n 1; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print b; else if (b == "" || a + 0 >= b + 0) print a; else print b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "—"; else printf "%.2f×", a / b }'; }
scaled() { awk -v f="$1" -v a="$2" -v b="$3" 'BEGIN { if (f == "" || a == "" || b == "" || b + 0 == 0) print "—"; else printf "%.1f %%", f * a / b }'; }

rows=()
notes=()
for preset in $presets; do
  for dtype in $dtypes; do
    echo "== $preset $dtype" >&2
    if ! model=$(make_model "$preset" "$dtype"); then
      rows+=("| $preset | $dtype | — | — | — | — | — | — | — | — | — | — | — | — | — | could not make the GGUF |")
      continue
    fi
    size=$(du -m "$model" | cut -f1)

    # Rounds alternate the engines (llama.cpp, then ours) and each keeps its best figure over the rounds: this VM's
    # memory bandwidth drifts by tens of percent over minutes, and back-to-back single runs compared moments, not
    # engines. The limits are the highest readings of any round.
    lpp="" ltg="" ltgd="" opp="" otg="" obw="" oflops="" pbw="" pfma="" status="" limits=""
    for round in $(seq "$rounds"); do
      if "$bin/llama-bench" -m "$model" -p 512 -n 128 -t "$threads" -r "$reps" -o csv > "$work/llama.csv" 2> "$work/llama.err"; then
        lpp=$(best "$lpp" "$(csv_rate "$work/llama.csv" 512 0 0)")
        ltg=$(best "$ltg" "$(csv_rate "$work/llama.csv" 0 128 0)")
      else
        notes+=("$preset $dtype: llama-bench failed: $(grep -m1 -iE 'error|failed' "$work/llama.err" || tail -n 1 "$work/llama.err")")
      fi
      if "$bin/llama-bench" -m "$model" -p 0 -n 128 -d 512 -t "$threads" -r "$reps" -o csv > "$work/llama-d.csv" 2> "$work/llama.err"; then
        ltgd=$(best "$ltgd" "$(csv_rate "$work/llama-d.csv" 0 128 512)")
      fi
      echo "   round $round llama.cpp: pp512 $lpp tok/s, tg128 $ltg tok/s, tg128 @ depth 512 $ltgd tok/s (best so far)" >&2

      if cli bench latency "$model" --input-len 512 --output-len 128 --batch-size 1 --num-iters "$iters" --measure-limits \
          > "$work/ours.txt" 2> "$work/ours.err"; then
        f="$work/ours.txt"
        r_pp=$(num "$f" 's/^prefill: .* = \([0-9.]*\) tokens\/s.*/\1/p')
        r_tg=$(num "$f" 's/^decode: .* = \([0-9.]*\) tokens\/s.*/\1/p')
        r_bw=$(num "$f" 's/^limits: *read bandwidth \([0-9.]*\) GB\/s.*/\1/p')
        r_peak=$(num "$f" 's/^limits: .*FMA peak \([0-9.]*\) GFLOP\/s.*/\1/p')
        [ "$(best "$opp" "$r_pp")" = "$r_pp" ] && { opp=$r_pp; oflops=$(num "$f" 's/^prefill: .*(\([0-9.]*\) GFLOP\/s.*/\1/p'); }
        [ "$(best "$otg" "$r_tg")" = "$r_tg" ] && { otg=$r_tg; obw=$(num "$f" 's/^decode: .*, \([0-9.]*\) GB\/s of weights.*/\1/p'); }
        bwmax=$(best "${bwmax:-}" "$r_bw"); peakmax=$(best "${peakmax:-}" "$r_peak")
        cat "$f" >&2
      else
        status="VllmSharp: $(grep -m1 -E 'error|Exception' "$work/ours.err" "$work/ours.txt" | sed -e 's/^[^:]*://' -e "s|$models/||g" -e 's/|/\\|/g')"
        echo "   $status" >&2
        break
      fi
    done
    if [ -n "$otg" ]; then
      pbw=$(awk -v a="$obw" -v b="$bwmax" 'BEGIN { printf "%.1f", 100 * a / b }')
      pfma=$(awk -v a="$oflops" -v b="$peakmax" 'BEGIN { printf "%.1f", 100 * a / b }')
      notes+=("$preset $dtype limits: read bandwidth $bwmax GB/s, FMA peak $peakmax GFLOP/s (f32; highest reading of $rounds rounds)")
    fi
    unset bwmax peakmax
    rows+=("| $preset | $dtype | $size | ${opp:-—} | ${lpp:-—} | $(ratio "$opp" "$lpp") | $(pct "$pfma") | $(scaled "$pfma" "$lpp" "$opp") | ${otg:-—} | ${ltg:-—} | $(ratio "$otg" "$ltg") | ${ltgd:-—} | $(ratio "$otg" "$ltgd") | $(pct "$pbw") | $(scaled "$pbw" "$ltg" "$otg") | $status |")
  done
done

llama_src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$bin/../CMakeCache.txt")
llama_rev=$(git -C "$llama_src" log -1 --format='%h, %cs' 2> /dev/null || echo unknown)
machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
{
  echo "# VllmSharp vs llama.cpp: single stream on the same GGUF"
  echo
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/gguf-vs-llamacpp.sh\` on $machine, $threads threads;"
  echo "load average (1/5/15 min) $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end: other work on the machine slows both engines;"
  echo "llama.cpp commit $llama_rev (Release, GGML_NATIVE), VllmSharp commit $(git -C "$repo" log -1 --format=%h)$(git -C "$repo" diff --quiet HEAD -- src 2> /dev/null || echo ' + uncommitted changes')."
  echo
  echo "- $rounds rounds per file, the engines alternating (llama.cpp then VllmSharp); each figure is the engine's best round."
  echo "- llama.cpp: \`llama-bench -m X.gguf -p 512 -n 128 -t $threads -r $reps\` (its defaults: f16 KV cache, flash attention auto; tg128 decodes"
  echo "  from an empty context), and \`llama-bench -p 0 -n 128 -d 512\` for decode after a 512-token context, as ours runs it."
  echo "- VllmSharp: \`vllmsharp bench latency X.gguf --input-len 512 --output-len 128 --batch-size 1 --num-iters $iters --measure-limits\`"
  echo "  (after one warm-up run; f32 KV cache; decode steps run after the 512-token prompt, i.e. over a 512-640 token context)."
  echo "- Files: f16 written by \`vllmsharp create-model --format gguf\` (seeded random weights, real shape), q8_0 / q4_k made from it by"
  echo "  llama.cpp's \`llama-quantize\` (Q8_0, Q4_K_M; rows that are not a multiple of 256 fall back to q5_0 / q8_0 as in real files)."
  echo "- Limits measured by VllmSharp in the same commands (highest reading of any round): read bandwidth for decode, f32 FMA peak"
  echo "  for prefill (the int8 dot-product peak of quantized prefill is higher, so quantized prefill fractions overstate how close to"
  echo "  its limit it is). llama.cpp's fractions are ours scaled by its rate (same file, same bytes and FLOPs per token)."
  echo "- Targets (issue 6): decode ≥ 1.0× llama.cpp for q8_0 and q4_k and ≥ 80 % of bandwidth; prefill ≥ 0.8× llama.cpp."
  echo
  echo "| model | weights | file MB | prefill ours tok/s | prefill llama.cpp tok/s | prefill ratio | prefill ours % of FMA peak | prefill llama.cpp % of FMA peak | decode ours tok/s | decode llama.cpp tok/s | decode ratio | decode llama.cpp @ depth 512 tok/s | decode ratio @ depth 512 | decode ours % of bandwidth | decode llama.cpp % of bandwidth | note |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  if [ ${#notes[@]} -gt 0 ]; then
    echo
    printf -- '- %s\n' "${notes[@]}"
  fi
} > "$results"
cat "$results"
echo "wrote $results" >&2

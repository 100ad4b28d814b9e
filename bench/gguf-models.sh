# Sourced by the llama.cpp comparison scripts. make_model PRESET f16|q8_0|q4_k prints the path of that GGUF:
# the f16 file from our writer (rewritten when our CLI is newer than the file), q8_0 / q4_k from it through
# llama.cpp's own llama-quantize (Q8_0, Q4_K_M), so both engines read the same file.
# Needs: $models (output folder), $work (logs), $art (our CLI build), $bin (llama.cpp bin folder), a `cli` function.
make_model() {
  local preset=$1 dtype=$2 f16="$models/$1-f16.gguf" out="$models/$1-$2.gguf" type
  mkdir -p "$models" || return 1
  if [ ! -s "$f16" ] || [ "$art/bin/VllmSharp.Cli/release/vllmsharp.dll" -nt "$f16" ]; then
    cli create-model --preset "$preset" --format gguf --dtype f16 -o "$f16" > "$work/create.log" 2>&1 || { cat "$work/create.log" >&2; return 1; }
  fi
  case $dtype in
    f16) echo "$f16"; return 0 ;;
    q8_0) type=Q8_0 ;;
    q4_k) type=Q4_K_M ;;
    *) echo "unknown dtype $dtype" >&2; return 1 ;;
  esac
  if [ ! -s "$out" ] || [ "$f16" -nt "$out" ]; then
    "$bin/llama-quantize" "$f16" "$out" "$type" > "$work/quantize.log" 2>&1 || { tail -n 5 "$work/quantize.log" >&2; return 1; }
  fi
  echo "$out"
}

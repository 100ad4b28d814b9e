#!/usr/bin/env bash
# Builds llama.cpp (CMake, Release, -DGGML_NATIVE=ON) OUTSIDE the repo, plus our parity tool
# (bench/llamacpp-parity), and prints the folder holding the binaries on the LAST line of stdout:
#
#   bin=$(bench/llamacpp-build.sh [SRC_DIR] | tail -n 1)
#   "$bin/llama-bench" ...; "$bin/llama-quantize" ...; "$bin/llama-server" ...; "$bin/llamacpp-parity" ...
#
# SRC_DIR: a llama.cpp source checkout to build. Without it the source comes from npm as DESIGN.md §6 says:
# `npm pack node-llama-cpp@3.22.1` holds llama/gitRelease.bundle, a git bundle of llama.cpp, cloned into
# $VLLMSHARP_CACHE/llama.cpp/src (default cache: ~/.cache/vllmsharp). Everything is idempotent: an existing
# clone and build folder are reused, and CMake only rebuilds what changed.
# Environment: LLAMACPP_TARGETS (default: llama llama-quantize llama-bench llama-server),
#              LLAMACPP_JOBS (default: nproc). Build logs go to the build folder, progress to stderr.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}/llama.cpp
npm_version=3.22.1
targets=${LLAMACPP_TARGETS:-llama llama-quantize llama-bench llama-server}
jobs=${LLAMACPP_JOBS:-$(nproc)}
say() { echo "llamacpp-build: $*" >&2; }

for tool in cmake git cc c++; do
  command -v "$tool" > /dev/null || { say "needs '$tool' on PATH"; exit 1; }
done

if [ $# -ge 1 ] && [ -n "$1" ]; then
  src=$(cd "$1" && pwd)
  [ -f "$src/include/llama.h" ] || { say "$src does not look like a llama.cpp checkout (no include/llama.h)"; exit 1; }
  # One build folder per source folder, outside it (the checkout may be read-only or shared).
  build="$cache/build-$(printf '%s' "$src" | cksum | cut -d' ' -f1)"
else
  src="$cache/src"
  build="$cache/build"
  if [ ! -f "$src/include/llama.h" ]; then
    command -v npm > /dev/null || { say "needs npm to fetch node-llama-cpp@$npm_version (or pass SRC_DIR)"; exit 1; }
    mkdir -p "$cache"
    tgz="$cache/node-llama-cpp-$npm_version.tgz"
    if [ ! -f "$tgz" ]; then
      say "fetching node-llama-cpp@$npm_version from npm"
      (cd "$cache" && npm pack "node-llama-cpp@$npm_version" --silent > /dev/null)
    fi
    tar -xzf "$tgz" -C "$cache" package/llama/gitRelease.bundle
    rm -rf "$src.partial"
    git clone --quiet "$cache/package/llama/gitRelease.bundle" "$src.partial" 2> /dev/null
    mv "$src.partial" "$src"
    say "cloned llama.cpp ($(git -C "$src" log -1 --format=%h)) into $src"
  fi
fi

mkdir -p "$build"
# Several bench scripts may call this at once (e.g. parity and serving benchmarks): one builder per folder at a time.
if command -v flock > /dev/null; then
  exec 9> "$build/.lock"
  flock 9
fi
# Configuring every time is cheap (seconds) and keeps an old folder's options in line with these ones.
say "configuring $build (Release, GGML_NATIVE=ON)"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=ON \
  -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
  > "$build/configure.log" 2>&1 || { say "cmake configure failed, see $build/configure.log"; exit 1; }
say "building $targets with $jobs jobs (log: $build/build.log)"
# shellcheck disable=SC2086  # targets is a word list on purpose
nice cmake --build "$build" --config Release -j "$jobs" --target $targets > "$build/build.log" 2>&1 \
  || { tail -n 30 "$build/build.log" >&2; say "build failed, see $build/build.log"; exit 1; }

bin="$build/bin"
parity_src="$repo/bench/llamacpp-parity/llamacpp-parity.c"
if [ ! -x "$bin/llamacpp-parity" ] || [ "$parity_src" -nt "$bin/llamacpp-parity" ] || [ "$bin/libllama.so" -nt "$bin/llamacpp-parity" ]; then
  say "compiling llamacpp-parity"
  cc -O2 -std=c11 -Wall -Wextra -Werror -I"$src/include" -I"$src/ggml/include" "$parity_src" \
    -o "$bin/llamacpp-parity" -L"$bin" -lllama -lggml -lggml-base -Wl,-rpath,"$bin"
fi
say "llama.cpp $(git -C "$src" log -1 --format=%h 2> /dev/null || echo '?') ready"
echo "$bin"

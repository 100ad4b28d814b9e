#!/usr/bin/env bash
# Runs every test: builds once (Release), runs each test project's xunit v3 runner, runs the kernel tests again
# on the AVX2 and scalar tiers, and ends with one line "N passed, N failed" summed over all TRX results.
set -uo pipefail
cd "$(dirname "$0")"

if [ ! -d tests/node/node_modules ]; then
  echo "Installing the Node reference packages (tests/node)..."
  npm ci --prefix tests/node --no-audit --no-fund >/dev/null || { echo "npm ci --prefix tests/node failed"; exit 1; }
fi

results=TestResults
rm -rf "$results"
mkdir -p "$results"

dotnet build VllmSharp.sln -c Release -nologo -v q || { echo "0 passed, 1 failed"; exit 1; }

status=0
run() { # run NAME PROJECT-NAME [ENV=VALUE...]
  local name=$1 project=$2; shift 2
  echo "=== $name"
  env "$@" dotnet "tests/$project/bin/Release/net10.0/$project.dll" -noLogo -noColor \
    -result-trx "$results/$name.trx" || status=1
}

for dir in tests/*/; do
  project=$(basename "$dir")
  [ -f "$dir/$project.csproj" ] && run "$project" "$project"
done
# .NET 10 ignores DOTNET_EnableAVX512F=0 alone; DOTNET_EnableAVX512=0 turns the 512-bit paths off.
run Kernels.AVX2 VllmSharp.Kernels.Tests DOTNET_EnableAVX512=0 DOTNET_EnableAVX512F=0
run Kernels.Scalar VllmSharp.Kernels.Tests DOTNET_EnableAVX2=0

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$counters" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*'); f=$(echo "$counters" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  n=$(echo "$counters" | grep -o ' notExecuted="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
done
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then status=1; fi
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1   # a crashed test host counts as a failure
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

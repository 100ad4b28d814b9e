# Sourced by the bench scripts: builds the CLI (Release), defines `cli`, and makes sure the qwen2.5-0.5b-shaped
# bf16 test model exists in the cache ($model).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache=${VLLMSHARP_CACHE:-$HOME/.cache/vllmsharp}
model="$cache/bench/qwen2.5-0.5b-bf16"
dotnet build src/VllmSharp.Cli -c Release -nologo -v q
cli() { dotnet src/VllmSharp.Cli/bin/Release/net10.0/vllmsharp.dll "$@"; }
[ -f "$model/config.json" ] || cli create-model --preset qwen2.5-0.5b --dtype bfloat16 -o "$model"
machine="$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"

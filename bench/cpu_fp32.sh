#!/usr/bin/env bash
# fp32 CPU prefill/decode speed of the demo model and of a GPT-2-124M-shaped
# random-weight model (f16 files), with weights held as f32 (--weights f32,
# the reference path) and as stored (f16, widened in the kernels), beside
# this machine's measured read bandwidth and the decode limit it implies.
# Output is the table docs/PERFORMANCE.md records.
# usage: bench/cpu_fp32.sh [THREADS] [PP] [TG]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2} pp=${2:-128} tg=${3:-64}
make build >/dev/null
gpt2=${TMPDIR:-/tmp}/accinf-bench-gpt2-124m
[ -f "$gpt2/model.safetensors" ] || python3 tools/make_random_model.py --shape gpt2-124m --out "$gpt2" >&2
bw=$(./build/accinf-membw "$threads" 2048 | sed -E 's/.*"read_gb_s":([0-9.]+).*/\1/')
echo "commit $(git rev-parse --short HEAD), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "measured read bandwidth, $threads threads: $bw GB/s"
printf '| model | weights | MB read per token | decode limit (tok/s) | pp%s tok/s | tg%s tok/s | tg share of limit |\n|---|---|---|---|---|---|---|\n' "$pp" "$tg"
for model in examples/demo-model "$gpt2"; do
 for weights in f32 stored; do
  json=$(./build/accinf bench "$model" --pp "$pp" --tg "$tg" --threads "$threads" --weights "$weights" --json)
  info=$(./build/accinf info "$model" --json)
  # every weight is read once per decode token: f32 copies, or the stored f16
  field=weights_f32_bytes
  [ "$weights" = stored ] && field=weights_stored_bytes
  bytes=$(echo "$info" | sed -E "s/.*\"$field\":([0-9]+).*/\\1/")
  pp_s=$(echo "$json" | sed -E 's/.*"pp_tok_s":([0-9.]+).*/\1/')
  tg_s=$(echo "$json" | sed -E 's/.*"tg_tok_s":([0-9.]+).*/\1/')
  awk -v m="$(basename "$model")" -v w="$weights" -v b="$bytes" -v bw="$bw" -v pp="$pp_s" -v tg="$tg_s" 'BEGIN {
    limit = bw * 1e9 / b;
    printf "| %s | %s | %.1f | %.1f | %.1f | %.1f | %.0f%% |\n", m, w, b / 1e6, limit, pp, tg, 100 * tg / limit }'
 done
done

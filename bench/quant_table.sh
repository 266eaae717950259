#!/usr/bin/env bash
# quant_table.sh — the docs table of quantization types on the demo model:
# for each type, GGUF file size, perplexity on examples/demo-model/heldout.txt
# (accinf perplexity, llama-perplexity's definition) and top-1 agreement with
# the f32 GGUF (share of scored positions whose argmax matches).
#
# usage: bench/quant_table.sh ACCINF_BINARY [OUT_DIR] [CTX] [JOBS] [CHUNKS]
# Runs JOBS perplexity runs at once (1 thread each), on the first CHUNKS windows
# (default all); prints a Markdown table.
# With PEER_PPL=/path/to/llama-perplexity (an existing binary; never built
# here) two more columns: llama-perplexity on the same files with its
# default micro-batch (-b CTX, so -ub CTX) and with -ub 16 — llama.cpp
# c392e509 computes q4_0/q4_1 differently from 32-token micro-batches up on
# this machine (docs/PERPLEXITY.md).
set -euo pipefail
BIN=${1:?usage: quant_table.sh ACCINF_BINARY [OUT_DIR] [CTX] [JOBS]}
OUT=${2:-/tmp/accinf-quant-table}
CTX=${3:-128}
JOBS=${4:-2}
CHUNKS=${5:--1}
MODEL=examples/demo-model
TEXT=$MODEL/heldout.txt
TYPES="f32 f16 bf16 q8_0 q6_K q5_K_M q5_1 q5_0 q4_K_M q4_K_S q4_1 q4_0 q3_K_M q2_K"
mkdir -p "$OUT"
for t in $TYPES; do
  "$BIN" convert "$MODEL" -o "$OUT/demo-$t.gguf" --type "$t" -q
done
"$BIN" perplexity "$OUT/demo-f32.gguf" --file "$TEXT" --ctx "$CTX" --chunks "$CHUNKS" --threads 1 \
  --argmax-out "$OUT/f32.argmax" --json > "$OUT/f32.json" 2>/dev/null
printf '%s\n' $TYPES | grep -v '^f32$' | xargs -P "$JOBS" -I{} sh -c \
  "'$BIN' perplexity '$OUT/demo-{}.gguf' --file '$TEXT' --ctx $CTX --chunks $CHUNKS --threads 1 \
     --argmax-ref '$OUT/f32.argmax' --json > '$OUT/{}.json' 2>/dev/null"
PEER_PPL=${PEER_PPL:-}
peer() { # type ubatch -> "PPL ± E" from llama-perplexity's last line
  local chunks=()
  [ "$CHUNKS" -gt 0 ] && chunks=(--chunks "$CHUNKS")
  "$PEER_PPL" -m "$OUT/demo-$1.gguf" -f "$TEXT" -c "$CTX" -b "$CTX" -ub "$2" "${chunks[@]}" -t 1 2>&1 |
    sed -n 's/^Final estimate: PPL = \([0-9.]*\) +\/- \([0-9.]*\).*/\1 ± \2/p'
}
if [ -n "$PEER_PPL" ]; then
  echo "| type | file size (MiB) | perplexity (ctx $CTX) | top-1 agreement with f32 | llama-perplexity | llama-perplexity -ub 16 |"
  echo "|---|---:|---:|---:|---:|---:|"
else
  echo "| type | file size (MiB) | perplexity (ctx $CTX) | top-1 agreement with f32 |"
  echo "|---|---:|---:|---:|"
fi
for t in $TYPES; do
  size=$(stat -c %s "$OUT/demo-$t.gguf")
  row=$(jq -r --arg t "$t" --argjson size "$size" \
    '"| \($t) | \($size / 1048576 * 100 | round / 100) | \(.ppl * 10000 | round / 10000) ± \(.stderr * 10000 | round / 10000) | \(if .top1_agreement then (.top1_agreement * 10000 | round / 10000) else 1 end) |"' \
    "$OUT/$t.json")
  if [ -n "$PEER_PPL" ]; then
    row="$row $(peer "$t" "$CTX") | $(peer "$t" 16) |"
  fi
  echo "$row"
done

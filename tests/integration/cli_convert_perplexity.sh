#!/usr/bin/env bash
# cli_convert_perplexity.sh — `accinf perplexity`: the same estimate from the
# HF directory and its f32 GGUF, a self top-1 agreement of 1, the scored
# position count of llama-perplexity's definition, and its input errors.
source "$(dirname "$0")/common.bash"

MODEL="$EXAMPLES/demo-model"
TEXT="$MODEL/heldout.txt"
expect_ok "convert demo f32" -- "$ACCINF" convert "$MODEL" -o "$WORK/demo.gguf" --type f32 -q
# the demo model's f16 weights give the bits of f32 weights on the exact path
# (by default steps of 32+ tokens take the AMX GEMM, within about 2^-16)
expect_ok "perplexity HF" -- env ACCINF_CPU_AMX=0 "$ACCINF" perplexity "$MODEL" --file "$TEXT" \
    --ctx 64 --chunks 2 --argmax-out "$WORK/ref.ids" --json
cp "$WORK/out" "$WORK/hf.json"
# 2 windows of 64, positions 32..62 scored in each: 2 * (64 - 1 - 32)
check "scored positions" jq -e '.scored == 62 and .chunks == 2 and .ctx == 64' "$WORK/hf.json"
check "finite perplexity above 1" jq -e '.ppl > 1 and .stderr > 0' "$WORK/hf.json"
expect_ok "perplexity GGUF" -- "$ACCINF" perplexity "$WORK/demo.gguf" --file "$TEXT" --ctx 64 \
    --chunks 2 --batch 16 --argmax-ref "$WORK/ref.ids" --json
check "GGUF gives the HF estimate (batch 16 vs 64)" jq -e --slurpfile a "$WORK/hf.json" \
    '.ppl == $a[0].ppl and .stderr == $a[0].stderr' "$WORK/out"
check "self agreement is 1" jq -e '.top1_agreement == 1' "$WORK/out"
expect_ok "text output" -- "$ACCINF" perplexity "$WORK/demo.gguf" --file "$TEXT" --ctx 64 --chunks 1
check "llama.cpp's final line" grep -q '^Final estimate: PPL = [0-9.]* +/- [0-9.]*$' "$WORK/out"

printf 'too short' >"$WORK/short.txt"
expect_error 2 "at least 128 are needed" "text shorter than two windows" -- \
    "$ACCINF" perplexity "$WORK/demo.gguf" --file "$WORK/short.txt" --ctx 64
expect_error 2 "--ctx: 4096 exceeds" "window beyond the model's context" -- \
    "$ACCINF" perplexity "$MODEL" --file "$TEXT" --ctx 4096
expect_error 2 "holds" "argmax reference of another length" -- \
    "$ACCINF" perplexity "$MODEL" --file "$TEXT" --ctx 64 --chunks 1 --argmax-ref "$WORK/ref.ids"

finish

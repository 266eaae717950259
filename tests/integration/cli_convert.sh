#!/usr/bin/env bash
# cli_convert.sh — `accinf convert` and GGUF files as model input: every
# fixture model converts to f32 and q4_K_M and back to the same tokens and
# (f32) identical logits through info, tokenize, logits, run and bench;
# requantizing a GGUF gives the same file as converting the HF directory;
# broken GGUF files are one "accinf: error:" line and exit 2.
source "$(dirname "$0")/common.bash"

PROMPT="Hello world, the quick brown fox"
for dir in "$FIXTURES"/models/*/; do
    name=$(basename "$dir")
    f32="$WORK/$name-f32.gguf"
    expect_ok "$name: convert f32" -- "$ACCINF" convert "$dir" -o "$f32" --type f32 || continue
    check "$name: summary names the output" grep -q "$name-f32.gguf: " "$WORK/out"
    check "$name: no progress bar when stderr is not a terminal" test ! -s "$WORK/err"
    # 16-bit HF weights (llama3-tiny: bf16) give the bits of f32 weights on
    # the exact path; by default steps of 32+ tokens take the AMX GEMM
    expect_ok "$name: logits from HF" -- env ACCINF_CPU_AMX=0 "$ACCINF" logits "$dir" \
        --prompt "$PROMPT" --json
    cp "$WORK/out" "$WORK/hf.json"
    expect_ok "$name: logits from GGUF" -- "$ACCINF" logits "$f32" --prompt "$PROMPT" --json
    check "$name: f32 GGUF logits identical to HF" cmp -s "$WORK/hf.json" "$WORK/out"
    expect_ok "$name: tokenize HF" -- "$ACCINF" tokenize "$dir" --text "$PROMPT" --json
    cp "$WORK/out" "$WORK/hf.ids"
    expect_ok "$name: tokenize GGUF" -- "$ACCINF" tokenize "$f32" --text "$PROMPT" --json
    check "$name: same ids from the GGUF tokenizer" cmp -s "$WORK/hf.ids" "$WORK/out"
    expect_ok "$name: convert q4_K_M" -- "$ACCINF" convert "$dir" -o "$WORK/q.gguf" --type q4_K_M
    expect_ok "$name: run q4_K_M" -- "$ACCINF" run "$WORK/q.gguf" --prompt "$PROMPT" -n 4 \
        --temperature 0 --json
    check "$name: run gives 4 tokens" test "$(jq '.ids | length' "$WORK/out")" -eq 4
done

# f16 logits close to the HF directory's
dir="$FIXTURES/models/llama-tiny"
expect_ok "f32 logits" -- "$ACCINF" logits "$dir" --prompt "$PROMPT" --json
cp "$WORK/out" "$WORK/hf.json"
expect_ok "f16 convert" -- "$ACCINF" convert "$dir" -o "$WORK/f16.gguf" --type f16
expect_ok "f16 logits" -- "$ACCINF" logits "$WORK/f16.gguf" --prompt "$PROMPT" --json
check "f16 logits within 0.05 of f32" jq -e --slurpfile a "$WORK/hf.json" \
    '[.logits, $a[0].logits] | transpose | map(.[0] - .[1] | fabs) | max < 0.05' "$WORK/out"
expect_ok "info on GGUF" -- "$ACCINF" info "$WORK/f16.gguf"
check "info names the architecture" grep -q "LlamaForCausalLM" "$WORK/out"
expect_ok "bench on GGUF" -- "$ACCINF" bench "$WORK/f16.gguf" --pp 8 --tg 4 -r 1

# requantizing our f32 GGUF equals converting the directory
expect_ok "convert f32" -- "$ACCINF" convert "$dir" -o "$WORK/a.gguf" --type f32
expect_ok "requantize" -- "$ACCINF" convert "$WORK/a.gguf" -o "$WORK/b.gguf" --type q8_0
expect_ok "direct q8_0" -- "$ACCINF" convert "$dir" -o "$WORK/c.gguf" --type q8_0
check "requantized file has the direct file's size" \
    test "$(stat -c %s "$WORK/b.gguf")" -eq "$(stat -c %s "$WORK/c.gguf")"

# usage errors
expect_error 2 "--type" "unknown type" -- "$ACCINF" convert "$dir" -o "$WORK/x.gguf" --type q7_K
expect_error 2 "--output: missing" "no output" -- "$ACCINF" convert "$dir" --type f16
check "no output file after a failure" test ! -e "$WORK/x.gguf"
expect_error 2 "no such file" "missing input" -- "$ACCINF" convert "$WORK/nope" -o "$WORK/x.gguf" --type f16

# broken GGUF files as model input (the parser's messages, exit 2)
good="$WORK/a.gguf"
printf 'GGUX' >"$WORK/magic.gguf"
head -c 64 "$good" | tail -c 60 >>"$WORK/magic.gguf"
expect_error 2 "wrong magic" "wrong magic" -- "$ACCINF" info "$WORK/magic.gguf"
head -c 20 "$good" >"$WORK/trunc.gguf"
expect_error 2 "truncated header" "truncated header" -- "$ACCINF" logits "$WORK/trunc.gguf" --prompt hi
{ head -c 4 "$good"; printf '\x07\x00\x00\x00'; tail -c +9 "$good"; } >"$WORK/version.gguf"
expect_error 2 "unsupported version 7" "bad version" -- "$ACCINF" run "$WORK/version.gguf" --prompt hi
{ head -c 8 "$good"; printf '\xff\xff\xff\xff\xff\xff\xff\x7f'; tail -c +17 "$good"; } >"$WORK/count.gguf"
expect_error 2 "tensor count" "absurd tensor count" -- "$ACCINF" tokenize "$WORK/count.gguf" --text hi
head -c $(( $(stat -c %s "$good") - 100 )) "$good" >"$WORK/short.gguf"
expect_error 2 "outside the data section" "data cut short" -- "$ACCINF" bench "$WORK/short.gguf"
expect_error 2 "--file: missing" "perplexity needs --file" -- "$ACCINF" perplexity "$good"

finish

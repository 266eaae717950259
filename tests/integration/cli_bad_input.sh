#!/usr/bin/env bash
# cli_bad_input.sh — bad inputs end in exit 2 with one "accinf: error:" line
# naming the culprit: missing paths, a directory without config.json, a
# truncated safetensors file, invalid UTF-8 in a prompt (with its byte
# offset), a prompt longer than --ctx, and out-of-vocabulary ids.
source "$(dirname "$0")/common.bash"

MODEL="$FIXTURES/models/llama-tiny"

for verb in info tokenize logits run bench; do
    args=()
    case $verb in
    tokenize) args=(--text hi) ;;
    logits | run) args=(--prompt hi) ;;
    esac
    expect_error 2 "$WORK/nope" "$verb on a missing path" -- "$ACCINF" "$verb" "$WORK/nope" "${args[@]}"
done

mkdir -p "$WORK/empty"
for verb in info logits run bench; do
    args=()
    case $verb in logits | run) args=(--prompt hi) ;; esac
    expect_error 2 "config.json" "$verb on a directory without config.json" -- \
        "$ACCINF" "$verb" "$WORK/empty" "${args[@]}"
done
expect_error 2 "tokenizer.json" "tokenize on a directory without tokenizer.json" -- \
    "$ACCINF" tokenize "$WORK/empty" --text hi

# A truncated safetensors file: the data section ends early.
cp -r "$MODEL" "$WORK/truncated"
size=$(stat -c %s "$WORK/truncated/model.safetensors")
truncate -s $((size / 2)) "$WORK/truncated/model.safetensors"
for verb in info run; do
    args=()
    [ "$verb" = run ] && args=(--prompt hi -n 2)
    expect_error 2 "model.safetensors" "$verb on a truncated safetensors" -- \
        "$ACCINF" "$verb" "$WORK/truncated" "${args[@]}"
done
# Truncated inside the header.
truncate -s 5 "$WORK/truncated/model.safetensors"
expect_error 2 "model.safetensors" "info on a 5-byte safetensors" -- "$ACCINF" info "$WORK/truncated"

# A broken config.json.
cp -r "$MODEL" "$WORK/badconfig"
printf '{"architectures": ["LlamaForCausalLM"], "hidden_size": ' >"$WORK/badconfig/config.json"
expect_error 2 "config.json" "info on a truncated config.json" -- "$ACCINF" info "$WORK/badconfig"

# Invalid UTF-8 in prompts and texts: the offset of the bad byte is named.
expect_error 2 "byte offset 3" "run with invalid UTF-8" -- \
    "$ACCINF" run "$MODEL" --prompt $'abc\xff' -n 2
expect_error 2 "byte offset 0" "logits with invalid UTF-8" -- "$ACCINF" logits "$MODEL" --prompt $'\xff'
expect_error 2 "byte offset 2" "tokenize with invalid UTF-8" -- \
    "$ACCINF" tokenize "$MODEL" --text $'hi\xc3('
expect_error 2 "--prompt" "run with invalid UTF-8 names --prompt" -- \
    "$ACCINF" run "$MODEL" --prompt $'\xff' -n 2

# A prompt longer than the context fails before generating anything.
long=$(printf 'In the beginning %.0s' {1..20})
expect_error 2 "context of 8" "run with a prompt longer than --ctx" -- \
    "$ACCINF" run "$MODEL" --prompt "$long" --ctx 8 -n 4
check "nothing generated for a too-long prompt" test ! -s "$WORK/out"
expect_error 2 "--ctx" "--ctx above the model's maximum" -- \
    "$ACCINF" run "$MODEL" --prompt hi --ctx 100000

# Ids outside the vocabulary.
expect_error 2 "vocabulary" "logits --ids out of range" -- "$ACCINF" logits "$MODEL" --ids 1,2,99999
expect_error 2 "--ids" "logits --ids malformed" -- "$ACCINF" logits "$MODEL" --ids 1,x
expect_error 2 "--decode" "tokenize --decode out of range" -- \
    "$ACCINF" tokenize "$MODEL" --decode 99999

# bench sizes beyond the model's context.
expect_error 2 "--pp" "bench --pp beyond the context" -- "$ACCINF" bench "$MODEL" --pp 100000 --tg 1

finish

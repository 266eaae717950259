#!/usr/bin/env bash
# cli_bad_model.sh — broken model files through the CLI: each is one
# "accinf: error:" line naming the file (and tensor or field), exit 2.
# Broken safetensors are made by rewriting a fixture's JSON header with jq;
# data offsets are relative to the data section, so any header length works.
source "$(dirname "$0")/common.bash"

SOURCE="$FIXTURES/models/llama-tiny"

# u64 little-endian as raw bytes
put_u64() {
    local n=$1 i
    for i in 0 1 2 3 4 5 6 7; do
        printf "\\x$(printf %02x $(((n >> (8 * i)) & 255)))"
    done
}

# broken_model NAME JQ_FILTER: a copy of SOURCE whose safetensors header is
# passed through JQ_FILTER; prints the new model directory.
broken_model() {
    local dir="$WORK/$1" filter=$2
    mkdir -p "$dir"
    cp "$SOURCE/config.json" "$SOURCE/tokenizer.json" "$dir/"
    local src="$SOURCE/model.safetensors"
    local len
    len=$(od -An -t u8 -N8 "$src" | tr -d ' ')
    local header
    header=$(tail -c +9 "$src" | head -c "$len" | jq -c "$filter") || return 1
    while [ $(( ${#header} % 8 )) -ne 0 ]; do header="$header "; done
    {
        put_u64 "${#header}"
        printf '%s' "$header"
        tail -c +$((9 + len)) "$src"
    } >"$dir/model.safetensors"
    echo "$dir"
}

T=model.layers.0.mlp.up_proj.weight
dir=$(broken_model wrong_shape ".[\"$T\"].shape |= reverse")
expect_error 2 "'$T': expected shape" "a tensor of the wrong shape" -- "$ACCINF" info "$dir"
check "wrong shape names the file" grep -q "model.safetensors" "$WORK/err"

dir=$(broken_model missing "with_entries(if .key == \"$T\" then .key = \"extra.weight\" else . end)")
expect_error 2 "missing tensor '$T'" "a missing tensor" -- "$ACCINF" run "$dir" --prompt hi -n 2

dir=$(broken_model unknown_dtype ".[\"$T\"].dtype = \"F12\"")
expect_error 2 "dtype" "an unknown dtype" -- "$ACCINF" logits "$dir" --prompt hi
check "unknown dtype names the tensor" grep -q "$T" "$WORK/err"

dir=$(broken_model out_of_range ".[\"$T\"].data_offsets[1] += 1000000 | .[\"$T\"].shape = [128, 64]")
expect_error 2 "model.safetensors" "an offset past the data section" -- "$ACCINF" info "$dir"

dir=$(broken_model overlap ".[\"model.layers.0.mlp.gate_proj.weight\"].data_offsets = .[\"$T\"].data_offsets")
expect_error 2 "overlap" "overlapping tensors" -- "$ACCINF" info "$dir"

dir=$(broken_model size_mismatch ".[\"$T\"].shape = [127, 64]")
expect_error 2 "$T" "shape x dtype not matching the byte range" -- "$ACCINF" info "$dir"

# Header length larger than the file.
mkdir -p "$WORK/huge_header"
cp "$SOURCE/config.json" "$WORK/huge_header/"
{ put_u64 999999999; printf '{}'; } >"$WORK/huge_header/model.safetensors"
expect_error 2 "model.safetensors" "a header longer than the file" -- "$ACCINF" info "$WORK/huge_header"

# config.json with missing, negative, absurd and mistyped fields.
bad_config() {
    local name=$1 filter=$2
    mkdir -p "$WORK/$name"
    cp "$SOURCE/model.safetensors" "$SOURCE/tokenizer.json" "$WORK/$name/"
    jq "$filter" "$SOURCE/config.json" >"$WORK/$name/config.json"
    echo "$WORK/$name"
}
dir=$(bad_config no_layers 'del(.num_hidden_layers)')
expect_error 2 "num_hidden_layers" "config without num_hidden_layers" -- "$ACCINF" info "$dir"
dir=$(bad_config negative_heads '.num_attention_heads = -4')
expect_error 2 "num_attention_heads" "config with negative heads" -- "$ACCINF" run "$dir" --prompt hi
dir=$(bad_config absurd_vocab '.vocab_size = 1000000000000')
expect_error 2 "vocab_size" "config with an absurd vocab_size" -- "$ACCINF" info "$dir"
dir=$(bad_config string_hidden '.hidden_size = "64"')
expect_error 2 "hidden_size" "config with a string hidden_size" -- "$ACCINF" info "$dir"
check "config errors name config.json" grep -q "config.json" "$WORK/err"
dir=$(bad_config unknown_arch '.architectures = ["FalconForCausalLM"]')
expect_error 2 "LlamaForCausalLM" "unknown architecture lists the supported ones" -- "$ACCINF" info "$dir"
dir=$(bad_config eps '.rms_norm_eps = 0')
expect_error 2 "config.json" "config with rms_norm_eps 0 names config.json" -- "$ACCINF" info "$dir"

finish

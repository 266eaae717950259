#!/usr/bin/env bash
# cli_gguf_quantized.sh — q8_0/q4_0 (as q4_K/q6_K) GGUF tensors reach the engine
# in their block format: `info` reports them as held (other block types as
# F32), and logits of a --pure GGUF equal the HF directory quantized at load
# to the same type (same quantizer bytes, same kernels), for GPT-2 (fused,
# transposed c_attn windows) and Llama (permuted q/k rows); --weights checks.
source "$(dirname "$0")/common.bash"

IDS=1,2,3,4,5,6,7
for name in gpt2-tiny llama-tiny; do
    dir="$FIXTURES/models/$name"
    for type in q8_0 q4_0; do  # K types need rows of 256: too wide for the fixtures
        gguf="$WORK/$name-$type.gguf"
        expect_ok "$name: convert $type" -- "$ACCINF" convert "$dir" -o "$gguf" --type "$type" \
            --pure || continue
        expect_ok "$name $type: info" -- "$ACCINF" info "$gguf"
        upper=$(echo "$type" | tr a-z A-Z)
        check "$name $type: info reports $upper tensors held" grep -q "[0-9] $upper" "$WORK/out"
        expect_ok "$name $type: logits HF --weights $type" -- "$ACCINF" logits "$dir" --ids "$IDS" \
            --weights "$type" --json --threads 2
        cp "$WORK/out" "$WORK/hf.json"
        # GPT-2 keeps position_embd f32 in the file; --weights quantizes it like the HF run
        expect_ok "$name $type: logits GGUF --weights $type" -- "$ACCINF" logits "$gguf" \
            --ids "$IDS" --weights "$type" --json --threads 2
        check "$name $type: GGUF logits identical to HF quantized at load" \
            cmp -s "$WORK/hf.json" "$WORK/out"
        expect_ok "$name $type: logits GGUF stored" -- "$ACCINF" logits "$gguf" --ids "$IDS" \
            --json --threads 2
        expect_ok "$name $type: logits GGUF --weights f32" -- "$ACCINF" logits "$gguf" \
            --ids "$IDS" --weights f32 --json --threads 2
    done
done
# llama: every quantized tensor is stored, so the default path equals HF --weights q8_0
expect_ok "llama q8_0 stored" -- "$ACCINF" logits "$WORK/llama-tiny-q8_0.gguf" --ids "$IDS" --json
cp "$WORK/out" "$WORK/gguf.json"
expect_ok "llama q8_0 HF" -- "$ACCINF" logits "$FIXTURES/models/llama-tiny" --ids "$IDS" \
    --weights q8_0 --json
check "llama-tiny q8_0 GGUF (stored) logits identical to HF --weights q8_0" \
    cmp -s "$WORK/gguf.json" "$WORK/out"
# a type the kernels do not run is dequantized at load and reported as F32
expect_ok "convert q5_0" -- "$ACCINF" convert "$FIXTURES/models/llama-tiny" -o "$WORK/q5.gguf" \
    --type q5_0 --pure
expect_ok "info q5_0" -- "$ACCINF" info "$WORK/q5.gguf" --tensors
check "q5_0 tensors are held as F32" grep -q "model.layers.0.mlp.up_proj.weight  *F32" "$WORK/out"
expect_error 2 "--weights" "unknown --weights" -- "$ACCINF" bench "$WORK/q5.gguf" --weights q5_0 \
    --pp 8 --tg 0
finish

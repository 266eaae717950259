#!/usr/bin/env bash
# cli_validate_device.sh — `accinf validate --device NAME` on a CPU-only
# build: `--device cpu` gives the same judgement and per-token cross
# entropies as the default and reports "device":"cpu"; an unknown device
# is exit 2 naming the available ones.  (The GPU devices are exercised by
# tests/cuda/cli_cuda_validate.sh on the GPU machine.)
source "$(dirname "$0")/common.bash"

MODEL="$FIXTURES/models/llama-tiny"
DATA="$FIXTURES/validate/sharegpt-tiny.json"
COMMON=(--dataset "$DATA" -n 4 --threads 1 --reference-threads 1 --json
        --reference-dir "$WORK/refs" --save-reference)

if expect_ok "default device" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}"; then
    cp "$WORK/out" "$WORK/default.json"
    check "default: device is cpu" test "$(jq -r .device "$WORK/default.json")" = cpu
fi
if expect_ok "--device cpu" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" --device cpu; then
    check "--device cpu: passed" test "$(jq .passed "$WORK/out")" = true
    check "--device cpu: same cross entropies as the default" \
        test "$(jq -c '[.cases[].ce]' "$WORK/out")" = "$(jq -c '[.cases[].ce]' "$WORK/default.json")"
fi
expect_error 2 "device 'nosuch' is not available" "unknown device" -- \
    "$ACCINF" validate "$MODEL" "${COMMON[@]}" --device nosuch

finish

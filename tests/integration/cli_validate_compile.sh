#!/usr/bin/env bash
# cli_validate_compile.sh — `accinf compile`: programs per criteria entry,
# the content-hash cache (second run all cached, --list, --clear), derived
# criteria written out and accepted by validate, presets resolved and
# printed with their origins, settings in the key, and bad input (exit 2).
source "$(dirname "$0")/common.bash"

MODEL="$FIXTURES/models/llama-tiny"
PRESETS="$EXAMPLES/presets/cpu.yaml"
export XDG_CACHE_HOME="$WORK/xdg"

if expect_ok "compile with derived criteria" -- "$ACCINF" compile "$MODEL" --max-batch 2 \
    --write-criteria "$WORK/criteria.json" --json; then
    check "two programs per entry" \
        test "$(jq '.programs | length' "$WORK/out")" = "$(( 2 * $(jq '.programs | length' "$WORK/criteria.json") ))"
    check "derived criteria flagged" test "$(jq .derived_criteria "$WORK/out")" = true
    check "first compile: planned, not cached" test "$(jq '.programs[0].from_cache' "$WORK/out")" = false
    check "cache under XDG_CACHE_HOME" test "$(jq -r .cache_dir "$WORK/out")" = "$XDG_CACHE_HOME/accinf"
    keys=$(jq -c '[.programs[].key]' "$WORK/out")
fi
if expect_ok "compile again" -- "$ACCINF" compile "$MODEL" --max-batch 2 \
    --criteria "$WORK/criteria.json" --json; then
    check "second compile: every program from the cache" \
        test "$(jq '[.programs[].from_cache] | all' "$WORK/out")" = true
fi
if expect_ok "list" -- "$ACCINF" compile --list --json; then
    check "list: programs valid" test "$(jq '[.programs[].valid] | all' "$WORK/out")" = true
    n_cached=$(jq '.programs | length' "$WORK/out")
    check "list: distinct buckets only" test "$n_cached" -ge 2
fi
if expect_ok "presets" -- "$ACCINF" compile "$MODEL" --presets "$PRESETS" -p offline -p ctx256 -p t1; then
    check "presets: the most specific combination wins" \
        grep -q 'max_batch *2 *(combination offline+ctx256+t1)' "$WORK/out"
    check "presets: defaults named" grep -q 'dtype *f32 *(default preset f32)' "$WORK/out"
fi
if expect_ok "presets, json" -- "$ACCINF" compile "$MODEL" --presets "$PRESETS" -p offline \
    -p ctx256 -p t1 --threads 2 --json; then
    check "a flag overrides presets" test "$(jq -r .settings.threads.origin "$WORK/out")" = flag
    check "settings change the keys" test "$(jq -c '[.programs[].key]' "$WORK/out")" != "$keys"
fi
if expect_ok "validate takes the written criteria" -- "$ACCINF" validate "$MODEL" \
    --criteria "$WORK/criteria.json" --dataset "$FIXTURES/validate/sharegpt-tiny.json" \
    --dry-run --json; then
    check "validate: cases from the written criteria" test "$(jq length "$WORK/out")" -ge 1
fi
expect_error 2 "both from group 'scenario'" "two presets of one group" -- \
    "$ACCINF" compile "$MODEL" --presets "$PRESETS" -p offline -p server
expect_error 2 "--preset turbo: unknown preset" "unknown preset" -- \
    "$ACCINF" compile "$MODEL" --presets "$PRESETS" -p turbo
expect_error 2 "--preset: needs --presets FILE" "preset without a file" -- \
    "$ACCINF" compile "$MODEL" -p offline
expect_error 2 "f32 programs only" "a dtype the cpu target cannot run" -- \
    "$ACCINF" compile "$MODEL" --dtype q4_K_M
expect_error 2 "target: 'tpu'" "unknown target" -- "$ACCINF" compile "$MODEL" --target tpu
printf 'groups: [' >"$WORK/bad.yaml"
expect_error 2 "bad.yaml:" "broken presets YAML" -- \
    "$ACCINF" compile "$MODEL" --presets "$WORK/bad.yaml"
printf '{"programs": [{"max_batch": 1, "max_tkv": 0, "batch_granularity": 1, "tkv_granularity": 64}]}' >"$WORK/bad.json"
expect_error 2 "programs[0].max_tkv" "bad criteria" -- "$ACCINF" compile "$MODEL" --criteria "$WORK/bad.json"
expect_error 2 "missing MODEL" "no model" -- "$ACCINF" compile
if expect_ok "clear" -- "$ACCINF" compile --clear --json; then
    check "clear: removed what was listed" test "$(jq .removed "$WORK/out")" -ge "${n_cached:-1}"
fi
if expect_ok "list after clear" -- "$ACCINF" compile --list --json; then
    check "list after clear: empty" test "$(jq '.programs | length' "$WORK/out")" = 0
fi

finish

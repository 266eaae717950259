#!/usr/bin/env bash
# cli_validate.sh — `accinf validate` end to end on a tiny fixture model:
# case selection (--dry-run --json, the real AIU criteria file, large batches
# first), the reference against itself with another thread count (exit 0,
# zero failures), a perturbed layer (exit 1), the reference store (computed,
# then loaded on the second run, a corrupted file detected and recomputed),
# tokens mode, the three dataset types, and bad input (exit 2, one line).
source "$(dirname "$0")/common.bash"

MODEL="$FIXTURES/models/llama-tiny"
DATA="$FIXTURES/validate/sharegpt-tiny.json"
RAG="$FIXTURES/validate/rag-tiny.jsonl"
export XDG_CACHE_HOME="$WORK/cache"
REFS="$WORK/refs"
COMMON=(--dataset "$DATA" -n 4 --reference-threads 1)

# ---- case selection -------------------------------------------------------
if expect_ok "dry run" -- "$ACCINF" validate "$MODEL" --dataset "$DATA" --dry-run --json; then
    check "dry run: one case per program of the derived criteria (1x256, 2x256)" \
        test "$(jq -c . "$WORK/out")" = \
        '[{"program":0,"batch":1,"prompt_len":64},{"program":1,"batch":2,"prompt_len":64}]'
fi
if expect_ok "dry run, large batches first" -- "$ACCINF" validate "$MODEL" --dataset "$DATA" \
    --dry-run --json --programs '?' --prioritize-large-batch-sizes; then
    check "'?' with large batches first takes batch 2" test "$(jq '.[0].batch' "$WORK/out")" = 2
fi
CRIT="$FIXTURES/criteria/dpp-all-criterion.json"
if expect_ok "dry run on the real criteria" -- "$ACCINF" validate "$MODEL" --dataset "$DATA" \
    --criteria "$CRIT" --max-batch 2 --dry-run --json --programs '?' '--programs=22:1,<=64'; then
    # batch 1, tkv 65: 1x4096 (21) and 2x2048 (22) pad the same; the larger batch granularity wins
    check "real criteria: (1,64) maps to program 22" \
        test "$(jq -c '[.[] | [.program, .batch, .prompt_len]]' "$WORK/out")" = '[[22,1,64],[22,1,64]]'
fi
expect_error 2 "no shape with batch >=0 and padded length >=0 maps to program 21" \
    "program 21 is never the cheapest" -- "$ACCINF" validate "$MODEL" --dataset "$DATA" \
    --criteria "$CRIT" --dry-run --programs 21

# ---- reference against itself, with another thread count -------------------
if expect_ok "reference vs itself, 2 threads" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" \
    --threads 2 --json --save-reference --reference-dir "$REFS"; then
    check "self: passed" test "$(jq .passed "$WORK/out")" = true
    check "self: zero failing tokens" test "$(jq '[.cases[].failures] | add' "$WORK/out")" = 0
    check "self: every argmax agrees" \
        test "$(jq '[.cases[] | .argmax_match == .tokens] | all' "$WORK/out")" = true
    check "self: references computed" \
        test "$(jq -r '[.cases[].reference] | unique | join(",")' "$WORK/out")" = computed
    check "self: the default CE threshold is ln(20) + 0.05" \
        test "$(jq '.thresholds.cross_entropy * 1000 | round' "$WORK/out")" = 3046
    first=$(jq .reference_seconds "$WORK/out")
    cp "$WORK/out" "$WORK/self.json"
fi
check "references stored" test "$(ls "$REFS" | grep -c '\.ref\.json$')" = 2
if expect_ok "second run reuses the references" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" \
    --threads 1 --json --save-reference --reference-dir "$REFS"; then
    check "second run: loaded" \
        test "$(jq -r '[.cases[].reference] | unique | join(",")' "$WORK/out")" = loaded
    check "second run: passed" test "$(jq .passed "$WORK/out")" = true
    second=$(jq .reference_seconds "$WORK/out")
    echo "reference time: computed ${first:-?} s, loaded ${second:-?} s" >&2
fi

# a corrupted reference is detected and computed again
ref=$(ls "$REFS"/*.ref.json | head -1)
sed -i '2s/\([0-9]\)\([0-9]\)/\2\1/' "$ref"
if expect_ok "corrupted reference" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" --json \
    --reference-dir "$REFS"; then
    check "corruption reported on stderr" grep -q 'warning: .*corrupt reference' "$WORK/err"
    check "corrupted reference recomputed" \
        test "$(jq '[.cases[].reference] | map(select(. == "recomputed")) | length' "$WORK/out")" = 1
    check "corrupted reference: still passes" test "$(jq .passed "$WORK/out")" = true
fi

# ---- a deliberately broken candidate fails with exit 1 ----------------------
"$ACCINF" validate "$MODEL" "${COMMON[@]}" --perturb-layer 1 --json --reference-dir "$REFS" \
    >"$WORK/out" 2>"$WORK/err"
check "perturbed layer: exit 1" test $? -eq 1
check "perturbed layer: passed false" test "$(jq .passed "$WORK/out")" = false
"$ACCINF" validate "$MODEL" "${COMMON[@]}" --perturb-layer 0 --reference-dir "$REFS" \
    >"$WORK/out" 2>"$WORK/err"
check "perturbed layer 0: exit 1" test $? -eq 1
check "perturbed layer: the table says FAIL" grep -q 'FAIL$' "$WORK/out"
# ---- the optional argmax-agreement criterion --------------------------------
# q2_K weights on the fixture keep every token's CE under the threshold but
# change some greedy tokens (3/4 and 7/8): only --min-argmax-agreement sees it
"$ACCINF" validate "$MODEL" "${COMMON[@]}" --emulate-weights q2_K --json \
    --reference-dir "$REFS" >"$WORK/out" 2>"$WORK/err"
check "q2_K weights: exit 0 on CE alone" test $? -eq 0
check "q2_K weights: some argmax differs" \
    test "$(jq '[.cases[] | .argmax_match < .tokens] | any' "$WORK/out")" = true
"$ACCINF" validate "$MODEL" "${COMMON[@]}" --emulate-weights q2_K --json \
    --min-argmax-agreement 0.9 --reference-dir "$REFS" >"$WORK/out" 2>"$WORK/err"
check "q2_K weights, argmax agreement >= 0.9: exit 1" test $? -eq 1
check "argmax agreement threshold in the JSON" \
    test "$(jq '.thresholds.argmax_agreement * 100 | round' "$WORK/out")" = 90
"$ACCINF" validate "$MODEL" "${COMMON[@]}" --min-argmax-agreement 1 --json \
    --reference-dir "$REFS" >"$WORK/out" 2>"$WORK/err"
check "self, argmax agreement >= 1: exit 0" test $? -eq 0
expect_error 2 "--min-argmax-agreement in [0, 1]" "argmax agreement above 1" -- \
    "$ACCINF" validate "$MODEL" "${COMMON[@]}" --min-argmax-agreement 1.5

expect_error 2 "perturb layer: 5" "perturb a layer that does not exist" -- \
    "$ACCINF" validate "$MODEL" "${COMMON[@]}" --perturb-layer 5

# ---- emulated weight quantization (calibration aid) ----------------------------
if expect_ok "q8_0 weights" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" --emulate-weights q8_0 \
    --json --reference-dir "$REFS"; then
    check "q8_0 weights: passes" test "$(jq .passed "$WORK/out")" = true
    check "q8_0 weights: not bit-identical" \
        test "$(jq '[.cases[].ce[]] | add' "$WORK/out")" != "$(jq '[.cases[].ce[]] | add' "$WORK/self.json" 2>/dev/null || echo x)"
fi
expect_error 2 "weight type: 'q9'" "unknown weight type" -- \
    "$ACCINF" validate "$MODEL" "${COMMON[@]}" --emulate-weights q9

# ---- tokens mode ---------------------------------------------------------------
if expect_ok "tokens mode" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" --test-type tokens \
    --programs 1; then
    check "tokens mode: side by side" grep -q 'reference .* candidate' "$WORK/out"
    check "tokens mode: two sequences" test "$(grep -c 'sequence [01] (prompt' "$WORK/out")" = 2
fi
if expect_ok "tokens mode json" -- "$ACCINF" validate "$MODEL" "${COMMON[@]}" --test-type tokens \
    --json --programs 0; then
    check "tokens mode: self matches" test "$(jq '.cases[0].matching_tokens' "$WORK/out")" = 4
fi

# ---- datasets ------------------------------------------------------------------
if expect_ok "rag_factoid" -- "$ACCINF" validate "$MODEL" --dataset "$RAG" --dataset-type rag_factoid \
    -n 2 --programs 0 --dry-run --json; then
    check "rag_factoid: one case" test "$(jq length "$WORK/out")" = 1
fi
mkdir -p "$WORK/prompts"
for i in 0 1 2; do
    jq -r ".[$i].conversations[0].value" "$DATA" >"$WORK/prompts/p$i.txt"
done
if expect_ok "custom directory" -- "$ACCINF" validate "$MODEL" --dataset "$WORK/prompts" \
    --dataset-type custom -n 2 --programs 0 --reference-threads 1 --json; then
    check "custom: passed" test "$(jq .passed "$WORK/out")" = true
fi

# ---- bad input: exit 2, one line -------------------------------------------------
printf '{"programs": [{"max_batch": 1}]}' >"$WORK/bad-criteria.json"
expect_error 2 "programs[0]: missing 'max_tkv'" "criteria without max_tkv" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --criteria "$WORK/bad-criteria.json"
printf '{"programs": [' >"$WORK/broken.json"
expect_error 2 "broken.json:1:" "criteria that is not JSON" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --criteria "$WORK/broken.json"
expect_error 2 "--programs '1:x,64': batch constraint 'x'" "bad --programs syntax" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --programs 1:x,64
expect_error 2 "program 9 does not exist" "a program the criteria lack" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --programs 9
jq -c '.[0:3][] | .conversations[0].value[0:120]' "$DATA" >"$WORK/short.jsonl"
expect_error 2 "no prompt long enough for program 0" "a dataset with no prompt long enough" -- \
    "$ACCINF" validate "$MODEL" --dataset "$WORK/short.jsonl" --dataset-type rag_factoid \
    --programs '0:1,>=128'
expect_error 2 "$WORK/none.json: no such file" "missing dataset" -- \
    "$ACCINF" validate "$MODEL" --dataset "$WORK/none.json"
expect_error 2 "$WORK/none-criteria.json" "missing criteria" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --criteria "$WORK/none-criteria.json"
expect_error 2 "--dataset: missing" "no --dataset" -- "$ACCINF" validate "$MODEL"
expect_error 2 "--test-type: 'speed'" "bad test type" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --test-type speed
expect_error 2 "--dataset-type: 'squad'" "bad dataset type" -- \
    "$ACCINF" validate "$MODEL" --dataset "$DATA" --dataset-type squad
expect_error 2 "$WORK/nomodel" "missing model" -- \
    "$ACCINF" validate "$WORK/nomodel" --dataset "$DATA"

finish

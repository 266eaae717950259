#!/usr/bin/env bash
# cli_demo.sh — the embedded demo model (examples/demo-model) through every
# verb: greedy generation is deterministic, streamed text equals the --json
# text and continues the prompt, logits agree with the greedy choice.
source "$(dirname "$0")/common.bash"

MODEL="$EXAMPLES/demo-model"
PROMPT="And God said unto Moses,"

expect_ok "demo info" -- "$ACCINF" info "$MODEL" --json
check "demo info is a Llama" jq -e '.architecture == "LlamaForCausalLM" and .parameters > 1000000' "$WORK/out"

if expect_ok "demo run --json" -- "$ACCINF" run "$MODEL" --prompt "$PROMPT" -n 16 --temperature 0 --json; then
    cp "$WORK/out" "$WORK/run.json"
    check "demo generated 16 tokens or stopped at EOS" \
        jq -e '(.ids | length) == 16 or .stop_reason == "eos"' "$WORK/run.json"
    check "demo text is not empty" jq -e '.text | length > 0' "$WORK/run.json"
    "$ACCINF" run "$MODEL" --prompt "$PROMPT" -n 16 --temperature 0 --json >"$WORK/again.json" 2>/dev/null
    check "demo greedy run repeats" cmp -s "$WORK/run.json" "$WORK/again.json"
    if expect_ok "demo run streaming" -- "$ACCINF" run "$MODEL" --prompt "$PROMPT" -n 16 --temperature 0; then
        jq -j .text "$WORK/run.json" >"$WORK/json_text"
        check "demo streamed text equals --json text" cmp -s "$WORK/out" "$WORK/json_text"
    fi
    # the first generated id is the argmax of the prompt's logits
    if expect_ok "demo logits" -- "$ACCINF" logits "$MODEL" --prompt "$PROMPT" --json; then
        check "demo logits ids are the run's prompt ids" \
            test "$(jq -c .ids "$WORK/out")" = "$(jq -c .prompt_ids "$WORK/run.json")"
        argmax=$(jq '.logits | to_entries | max_by(.value) | .key' "$WORK/out")
        check "demo first greedy id is the logits argmax" test "$argmax" = "$(jq '.ids[0]' "$WORK/run.json")"
    fi
    # the ids decode to the text (the continuation, as it reads after the prompt)
    ids_csv=$(jq -r '.ids | map(tostring) | join(",")' "$WORK/run.json")
    if expect_ok "demo decode" -- "$ACCINF" tokenize "$MODEL" --decode "$ids_csv" --skip-special --json; then
        check "demo decoded ids equal the text" \
            test "$(jq -r .text "$WORK/out")" = "$(jq -r .text "$WORK/run.json")"
    fi
fi

if expect_ok "demo sampled run" -- "$ACCINF" run "$MODEL" --prompt "$PROMPT" -n 8 --temperature 0.7 \
    --top-p 0.9 --seed 7 --stats; then
    check "demo --stats on stderr" grep -q "prefill" "$WORK/err"
fi

finish

#!/usr/bin/env bash
# cli_generate.sh — logits, run, info and bench on every fixture model,
# against the Hugging Face reference (tests/fixtures/models/*/reference.json):
# prompt ids, last-position logits, 24 greedy tokens; streamed text equals
# the --json text; stop strings cut the text; --ctx limits generation;
# seeded sampling repeats; info's counts add up; bench reports speeds.
source "$(dirname "$0")/common.bash"

abs_max_diff='[range(0; ($got[0].logits | length)) as $i
    | ($got[0].logits[$i] - $ref[0].cases[$case].last_logits[$i])
    | if . < 0 then -. else . end] | max'

for MODEL in "$FIXTURES"/models/*/; do
    MODEL=${MODEL%/}
    name=$(basename "$MODEL")
    REF="$MODEL/reference.json"
    # two cases whose greedy choices are not near-ties
    cases=$(jq -r '[.cases | to_entries[] | select((.value.greedy_margins | min) > 0.002) | .key][:2] | .[]' "$REF")
    full=1
    for c in $cases; do
        jq -j ".cases[$c].prompt" "$REF" >"$WORK/prompt"
        want_ids=$(jq -c ".cases[$c].ids" "$REF")
        want_greedy=$(jq -c ".cases[$c].greedy" "$REF")
        n_prompt=$(jq ".cases[$c].ids | length" "$REF")
        if [ $full -eq 0 ]; then
            # second case: greedy ids only
            if expect_ok "$name case $c run --json" -- "$ACCINF" run "$MODEL" --prompt-file "$WORK/prompt" \
                -n 24 --temperature 0 --json; then
                got=$(jq -c .ids "$WORK/out")
                [ "$got" = "$want_greedy" ] && pass || fail "$name case $c greedy ids $got, want $want_greedy"
            fi
            continue
        fi
        full=0

        if expect_ok "$name case $c logits" -- "$ACCINF" logits "$MODEL" --prompt-file "$WORK/prompt" --json; then
            check "$name case $c logits ids" test "$(jq -c .ids "$WORK/out")" = "$want_ids"
            cp "$WORK/out" "$WORK/logits.json"
            diff=$(jq -n --slurpfile got "$WORK/logits.json" --slurpfile ref "$REF" --argjson case "$c" "$abs_max_diff")
            check "$name case $c logits within 1e-3 of HF (max diff $diff)" jq -en "$diff < 1e-3"
        fi

        if expect_ok "$name case $c run --json" -- "$ACCINF" run "$MODEL" --prompt-file "$WORK/prompt" \
            -n 24 --temperature 0 --json; then
            cp "$WORK/out" "$WORK/run.json"
            check "$name case $c prompt_ids" test "$(jq -c .prompt_ids "$WORK/run.json")" = "$want_ids"
            got=$(jq -c .ids "$WORK/run.json")
            [ "$got" = "$want_greedy" ] && pass || fail "$name case $c greedy ids $got, want $want_greedy"
            check "$name case $c stop_reason length" jq -e '.stop_reason == "length"' "$WORK/run.json"

            # streaming to a pipe prints exactly the text, nothing else
            if expect_ok "$name case $c run streaming" -- "$ACCINF" run "$MODEL" --prompt-file "$WORK/prompt" \
                -n 24 --temperature 0; then
                jq -j .text "$WORK/run.json" >"$WORK/json_text"
                cmp -s "$WORK/out" "$WORK/json_text" && pass ||
                    fail "$name case $c streamed text differs from --json text"
            fi

            # a stop string from the middle of the text cuts it there
            stop=$(jq -j '.text[3:6]' "$WORK/run.json")
            if [ ${#stop} -eq 3 ] && [ -n "${stop// /}" ]; then
                text=$(jq -j .text "$WORK/run.json"; printf x)
                text=${text%x}
                printf '%s' "${text%%"$stop"*}" >"$WORK/want_stop"
                if expect_ok "$name case $c --stop" -- "$ACCINF" run "$MODEL" --prompt-file "$WORK/prompt" \
                    -n 24 --temperature 0 --stop "$stop" --stop "never-appears-zzz" --json; then
                    jq -j .text "$WORK/out" >"$WORK/got_stop"
                    cmp -s "$WORK/got_stop" "$WORK/want_stop" && pass ||
                        fail "$name case $c --stop '$stop': '$(cat "$WORK/got_stop")' != '$(cat "$WORK/want_stop")'"
                    check "$name case $c stop_reason stop_string" jq -e '.stop_reason == "stop_string"' "$WORK/out"
                fi
            fi
        fi

        # a context of prompt + 5 leaves room for 6 new tokens
        if expect_ok "$name case $c --ctx" -- "$ACCINF" run "$MODEL" --prompt-file "$WORK/prompt" \
            -n 24 --temperature 0 --ctx $((n_prompt + 5)) --json; then
            check "$name case $c --ctx gives the first 6 greedy ids" \
                test "$(jq -c .ids "$WORK/out")" = "$(jq -c ".cases[$c].greedy[:6]" "$REF")"
        fi
    done

    # --ids bypasses the tokenizer and gives the same logits
    c=$(jq -r '[.cases | to_entries[] | .key][0]' "$REF")
    jq -j ".cases[$c].prompt" "$REF" >"$WORK/prompt"
    ids_csv=$(jq -r ".cases[$c].ids | map(tostring) | join(\",\")" "$REF")
    "$ACCINF" logits "$MODEL" --prompt-file "$WORK/prompt" --json >"$WORK/a.json" 2>/dev/null
    if expect_ok "$name logits --ids" -- "$ACCINF" logits "$MODEL" --ids "$ids_csv" --json; then
        cmp -s "$WORK/out" "$WORK/a.json" && pass || fail "$name logits --ids differs from --prompt"
    fi
    if expect_ok "$name logits human" -- "$ACCINF" logits "$MODEL" --ids "$ids_csv"; then
        check "$name logits human shows 10 ranks" test "$(grep -cE '^ +[0-9]+ +[0-9]+ ' "$WORK/out")" -eq 10
    fi

    # seeded sampling repeats
    "$ACCINF" run "$MODEL" --prompt "In the beginning" -n 12 --temperature 1.0 --top-k 0 --top-p 0.9 \
        --seed 42 --ignore-eos --json >"$WORK/s1.json" 2>/dev/null
    if expect_ok "$name seeded run" -- "$ACCINF" run "$MODEL" --prompt "In the beginning" -n 12 \
        --temperature 1.0 --top-k 0 --top-p 0.9 --seed 42 --ignore-eos --json; then
        check "$name same seed, same ids" test "$(jq -c .ids "$WORK/out")" = "$(jq -c .ids "$WORK/s1.json")"
        check "$name 12 tokens with --ignore-eos" jq -e '.ids | length == 12' "$WORK/out"
    fi

    # info: parameters add up over the tensors; KV cache formula
    if expect_ok "$name info --json" -- "$ACCINF" info "$MODEL" --tensors --json; then
        check "$name info parameters == sum of tensor sizes" jq -e \
            '.parameters == ([.tensors[] | reduce .shape[] as $d (1; . * $d)] | add)' "$WORK/out"
        check "$name info KV bytes per token" jq -e \
            '.memory.kv_cache_bytes_per_token == 2 * .hparams.n_layers * .hparams.n_kv_heads * .hparams.head_dim * 4' "$WORK/out"
        check "$name info architecture" test "$(jq -r .architecture "$WORK/out")" = "$(jq -r .architecture "$REF")"
    fi
    expect_ok "$name info human" -- "$ACCINF" info "$MODEL"
    check "$name info human shows parameters" grep -q "^parameters:" "$WORK/out"

    # bench: positive speeds in JSON, llama-bench-like table otherwise
    if expect_ok "$name bench --json" -- "$ACCINF" bench "$MODEL" --pp 16 --tg 4 --reps 2 --threads 1 --json; then
        check "$name bench speeds" jq -e '.pp_tok_s > 0 and .tg_tok_s > 0 and (.pp_samples | length) == 2' "$WORK/out"
    fi
done

MODEL="$FIXTURES/models/llama-tiny"
if expect_ok "bench table" -- "$ACCINF" bench "$MODEL" --pp 8 --tg 2 --reps 1 --threads 1; then
    check "bench table has pp8 and tg2 rows" grep -q "| *pp8 |" "$WORK/out"
    check "bench table has a tg2 row" grep -q "| *tg2 |" "$WORK/out"
fi
if expect_ok "run --stats" -- "$ACCINF" run "$MODEL" --prompt "In the beginning" -n 4 --temperature 0 --stats; then
    check "--stats reports prefill and decode speed on stderr" grep -q "tok/s" "$WORK/err"
    check "--stats keeps stdout for the text" test "$(grep -c 'tok/s' "$WORK/out")" -eq 0
fi

finish
